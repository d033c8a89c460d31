import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { send, standIn, startRecorder, type Received, type Reply } from './record-harness.js';

const REQUESTS = 500;
const CONCURRENCY = 20;
const SESSIONS = 25;

/** The stand-in's answer is a function of the request number, so every byte a client gets can be checked. */
function replyFor(n: number, stream: boolean): Reply {
  if (!stream) return { chunks: [JSON.stringify({ id: `r${n}`, choices: [{ message: { role: 'assistant', content: `answer ${n} ✓` }, finish_reason: 'stop' }], usage: { prompt_tokens: n + 10, prompt_tokens_details: { cached_tokens: n } } })] };
  const parts = Array.from({ length: 3 + (n % 7) }, (_, i) => `data: ${JSON.stringify({ id: `r${n}`, choices: [{ delta: { content: `${n}:${i} é ` } }] })}\n\n`);
  parts.push(`data: ${JSON.stringify({ id: `r${n}`, choices: [{ delta: {}, finish_reason: 'stop' }], timings: { cache_n: n, prompt_n: 10 } })}\n\n`, 'data: [DONE]\n\n');
  return { headers: { 'content-type': 'text/event-stream' }, chunks: parts };
}
const expected = (n: number, stream: boolean) => Buffer.concat(replyFor(n, stream).chunks.map((c) => Buffer.from(c)));

describe('kvdiff record under load', () => {
  it(`${REQUESTS} requests, ${CONCURRENCY} at a time, half streamed: no capture lost, no stream corrupted`, async () => {
    const up = await standIn((r: Received) => {
      const b = JSON.parse(r.body.toString());
      return replyFor(b.n, b.stream);
    });
    const rec = await startRecorder(up.url);
    const bodies = new Map<number, string>();
    let next = 0;
    let corrupted = 0;
    const worker = async () => {
      while (next < REQUESTS) {
        const n = next++;
        const stream = n % 2 === 1;
        const s = n % SESSIONS;
        const turn = Math.floor(n / SESSIONS);
        const body = JSON.stringify({ n, stream, messages: [{ role: 'user', content: `conversation ${s}` }, ...Array.from({ length: turn }, (_, i) => ({ role: 'assistant', content: `turn ${i} ${'x'.repeat(n % 50)}` }))] });
        bodies.set(n, body);
        const got = await send(rec.port, 'POST', '/v1/chat/completions', body, { 'x-kvdiff-session': `conv-${s}` });
        if (got.status !== 200 || !got.body.equals(expected(n, stream))) corrupted++;
      }
    };
    await Promise.all(Array.from({ length: CONCURRENCY }, worker));
    await rec.recorder.close(10_000);
    expect(corrupted).toBe(0);
    expect(up.received.length).toBe(REQUESTS);
    // every request is on disk, byte for byte, with what the server reported about it
    const sessions = readdirSync(rec.out).sort();
    expect(sessions.length).toBe(SESSIONS);
    const seen = new Set<string>();
    let metas = 0;
    for (const d of sessions) {
      const files = readdirSync(join(rec.out, d)).filter((f) => f.endsWith('.json'));
      expect(files.length).toBe(REQUESTS / SESSIONS);
      for (const f of files) {
        const text = readFileSync(join(rec.out, d, f), 'utf8');
        const n = JSON.parse(text).n as number;
        expect(text).toBe(bodies.get(n));
        seen.add(text);
        const meta = JSON.parse(readFileSync(join(rec.out, d, 'responses', f), 'utf8'));
        expect(meta.kvdiff).toMatchObject({ reused: n, streamed: n % 2 === 1, status: 200, error: null });
        metas++;
      }
      expect(readdirSync(join(rec.out, d)).filter((f) => f.endsWith('.tmp'))).toEqual([]);
    }
    expect(seen.size).toBe(REQUESTS);
    expect(metas).toBe(REQUESTS);
    expect(rec.jobs.length).toBe(REQUESTS);
    expect(rec.notes).toEqual([]);
    await up.close();
  }, 120_000);
});
