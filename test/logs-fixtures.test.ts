/**
 * Fidelity layer: llama-server's own recorded logs (../shared/fixtures/llama-server) must give back the
 * n_past the server logged (`n_past_logged`), for the task that processed request B.
 */
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { Explainer, type ExplainedRequest } from '../src/logs/explain.ts';
import { parseLog } from '../src/logs/parse.ts';

const DIR = '/work/shared/fixtures/llama-server';
const present = existsSync(DIR);

interface Fixture {
  case: string;
  log_a?: string[];
  log_b?: string[];
  n_past_logged?: number | null;
  n_tokens_a?: number;
  n_tokens_b?: number;
  lcp_tokens_a_b?: number;
  timings_b?: Record<string, unknown>;
  usage_b?: Record<string, unknown>;
  steps?: { step: number; log: string[]; n_past_logged: number; n_tokens: number }[];
}

function load(): Fixture[] {
  return readdirSync(DIR)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((f) => JSON.parse(readFileSync(`${DIR}/${f}`, 'utf8')) as Fixture);
}

/** The task that processed the request, read from the log's own `new prompt` line (not from kvdiff). */
function taskOf(log: string[]): number | null {
  for (const l of log) {
    const m = /\| task (\d+) \| new prompt/.exec(l);
    if (m) return Number(m[1]);
  }
  return null;
}

function explainAll(lines: string[]): ExplainedRequest[] {
  const ex = new Explainer();
  return parseLog(lines.join('\n')).requests.map((r) => ex.explain(r));
}

function forTask(xs: ExplainedRequest[], task: number): ExplainedRequest {
  const found = xs.filter((x) => x.record.task === task);
  expect(found, `one request for task ${task}`).toHaveLength(1);
  return found[0];
}

describe.skipIf(!present)('recorded llama-server logs (skipped: /work/shared/fixtures/llama-server is absent)', () => {
  const fixtures = present ? load() : [];
  const withB = fixtures.filter((f) => f.log_b && typeof f.n_past_logged === 'number' && !f.steps);

  it('has cases to check', () => {
    expect(withB.length).toBeGreaterThanOrEqual(20);
  });

  for (const f of withB) {
    it(`${f.case}: log_b gives n_past_logged = ${f.n_past_logged} as reused`, () => {
      const task = taskOf(f.log_b!);
      expect(task).not.toBeNull();
      const x = forTask(explainAll(f.log_b!), task!);
      expect(x.reused).toBe(f.n_past_logged);
      // what the slot held is only known from the log (f_keep, the previous release), never from n_past
      expect(x.cachedTokens).toBe(x.slotTokensBefore);
      expect(x.promptTokens).toBe(f.n_tokens_b);
      expect(x.processed).toBe(f.n_tokens_b! - f.n_past_logged!);
    });

    it(`${f.case}: log_a + log_b knows what A left in the slot`, () => {
      // A's release line says how many tokens stayed in the slot (prompt + generated − 1)
      const release = (f.log_a ?? []).find((l) => l.includes('stop processing: n_tokens = '))!;
      const held = Number(/n_tokens = (\d+)/.exec(release)![1]);
      expect(held).toBeGreaterThanOrEqual(f.n_tokens_a!);
      const xs = explainAll([...(f.log_a ?? []), ...f.log_b!]);
      const x = forTask(xs, taskOf(f.log_b!)!);
      expect(x.reused).toBe(f.n_past_logged);
      expect(x.slotTokensBefore).toBe(held);
      // with max_tokens 1 the slot holds exactly A, so every case is either a full or a partial reuse
      // unless a checkpoint fallback or the need to evaluate the last token again explains the gap
      expect(['FULL_REUSE', 'PREFIX_BREAK', 'CHECKPOINT_FALLBACK']).toContain(x.verdict);
      expect(x.cachedTokens).toBe(held);
      if (x.verdict === 'FULL_REUSE') expect(x.lostTokens).toBe(0);
      // a break throws away every cached token after the common prefix (the server's n_past before fallbacks)
      if (x.verdict === 'PREFIX_BREAK' && !f.case.includes('cache_reuse')) expect(x.lostTokens).toBe(held - x.commonPrefix!);
      if (x.verdict === 'PREFIX_BREAK' && !f.case.startsWith('gemma3_swa') && !f.case.includes('cache_reuse')) expect(x.commonPrefix).toBe(f.n_past_logged);
    });

    it(`${f.case}: the pasted response (timings_b, usage_b) says the same`, () => {
      const xs = explainAll([JSON.stringify({ timings: f.timings_b, usage: f.usage_b }, null, 2)]);
      expect(xs).toHaveLength(1);
      expect(xs[0].reused).toBe(f.n_past_logged);
      expect(xs[0].promptTokens).toBe(f.n_tokens_b);
      expect(xs[0].record.format).toBe('response');
    });
  }

  it('the rejected request (image without mmproj) yields no request with a reuse figure', () => {
    const f = fixtures.find((x) => x.case === 'qwen3_content_parts_with_image_no_mmproj');
    expect(f).toBeDefined();
    const xs = explainAll(f!.log_b ?? []);
    expect(xs.filter((x) => x.reused !== null)).toEqual([]);
  });

  it('agentic session: every step, alone and as one log, gives its n_past_logged', () => {
    const f = fixtures.find((x) => x.steps);
    expect(f).toBeDefined();
    const steps = f!.steps!;
    for (const s of steps) {
      const x = forTask(explainAll(s.log), taskOf(s.log)!);
      expect(x.reused).toBe(s.n_past_logged);
    }
    const all = explainAll(steps.flatMap((s) => s.log));
    expect(all.map((x) => x.reused)).toEqual(steps.map((s) => s.n_past_logged));
    expect(all[0].verdict).toBe('COLD_START');
    // inside one tool loop the prefix is stable: every later step reuses the whole previous prompt
    expect(all.slice(1).map((x) => x.verdict)).toEqual(steps.slice(1).map(() => 'FULL_REUSE'));
  });

  describe('Gemma-3 (sliding window 64): checkpoint rule', () => {
    const gemma = fixtures.filter((f) => f.case.startsWith('gemma3_') && f.log_b);

    it('the early system-prompt change falls back to the [0, 0] checkpoint: common prefix 46 → reused 1', () => {
      const f = gemma.find((x) => x.case === 'gemma3_swa_system_timestamp_changed')!;
      // read from the recorded lines themselves
      const restored = f.log_b!.find((l) => l.includes('restored context checkpoint'))!;
      const nPast = Number(/n_past = (\d+)/.exec(restored)![1]);
      const sim = /checking sim = [\d.]+ \((\d+)\/(\d+)\)/.exec(f.log_b!.join('\n'))!;
      expect(Number(sim[1])).toBe(f.lcp_tokens_a_b);
      const x = forTask(explainAll(f.log_b!), taskOf(f.log_b!)!);
      // the prompt changed at token 46 (a prefix break); the SWA fallback then kept only 1 token
      expect(x.verdict).toBe('PREFIX_BREAK');
      expect(x.notes.map((n) => n.code)).toContain('FALLBACK');
      expect(x.model).toBe('swa');
      expect(x.help).toEqual(['CLIENT_PREFIX', 'SWA_FULL']);
      expect(x.commonPrefix).toBe(46);
      expect(x.commonPrefix).toBe(f.lcp_tokens_a_b);
      expect(x.reused).toBe(nPast);
      expect(x.reused).toBe(1);
      expect(x.fullReprocess).toBe(false);
      expect(x.record.restoredCheckpoint).toMatchObject({ posMin: 0, posMax: 0, nTokens: 1 });
      expect(x.record.checkpointsErased).toBe(f.log_b!.filter((l) => l.includes('erased invalidated context checkpoint')).length);
      // f_keep = 0.112 puts A's size at round(46 / 0.112) = 411: everything after token 46 is lost,
      // and the fallback re-processed the 45 tokens between the checkpoint and the common prefix
      expect(x.cachedTokens).toBe(Math.round(46 / 0.112));
      expect(x.lostTokens).toBe(Math.round(46 / 0.112) - 46);
      expect(x.wastedTokens).toBe(46 - 1);
    });

    it('append and identical prompts need no fallback', () => {
      for (const name of ['gemma3_swa_append_turn', 'gemma3_swa_identical_prompt', 'gemma3_trailing_newlines_trimmed']) {
        const f = gemma.find((x) => x.case === name)!;
        const x = forTask(explainAll(f.log_b!), taskOf(f.log_b!)!);
        expect(x.verdict, name).toBe('FULL_REUSE');
        expect(x.record.restoredCheckpoint, name).toBeNull();
      }
    });
  });

  it('--cache-reuse: the chunk shift shows as reused above the common prefix', () => {
    const f = fixtures.find((x) => x.case === 'qwen3_cache_reuse_16_tools_order_swapped')!;
    const x = forTask(explainAll(f.log_b!), taskOf(f.log_b!)!);
    expect(x.commonPrefix).toBe(f.lcp_tokens_a_b); // 106, from `checking sim`
    expect(x.reused).toBe(f.n_past_logged); // 163 after one 57-token chunk
    expect(x.record.chunkReuseTokens).toBe(57);
    // the shifted chunk was not thrown away
    const held = Number(/stop processing: n_tokens = (\d+)/.exec(f.log_a!.join('\n'))![1]);
    const y = forTask(explainAll([...f.log_a!, ...f.log_b!]), taskOf(f.log_b!)!);
    expect(y.verdict).toBe('PREFIX_BREAK');
    expect(y.lostTokens).toBe(held - 106 - 57);
  });

  it('identical prompts: the common prefix is the whole prompt, reused is one less', () => {
    const f = fixtures.find((x) => x.case === 'qwen3_identical_prompt')!;
    const x = forTask(explainAll(f.log_b!), taskOf(f.log_b!)!);
    expect(x.commonPrefix).toBe(f.n_tokens_b);
    expect(x.reused).toBe(f.n_tokens_b! - 1);
    expect(x.verdict).toBe('FULL_REUSE');
  });
});
