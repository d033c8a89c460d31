/** `num` groups thousands by hand (no ICU at start-up): it must print what en-US `toLocaleString` prints for integers. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { num } from '../src/report/format.ts';

describe('num', () => {
  it('equals toLocaleString("en-US") on integers', () => {
    fc.assert(fc.property(fc.oneof(fc.integer(), fc.maxSafeInteger(), fc.constantFrom(0, 999, 1000, -1000, 100449)), (n) => {
      expect(num(n)).toBe(n.toLocaleString('en-US'));
    }), { numRuns: 2000 });
  });
});
