import { expect } from 'vitest';
import { KvdiffError } from '../src/errors.js';

/** Awaits `p`, which must fail with a one-line KvdiffError, and returns that error. */
export async function kvError(p: Promise<unknown>): Promise<KvdiffError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(KvdiffError);
  expect((err as Error).message).not.toContain('\n');
  return err as KvdiffError;
}
