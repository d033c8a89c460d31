/**
 * `docker logs -f | kvdiff logs -`: a request is printed once its last line has arrived and the pipe went quiet,
 * not when the next request finishes or the input ends. The stream is one the test controls; nothing is timed:
 * the test waits for the report while the input is still open (a hang would fail it by the test's timeout).
 */
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { runLogs } from '../src/cli/logs.ts';
import { LogParser } from '../src/logs/parse.ts';
import { capturingContext } from './cli-harness.js';

/** One request in today's wording: selected, launched, prompt processed, timings, released. */
function request(task: number, cached: number, prompt: number): string[] {
  const id = `id  0 | task ${task} |`;
  return [
    `slot get_availabl: id  0 | task -1 | selected slot by LCP similarity, f_sim_best = 0.900 (> 0.100 thold), f_keep = 0.950`,
    `slot launch_slot_: ${id} processing task, is_child = 0`,
    `slot update_slots: ${id} new prompt, n_ctx_slot = 65536, n_keep = 0, task.n_tokens = ${prompt}`,
    `slot update_slots: ${id} cached n_tokens = ${cached}, memory_seq_rm [${cached}, end)`,
    `slot print_timing: ${id} prompt eval time =     123.45 ms / ${prompt - cached} tokens (    1.00 ms per token,   1000.00 tokens per second)`,
    `slot      release: ${id} stop processing: n_tokens = ${prompt + 10}, truncated = 0`,
  ];
}

describe('follow mode', () => {
  /** A context whose `printed(text)` resolves with everything written so far once stdout holds `text`. */
  function watched() {
    let seen: (text: string) => void = () => {};
    const ctx = capturingContext({
      stdout: (s) => {
        ctx.out.push(s);
        seen(ctx.out.join(''));
      },
    });
    const printed = (text: string) =>
      new Promise<string>((resolve) => {
        seen = (all) => all.includes(text) && resolve(all);
        seen(ctx.out.join(''));
      });
    return { ctx, printed };
  }

  it('prints each request while the pipe is still open, before the next one starts', async () => {
    const input = new PassThrough();
    const { ctx, printed } = watched();
    const run = runLogs('-', {}, ctx, { stdin: () => input });
    input.write(`${request(7, 0, 4000).join('\n')}\n`);
    const first = await printed('task 7');
    expect(first).toMatch(/task 7/);
    expect(first).not.toMatch(/summary:/);
    input.write(`${request(8, 4000, 5000).join('\n')}\n`);
    const second = await printed('task 8');
    expect(second.match(/task 7/g)).toHaveLength(1);
    input.end();
    await run;
    const all = ctx.out.join('');
    expect(all.match(/task 7/g)).toHaveLength(1);
    expect(all.match(/task 8/g)).toHaveLength(1);
    expect(all).toMatch(/summary: 2 requests/);
  }, 20_000);

  it('--json on a pipe streams the requests array as requests finish, and ends as one JSON document', async () => {
    const input = new PassThrough();
    const { ctx, printed } = watched();
    const run = runLogs('-', { json: true }, ctx, { stdin: () => input });
    input.write(`${request(7, 0, 4000).join('\n')}\n`);
    await printed('"task": 7');
    input.end(`${request(8, 4000, 5000).join('\n')}\n`);
    await run;
    const doc = JSON.parse(ctx.out.join('')) as { requests: { task: number; reused: number }[] };
    expect(doc.requests.map((r) => [r.task, r.reused])).toEqual([
      [7, 0],
      [8, 4000],
    ]);
  }, 20_000);
});

describe('LogParser.idle', () => {
  const lines = request(7, 0, 4000);

  it('returns the request held for late lines once, and end() does not return it again', () => {
    const p = new LogParser();
    for (const l of lines) expect(p.push(l)).toEqual([]);
    const out = p.idle();
    expect(out.map((r) => r.task)).toEqual([7]);
    expect(p.idle()).toEqual([]);
    expect(p.end()).toEqual([]);
  });

  it('a late headless timing line still joins the request it returned (no request of its own)', () => {
    const p = new LogParser();
    const early = lines.filter((l) => !l.includes('prompt eval time'));
    for (const l of early) p.push(l);
    const [r] = p.idle();
    expect(r.promptEvalMs).toBeNull();
    expect(p.push('prompt eval time =     123.45 ms /  4000 tokens (    0.03 ms per token, 32400.00 tokens per second)')).toEqual([]);
    expect(r.promptEvalMs).toBeCloseTo(123.45);
    expect(p.end()).toEqual([]);
  });

  it('without a pause the request is returned at the end, as before', () => {
    const p = new LogParser();
    for (const l of lines) p.push(l);
    expect(p.end().map((r) => r.task)).toEqual([7]);
  });
});
