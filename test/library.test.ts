import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { createDiffer, diffRequests, KvdiffError } from '../src/index.js';

const read = (p: string) => readFileSync(p, 'utf8');

describe('library API', () => {
  it('diffRequests returns what --json prints', async () => {
    const r = await diffRequests(read('samples/system-timestamp/a.json'), read('samples/system-timestamp/b.json'), { date: '2026-11-27' });
    const golden = JSON.parse(read('samples/system-timestamp/expected.json'));
    expect({ ...r, files: undefined }).toEqual({ ...golden, files: undefined });
  });
  it('takes parsed objects too, and a differ can be reused', async () => {
    const differ = await createDiffer({ date: '2026-11-27' });
    const a = { messages: [{ role: 'user', content: 'hi' }] };
    const b = { messages: [{ role: 'user', content: 'hi' }, { role: 'assistant', content: 'hello' }, { role: 'user', content: 'bye' }] };
    expect((await differ.diff(a, b)).reusesAll).toBe(true);
    expect((await differ.diff(b, a)).reusesAll).toBe(false);
  });
  it('bad input throws KvdiffError', async () => {
    await expect(diffRequests('{"x": 1}', '{}')).rejects.toBeInstanceOf(KvdiffError);
  });
});
