import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempFiles } from './tmp.js';
import { runCli } from './cli-harness.js';
import { HAVE_SHARED, NO_SHARED_REASON, loadFixtures } from './shared.js';

const { dir } = tempFiles('check');

describe.skipIf(!HAVE_SHARED)(`kvdiff check on a recorded agent session (${HAVE_SHARED ? '' : NO_SHARED_REASON})`, () => {
  it('a folder of requests in name order: every step reuses the one before, n_past as logged', async () => {
    const f = loadFixtures().find((x) => x.case === 'qwen3_agentic_session_4_steps')!;
    const session = join(dir, 'session');
    mkdirSync(session);
    // names that sort wrongly as plain text (step10 before step2) must still come in numeric order
    f.steps!.forEach((s) => writeFileSync(join(session, `step${s.step * 5}.json`), JSON.stringify(s.request)));
    const r = await runCli(['check', session, '--json']);
    expect(r.code).toBe(0);
    const j = JSON.parse(r.stdout);
    expect(j.steps.map((s: { nPast: number }) => s.nPast)).toEqual(f.steps!.slice(1).map((s) => s.n_past_logged));
  });
});

describe('kvdiff check', () => {
  const jsonl = join(dir, 'reload.jsonl');
  writeFileSync(jsonl, ['samples/session-reload/loop.json', 'samples/session-reload/reload.json'].map((p) => JSON.stringify(JSON.parse(readFileSync(p, 'utf8')))).join('\n') + '\n');
  it('a JSON-lines file: a break fails the check and names the cause', async () => {
    const r = await runCli(['check', jsonl, '--json']);
    expect(r.code).toBe(1);
    const j = JSON.parse(r.stdout);
    expect(j.breaks).toBe(1);
    expect(j.steps[0].causes[0]).toMatchObject({ code: 'WHITESPACE', path: '$.messages[4].content' });
    expect(j.steps[0].a).toBe(`${jsonl}:1`);
  });
  it('--allow lets a break the client cannot fix pass (the template rewriting history)', async () => {
    const pair = ['samples/qwen3-new-user-turn/a.json', 'samples/qwen3-new-user-turn/b.json'];
    expect((await runCli(['check', ...pair])).code).toBe(1);
    const r = await runCli(['check', ...pair, '--allow', 'TEMPLATE_REWRITES_HISTORY']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^allow /m);
  });
  it('one request is bad input', async () => {
    const r = await runCli(['check', 'samples/system-timestamp/a.json']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^error: check needs at least two requests/);
  });
});
