import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { KvdiffError } from '../src/errors.js';
import { parseJson, toPlain } from '../src/payload/json.js';
import { readBody } from '../src/payload/body.js';

// Whatever bytes a user passes, reading a body ends in a value or a KvdiffError (one line, exit 2), never
// another exception. Valid JSON parses to what JSON.parse gives.
const onlyKvdiffErrors = (fn: () => unknown) => {
  try {
    fn();
  } catch (err) {
    if (!(err instanceof KvdiffError)) throw err;
    expect(err.message).not.toMatch(/\n/);
  }
};

describe('reading request bodies never crashes', () => {
  it('random text', () => {
    fc.assert(fc.property(fc.string({ unit: 'binary', maxLength: 200 }), (s) => onlyKvdiffErrors(() => readBody(s, 'x.json'))), { numRuns: 2000 });
  });
  it('valid JSON values parse like JSON.parse', () => {
    fc.assert(
      fc.property(fc.json(), (text) => {
        expect(toPlain(parseJson(text, 'x'))).toEqual(JSON.parse(text));
      }),
      { numRuns: 1000 },
    );
  });
  it('mutated and truncated bodies', () => {
    const body = JSON.stringify({ messages: [{ role: 'user', content: 'hi "there"\n' }, { role: 'assistant', content: null, tool_calls: [{ id: 'c', type: 'function', function: { name: 'f', arguments: '{"a": [1, 2.5e3]}' } }] }], tools: [] });
    fc.assert(
      fc.property(fc.nat(body.length), fc.nat(body.length), fc.string({ unit: 'binary', maxLength: 3 }), (cut, at, insert) => {
        onlyKvdiffErrors(() => readBody(body.slice(0, cut), 'cut.json'));
        onlyKvdiffErrors(() => readBody(body.slice(0, at) + insert + body.slice(at + 1), 'mutated.json'));
      }),
      { numRuns: 2000 },
    );
  });
});
