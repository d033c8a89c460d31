import { describe, expect, it } from 'vitest';
import { codePointIndex, commonTextPrefix, comparePrompts as compare } from '../src/compare.js';

const toks = (ids: number[], starts = ids.map((_, i) => i)) => ({ ids, starts });

describe("llama.cpp's n_past rule", () => {
  it.each([
    // [A ids, B ids, commonPrefix, nPast, diverges]
    [[1, 2, 3], [1, 2, 3, 4, 5], 3, 3, false], // B extends A: everything reused
    [[1, 2, 3], [1, 2, 3], 3, 2, false], // identical: the last token is evaluated again
    [[1, 2, 3, 4], [1, 2, 3], 3, 2, true], // B is a prefix of A: B fully cached, minus one
    [[1, 2, 3], [1, 9, 3, 4], 1, 1, true],
    [[1], [2], 0, 0, true],
  ])('A %j, B %j → LCP %i, n_past %i', (a, b, lcp, nPast, diverges) => {
    const text = (ids: number[]) => ids.map((i) => String.fromCharCode(96 + i)).join('');
    const r = compare(text(a), toks(a), text(b), toks(b));
    expect([r.commonPrefix, r.nPast, r.firstDivergence !== null]).toEqual([lcp, nPast, diverges]);
  });
  it('points at the first differing character, in code points', () => {
    const r = compare('😀ab', toks([1, 2, 3], [0, 2, 3]), '😀ac', toks([1, 2, 4], [0, 2, 3]));
    expect(r.firstDivergence).toEqual({ token: 2, char: 2, utf16: 3 });
  });
  it("points at the token when A's text is a prefix of B's and only a boundary moved", () => {
    // A = "x\n" tokenized [x][\n]; B = "x\n\n" tokenized [x][\n\n]
    const r = compare('x\n', toks([1, 2], [0, 1]), 'x\n\nmore', toks([1, 3, 4], [0, 1, 3]));
    expect(r.firstDivergence).toEqual({ token: 1, char: 1, utf16: 1 });
  });
  it('never splits a surrogate pair', () => {
    expect(commonTextPrefix('a😀', 'a😁')).toBe(1);
    expect(codePointIndex('😀😀x', 4)).toBe(2);
  });
  it('common prefixes of long texts that differ anywhere (around every block size) match a unit-by-unit scan', () => {
    const naive = (a: string, b: string) => {
      let i = 0;
      while (i < Math.min(a.length, b.length) && a[i] === b[i]) i++;
      return i > 0 && i < Math.min(a.length, b.length) && /[\ud800-\udbff]/.test(a[i - 1]) ? i - 1 : i;
    };
    const base = Array.from({ length: 2000 }, (_, i) => `${i % 7 ? 'word' : '😀'} ${i}\n`).join('');
    for (const at of [0, 1, 7, 8, 9, 63, 64, 65, 511, 512, 513, 4095, 4096, 4097, 8191, 8200, 10_000, base.length - 1]) {
      for (const [a, b] of [
        [base, base.slice(0, at) + '\u0000' + base.slice(at + 1)],
        [base, base.slice(0, at)],
        [base.slice(0, at) + '😁' + base.slice(at), base.slice(0, at) + '😀' + base.slice(at)],
      ]) {
        expect(commonTextPrefix(a, b), `${at}`).toBe(naive(a, b));
        expect(commonTextPrefix(b, a), `${at}`).toBe(naive(b, a));
      }
    }
    expect(commonTextPrefix(base, base)).toBe(base.length);
  });
});
