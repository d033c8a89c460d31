/**
 * Property layer: random and mutated lines never crash the parser, the explainer or the reports,
 * and whatever comes out keeps its basic invariants.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Chalk } from 'chalk';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Explainer, summarize } from '../src/logs/explain.ts';
import { recogniseLine, recogniseLineExhaustive } from '../src/logs/lines.ts';
import { LogParser } from '../src/logs/parse.ts';
import { humanReport, jsonReport } from '../src/logs/report.ts';

const SEEDS = [
  '0.02.488.027 I slot get_availabl: id  0 | task -1 | selected slot by LCP similarity, f_sim_best = 0.956 (> 0.100 thold), f_keep = 1.000',
  '0.02.488.006 I slot get_availabl: id  0 | task -1 |  - checking sim = 0.956 (410/429) > 0.100',
  'slot get_availabl: id  3 | task -1 | selected slot by LRU, t_last = -1',
  '0.02.488.220 I slot launch_slot_: id  0 | task 18 | processing task, is_child = 0',
  '0.02.488.244 I slot   operator(): id  0 | task 18 | new prompt, n_ctx_slot = 16384, n_keep = 0, task.n_tokens = 429',
  '0.02.488.284 I slot   operator(): id  0 | task 18 | cached n_tokens = 410, memory_seq_rm [410, end)',
  'W slot   operator(): id  0 | task 100 | need to evaluate at least 1 token for each active slot (n_past = 410, task.n_tokens() = 410)',
  'W slot   operator(): id  0 | task 100 | n_past was set to 409',
  'slot   operator(): id  0 | task 65 | restored context checkpoint (pos_min = 0, pos_max = 0, n_tokens = 1, n_past = 1, size = 0.001 MiB)',
  'slot   operator(): id  0 | task 65 | erased invalidated context checkpoint (pos_min = 122, pos_max = 377, n_tokens = 378, n_swa = 64, pos_next = 1, size = 0.040 MiB)',
  'slot create_check: id  0 | task 1 | created context checkpoint 1 of 32 (pos_min = 0, pos_max = 0, n_tokens = 1, size = 0.001 MiB)',
  'slot update_slots: id  0 | task 4512 | forcing full prompt re-processing due to lack of cache data (likely due to SWA, see https://github.com/ggml-org/llama.cpp/pull/13194#issuecomment-2868343055)',
  'slot update_slots: id  0 | task 4512 | n_past = 62, cache_tokens.size() = 100387, seq_id = 0, pos_min = 99363, n_swa = 1024',
  'slot update_slots: id  1 | task 77 | n_past = 4470, memory_seq_rm [4470, end)',
  'slot update_slots: id  0 | task 31 | kv cache rm [1199, end)',
  'slot   operator(): id  0 | task 9 | reusing chunk with size 57, shifting KV cache [194, 251) -> [106, 163)',
  'slot print_timing: id  0 | task 18 | prompt eval time =      61.65 ms /    19 tokens (    3.24 ms per token,   308.20 tokens per second)',
  'slot print_timing: id  0 | task 18 | ',
  'prompt eval time =  590876.47 ms / 100449 tokens (    5.88 ms per token,   170.00 tokens per second)',
  'slot      release: id  0 | task 18 | stop processing: n_tokens = 429, truncated = 0',
  'srv          load:  - found better prompt with f_keep = 1.000, f_sim = 0.971',
  'INFO [            update_slots] kv cache rm [p0, end) | tid="140147531671424" timestamp=1714489663 id_slot=0 id_task=6 p0=152',
  'INFO [            update_slots] slot released | tid="1" timestamp=1 id_slot=0 id_task=6 n_ctx=4096 n_past=250 n_system_tokens=0 n_cache_tokens=250 truncated=false',
  '{"tid":"1","timestamp":1,"level":"INFO","function":"update_slots","msg":"kv cache rm [p0, end)","id_slot":0,"id_task":0,"p0":768}',
  'slot 0 is processing [task id: 2]',
  'slot 0 : in cache: 412 tokens | to process: 23 tokens',
  'slot 0 : kv cache rm - [412, end)',
  'slot 0 released (484 tokens in cache)',
  'print_timings: prompt eval time =     512.80 ms /    23 tokens (   22.30 ms per token,    44.85 tokens per second)',
  '{"usage":{"prompt_tokens":4410,"completion_tokens":12,"prompt_tokens_details":{"cached_tokens":4096}},"timings":{"cache_n":4096,"prompt_n":314}}',
  '{',
  '  "timings": {"cache_n": 12, "prompt_n": 3}',
  '}',
  'data: {"timings":{"cache_n":1,"prompt_n":2}}',
  '[ 8081] 0.02.488.284 I slot   operator(): id  0 | task 18 | cached n_tokens = 410, memory_seq_rm [410, end)',
  'llama-1  | Nov 27 02:23:49 host llama-server[123]: slot update_slots: id  0 | task 3 | n_tokens = 2185, memory_seq_rm [2185, end)',
];

/** A line with a few characters replaced, inserted or deleted, or its numbers swapped for odd ones. */
function mutate(seed: string, edits: [number, number, string][], odd: string, swapNumbers: boolean): string {
  let s = swapNumbers ? seed.replace(/\d+/g, () => odd) : seed;
  for (const [pos, op, text] of edits) {
    const i = s.length === 0 ? 0 : pos % s.length;
    if (op === 0) s = s.slice(0, i) + text + s.slice(i + 1);
    else if (op === 1) s = s.slice(0, i) + text + s.slice(i);
    else if (op === 2) s = s.slice(0, i) + s.slice(i + text.length + 1);
    else s = s.slice(0, i);
  }
  return s;
}

/** A seed line with a few characters replaced, inserted or deleted, or its numbers swapped for odd ones. */
const mutated = fc
  .tuple(
    fc.constantFrom(...SEEDS),
    fc.array(fc.tuple(fc.nat(), fc.nat(3), fc.string({ maxLength: 4 })), { maxLength: 4 }),
    fc.constantFrom('-1', '0', '99999999999999999999', 'NaN', '1e308', '', '-0', '3.5', '[', '{', '"'),
    fc.boolean(),
  )
  .map(([seed, edits, odd, swapNumbers]) => mutate(seed, edits, odd, swapNumbers));

const anyLine = fc.oneof(
  { weight: 3, arbitrary: mutated },
  { weight: 2, arbitrary: fc.constantFrom(...SEEDS) },
  { weight: 1, arbitrary: fc.string({ maxLength: 120 }) },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 80 }) },
  { weight: 1, arbitrary: fc.json().map((j) => j.replace(/\n/g, ' ')) },
);

function runAll(lines: string[]) {
  const p = new LogParser();
  const ex = new Explainer();
  const xs = [];
  for (const l of lines) for (const r of p.push(l)) xs.push(ex.explain(r));
  for (const r of p.end()) xs.push(ex.explain(r));
  const s = summarize(xs, p.stats);
  const human = humanReport(xs, s, new Chalk({ level: 0 }));
  const jsonText = jsonReport(xs, s);
  const json = JSON.parse(jsonText);
  return { xs, s, human, json, jsonText, stats: p.stats };
}

const isCount = (n: number | null) => n === null || (Number.isFinite(n) && !Number.isNaN(n));

describe('never crash', () => {
  it('recogniseLine on arbitrary strings', () => {
    fc.assert(
      fc.property(anyLine, (l) => {
        recogniseLine(l);
      }),
      { numRuns: 3000 },
    );
  });

  it('parser + explainer + reports on random logs of mutated lines', () => {
    fc.assert(
      fc.property(fc.array(anyLine, { maxLength: 60 }), (lines) => {
        const { xs, s, human, json, jsonText, stats } = runAll(lines);
        expect(stats.lines).toBe(lines.length);
        // written piece by piece, the document is what one JSON.stringify of it gives
        expect(jsonText).toBe(`${JSON.stringify(json, null, 2)}\n`);
        expect(stats.recognised).toBeLessThanOrEqual(lines.length + lines.length * 8); // a JSON array may hold several
        expect(s.requests).toBe(xs.length);
        expect(json.schemaVersion).toBe(1);
        expect(json.requests).toHaveLength(xs.length);
        expect(typeof human).toBe('string');
        for (const x of xs) {
          expect(typeof x.verdict).toBe('string');
          expect(x.lostTokens).toBeGreaterThanOrEqual(0);
          for (const n of [x.promptTokens, x.reused, x.processed, x.commonPrefix]) expect(isCount(n)).toBe(true);
          expect(x.record.firstLine).toBeLessThanOrEqual(x.record.lastLine);
        }
      }),
      { numRuns: 400 },
    );
  });

  it('well-formed requests in any slot interleaving keep their own n_past', () => {
    const request = fc.record({ slot: fc.nat(3), prompt: fc.integer({ min: 2, max: 200000 }), frac: fc.double({ min: 0, max: 1, noNaN: true }) });
    fc.assert(
      fc.property(fc.array(request, { minLength: 1, maxLength: 6 }), fc.array(fc.nat(), { maxLength: 60 }), (reqs, order) => {
        // one request per slot at a time: give each its own slot id
        const used = reqs.map((r, i) => ({ ...r, slot: i, task: 100 + i, cached: Math.floor(r.frac * (r.prompt - 1)) }));
        const queues = used.map((r) => [
          `slot launch_slot_: id ${String(r.slot).padStart(2)} | task ${r.task} | processing task, is_child = 0`,
          `slot update_slots: id ${String(r.slot).padStart(2)} | task ${r.task} | new prompt, n_ctx_slot = 262144, n_keep = 0, task.n_tokens = ${r.prompt}`,
          `slot update_slots: id ${String(r.slot).padStart(2)} | task ${r.task} | cached n_tokens = ${r.cached}, memory_seq_rm [${r.cached}, end)`,
          `slot print_timing: id ${String(r.slot).padStart(2)} | task ${r.task} | prompt eval time =      10.00 ms / ${String(r.prompt - r.cached).padStart(5)} tokens (    0.01 ms per token, 99999.00 tokens per second)`,
          `slot      release: id ${String(r.slot).padStart(2)} | task ${r.task} | stop processing: n_tokens = ${r.prompt}, truncated = 0`,
        ]);
        const lines: string[] = [];
        let k = 0;
        while (queues.some((q) => q.length)) {
          const live = queues.filter((q) => q.length);
          lines.push(live[(order[k++] ?? 0) % live.length].shift()!);
        }
        const { xs } = runAll(lines);
        expect(xs).toHaveLength(used.length);
        for (const r of used) {
          const x = xs.find((y) => y.record.task === r.task)!;
          expect(x).toMatchObject({ reused: r.cached, promptTokens: r.prompt, processed: r.prompt - r.cached });
          expect(x.record.slot).toBe(r.slot);
        }
      }),
      { numRuns: 300 },
    );
  });
});

/** Every line of the real excerpts (test/logs-corpus, test/logs-heldout*), as read from the file and without its CR. */
function corpusLines(): string[] {
  const here = dirname(fileURLToPath(import.meta.url));
  const out = new Set<string>();
  for (const dir of readdirSync(here).filter((d) => d === 'logs-corpus' || d.startsWith('logs-heldout'))) {
    for (const f of readdirSync(join(here, dir)).filter((x) => x.endsWith('.log'))) {
      for (const l of readFileSync(join(here, dir, f), 'utf8').split('\n')) {
        out.add(l);
        out.add(l.replace(/\r$/, ''));
        // the message's first letter in the other case (some wordings are read case-insensitively), and after a tab
        const m = /^(.*?\| task -?\d+ \|\s*)(.)/.exec(l);
        if (m) {
          const c = m[2] === m[2].toUpperCase() ? m[2].toLowerCase() : m[2].toUpperCase();
          out.add(m[1] + c + l.slice(m[0].length));
          out.add(`${m[1]}\t${l.slice(m[1].length)}`);
        }
      }
    }
  }
  return [...out];
}

describe('the fast recogniser reads what trying every wording reads', () => {
  const CORPUS = corpusLines();
  // -0 and an explicit undefined are kept apart from 0 and a missing field
  const same = (l: string) => expect(recogniseLine(l), JSON.stringify(l)).toStrictEqual(recogniseLineExhaustive(l));

  it('on every line of the real excerpts', () => {
    let recognised = 0;
    for (const l of CORPUS) {
      same(l);
      if (recogniseLineExhaustive(l)) recognised++;
    }
    // the comparison covers the wordings, not only lines nothing reads
    expect(recognised).toBeGreaterThan(500);
  });

  it('on mutated excerpt lines and random lines', () => {
    const mutatedCorpus = fc
      .tuple(
        fc.constantFrom(...CORPUS),
        fc.array(fc.tuple(fc.nat(), fc.nat(3), fc.string({ maxLength: 4 })), { maxLength: 4 }),
        fc.constantFrom('-1', '0', '-0', '99999999999999999999', '1234567890123456', '007', 'NaN', ''),
        fc.boolean(),
      )
      .map(([seed, edits, odd, swap]) => mutate(seed, edits, odd, swap));
    // messages that start with whitespace or other characters, any wording after a valid slot prefix
    const prefixed = fc
      .tuple(fc.constantFrom('', '[ 8081] ', 'x', 'llama-1  | 0.01.000.000 I '), fc.constantFrom('slot update_slots: id  0 | task 3 |', 'slot print_timing: id 12 | task -1 |', 'slot   operator(): id 0 | task -0 |'), fc.constantFrom('', ' ', '  ', '\t', '\u00a0', '\ufeff ', '\r'), fc.oneof(fc.constantFrom(...CORPUS), fc.string({ maxLength: 40 })), fc.boolean())
      .map(([p, s, w, rest, flip]) => {
        const msg = rest.replace(/^.*?\| task -?\d+ \|\s*/, '');
        // the case-insensitive wordings start with either case
        const first = flip ? (msg.charAt(0) === msg.charAt(0).toUpperCase() ? msg.charAt(0).toLowerCase() : msg.charAt(0).toUpperCase()) : msg.charAt(0);
        return `${p}${s}${w}${first}${msg.slice(1)}`;
      });
    fc.assert(
      fc.property(fc.oneof(mutatedCorpus, prefixed, anyLine), (l) => {
        same(l);
      }),
      { numRuns: 4000 },
    );
  });
});
