import { existsSync, mkdtempSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Chalk } from 'chalk';
import { buildEngine } from '../src/cli/shared.js';
import { InlineAnalyzer } from '../src/node/record/analyzer.js';
import { humanLine, jsonLine } from '../src/node/record/line.js';
import { LOOPBACK, send, standIn, startRecorder, type Received, type Reply } from './record-harness.js';
import { runCli, capturingContext } from './cli-harness.js';
import { HAVE_SHARED, NO_SHARED_REASON, SHARED, loadFixtures } from './shared.js';

const sse = (events: unknown[], named = false) =>
  events.map((e) => `${named ? `event: ${(e as { type: string }).type}\n` : ''}data: ${JSON.stringify(e)}\n\n`);

/** The stand-in's answer per dialect and mode, with the cache counter it reports and where. */
function dialectReply(r: Received): Reply {
  const body = JSON.parse(r.body.toString('utf8') || '{}');
  const path = r.url.split('?')[0];
  const stream = body.stream === true;
  const json = (v: unknown): Reply => ({ chunks: [JSON.stringify(v)] });
  const events = (chunks: string[]): Reply => ({ headers: { 'content-type': 'text/event-stream', 'x-upstream': 'yes' }, chunks, gapMs: 2 });
  if (path === '/v1/chat/completions') {
    if (!stream) return json({ choices: [{ message: { role: 'assistant', content: 'héllo' }, finish_reason: 'stop' }], usage: { prompt_tokens: 20, completion_tokens: 2, prompt_tokens_details: { cached_tokens: 11 } } });
    // one multi-byte character split across two network chunks
    const s = sse([{ choices: [{ delta: { role: 'assistant', content: 'hé' } }] }, { choices: [{ delta: {}, finish_reason: 'stop' }], timings: { cache_n: 12, prompt_n: 8 } }]);
    const first = Buffer.from(s[0]);
    const cut = first.indexOf(Buffer.from('é')) + 1;
    return events([first.subarray(0, cut), first.subarray(cut), s[1], 'data: [DONE]\n\n'] as unknown as string[]);
  }
  if (path === '/v1/messages') {
    if (!stream) return json({ type: 'message', role: 'assistant', content: [{ type: 'text', text: 'hi' }], usage: { input_tokens: 4, cache_read_input_tokens: 13, output_tokens: 1 } });
    return events(
      sse(
        [
          { type: 'message_start', message: { type: 'message', role: 'assistant', content: [], usage: { input_tokens: 4, cache_read_input_tokens: 14, output_tokens: 0 } } },
          { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: 'hi' } },
          { type: 'message_delta', delta: { stop_reason: 'end_turn' }, usage: { output_tokens: 1 } },
          { type: 'message_stop' },
        ],
        true,
      ),
    );
  }
  if (!stream) return json({ object: 'response', output: [], usage: { input_tokens: 30, input_tokens_details: { cached_tokens: 15 }, output_tokens: 1 } });
  return events(
    sse(
      [
        { type: 'response.created', response: { object: 'response', usage: null } },
        { type: 'response.output_text.delta', delta: 'hi' },
        { type: 'response.completed', response: { object: 'response', usage: { input_tokens: 30, input_tokens_details: { cached_tokens: 16 }, output_tokens: 1 } } },
      ],
      true,
    ),
  );
}

const CASES = [
  { path: '/v1/chat/completions', body: { model: 'm', messages: [{ role: 'user', content: 'hi' }] }, reused: [11, 12], field: ['usage.prompt_tokens_details.cached_tokens', 'timings.cache_n'] },
  { path: '/v1/messages?beta=true', body: { model: 'm', max_tokens: 5, system: 's', messages: [{ role: 'user', content: 'hi' }] }, reused: [13, 14], field: ['usage.cache_read_input_tokens', 'usage.cache_read_input_tokens'] },
  { path: '/v1/responses', body: { model: 'm', instructions: 'be brief', input: 'hi' }, reused: [15, 16], field: ['usage.input_tokens_details.cached_tokens', 'usage.input_tokens_details.cached_tokens'] },
];

describe('kvdiff record: forwarding', () => {
  let up: Awaited<ReturnType<typeof standIn>>;
  let rec: Awaited<ReturnType<typeof startRecorder>>;
  beforeAll(async () => {
    up = await standIn(dialectReply);
    rec = await startRecorder(up.url);
  });
  afterAll(async () => {
    await rec.recorder.close(1000);
    await up.close();
  });

  for (const c of CASES) {
    for (const stream of [false, true]) {
      it(`${c.path} ${stream ? 'streamed' : 'not streamed'}: the same bytes as a direct connection, both ways, and captured`, async () => {
        // odd spacing and key order: the body must travel exactly as written
        const body = Buffer.from(JSON.stringify({ ...c.body, stream }, null, 1).replace('"m"', '"m" '));
        const headers = { 'x-custom': `v-${stream}`, 'x-kvdiff-session': `${c.path}-${stream}` };
        const direct = await send(up.port, 'POST', c.path, body, headers);
        const before = up.received.length;
        const proxied = await send(rec.port, 'POST', c.path, body, headers);
        expect(proxied.status).toBe(direct.status);
        expect(proxied.body.equals(direct.body)).toBe(true);
        expect(proxied.headers['content-type']).toBe(direct.headers['content-type']);
        const seen = up.received[before];
        expect(seen.url).toBe(c.path);
        expect(seen.body.equals(body)).toBe(true);
        expect(seen.headers['x-custom']).toBe(`v-${stream}`);
        // the session header is the proxy's own: not forwarded
        expect(seen.headers['x-kvdiff-session']).toBeUndefined();
        await rec.recorder.store.flush();
        const job = rec.jobs.find((j) => j.current.body === body.toString('utf8'))!;
        expect(job.reported).toMatchObject({ reused: c.reused[Number(stream)], field: c.field[Number(stream)] });
        const file = join(rec.out, job.current.label);
        expect(readFileSync(file).equals(body)).toBe(true);
        const meta = JSON.parse(readFileSync(join(rec.out, job.session, 'responses', '0001.json'), 'utf8'));
        expect(meta.kvdiff).toMatchObject({ streamed: stream, status: 200, reused: c.reused[Number(stream)], assignedBy: 'header' });
      });
    }
  }

  it('other routes are forwarded (method, query, body) and not captured', async () => {
    const before = rec.jobs.length;
    const r = await send(rec.port, 'PUT', '/slots/0?action=erase&x=1', '{"a": 1}');
    expect(r.status).toBe(200);
    expect(up.received.at(-1)).toMatchObject({ method: 'PUT', url: '/slots/0?action=erase&x=1' });
    expect(up.received.at(-1)!.body.toString()).toBe('{"a": 1}');
    await rec.recorder.store.flush();
    expect(rec.jobs.length).toBe(before);
  });

  it('hop-by-hop headers stay on their connection; a base path in --upstream is kept', async () => {
    const based = await startRecorder(new URL(`${up.url.href}base/`));
    await send(based.port, 'GET', '/v1/models?x=1', null, { connection: 'keep-alive, x-hop', 'x-hop': '1', 'keep-alive': 'timeout=5', te: 'trailers', 'x-end': '2' });
    const seen = up.received.at(-1)!;
    expect(seen.url).toBe('/base/v1/models?x=1');
    expect(seen.headers).toMatchObject({ 'x-end': '2', host: up.url.host });
    for (const h of ['x-hop', 'keep-alive', 'te']) expect(seen.headers[h]).toBeUndefined();
    await based.recorder.close(1000);
  });

  it('the stream is passed on as it comes, not held until the end', async () => {
    const slow = await standIn(() => ({ headers: { 'content-type': 'text/event-stream' }, chunks: ['data: {"a":1}\n\n'], hold: true }));
    const r2 = await startRecorder(slow.url);
    const first = await new Promise<string>((resolve, reject) => {
      import('node:http').then(({ request }) => {
        const req = request({ host: LOOPBACK, port: r2.port, method: 'POST', path: '/v1/chat/completions' }, (res) => {
          res.once('data', (c: Buffer) => {
            resolve(c.toString());
            req.destroy();
          });
        });
        req.on('error', () => {});
        req.end('{"stream":true,"messages":[]}');
        setTimeout(() => reject(new Error('no chunk arrived while the upstream kept the response open')), 20_000).unref();
      });
    });
    expect(first).toBe('data: {"a":1}\n\n');
    await r2.recorder.close(1000);
    await slow.close();
  });
});

describe('kvdiff record: failures and limits', () => {
  it('a dead upstream answers 502 with a JSON error body', async () => {
    const dead = await standIn(() => ({ chunks: [] }));
    await dead.close(); // the port is now closed
    const rec = await startRecorder(dead.url);
    const r = await send(rec.port, 'POST', '/v1/chat/completions', '{"messages":[]}');
    expect(r.status).toBe(502);
    expect(r.headers['content-type']).toBe('application/json');
    expect(JSON.parse(r.body.toString()).error).toMatchObject({ type: 'upstream_unavailable', code: 502 });
    await rec.recorder.close(1000);
  });

  it('a client that disconnects aborts the upstream request', async () => {
    const up = await standIn(() => ({ headers: { 'content-type': 'text/event-stream' }, chunks: ['data: {}\n\n'], hold: true }));
    const rec = await startRecorder(up.url);
    await new Promise<void>((resolve) => {
      import('node:http').then(({ request }) => {
        const req = request({ host: LOOPBACK, port: rec.port, method: 'POST', path: '/v1/chat/completions' }, (res) => res.once('data', () => (req.destroy(), resolve())));
        req.on('error', () => {});
        req.end('{"stream":true,"messages":[]}');
      });
    });
    for (let i = 0; i < 200 && up.closedEarly.length === 0; i++) await new Promise((r) => setTimeout(r, 25));
    expect(up.closedEarly).toEqual(['/v1/chat/completions']);
    await rec.recorder.close(1000);
    await up.close();
  });

  it('a body over --max-body is forwarded whole but not captured, with a note', async () => {
    const up = await standIn(dialectReply);
    const rec = await startRecorder(up.url, { maxBodyBytes: 1000 });
    const big = JSON.stringify({ messages: [{ role: 'user', content: 'x'.repeat(5000) }] });
    const r = await send(rec.port, 'POST', '/v1/chat/completions', big);
    expect(r.status).toBe(200);
    expect(up.received[0].body.toString()).toBe(big);
    await rec.recorder.close(1000);
    expect(readdirSync(rec.out)).toEqual([]);
    expect(rec.notes.join('\n')).toMatch(/over --max-body 1000: forwarded, not captured/);
  });

  it('no secret header value reaches a file, a line or a note', async () => {
    const secrets = ['Bearer sk-SECRET-1', 'SECRET-2', 'SECRET-3', 'sid=SECRET-4', 'SECRET-5', 'SECRET-6'];
    const up = await standIn(dialectReply);
    const rec = await startRecorder(up.url, { redact: ['X-Internal'] });
    const headers = { authorization: secrets[0], 'x-api-key': secrets[1], 'api-key': secrets[2], cookie: secrets[3], 'x-internal': secrets[4], 'x-my-token': secrets[5] };
    for (const c of CASES) for (const stream of [false, true]) await send(rec.port, 'POST', `${c.path.split('?')[0]}?key=SECRET-Q`, JSON.stringify({ ...c.body, stream }), headers);
    // the upstream still gets them: the proxy is transparent
    expect(up.received[0].headers.authorization).toBe(secrets[0]);
    await rec.recorder.close(1000);
    const files: string[] = [];
    const walk = (d: string) => readdirSync(d).forEach((n) => (statSync(join(d, n)).isDirectory() ? walk(join(d, n)) : files.push(join(d, n))));
    walk(rec.out);
    expect(files.length).toBe(12);
    const written = files.map((f) => readFileSync(f, 'utf8')).join('\n') + JSON.stringify(rec.lines) + rec.notes.join('\n') + JSON.stringify(rec.jobs);
    for (const s of [...secrets.map((x) => x.replace(/^(Bearer |sid=)/, '')), 'SECRET-Q']) expect(written).not.toContain(s);
    const meta = JSON.parse(readFileSync(files.find((f) => f.includes('responses'))!, 'utf8'));
    expect(meta.kvdiff.redactedHeaders.sort()).toEqual(['api-key', 'authorization', 'cookie', 'x-api-key', 'x-internal', 'x-my-token']);
    expect(meta.kvdiff.path).toMatch(/\?key=REDACTED$/);
    await up.close();
  });
});

describe('kvdiff record: sessions', () => {
  it('conversations are kept apart by header, by client field, and by longest shared prefix', async () => {
    const up = await standIn(dialectReply);
    const rec = await startRecorder(up.url);
    const chat = (system: string, turns: number, extra: object = {}) =>
      JSON.stringify({ ...extra, messages: [{ role: 'system', content: system }, ...Array.from({ length: turns }, (_, i) => ({ role: i % 2 ? 'assistant' : 'user', content: `${system} turn ${i}` }))] });
    // two conversations interleaved without any key, one keyed by `user`, one by header
    for (let t = 1; t <= 5; t += 2) {
      await send(rec.port, 'POST', '/v1/chat/completions', chat('alpha', t));
      await send(rec.port, 'POST', '/v1/chat/completions', chat('beta', t));
      await send(rec.port, 'POST', '/v1/chat/completions', chat('alpha', t, { user: 'u-1' }));
      await send(rec.port, 'POST', '/chat/completions', chat('beta', t), { 'x-kvdiff-session': 'my run' });
    }
    await rec.recorder.close(1000);
    const dirs = readdirSync(rec.out).sort();
    expect(dirs).toEqual(['chat-my_run', 'chat-session-1', 'chat-session-2', 'chat-u-1']);
    for (const d of dirs) expect(readdirSync(join(rec.out, d)).filter((n) => n.endsWith('.json'))).toEqual(['0001.json', '0002.json', '0003.json']);
    const systemOf = (d: string) => readdirSync(join(rec.out, d)).filter((n) => n.endsWith('.json')).map((n) => JSON.parse(readFileSync(join(rec.out, d, n), 'utf8')).messages[0].content);
    expect(systemOf('chat-session-1')).toEqual(['alpha', 'alpha', 'alpha']);
    expect(systemOf('chat-session-2')).toEqual(['beta', 'beta', 'beta']);
    expect(rec.jobs.filter((j) => j.session === 'chat-session-1').map((j) => j.previous?.label ?? null)).toEqual([null, join('chat-session-1', '0001.json'), join('chat-session-1', '0002.json')]);
    // a second run into the same folder never overwrites the first one's sessions
    const again = await startRecorder(up.url, { out: rec.out });
    await send(again.port, 'POST', '/v1/chat/completions', chat('alpha', 1));
    await again.recorder.close(1000);
    expect(readdirSync(rec.out).sort()).toContain('chat-session-3');
    await up.close();
  });
});

const engineCtx = capturingContext();

describe.skipIf(!HAVE_SHARED)(`kvdiff record: per-request lines against llama-server's recorded counters (${HAVE_SHARED ? '' : NO_SHARED_REASON})`, () => {
  it('a recorded agent session: each prediction agrees with the cache_n the server reported; a wrong counter gives a disagreement line; the session passes kvdiff check', async () => {
    const f = loadFixtures().find((x) => x.case === 'qwen3_agentic_session_4_steps')!;
    const steps = f.steps! as unknown as { request: unknown; timings: { cache_n: number }; n_tokens: number }[];
    const tampered = 2; // the stand-in reports a wrong counter for this step
    let call = 0;
    const up = await standIn(() => {
      const s = steps[call++];
      const timings = call - 1 === tampered ? { ...s.timings, cache_n: 7 } : s.timings;
      return { chunks: [JSON.stringify({ object: 'chat.completion', timings })] };
    });
    const lines: import('../src/node/record/analysis.js').RecordLine[] = [];
    const engine = buildEngine({ backend: 'llama.cpp', date: '2025-06-01' }, engineCtx);
    const rec = await startRecorder(up.url, {
      analyzer: (onLine, onError) => new InlineAnalyzer(engine, onLine, (j, m) => onError(j, m)),
      onLine: (l) => lines.push(l),
    });
    for (const s of steps) expect((await send(rec.port, 'POST', '/v1/chat/completions', JSON.stringify(s.request))).status).toBe(200);
    await rec.recorder.close(60_000);
    lines.sort((a, b) => a.seq - b.seq);
    expect(lines.map((l) => l.tokens)).toEqual(steps.map((s) => s.n_tokens));
    expect(lines.map((l) => l.reported)).toEqual(steps.map((s, i) => (i === tampered ? 7 : s.timings.cache_n)));
    expect(lines.slice(1).map((l) => l.predicted)).toEqual(steps.slice(1).map((s) => s.timings.cache_n));
    expect(lines.map((l) => l.agrees)).toEqual([null, true, false, true]);
    const human = lines.map((l) => humanLine(l, new Chalk({ level: 0 })));
    expect(human[2]).toMatch(/^ {2}! disagree: server reused 7 \(timings\.cache_n\), kvdiff predicted/m);
    expect(human[1]).not.toMatch(/disagree/);
    const checked = await runCli(['check', join(rec.out, 'chat-session-1'), '--json', '--date', '2025-06-01']);
    expect(checked.code).toBe(0);
    expect(JSON.parse(checked.stdout).steps.map((s: { nPast: number }) => s.nPast)).toEqual(steps.slice(1).map((s) => s.timings.cache_n));
    await up.close();
  });
});

describe.skipIf(!HAVE_SHARED)(`kvdiff record: the reply of the previous request (${HAVE_SHARED ? '' : NO_SHARED_REASON})`, () => {
  for (const stream of [false, true]) {
    it(`recorded round trip, reply ${stream ? 'streamed' : 'in one body'}: the reply is saved as --response input and the prediction agrees with the cache_n llama-server reported`, async () => {
      const f = loadFixtures().find((x) => x.case === 'qwen3_generated_tokens_roundtrip')!;
      const resp = f.response_a as { choices: { message: { role: string; content: string }; finish_reason: string }[]; usage: unknown };
      const timings = [f.timings_a, f.timings_b] as { cache_n: number }[];
      let call = 0;
      const up = await standIn(() => {
        const n = call++;
        if (n > 0) return { chunks: [JSON.stringify({ timings: timings[1] })] };
        if (!stream) return { chunks: [JSON.stringify({ ...resp, timings: timings[0] })] };
        const { content, role } = resp.choices[0].message;
        // the reply in pieces, the way llama-server streams it; counters in the last chunk
        const deltas = [{ role, content: '' }, ...content.match(/[\s\S]{1,3}/g)!.map((c) => ({ content: c }))];
        return {
          headers: { 'content-type': 'text/event-stream' },
          chunks: sse([
            ...deltas.map((delta) => ({ choices: [{ index: 0, delta, finish_reason: null }] })),
            { choices: [{ index: 0, delta: {}, finish_reason: resp.choices[0].finish_reason }], usage: resp.usage, timings: timings[0] },
          ]).concat('data: [DONE]\n\n'),
        };
      });
      const lines: import('../src/node/record/analysis.js').RecordLine[] = [];
      const engine = buildEngine({ backend: 'llama.cpp', gguf: join(SHARED, 'models', 'tiny-qwen3.gguf') }, engineCtx);
      const rec = await startRecorder(up.url, { analyzer: (onLine, onError) => new InlineAnalyzer(engine, onLine, onError), onLine: (l) => lines.push(l) });
      await send(rec.port, 'POST', '/v1/chat/completions', JSON.stringify({ ...(f.request_a as object), stream }));
      await send(rec.port, 'POST', '/v1/chat/completions', JSON.stringify(f.request_b));
      await rec.recorder.close(60_000);
      const b = lines.find((l) => l.seq === 2)!;
      expect(b).toMatchObject({ predicted: f.n_past_logged, reported: timings[1].cache_n, agrees: true });
      // and the saved reply reads as --response input
      const meta = JSON.parse(readFileSync(join(rec.out, 'chat-session-1', 'responses', '0001.json'), 'utf8'));
      expect(meta.choices[0]).toMatchObject({ message: resp.choices[0].message, finish_reason: resp.choices[0].finish_reason });
      await up.close();
    });
  }
});

describe('kvdiff record: the previous reply is in the slot', () => {
  it('a reply resent unchanged counts as reused, exactly as kvdiff A B --response says for the saved files', async () => {
    const a = { messages: [{ role: 'user', content: 'Say hello.' }] };
    const b = { messages: [...a.messages, { role: 'assistant', content: 'Hello there.' }, { role: 'user', content: 'Again.' }] };
    let call = 0;
    const up = await standIn(() => ({ chunks: [JSON.stringify(call++ === 0 ? { choices: [{ index: 0, finish_reason: 'stop', message: { role: 'assistant', content: 'Hello there.' } }] } : {})] }));
    const lines: import('../src/node/record/analysis.js').RecordLine[] = [];
    const engine = buildEngine({ backend: 'llama.cpp', date: '2025-06-01' }, engineCtx);
    const rec = await startRecorder(up.url, { analyzer: (onLine, onError) => new InlineAnalyzer(engine, onLine, onError), onLine: (l) => lines.push(l) });
    await send(rec.port, 'POST', '/v1/chat/completions', JSON.stringify(a));
    await send(rec.port, 'POST', '/v1/chat/completions', JSON.stringify(b));
    await rec.recorder.close(60_000);
    const s = join(rec.out, 'chat-session-1');
    const cli = JSON.parse((await runCli([join(s, '0001.json'), join(s, '0002.json'), '--response', join(s, 'responses', '0001.json'), '--json', '--date', '2025-06-01'])).stdout);
    const line = lines.find((l) => l.seq === 2)!;
    expect(line.predicted).toBe(cli.nPast);
    expect(line.predicted).toBeGreaterThan(lines.find((l) => l.seq === 1)!.tokens!);
    await up.close();
  });
});

describe('kvdiff record: a break is flagged on the request that causes it', () => {
  it('the first cause is named on the line, and --json lines carry the same data', async () => {
    const up = await standIn(() => ({ chunks: ['{"timings":{"cache_n":0,"prompt_n":1}}'] }));
    const lines: import('../src/node/record/analysis.js').RecordLine[] = [];
    const engine = buildEngine({ backend: 'llama.cpp', date: '2025-06-01' }, engineCtx);
    const rec = await startRecorder(up.url, { analyzer: (onLine, onError) => new InlineAnalyzer(engine, onLine, onError), onLine: (l) => lines.push(l) });
    for (const p of ['samples/session-reload/loop.json', 'samples/session-reload/reload.json']) {
      await send(rec.port, 'POST', '/v1/chat/completions', readFileSync(p), { 'x-kvdiff-session': 'reload' });
    }
    await rec.recorder.close(60_000);
    lines.sort((a, b) => a.seq - b.seq);
    expect(lines[1].break).toMatchObject({ code: 'WHITESPACE', path: '$.messages[4].content' });
    expect(lines[1].break!.of).toBe(lines[1].tokens);
    expect(JSON.parse(jsonLine(lines[1]))).toEqual(lines[1]);
    expect(humanLine(lines[1], new Chalk({ level: 0 }))).toMatch(/^chat-reload #2 ✗ .*break at token [\d,]+ of [\d,]+: \$\.messages\[4\]\.content WHITESPACE$/m);
    await up.close();
  });
});

/** Process groups started by `spawnRecord`, stopped after the tests even when one fails. */
const spawned: number[] = [];
afterAll(() => {
  for (const pid of spawned) {
    try {
      process.kill(-pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
});

/** Starts the built `kvdiff record` on a free loopback port, in its own process group (Ctrl-C goes to the group). */
async function spawnRecord(args: string[]) {
  const { spawn } = await import('node:child_process');
  const child = spawn(process.execPath, ['bin/kvdiff.js', 'record', '--listen', `${LOOPBACK}:0`, ...args], { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  spawned.push(child.pid!);
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c) => (stdout += c));
  const port = await new Promise<number>((resolve, reject) => {
    child.stderr.on('data', (c) => {
      stderr += c;
      const m = /http:\/\/127\.0\.0\.1:(\d+) →/.exec(stderr);
      if (m) resolve(Number(m[1]));
    });
    child.once('exit', () => reject(new Error(`record exited early: ${stderr}`)));
  });
  const stop = async () => {
    process.kill(-child.pid!, 'SIGINT');
    return new Promise<number | null>((r) => (child.exitCode !== null ? r(child.exitCode) : child.once('exit', r)));
  };
  return { child, port, stop, stdout: () => stdout, stderr: () => stderr };
}

describe.skipIf(!existsSync('dist/cli/main.js'))('kvdiff record (the built command, analysis process, Ctrl-C)', () => {
  it('records, prints JSON lines from its analysis process, and on Ctrl-C (SIGINT to the whole process group) writes everything, a request in flight included', async () => {
    // the second request is a stream the upstream never ends: Ctrl-C must still write its capture, then cut it
    const up = await standIn((r) =>
      JSON.parse(r.body.toString()).stream
        ? { headers: { 'content-type': 'text/event-stream' }, chunks: ['data: {}\n\n'], hold: true }
        : { chunks: ['{"usage":{"prompt_tokens":3,"prompt_tokens_details":{"cached_tokens":0}}}'] },
    );
    const out = mkdtempSync(join(tmpdir(), 'kvdiff-record-cli-'));
    const run = await spawnRecord(['--upstream', up.url.href, '--out', out, '--json', '--date', '2025-06-01']);
    const { child, port } = run;
    const body = '{"messages":[{"role":"user","content":"hi"}]}';
    expect((await send(port, 'POST', '/v1/chat/completions', body)).status).toBe(200);
    for (let i = 0; i < 600 && !run.stdout().includes('\n'); i++) await new Promise((r) => setTimeout(r, 50));
    const streamed = '{"stream":true,"messages":[{"role":"user","content":"hi"},{"role":"assistant","content":"yes"}]}';
    const cut = new Promise<string>((resolve) => {
      import('node:http').then(({ request }) => {
        const req = request({ host: LOOPBACK, port, method: 'POST', path: '/v1/chat/completions' }, (res) => {
          res.once('data', () => {
            process.kill(-child.pid!, 'SIGINT'); // the whole group, as a terminal sends it: the proxy and its analysis process
            res.on('error', () => resolve('cut'));
            res.on('aborted', () => resolve('cut'));
            res.on('end', () => resolve('ended'));
          });
        });
        req.on('error', () => resolve('cut'));
        req.end(streamed);
      });
    });
    expect(await cut).toBe('cut'); // the whole group: the proxy and its analysis process
    const code = await new Promise<number | null>((r) => child.once('exit', r));
    expect(code).toBe(0);
    const line = JSON.parse(run.stdout().split('\n')[0]);
    expect(line).toMatchObject({ type: 'request', session: 'chat-session-1', seq: 1, reported: 0, note: 'first request of the session' });
    expect(line.tokens).toBeGreaterThan(0);
    expect(readFileSync(join(out, 'chat-session-1', '0001.json'), 'utf8')).toBe(body);
    expect(JSON.parse(readFileSync(join(out, 'chat-session-1', 'responses', '0001.json'), 'utf8')).kvdiff.reused).toBe(0);
    expect(readFileSync(join(out, 'chat-session-1', '0002.json'), 'utf8')).toBe(streamed);
    expect(JSON.parse(readFileSync(join(out, 'chat-session-1', 'responses', '0002.json'), 'utf8')).kvdiff).toMatchObject({ status: 200, streamed: true, error: 'cut when kvdiff record stopped' });
    expect(run.stderr()).toMatch(/stopping: finishing requests in flight/);
    expect(run.stderr()).toMatch(/2 requests captured/);
    await up.close();
  });

  it('a model that cannot be loaded turns the analysis off and recording goes on', async () => {
    const up = await standIn(() => ({ chunks: ['{}'] }));
    const out = mkdtempSync(join(tmpdir(), 'kvdiff-record-cli-'));
    const run = await spawnRecord(['--upstream', up.url.href, '--out', out, '--json', '--gguf', join(out, 'missing.gguf')]);
    for (let i = 0; i < 600 && !run.stderr().includes('analysis off'); i++) await new Promise((r) => setTimeout(r, 50));
    expect((await send(run.port, 'POST', '/v1/chat/completions', '{"messages":[{"role":"user","content":"hi"}]}')).status).toBe(200);
    for (let i = 0; i < 600 && !run.stdout().includes('\n'); i++) await new Promise((r) => setTimeout(r, 50));
    expect(await run.stop()).toBe(0);
    expect(run.stderr()).toMatch(/analysis off: .*missing\.gguf: no such file; still recording/);
    expect(JSON.parse(run.stdout()).note).toMatch(/^not analysed: the analysis is off/);
    expect(existsSync(join(out, 'chat-session-1', '0001.json'))).toBe(true);
    await up.close();
  });
});

describe('kvdiff record: bad options', () => {
  const cases: [string, string[], RegExp][] = [
    ['no upstream', [], /required option '--upstream <url>'/],
    ['not a URL', ['--upstream', 'localhost'], /^error: --upstream takes a URL, got "localhost"$/m],
    ['not http', ['--upstream', 'ftp://127.0.0.1/'], /^error: --upstream must be http:\/\/ or https:\/\//m],
    ['a bad --listen', ['--upstream', 'http://127.0.0.1:1', '--listen', 'host:port'], /^error: --listen takes HOST:PORT or PORT/m],
    ['a bad --max-body', ['--upstream', 'http://127.0.0.1:1', '--max-body', 'lots'], /^error: --max-body takes a size in bytes/m],
  ];
  for (const [what, args, message] of cases) {
    it(`${what}: one line, exit 2`, async () => {
      const r = await runCli(['record', ...args]);
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(message);
      expect(r.stderr).not.toMatch(/\n\s+at /); // no stack trace
    });
  }
  it('a port already taken: one line with a hint, exit 2', async () => {
    const up = await standIn(() => ({ chunks: [] }));
    const r = await runCli(['record', '--upstream', 'http://127.0.0.1:1', '--listen', `${LOOPBACK}:${up.port}`, '--out', join(tmpdir(), 'kvdiff-never')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^error: cannot listen on 127\.0\.0\.1:\d+: EADDRINUSE\nhelp: pick another port with --listen\n$/);
    await up.close();
  });
  it('--help shows the options and how to check a session', async () => {
    const r = await runCli(['record', '--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/--upstream <url>/);
    expect(r.stdout).toMatch(/kvdiff check kvdiff-record\/chat-session-1/);
  });
});
