import { describe, expect, it } from 'vitest';
import { JsonNumber, parseJsonNumbers } from '../src/json-numbers.js';
import { rng } from './rng.js';

// Where JavaScript's numbers say what llama.cpp's parser holds (safe integers, non-integral floats), parseJsonNumbers
// must be JSON.parse exactly: JSON.parse is the reference there. The values it changes are checked against
// llama-server's own renders in server-oracle/tool-args-json-numbers*.json.
function randomJson(r: () => number, depth = 0): string {
  const pick = r();
  if (depth > 3 || pick < 0.4) {
    const leaves = [
      () => String(Math.floor(r() * 2e9) - 1e9),
      () => (r() * 100 - 50).toFixed(3).replace(/0+$/, '1'),
      () => JSON.stringify('s"\\\u00e9-12345678901234567890 ' + Math.floor(r() * 1e6)),
      () => 'true',
      () => 'null',
      () => '"2e3"',
    ];
    return leaves[Math.floor(r() * leaves.length)]();
  }
  const n = Math.floor(r() * 4);
  const items = Array.from({ length: n }, () => randomJson(r, depth + 1));
  if (pick < 0.7) return `[ ${items.join(' ,')} ]`;
  return `{${items.map((v, i) => `"k${i}-1e99" :${v}`).join(',')}}`;
}

describe('parseJsonNumbers', () => {
  it('equals JSON.parse where JavaScript numbers are exact (2,000 random documents)', () => {
    const r = rng(7);
    for (let i = 0; i < 2000; i++) {
      const text = randomJson(r);
      expect(parseJsonNumbers(text)).toEqual(JSON.parse(text));
    }
  });

  it('marks the numbers JavaScript would change, and nothing inside strings', () => {
    const v = parseJsonNumbers('{"a": 1.0, "b": 9007199254740993, "c": "9007199254740993", "d": 1.5}') as Record<string, unknown>;
    expect(v.a).toEqual(new JsonNumber('float', 1, '1.0'));
    expect(v.b).toEqual(new JsonNumber('int', 9007199254740992, '9007199254740993'));
    expect(v.c).toBe('9007199254740993');
    expect(v.d).toBe(1.5);
  });

  it('throws on bad JSON as JSON.parse does', () => {
    expect(() => parseJsonNumbers('{"a": 12345678901234567890')).toThrow(SyntaxError);
  });
});
