import { describe, expect, it } from 'vitest';
import { MAX_DEPTH, nodeToJson, parseJson, toPlain } from '../src/payload/json.js';
import { formatPath } from '../src/payload/path.js';
import { KvdiffError } from '../src/errors.js';

describe('ordered JSON', () => {
  it('keeps key order as written, integer-like keys included (JSON.parse would move them first)', () => {
    const n = parseJson('{"b": 1, "10": 2, "a": {"2": true, "1": null}}', 't');
    expect(nodeToJson(n)).toBe('{"b":1,"10":2,"a":{"2":true,"1":null}}');
    expect(Object.keys(JSON.parse('{"b": 1, "10": 2}'))).toEqual(['10', 'b']); // the trap this avoids
  });
  it('a "__proto__" key is an ordinary key, as with JSON.parse (found by the property test)', () => {
    const text = '{"a": {"__proto__": false}}';
    expect(toPlain(parseJson(text, 't'))).toEqual(JSON.parse(text));
    expect(Object.keys((toPlain(parseJson(text, 't')) as { a: object }).a)).toEqual(['__proto__']);
  });
  it('keeps the source text of numbers', () => {
    expect(nodeToJson(parseJson('[1.0, 1, 1e3, -0.50]', 't'))).toBe('[1.0,1,1e3,-0.50]');
  });
  it('decodes escapes like JSON.parse', () => {
    const text = '"h\\u00e9llo \\"q\\" \\/ \\n\\t\\ud83d\\ude00"';
    expect(toPlain(parseJson(text, 't'))).toBe(JSON.parse(text));
  });
  it('a repeated key keeps its first position and the last value, as JSON.parse does', () => {
    expect(nodeToJson(parseJson('{"a": 1, "b": 2, "a": 3}', 't'))).toBe('{"a":3,"b":2}');
  });
  it.each([
    ['{"a": 1,}', 1, 9],
    ['{\n"a" 1}', 2, 5],
    ['[1, 2', 1, 6],
    ['{"a": tru}', 1, 7],
    ['"abc', 1, 1],
    ['{} x', 1, 4],
    ['', 1, 1],
  ])('%j fails at line %i, column %i', (text, line, col) => {
    expect(() => parseJson(text, 'f.json')).toThrow(new RegExp(`^f\\.json: invalid JSON at line ${line}, column ${col}:`));
  });
  it('refuses nesting deeper than MAX_DEPTH instead of overflowing the stack', () => {
    const deep = '['.repeat(MAX_DEPTH + 5) + ']'.repeat(MAX_DEPTH + 5);
    expect(() => parseJson(deep, 'd')).toThrow(KvdiffError);
    expect(() => parseJson('['.repeat(100000), 'd')).toThrow(KvdiffError);
  });
});

describe('JSON paths as you would type them', () => {
  it.each([
    [[], '$'],
    [['messages', 3, 'tool_calls', 0, 'call_id'], '$.messages[3].tool_calls[0].call_id'],
    [['tools', 0, 'function', 'x-y'], '$.tools[0].function["x-y"]'],
    [['a', '0'], '$.a["0"]'],
    [['a b', '$ok'], '$["a b"].$ok'],
  ] as const)('%j → %s', (path, text) => {
    expect(formatPath(path)).toBe(text);
  });
});
