import { describe, expect, it } from 'vitest';
import { diffBodies } from '../src/attribute/diff.js';
import { nodeToJson, parseJson } from '../src/payload/json.js';
import { formatPath } from '../src/payload/path.js';

const j = (o: unknown) => parseJson(typeof o === 'string' ? o : JSON.stringify(o), 't');
const msg = (extra: object) => ({ messages: [{ role: 'user', content: 'hi', ...extra }] });

function diff(a: unknown, b: unknown) {
  return diffBodies(j(a), j(b)).map((d) => `${d.code} ${formatPath(d.path)}`);
}

describe('structural diff of request bodies', () => {
  it.each([
    ['an extra key', msg({}), msg({ ts: 1 }), ['EXTRA_FIELD $.messages[0].ts']],
    ['a missing key', msg({ ts: 1 }), msg({}), ['MISSING_FIELD $.messages[0].ts']],
    ['a renamed key', msg({ reasoning_content: 'r' }), msg({ reasoning: 'r' }), ['FIELD_RENAMED $.messages[0].reasoning']],
    ['key order', '{"messages":[{"role":"user","content":"hi"}]}', '{"messages":[{"content":"hi","role":"user"}]}', ['KEY_ORDER $.messages[0]']],
    ['trailing whitespace', msg({ x: 'a.\n\n' }), msg({ x: 'a.' }), ['WHITESPACE $.messages[0].x']],
    ['a changed value', msg({ x: 'a' }), msg({ x: 'b' }), ['VALUE_CHANGED $.messages[0].x']],
    ['null vs ""', msg({ x: null }), msg({ x: '' }), ['TYPE_CHANGED $.messages[0].x']],
    ['JSON with other spacing', msg({ x: '{"a": 1}' }), msg({ x: '{"a":1}' }), ['JSON_REFORMATTED $.messages[0].x']],
    ['JSON with other key order', msg({ x: '{"a":1,"b":2}' }), msg({ x: '{"b":2,"a":1}' }), ['JSON_KEY_ORDER $.messages[0].x']],
    ['the same number written differently', '{"messages":[],"t":1.0}', '{"messages":[],"t":1}', ['NUMBER_FORMAT $.t']],
    ['reordered tools', { messages: [], tools: [{ n: 1 }, { n: 2 }] }, { messages: [], tools: [{ n: 2 }, { n: 1 }] }, ['ARRAY_ORDER $.tools']],
    ['appended messages', { messages: [{ role: 'user' }] }, { messages: [{ role: 'user' }, { role: 'assistant' }, { role: 'user' }] }, ['MESSAGES_APPENDED $.messages[1]']],
    ['a removed item', { messages: [], stop: ['a', 'b'] }, { messages: [], stop: ['a'] }, ['ITEM_REMOVED $.stop[1]']],
    ['identical bodies', msg({}), msg({}), []],
  ])('%s', (_name, a, b, expected) => {
    expect(diff(a, b)).toEqual(expected);
  });

  it('each edit applied to A gives B when it is the only difference', () => {
    const pairs: [unknown, unknown][] = [
      [msg({ a: 1, c: 3 }), msg({ a: 1, b: 2, c: 3 })],
      [msg({ a: 1, b: 2 }), msg({ b: 2 })],
      ['{"messages":[{"role":"user","reasoning_content":"r","content":"x"}]}', '{"messages":[{"role":"user","reasoning":"r","content":"x"}]}'],
      ['{"messages":[],"x":{"a":1,"k":0,"b":2}}', '{"messages":[],"x":{"b":2,"k":0,"a":1}}'],
      [{ messages: [{ role: 'user' }] }, { messages: [{ role: 'user' }, { role: 'assistant' }] }],
    ];
    for (const [a, b] of pairs) {
      const ds = diffBodies(j(a), j(b));
      expect(ds).toHaveLength(1);
      expect(nodeToJson(ds[0].apply(j(a)))).toBe(nodeToJson(j(b)));
    }
  });
});
