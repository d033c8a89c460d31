import { describe, expect, it } from 'vitest';
import { lineOfPath } from '../src/payload/locate.js';
import type { JsonPath } from '../src/payload/path.js';

// every annotation's line depends on this walk: each case is a text, a path, and the line read off the text itself
const pretty = [
  '{', //                                          1
  '  "model": "m",', //                            2
  '  "messages": [', //                            3
  '    { "role": "system", "content": "a } ] {" },', // 4: brackets inside a string
  '    {', //                                      5
  '      "role": "user",', //                      6
  '      "content": "say \\"hi\\"\\n",', //        7
  '      "x\\"y": [1, {"k": [2, 3]}],', //         8
  '      "tool_calls": [{"function": {"arguments": "{}"}}]', // 9
  '    }', //                                      10
  '  ],', //                                       11
  '  "dup": 1,', //                                12
  '  "dup": 2', //                                 13
  '}', //                                          14
].join('\n');

const cases: [string, JsonPath, number | undefined][] = [
  ['the root', [], 1],
  ['a top-level key', ['model'], 2],
  ['an array', ['messages'], 3],
  ['an item after a string holding brackets', ['messages', 1], 5],
  ['a key in the second item', ['messages', 1, 'content'], 7],
  ['a key with an escaped quote', ['messages', 1, 'x"y'], 8],
  ['deep inside one-line JSON on a line', ['messages', 1, 'x"y', 1, 'k', 1], 8],
  ['inside a one-line array of objects', ['messages', 1, 'tool_calls', 0, 'function', 'arguments'], 9],
  ['a repeated key: the last one (its value is what parsers keep)', ['dup'], 13],
  ['a missing key', ['messages', 1, 'name'], undefined],
  ['an index past the end', ['messages', 2], undefined],
  ['an index into an object', ['model', 0], undefined],
];

describe('lineOfPath', () => {
  it.each(cases)('%s', (_, path, line) => expect(lineOfPath(pretty, path)).toBe(line));
  it('one-line JSON is line 1 for every path found', () => {
    const flat = JSON.stringify(JSON.parse(pretty.replace('"dup": 1,\n', '')));
    expect(lineOfPath(flat, ['messages', 1, 'content'])).toBe(1);
    expect(lineOfPath(flat, ['messages', 3])).toBeUndefined();
  });
});
