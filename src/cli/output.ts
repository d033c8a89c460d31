import { promises as fsp } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { KvdiffError } from '../errors.js';
import type { CliContext } from './context.js';

/**
 * Writes a report to `--out FILE` atomically (a temporary file beside it, then a rename), so a reader never sees
 * half a page and a failed run leaves no file; without `--out`, to stdout.
 */
export async function writeReport(ctx: CliContext, text: string, out?: string): Promise<void> {
  if (!out || out === '-') {
    ctx.stdout(text);
    return;
  }
  const tmp = join(dirname(out), `.${basename(out)}.${process.pid}.${Date.now()}.tmp`);
  try {
    await fsp.writeFile(tmp, text, 'utf8');
    await fsp.rename(tmp, out);
  } catch (err) {
    await fsp.rm(tmp, { force: true }).catch(() => undefined);
    throw new KvdiffError(`cannot write ${out}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
}

/** `--pp-rate`: prompt-processing speed in tokens per second. */
export function parseRate(v: string): number {
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0) throw new KvdiffError(`--pp-rate takes tokens per second (a positive number), got ${JSON.stringify(v)}`);
  return n;
}
