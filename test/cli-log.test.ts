import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempFiles } from './tmp.js';
import { runCli } from './cli-harness.js';
import { HAVE_SHARED, NO_SHARED_REASON, loadFixtures } from './shared.js';

// `kvdiff A B --log FILE`: the recorded server log of B beside the prediction.
const { dir, write } = tempFiles('log');
const cases = loadFixtures().filter((f) => f.model === 'tiny-qwen3.gguf' && !f.server_args.includes('--cache-reuse') && Array.isArray(f.log_b) && f.request_b);


describe.skipIf(!HAVE_SHARED)(`--log (${HAVE_SHARED ? '' : NO_SHARED_REASON})`, () => {
  for (const f of cases.slice(0, 6)) {
    it(`${f.case}: the logged n_past agrees with the prediction`, async () => {
      const r = await runCli([write(`${f.case}-a.json`, f.request_a), write(`${f.case}-b.json`, f.request_b), '--json', '--log', write(`${f.case}.log`, (f.log_b as string[]).join('\n'))]);
      const logged = JSON.parse(r.stdout).logged;
      expect(logged.reused).toBe(f.n_past_logged);
      expect(logged.agrees).toBe(true);
    });
  }
  it("says so when the log does not match (another request's log)", async () => {
    const [f, g] = [cases.find((x) => x.case === 'qwen3_system_timestamp_changed')!, cases.find((x) => x.case === 'qwen3_append_user_turn')!];
    const r = await runCli([write('ts-a.json', f.request_a), write('ts-b.json', f.request_b), '--log', write('other.log', (g.log_b as string[]).join('\n'))]);
    expect(r.stdout).toMatch(/logged n_past = 430 .* kvdiff predicts 44/);
    expect(r.stdout).toMatch(/warning: the log and the prediction disagree/);
  });
  it('an unreadable log is bad input', async () => {
    const r = await runCli(['samples/system-timestamp/a.json', 'samples/system-timestamp/b.json', '--log', join(dir, 'none.log')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^error: cannot read log/);
  });
});

// The exit codes of STYLE.md for `kvdiff logs`: 0 when every request kept its cache (or the log does not say),
// 1 when a request lost or did not use its cache (a warning verdict), 2 when the input cannot be read; the report
// is on stdout for 0 and 1 alike.
describe('exit status of kvdiff logs', () => {
  const { write: put } = tempFiles('logs-exit');
  const BREAK = [
    'slot update_slots: id  0 | task 240 | n_past = 62, slot.prompt.tokens.size() = 100449, seq_id = 0, pos_min = 100448, n_swa = 0',
    'slot update_slots: id  0 | task 240 | forcing full prompt re-processing due to lack of cache data (likely due to SWA or hybrid/recurrent memory)',
  ].join('\n');
  const HELD = [
    'slot update_slots: id  0 | task 241 | n_past = 100449, slot.prompt.tokens.size() = 100449, seq_id = 0, pos_min = 100448, n_swa = 0',
    'slot update_slots: id  0 | task 241 | prompt processing progress, n_tokens = 100500, batch.n_tokens = 51, progress = 1.000000',
  ].join('\n');
  it('a prefix break in the log: exit 1, and the JSON report is still on stdout', async () => {
    const r = await runCli(['logs', '--json', put('break.log', BREAK)]);
    expect(r.code).toBe(1);
    expect(JSON.parse(r.stdout).summary.verdicts.PREFIX_BREAK).toBe(1);
  });
  it('a request that kept its whole cache: exit 0', async () => {
    const r = await runCli(['logs', '--json', put('held.log', HELD)]);
    expect(JSON.parse(r.stdout).requests.map((q: { verdict: string }) => q.verdict)).not.toContain('PREFIX_BREAK');
    expect(r.code).toBe(0);
  });
  it('the same exit 1 as `kvdiff A B` on a break', async () => {
    const r = await runCli(['samples/system-timestamp/a.json', 'samples/system-timestamp/b.json']);
    expect(r.code).toBe(1);
  });
});
