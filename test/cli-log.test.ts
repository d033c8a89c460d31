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

// The exit-code decision (README, `kvdiff logs`): a log reader exits 0 when it produced its report, breaks or not,
// so `--json` consumers get the report; `kvdiff A B`, an assertion, exits 1 on a break.
describe('exit status of kvdiff logs on a cache break', () => {
  const { write: put } = tempFiles('logs-exit');
  const BREAK = [
    'slot update_slots: id  0 | task 240 | n_past = 62, slot.prompt.tokens.size() = 100449, seq_id = 0, pos_min = 100448, n_swa = 0',
    'slot update_slots: id  0 | task 240 | forcing full prompt re-processing due to lack of cache data (likely due to SWA or hybrid/recurrent memory)',
  ].join('\n');
  it('a prefix break in the log: exit 0, the JSON report on stdout says PREFIX_BREAK', async () => {
    const r = await runCli(['logs', '--json', put('break.log', BREAK)]);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout).summary.verdicts.PREFIX_BREAK).toBe(1);
  });
  it('while `kvdiff A B` on a break exits 1', async () => {
    const r = await runCli(['samples/system-timestamp/a.json', 'samples/system-timestamp/b.json']);
    expect(r.code).toBe(1);
  });
});
