import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempFiles } from './tmp.js';
import { runCli } from './cli-harness.js';
import { HAVE_SHARED, NO_SHARED_REASON, loadFixtures } from './shared.js';
import { checkSession } from '../src/index.js';

const { dir } = tempFiles('check');
const REPO = join(import.meta.dirname, '..');
const BIN = join(REPO, 'bin', 'kvdiff.js');

type Step = { step: number; request: Record<string, unknown>; n_past_logged: number; cache_n: number; timings: unknown };
const fixture = HAVE_SHARED ? loadFixtures().find((x) => x.case === 'qwen3_agentic_session_4_steps') : undefined;
const steps = (fixture?.steps ?? []) as unknown as Step[];

/** The fixture's requests as `kvdiff record` writes a session: 0001.json … beside responses/0001.json (timings). */
function writeSession(name: string, edit?: (step: number, body: Record<string, unknown>) => void): string {
  const s = join(dir, name);
  rmSync(s, { recursive: true, force: true });
  mkdirSync(join(s, 'responses'), { recursive: true });
  for (const st of steps) {
    const body = structuredClone(st.request);
    edit?.(st.step, body);
    const n = String(st.step).padStart(4, '0');
    writeFileSync(join(s, `${n}.json`), `${JSON.stringify(body, null, 2)}\n`);
    writeFileSync(join(s, 'responses', `${n}.json`), JSON.stringify({ status: 200, timings: st.timings }));
  }
  return s;
}

/** Step 4 resends the assistant answer of messages[4] trimmed of its last character. */
const trimStep4 = (step: number, body: Record<string, unknown>) => {
  if (step !== 4) return;
  const m = (body.messages as { role: string; content: string }[])[4];
  expect(m.role).toBe('assistant');
  m.content = m.content.slice(0, -1);
};

const json = (stdout: string) => JSON.parse(stdout);

describe.skipIf(!HAVE_SHARED)(`kvdiff check on the recorded agent session (${HAVE_SHARED ? '' : NO_SHARED_REASON})`, () => {
  it('a recorded session checks clean: reuse per step as llama-server logged it (n_past, cache_n)', async () => {
    const s = writeSession('clean');
    const r = await runCli(['check', s, '--json']);
    expect(r.code).toBe(0);
    const j = json(r.stdout);
    const session = j.sessions[0];
    const reuse = [0, ...session.steps.map((st: { nPast: number }) => st.nPast)];
    expect(reuse).toEqual(steps.map((st) => st.n_past_logged));
    expect(reuse).toEqual(steps.map((st) => st.cache_n));
    expect(session.first.tokens).toBe((steps[0] as unknown as { n_tokens: number }).n_tokens);
    expect(j.ok).toBe(true);
    // what kvdiff record saved beside each request (responses/000N.json) is read and shown beside the prediction
    expect([session.first.logged, ...session.steps.map((st: { logged: number }) => st.logged)]).toEqual(steps.map((st) => st.cache_n));
  });

  it('a recorded reuse that differs from the prediction is noted, not failed', async () => {
    const s = writeSession('logged-differs');
    writeFileSync(join(s, 'responses', '0003.json'), JSON.stringify({ timings: { cache_n: 7, prompt_n: 560 } }));
    const r = await runCli(['check', s]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/step\s+tokens\s+reused\s+%\s+logged\s+first cause/);
    expect(r.stdout).toMatch(/= note: step 3: the recording logged 7 tokens reused, kvdiff predicts 511/);
  });

  it('the text report has the per-session table: step, tokens, reused, %, first cause', async () => {
    const r = await runCli(['check', writeSession('table')]);
    expect(r.code).toBe(0);
    const rows = r.stdout.split('\n').filter((l) => /^\s+\d+\s/.test(l)).map((l) => l.trim().split(/\s+/).slice(0, 5));
    expect(rows.map((x) => Number(x[0]))).toEqual([1, 2, 3, 4]);
    expect(rows.map((x) => Number(x[2].replace(/,/g, '')))).toEqual(steps.map((st) => st.n_past_logged));
    expect(rows.map((x) => Number(x[1].replace(/,/g, '')))).toEqual(steps.map((st) => (st as unknown as { n_tokens: number }).n_tokens));
    expect(rows.map((x) => Number(x[4].replace(/,/g, '')))).toEqual(steps.map((st) => st.cache_n));
    expect(r.stdout).toMatch(/step\s+tokens\s+reused\s+%\s+logged\s+first cause/);
  });

  it('one trimmed assistant answer fails the check and names its step and JSON path in every format', async () => {
    const s = writeSession('trimmed', trimStep4);
    const file = join(s, '0004.json');
    // the line of the trimmed content, found in the file's own text
    const line = readFileSync(file, 'utf8').split('\n').findIndex((l) => l.includes('"content": "One test fails')) + 1;
    expect(line).toBeGreaterThan(1);

    const text = await runCli(['check', s]);
    expect(text.code).toBe(1);
    expect(text.stdout).toMatch(/^break step 4: /m);
    expect(text.stdout).toContain(`${file}:${line} $.messages[4].content`);

    const j = await runCli(['check', s, '--format', 'json']);
    expect(j.code).toBe(1);
    const bad = json(j.stdout).steps.filter((st: { ok: boolean }) => !st.ok);
    expect(bad).toHaveLength(1);
    expect(bad[0]).toMatchObject({ step: 4, b: file, status: 'break' });
    expect(bad[0].causes[0].path).toBe('$.messages[4].content');
    expect(bad[0].nPast).toBeLessThan(steps[3].n_past_logged);

    const gh = await runCli(['check', s, '--format', 'github']);
    expect(gh.code).toBe(1);
    const errors = gh.stdout.split('\n').filter((l) => l.startsWith('::error '));
    expect(errors).toHaveLength(1);
    expect(errors[0]).toContain(`file=${file},line=${line},`);
    expect(errors[0]).toContain('step 4');
    expect(errors[0]).toContain('$.messages[4].content');
    // --json stays an alias
    expect((await runCli(['check', s, '--json'])).stdout).toBe(j.stdout);
  });

  it('declaring the step as an expected break passes; without the trim the stale expectation is reported', async () => {
    const decl = { steps: { '4': { expect: 'break', reason: 'the agent trims old answers' } } };
    const s = writeSession('declared', trimStep4);
    writeFileSync(join(s, 'kvdiff.json'), JSON.stringify(decl, null, 2));
    const r = await runCli(['check', s, '--json']);
    expect(r.code).toBe(0);
    expect(json(r.stdout).steps[2]).toMatchObject({ step: 4, status: 'expected', ok: true });

    const clean = writeSession('declared-clean');
    writeFileSync(join(clean, 'kvdiff.json'), JSON.stringify(decl, null, 2));
    const j = await runCli(['check', clean, '--json']);
    expect(j.code).toBe(1);
    expect(json(j.stdout).sessions[0].problems).toMatchObject([{ code: 'STALE_EXPECTATION', step: 4, key: '4' }]);
    const t = await runCli(['check', clean]);
    expect(t.code).toBe(1);
    expect(t.stdout).toMatch(/step 4 .*declared as a break.*reuses all/);
    const gh = await runCli(['check', clean, '--format', 'github']);
    // at the line of the stale declaration in the pretty-printed kvdiff.json
    const declLine = readFileSync(join(clean, 'kvdiff.json'), 'utf8').split('\n').findIndex((l) => l.includes('"4": {')) + 1;
    expect(declLine).toBe(3);
    expect(gh.stdout).toMatch(new RegExp(`^::error file=${join(clean, 'kvdiff.json')},line=${declLine},title=kvdiff STALE_EXPECTATION::`, 'm'));
    // by file name instead of number, and an allowed code instead of a declared break
    writeFileSync(join(s, 'kvdiff.json'), JSON.stringify({ steps: { '0004.json': { allow: ['VALUE_CHANGED'] } } }));
    expect(json((await runCli(['check', s, '--json'])).stdout).steps[2]).toMatchObject({ status: 'allowed', ok: true });
    rmSync(join(s, 'kvdiff.json'));
  });

  it('progress on stderr once a run on a terminal passes a second (and never when stderr is not a terminal)', async () => {
    const s = writeSession('progress');
    let t = 0;
    const clock = () => (t += 400);
    const tty = await runCli(['check', s], '', { stderrIsTTY: true, now: clock });
    expect(tty.code).toBe(0);
    expect(tty.stderr).toMatch(/checking .*progress: step 4 of 4/);
    expect(tty.stderr.endsWith('\r\x1b[K')).toBe(true);
    t = 0;
    expect((await runCli(['check', s], '', { stderrIsTTY: false, now: clock })).stderr).toBe('');
    const fast = await runCli(['check', s], '', { stderrIsTTY: true, now: () => 0 });
    expect(fast.stderr).toBe('');
  });

  it('per-session engine settings: a session declared as served by vLLM reuses whole blocks only', async () => {
    const vllm = writeSession('vllm');
    writeFileSync(join(vllm, 'kvdiff.json'), JSON.stringify({ backend: 'vllm' }));
    const plain = writeSession('plain');
    const j = json((await runCli(['check', vllm, plain, '--json'])).stdout);
    const [v, p] = j.sessions.map((s: { steps: { nPast: number }[] }) => s.steps.map((st) => st.nPast));
    expect(p).toEqual(steps.slice(1).map((s) => s.n_past_logged));
    // vLLM's prefix cache hits whole blocks of --block-size (default 16) tokens
    expect(v).toEqual(p.map((n: number) => Math.floor(n / 16) * 16));
    writeFileSync(join(vllm, 'kvdiff.json'), JSON.stringify({ backend: 'tgi' }));
    const bad = await runCli(['check', vllm, plain]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/kvdiff\.json: backend must be one of /);
    expect(bad.stdout).toMatch(/^session .*plain: 4 requests/m);
  });

  it('a minimum reuse ratio per session; a step key that names no request is reported', async () => {
    const s = writeSession('minreuse', trimStep4);
    writeFileSync(join(s, 'kvdiff.json'), JSON.stringify({ minReuse: 0.95, steps: { '4': { expect: 'break' }, '9': { expect: 'break' } } }));
    const j = json((await runCli(['check', s, '--json'])).stdout);
    expect(j.sessions[0].problems.map((p: { code: string }) => p.code).sort()).toEqual(['REUSE_BELOW_MINIMUM', 'UNKNOWN_STEP']);
  });

  it('expectations from the project: a kvdiff key in package.json, kvdiff.config.json, --config', async () => {
    const project = join(dir, 'project');
    mkdirSync(project, { recursive: true });
    const s = join(project, 'sessions', 'one');
    mkdirSync(join(project, 'sessions'), { recursive: true });
    rmSync(s, { recursive: true, force: true });
    // written inside the project folder
    const written = writeSession('p-one', trimStep4);
    mkdirSync(s);
    for (const f of readdirSync(written).filter((n) => n.endsWith('.json'))) writeFileSync(join(s, f), readFileSync(join(written, f)));
    const declared = { sessions: { 'sessions/one': { steps: { '4': { expect: 'break', reason: 'compaction' } } } } };
    writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'agent', kvdiff: declared }));
    expect((await runCli(['check', s])).code).toBe(0);
    writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'agent' }));
    expect((await runCli(['check', s])).code).toBe(1);
    writeFileSync(join(project, 'kvdiff.config.json'), JSON.stringify(declared));
    expect((await runCli(['check', s])).code).toBe(0);
    rmSync(join(project, 'kvdiff.config.json'));
    const cfg = join(dir, 'elsewhere.json');
    writeFileSync(cfg, JSON.stringify({ allow: ['VALUE_CHANGED'] }));
    const r = await runCli(['check', s, '--config', cfg, '--json']);
    expect(r.code).toBe(0);
    expect(json(r.stdout).steps[2].status).toBe('allowed');
    // a misspelt setting is bad input, named
    writeFileSync(cfg, JSON.stringify({ minreuse: 0.5 }));
    const bad = await runCli(['check', s, '--config', cfg]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain(`${cfg}: minreuse is not a known setting`);
  });

  it('a recorded --out folder is one session per subfolder; one bad session does not hide the others', async () => {
    const out = join(dir, 'out');
    rmSync(out, { recursive: true, force: true });
    mkdirSync(out);
    for (const [name, edit] of [['a-clean', undefined], ['b-trimmed', trimStep4]] as const) {
      const s = writeSession(`out-${name}`, edit);
      mkdirSync(join(out, name, 'responses'), { recursive: true });
      for (const f of readdirSync(s).filter((n) => n.endsWith('.json'))) writeFileSync(join(out, name, f), readFileSync(join(s, f)));
    }
    mkdirSync(join(out, 'c-broken'));
    writeFileSync(join(out, 'c-broken', '0001.json'), JSON.stringify(steps[0].request));
    writeFileSync(join(out, 'c-broken', '0002.json'), '{"model": "x", "messages": [');
    const r = await runCli(['check', out, '--json']);
    expect(r.code).toBe(2);
    const j = json(r.stdout);
    expect(j.sessions.map((s: { name: string }) => s.name)).toEqual(['a-clean', 'b-trimmed', 'c-broken'].map((n) => join(out, n)));
    expect(j.sessions[0].ok).toBe(true);
    expect(j.sessions[1]).toMatchObject({ ok: false, breaks: 1 });
    expect(j.sessions[2].error.message).toContain(join(out, 'c-broken', '0002.json'));
    expect(j.sessions[2].error.message).toMatch(/line 1, column/);
    // the --out folder's kvdiff.json declares per session
    writeFileSync(join(out, 'kvdiff.json'), JSON.stringify({ sessions: { 'b-trimmed': { steps: { '4': { expect: 'break' } } } } }));
    rmSync(join(out, 'c-broken'), { recursive: true });
    expect((await runCli(['check', out])).code).toBe(0);
  });

  it('HAR: POSTs to generation endpoints in order, other entries skipped', async () => {
    const entry = (method: string, url: string, body?: unknown) => ({
      startedDateTime: '2026-01-01T00:00:00Z',
      request: { method, url, headers: [], ...(body === undefined ? {} : { postData: { mimeType: 'application/json', text: typeof body === 'string' ? body : JSON.stringify(body) } }) },
      response: { status: 200 },
    });
    const entries = [entry('GET', 'http://127.0.0.1:8080/v1/models'), entry('POST', 'http://127.0.0.1:8080/tokenize', { content: 'x' })];
    for (const st of steps) entries.push(entry('POST', 'http://127.0.0.1:8080/v1/chat/completions?x=1', st.request), entry('GET', 'http://127.0.0.1:8080/health'));
    const har = join(dir, 'session.har');
    writeFileSync(har, JSON.stringify({ log: { version: '1.2', entries } }, null, 2));
    const r = await runCli(['check', har, '--json']);
    expect(r.code).toBe(0);
    const j = json(r.stdout);
    expect([0, ...j.steps.map((s: { nPast: number }) => s.nPast)]).toEqual(steps.map((s) => s.n_past_logged));
    expect(j.steps[0].a).toBe(`${har}#entries[2]`);
    // the trimmed step is annotated on the HAR file
    const trimmed = structuredClone(steps[3].request);
    trimStep4(4, trimmed);
    entries[entries.length - 2] = entry('POST', 'http://127.0.0.1:8080/v1/chat/completions', trimmed);
    writeFileSync(har, JSON.stringify({ log: { entries } }, null, 1));
    const gh = await runCli(['check', har, '--format', 'github']);
    expect(gh.code).toBe(1);
    // at the line of the entry's body (postData.text) in the pretty-printed HAR, read off the file: the bodies are
    // /tokenize's, then the four chat requests'; step 4 is the fourth chat request
    const line = readFileSync(har, 'utf8').split('\n').map((l, i) => [l, i + 1] as const).filter(([l]) => l.includes('"text": "{')).map(([, i]) => i)[4];
    expect(gh.stdout).toMatch(new RegExp(`^::error file=${har},line=${line},title=kvdiff VALUE_CHANGED at step 4::.*\\$\\.messages\\[4\\]\\.content`, 'm'));
  });
});

describe('kvdiff check: inputs', () => {
  const harOf = (name: string, url: string, bodies: unknown[]) => {
    const p = join(dir, name);
    writeFileSync(p, JSON.stringify({ log: { entries: bodies.map((b) => ({ request: { method: 'POST', url, postData: { text: JSON.stringify(b) } } })) } }));
    return p;
  };
  const user = (text: string) => ({ role: 'user', content: text });
  const asst = (text: string) => ({ role: 'assistant', content: text });

  it.each([
    ['/v1/messages', [{ model: 'm', max_tokens: 64, messages: [user('Hi there')] }, { model: 'm', max_tokens: 64, messages: [user('Hi there'), asst('Hello! How can I help?'), user('Tell me a joke')] }]],
    ['/v1/responses', [{ model: 'm', input: [user('Hi there')] }, { model: 'm', input: [user('Hi there'), { type: 'message', role: 'assistant', content: [{ type: 'output_text', text: 'Hello! How can I help?' }] }, user('Tell me a joke')] }]],
    ['/v1/chat/completions', [{ model: 'm', messages: [user('Hi there')] }, { model: 'm', messages: [user('Hi there'), asst('Hello! How can I help?'), user('Tell me a joke')] }]],
    ['/completion', [{ prompt: 'The quick brown fox jumps over the lazy dog.' }, { prompt: 'The quick brown fox jumps over the lazy dog. Then it ran away.' }]],
  ])('HAR with POSTs to %s: a growing conversation passes', async (route, bodies) => {
    const r = await runCli(['check', harOf(`dialect${route.replace(/\//g, '_')}.har`, `http://localhost:8080${route}`, bodies), '--json']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(json(r.stdout).steps).toHaveLength(1);
  });

  it('a HAR without generation requests, a session of one request, mixed models: one clear line each, exit 2', async () => {
    const noGen = join(dir, 'nogen.har');
    writeFileSync(noGen, JSON.stringify({ log: { entries: [{ request: { method: 'GET', url: 'http://x/v1/models' } }] } }));
    const a = await runCli(['check', noGen]);
    expect(a.code).toBe(2);
    expect(a.stderr).toMatch(/^error: .*nogen\.har: no generation requests .* among its 1 entries$/m);

    const one = harOf('one.har', 'http://x/v1/chat/completions', [{ messages: [user('hi')] }]);
    const b = await runCli(['check', one]);
    expect(b.code).toBe(2);
    expect(b.stderr).toMatch(/^error: check needs at least two requests, found 1 in .*one\.har$/m);

    const mixed = harOf('mixed.har', 'http://x/v1/chat/completions', [{ model: 'qwen3', messages: [user('hi')] }, { model: 'llama', messages: [user('hi'), asst('yo'), user('ok')] }]);
    const c = await runCli(['check', mixed]);
    expect(c.code).toBe(2);
    expect(c.stderr).toMatch(/^error: mixed models in one session: .*#entries\[0\] asks for "qwen3", .*#entries\[1\] for "llama"/m);
  });

  it('a broken file in a folder is named; a broken JSONL record is named with its line; the good session is still reported', async () => {
    const folder = join(dir, 'broken-folder');
    mkdirSync(folder, { recursive: true });
    writeFileSync(join(folder, '1.json'), JSON.stringify({ messages: [user('hi')] }));
    writeFileSync(join(folder, '2.json'), '{"messages": [}');
    const jl = join(dir, 'broken.jsonl');
    writeFileSync(jl, `${JSON.stringify({ messages: [user('hi')] })}\n\n{"messages": oops}\n`);
    const good = join(dir, 'good.jsonl');
    writeFileSync(good, `${JSON.stringify({ messages: [user('hi')] })}\n${JSON.stringify({ messages: [user('hi'), asst('yo'), user('ok')] })}\n`);
    const r = await runCli(['check', folder, jl, good, '--json']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`${join(folder, '2.json')}: invalid JSON at line 1`);
    expect(r.stderr).toContain(`${jl}:3: invalid JSON`);
    const j = json(r.stdout);
    expect(j.sessions.map((s: { ok: boolean }) => s.ok)).toEqual([false, false, true]);
    expect(j.sessions[2].steps[0]).toMatchObject({ a: `${good}:1`, b: `${good}:2`, ok: true });
  });

  it('a JSON-lines file: a break fails the check, names the cause and the line in a github annotation', async () => {
    const jsonl = join(dir, 'reload.jsonl');
    writeFileSync(jsonl, ['samples/session-reload/loop.json', 'samples/session-reload/reload.json'].map((p) => JSON.stringify(JSON.parse(readFileSync(p, 'utf8')))).join('\n') + '\n');
    const r = await runCli(['check', jsonl, '--json']);
    expect(r.code).toBe(1);
    const j = json(r.stdout);
    expect(j.breaks).toBe(1);
    expect(j.steps[0].causes[0]).toMatchObject({ code: 'WHITESPACE', path: '$.messages[4].content' });
    expect(j.steps[0].a).toBe(`${jsonl}:1`);
    // the cause is in the later request (kvdiff A B --json says side b), the JSONL file's second line
    const gh = await runCli(['check', jsonl, '--format', 'github']);
    expect(gh.stdout).toMatch(new RegExp(`^::error file=${jsonl},line=2,title=kvdiff WHITESPACE at step 2::`, 'm'));
  });

  it('--allow lets a break the client cannot fix pass (the template rewriting history)', async () => {
    const pair = ['samples/qwen3-new-user-turn/a.json', 'samples/qwen3-new-user-turn/b.json'];
    expect((await runCli(['check', ...pair])).code).toBe(1);
    const r = await runCli(['check', ...pair, '--allow', 'TEMPLATE_REWRITES_HISTORY']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/\[allowed\] TEMPLATE_REWRITES_HISTORY/);
  });

  it('one request is bad input; an unknown format is refused', async () => {
    const r = await runCli(['check', 'samples/system-timestamp/a.json']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^error: check needs at least two requests/);
    const f = await runCli(['check', 'samples/system-timestamp/a.json', 'samples/system-timestamp/b.json', '--format', 'xml']);
    expect(f.code).toBe(2);
    expect(f.stderr).toMatch(/--format.*xml.*text, json, github/);
  });
});

describe.skipIf(!HAVE_SHARED)('checkSession (library)', () => {
  it('the recorded session is prefix-stable; the trimmed answer is a break at step 4', async () => {
    const clean = await checkSession(steps.map((s) => s.request));
    expect(clean.ok).toBe(true);
    expect(clean.steps.map((s) => s.nPast)).toEqual(steps.slice(1).map((s) => s.n_past_logged));
    const bodies = steps.map((s) => structuredClone(s.request));
    trimStep4(4, bodies[3]);
    const broken = await checkSession(bodies);
    expect(broken.ok).toBe(false);
    expect(broken.steps[2]).toMatchObject({ step: 4, status: 'break' });
    expect(broken.steps[2].causes[0].path).toBe('$.messages[4].content');
    const declared = await checkSession(bodies, { expectations: { steps: { '4': { expect: 'break', reason: 'compaction' } } } });
    expect(declared.ok).toBe(true);
    await expect(checkSession(bodies.slice(0, 1))).rejects.toThrow(/at least two requests/);
  });
});

// pre-commit runs a node hook as `<entry> <matched files…>` from the repository root, with the files that match
// `files` and not `exclude` (pre-commit itself is not installed here: this follows its documented behaviour)
describe.skipIf(!HAVE_SHARED || !existsSync(join(REPO, 'dist', 'cli', 'main.js')))('the pre-commit hook', () => {
  const manifest = readFileSync(join(REPO, '.pre-commit-hooks.yaml'), 'utf8');
  const field = (k: string) => manifest.match(new RegExp(`^\\s+${k}: (.*)$`, 'm'))![1].trim();
  it('declares a node hook whose entry is kvdiff check', () => {
    expect(field('language')).toBe('node');
    expect(field('entry')).toBe('kvdiff check');
    expect(field('require_serial')).toBe('true');
  });
  it('run over the files a commit touches: a clean session passes, a trimmed one fails and is named', () => {
    const root = join(dir, 'repo');
    rmSync(root, { recursive: true, force: true });
    for (const [name, edit] of [['clean', undefined], ['trimmed', trimStep4]] as const) {
      const s = writeSession(`hook-${name}`, edit);
      for (const sub of ['', 'responses']) {
        mkdirSync(join(root, 'sessions', name, sub), { recursive: true });
        for (const f of readdirSync(join(s, sub)).filter((n) => n.endsWith('.json'))) writeFileSync(join(root, 'sessions', name, sub, f), readFileSync(join(s, sub, f)));
      }
    }
    writeFileSync(join(root, 'README.md'), 'x');
    writeFileSync(join(root, 'package.json'), '{"name":"x"}');
    const all = (d: string): string[] => readdirSync(join(root, d), { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? all(join(d, e.name)) : [join(d, e.name)]));
    const files = new RegExp(field('files'));
    const exclude = new RegExp(field('exclude'));
    const matched = (prefix: string) => all('.').map((f) => relative('.', f)).filter((f) => f.startsWith(prefix) && files.test(f) && !exclude.test(f));
    expect(matched('sessions/clean')).toEqual(['sessions/clean/0001.json', 'sessions/clean/0002.json', 'sessions/clean/0003.json', 'sessions/clean/0004.json']);
    const [cmd, ...args] = field('entry').split(' ');
    expect(cmd).toBe('kvdiff');
    const run = (paths: string[]) => spawnSync(process.execPath, [BIN, ...args, ...paths], { cwd: root, encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' } });
    const ok = run(matched('sessions/clean'));
    expect(ok.stderr).toBe('');
    expect(ok.status).toBe(0);
    // a commit that changes only the last request still checks it against the ones before it
    expect(run(['sessions/trimmed/0004.json']).status).toBe(1);
    const bad = run(matched('sessions/'));
    expect(bad.status).toBe(1);
    expect(bad.stdout).toContain('sessions/trimmed/0004.json');
    expect(bad.stdout).toMatch(/^break step 4: /m);
    // declaring the break in the session's kvdiff.json (a matched file too) makes the commit pass
    writeFileSync(join(root, 'sessions', 'trimmed', 'kvdiff.json'), JSON.stringify({ steps: { '4': { expect: 'break', reason: 'compaction' } } }));
    expect(matched('sessions/trimmed')).toContain('sessions/trimmed/kvdiff.json');
    expect(run(['sessions/trimmed/kvdiff.json']).status).toBe(0);
  });
});
