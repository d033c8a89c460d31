import { describe, expect, it } from 'vitest';
import { codePointIndex, commonTextPrefix, comparePrompts as compare } from '../src/compare.js';
import { SubstringFilter } from '../src/text.js';
import { messageAt } from '../src/attribute/attribute.js';
import { bodyFromObject } from '../src/payload/body.js';
import type { JsonNode } from '../src/payload/json.js';
import { rng } from './rng.js';

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

describe('SubstringFilter', () => {
  const r = rng(7);
  const alphabet = ['a', 'b', 'c', ' ', '\n', '"', '\\', '中', '😀', 'é', '0', '1'];
  const randomText = (n: number) => Array.from({ length: n }, () => alphabet[Math.floor(r() * alphabet.length)]).join('');
  it('never says no for a string the text contains (every substring of 200 random texts)', () => {
    for (let k = 0; k < 200; k++) {
      const text = randomText(1 + Math.floor(r() * 400));
      const filter = new SubstringFilter(text);
      for (let j = 0; j < 60; j++) {
        const from = Math.floor(r() * text.length);
        const s = text.slice(from, from + 1 + Math.floor(r() * 40));
        expect(filter.mayContain(s), JSON.stringify(s)).toBe(true);
      }
    }
  });
  it('says no for most strings the text lacks, and yes whenever it is unsure', () => {
    const text = randomText(20_000);
    const filter = new SubstringFilter(text);
    let no = 0;
    let absent = 0;
    for (let j = 0; j < 2000; j++) {
      const s = randomText(8 + Math.floor(r() * 30)) + 'xyz';
      if (text.includes(s)) continue;
      absent++;
      if (!filter.mayContain(s)) no++;
    }
    expect(absent).toBeGreaterThan(1000);
    expect(no / absent).toBeGreaterThan(0.9);
    expect(filter.mayContain('short')).toBe(true); // under 8 units: always searched
  });
});

describe('messageAt (which message a rendered character belongs to) with the filter', () => {
  // the definition: each message's strings located in order in the render; the first that ends after `at` names it
  function reference(root: JsonNode, rendered: string, at: number): number {
    const strings = (n: JsonNode): string[] =>
      n.type === 'string' ? [n.value] : n.type === 'array' ? n.items.flatMap(strings) : n.type === 'object' ? n.entries.flatMap((e) => (e.key === 'role' || e.key === 'type' ? [] : strings(e.value))) : [];
    const m = root.type === 'object' ? root.entries.find((e) => e.key === 'messages')?.value : undefined;
    if (m?.type !== 'array') return 0;
    let cursor = 0;
    for (let i = 0; i < m.items.length; i++) {
      for (const s of strings(m.items[i])) {
        if (s.length < 2 || ['assistant', 'user', 'system', 'tool', 'function'].includes(s)) continue;
        const pos = rendered.indexOf(s, cursor);
        if (pos < 0) continue;
        if (pos + s.length > at) return i;
        cursor = pos + s.length;
      }
    }
    return m.items.length;
  }
  it('agrees with the definition on 300 random conversations, renders and positions', () => {
    const r = rng(11);
    const words = ['alpha', 'beta gamma', 'the quick brown fox', 'x', '{"path": "a.ts"}', 'line\nbreak', '日本語のテキスト', 'tool output 42', 'repeat'];
    const text = () => Array.from({ length: 1 + Math.floor(r() * 4) }, () => words[Math.floor(r() * words.length)]).join(r() < 0.5 ? ' ' : '');
    for (let k = 0; k < 300; k++) {
      const messages = Array.from({ length: 1 + Math.floor(r() * 8) }, () => ({
        role: r() < 0.5 ? 'user' : 'assistant',
        content: text(),
        ...(r() < 0.3 ? { tool_calls: [{ function: { name: text(), arguments: { path: text() } } }] } : {}),
      }));
      // a render that prints most strings, escapes or drops some, and adds text of its own
      const rendered = messages
        .map((m) => `<|im_start|>${m.role}\n${r() < 0.2 ? JSON.stringify(m.content) : m.content}${m.tool_calls ? ` ${r() < 0.5 ? m.tool_calls[0].function.name : ''} ${JSON.stringify(m.tool_calls[0].function.arguments)}` : ''}<|im_end|>\n`)
        .join('');
      const root = bodyFromObject({ messages }, 'A').root;
      for (const at of [0, Math.floor(r() * rendered.length), rendered.length - 1, rendered.length]) {
        expect(messageAt(root, rendered, at)).toBe(reference(root, rendered, at));
      }
    }
  });
});
