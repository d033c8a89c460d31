/**
 * Hermetic layer: every documented llama-server wording (2023 → 2026) and wrapper prefix, with lines
 * written for these tests. Expected numbers are read off the lines themselves.
 */
import { capturingContext } from './cli-harness.js';
import { Readable } from 'node:stream';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Chalk } from 'chalk';
import { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { registerLogsCommand } from '../src/cli/logs.ts';
import { KvdiffError } from '../src/errors.ts';
import { Explainer, summarize, type ExplainedRequest } from '../src/logs/explain.ts';
import { LogParser, parseLog } from '../src/logs/parse.ts';
import { humanReport, jsonReport } from '../src/logs/report.ts';

function explain(text: string): ExplainedRequest[] {
  const ex = new Explainer();
  return parseLog(text).requests.map((r) => ex.explain(r));
}

function only(text: string): ExplainedRequest {
  const xs = explain(text);
  expect(xs).toHaveLength(1);
  return xs[0];
}

const lines = (...ls: string[]) => ls.join('\n');

// ---- the formats, one realistic request each ----

/** Aug 2025 (SWA era): n_past before the fallback and the slot's size on one WRN line; full re-process. */
const AUG_2025 = lines(
  'slot get_availabl: id  0 | task -1 | selected slot by LCP similarity, sim_best = 0.001 (> 0.000 thold), f_keep = 0.001',
  'slot launch_slot_: id  0 | task 4512 | processing task',
  'slot update_slots: id  0 | task 4512 | new prompt, n_ctx_slot = 131072, n_keep = 0, n_prompt_tokens = 100449',
  'slot update_slots: id  0 | task 4512 | n_past = 62, cache_tokens.size() = 100387, seq_id = 0, pos_min = 99363, n_swa = 1024',
  'slot update_slots: id  0 | task 4512 | forcing full prompt re-processing due to lack of cache data (likely due to SWA, see https://github.com/ggml-org/llama.cpp/pull/13194#issuecomment-2868343055)',
  'slot update_slots: id  0 | task 4512 | kv cache rm [0, end)',
  'slot update_slots: id  0 | task 4512 | prompt processing progress, n_past = 2048, n_tokens = 2048, progress = 0.020389',
  'slot update_slots: id  0 | task 4512 | kv cache rm [2048, end)',
  'slot update_slots: id  0 | task 4512 | prompt done, n_past = 100449, n_tokens = 100449',
  'slot print_timing: id  0 | task 4512 | ',
  'prompt eval time =  590876.47 ms / 100449 tokens (    5.88 ms per token,   170.00 tokens per second)',
  '       eval time =    9876.54 ms /   532 tokens (   18.56 ms per token,    53.86 tokens per second)',
  '      total time =  600753.01 ms / 100981 tokens',
  'slot      release: id  0 | task 4512 | stop processing: n_past = 100980, truncated = 0',
);

/** Oct 2025: `n_past = N, memory_seq_rm [N, end)`, WRN checkpoint lines without n_tokens. */
const OCT_2025 = lines(
  'slot get_availabl: id  1 | task -1 | selected slot by LCP similarity, sim_best = 0.873 (> 0.100 thold), f_keep = 0.961',
  'slot launch_slot_: id  1 | task 77 | processing task',
  'slot update_slots: id  1 | task 77 | new prompt, n_ctx_slot = 32768, n_keep = 0, n_prompt_tokens = 5120',
  'slot update_slots: id  1 | task 77 | n_past = 4470, memory_seq_rm [4470, end)',
  'slot update_slots: id  1 | task 77 | prompt processing progress, n_past = 5120, n_tokens = 650, progress = 1.000000',
  'slot print_timing: id  1 | task 77 | ',
  'prompt eval time =    1520.22 ms /   650 tokens (    2.34 ms per token,   427.57 tokens per second)',
  'slot      release: id  1 | task 77 | stop processing: n_past = 5387, truncated = 0',
);

/** Oct 2025 hybrid model: a checkpoint below the common prefix is restored. */
const OCT_2025_RESTORE = lines(
  'slot update_slots: id  0 | task 210 | new prompt, n_ctx_slot = 65536, n_keep = 0, n_prompt_tokens = 12000',
  'slot update_slots: id  0 | task 210 | n_past = 11500, cache_tokens.size() = 11800, seq_id = 0, pos_min = 11799, n_swa = 0',
  'slot update_slots: id  0 | task 210 | restored context checkpoint (pos_min = 0, pos_max = 8191, size = 75.376 MiB)',
  'slot update_slots: id  0 | task 210 | erased invalidated context checkpoint (pos_min = 0, pos_max = 11795, n_swa = 0, size = 75.376 MiB)',
  'slot update_slots: id  0 | task 210 | n_past = 8192, memory_seq_rm [8192, end)',
  'slot update_slots: id  0 | task 210 | created context checkpoint 2 of 8 (pos_min = 0, pos_max = 11995, size = 75.376 MiB)',
  'slot print_timing: id  0 | task 210 | ',
  'prompt eval time =    9040.00 ms /  3808 tokens (    2.37 ms per token,   421.24 tokens per second)',
  'slot      release: id  0 | task 210 | stop processing: n_past = 12100, truncated = 0',
);

/** May 2025: `kv cache rm [N, end)` and the "to generate logits" warning. */
const MAY_2025 = lines(
  'slot launch_slot_: id  0 | task 31 | processing task',
  'slot update_slots: id  0 | task 31 | new prompt, n_ctx_slot = 4096, n_keep = 0, n_prompt_tokens = 1200',
  'slot update_slots: id  0 | task 31 | need to evaluate at least 1 token to generate logits, n_past = 1200, n_prompt_tokens = 1200',
  'slot update_slots: id  0 | task 31 | kv cache rm [1199, end)',
  'slot update_slots: id  0 | task 31 | prompt done, n_past = 1200, n_tokens = 1',
  'slot      release: id  0 | task 31 | stop processing: n_past = 1262, truncated = 0',
);

/** Dec 2025 – Apr 2026: `n_tokens = N, memory_seq_rm` and checkpoint lines with n_tokens. */
const DEC_2025 = lines(
  'slot get_availabl: id  0 | task -1 | selected slot by LCP similarity, sim_best = 0.950 (> 0.100 thold), f_keep = 1.000',
  'slot launch_slot_: id  0 | task 3 | processing task',
  'slot update_slots: id  0 | task 3 | new prompt, n_ctx_slot = 16384, n_keep = 0, task.n_tokens = 2300',
  'slot update_slots: id  0 | task 3 | n_tokens = 2185, memory_seq_rm [2185, end)',
  'slot update_slots: id  0 | task 3 | prompt processing progress, n_tokens = 2300, batch.n_tokens = 115, progress = 1.000000',
  'slot update_slots: id  0 | task 3 | prompt done, n_tokens = 2300, batch.n_tokens = 115',
  'slot update_slots: id  0 | task 3 | created context checkpoint 3 of 32 (pos_min = 1500, pos_max = 2295, n_tokens = 2296, size = 3.105 MiB)',
  'slot print_timing: id  0 | task 3 | ',
  'prompt eval time =     310.50 ms /   115 tokens (    2.70 ms per token,   370.37 tokens per second)',
  'slot      release: id  0 | task 3 | stop processing: n_tokens = 2410, truncated = 0',
);

/** 2024 `LOG_INFO` text style: message, then ` | key=value` fields. */
const TEXT_2024 = lines(
  'INFO [   launch_slot_with_task] slot is processing task | tid="140147531671424" timestamp=1714489663 id_slot=0 id_task=6',
  'INFO [            update_slots] kv cache rm [p0, end) | tid="140147531671424" timestamp=1714489663 id_slot=0 id_task=6 p0=152',
  'INFO [           print_timings] prompt eval time     =     842.37 ms /    36 tokens (   23.40 ms per token,    42.74 tokens per second) | tid="140147531671424" timestamp=1714489668 id_slot=0 id_task=6 t_prompt_processing=842.371 n_prompt_tokens_processed=36 t_token=23.399 n_tokens_second=42.737',
  'INFO [            update_slots] slot released | tid="140147531671424" timestamp=1714489670 id_slot=0 id_task=6 n_ctx=4096 n_past=250 n_system_tokens=0 n_cache_tokens=250 truncated=false',
);

/** 2024 with `--log-format json`. */
const JSON_2024 = lines(
  '{"tid":"125380885884928","timestamp":1756831183,"level":"INFO","function":"launch_slot_with_task","line":1854,"msg":"slot is processing task","id_slot":0,"id_task":0}',
  '{"tid":"125380885884928","timestamp":1756831183,"level":"INFO","function":"update_slots","line":3017,"msg":"kv cache rm [p0, end)","id_slot":0,"id_task":0,"p0":0}',
  '{"tid":"125380885884928","timestamp":1756831185,"level":"INFO","function":"update_slots","line":3017,"msg":"kv cache rm [p0, end)","id_slot":0,"id_task":0,"p0":768}',
  '{"tid":"125380885884928","timestamp":1756831199,"level":"INFO","function":"print_timings","line":327,"msg":"prompt eval time     =   15432.10 ms /  2911 tokens (    5.30 ms per token,   188.63 tokens per second)","id_slot":0,"id_task":0,"t_prompt_processing":15432.1,"n_prompt_tokens_processed":2911,"t_token":5.3,"n_tokens_second":188.63}',
  '{"tid":"125380885884928","timestamp":1756831201,"level":"INFO","function":"update_slots","line":1640,"msg":"slot released","id_slot":0,"id_task":0,"n_ctx":8192,"n_past":3020,"n_system_tokens":0,"n_cache_tokens":3020,"truncated":false}',
);

/** Late 2023 `LOG_TEE` style. */
const TEE_2023 = lines(
  'slot 0 is processing [task id: 2]',
  'slot 0 : in cache: 412 tokens | to process: 23 tokens',
  'slot 0 : kv cache rm - [412, end)',
  '',
  'print_timings: prompt eval time =     512.80 ms /    23 tokens (   22.30 ms per token,    44.85 tokens per second)',
  'print_timings:        eval time =    2101.22 ms /    48 runs   (   43.78 ms per token,    22.84 tokens per second)',
  'print_timings:       total time =    2614.02 ms',
  'slot 0 released (484 tokens in cache)',
);

/** A current build at default verbosity: selection and timing lines only. */
const DEFAULT_VERBOSITY = lines(
  'srv  params_from_: Chat format: Hermes 2 Pro',
  'slot get_availabl: id  0 | task -1 | selected slot by LRU, t_last = 1764210229',
  'slot launch_slot_: id  0 | task 40 | processing task, is_child = 0',
  'slot print_timing: id  0 | task 40 | prompt eval time =   12345.67 ms / 20480 tokens (    0.60 ms per token,  1658.94 tokens per second)',
  'slot print_timing: id  0 | task 40 |        eval time =    4000.00 ms /   250 tokens (   16.00 ms per token,    62.50 tokens per second)',
  'slot      release: id  0 | task 40 | stop processing: n_tokens = 20733, truncated = 0',
  'srv  update_slots: all slots are idle',
);

describe('each documented wording', () => {
  it('Aug 2025: n_past 62 of 100,387 cached, forced full re-process at 170 t/s', () => {
    const x = only(AUG_2025);
    expect(x.record.format).toBe('may-2025');
    expect(x).toMatchObject({ promptTokens: 100449, commonPrefix: 62, reused: 0, cachedTokens: 100387, processed: 100449, fullReprocess: true });
    // the prompt left the cache at token 62: a prefix break, made total by the SWA fallback
    expect(x.verdict).toBe('PREFIX_BREAK');
    expect(x.lostTokens).toBe(100387 - 62);
    expect(x.wastedTokens).toBe(62);
    expect(x.model).toBe('swa'); // n_swa = 1024
    expect(x.help).toEqual(['CLIENT_PREFIX', 'SWA_FULL']);
    expect(x.slotTokensBefore).toBe(100387);
    expect(x.record.forcedFull).toBe(true);
    expect(x.record.promptTps).toBe(170);
    expect(x.record.slotTokensAfter).toBe(100980);
    expect(x.lostSeconds).toBeCloseTo((100387 - 62) / 170, 6);
  });

  it('Oct 2025: n_past = 4470 of 5120, 650 processed', () => {
    const x = only(OCT_2025);
    expect(x.record.format).toBe('oct-2025');
    expect(x.record.slot).toBe(1);
    expect(x.record.task).toBe(77);
    expect(x).toMatchObject({ promptTokens: 5120, reused: 4470, processed: 650, commonPrefix: 4470, fullReprocess: false });
    // f_keep = 0.961 → the slot held about 4470 / 0.961 = 4651 tokens: the prompt left it at 4470
    expect(x.verdict).toBe('PREFIX_BREAK');
    expect(x.cachedTokens).toBe(Math.round(4470 / 0.961));
    expect(x.lostTokens).toBe(Math.round(4470 / 0.961) - 4470);
  });

  it('Oct 2025 hybrid: restored checkpoint at 8192 below the common prefix 11500', () => {
    const x = only(OCT_2025_RESTORE);
    // the prompt left the 11,800 cached tokens at 11,500 (break), and the fallback went down to 8,192
    expect(x.verdict).toBe('PREFIX_BREAK');
    expect(x.model).toBe('hybrid'); // n_swa = 0
    expect(x.wastedTokens).toBe(11500 - 8192);
    expect(x).toMatchObject({ commonPrefix: 11500, reused: 8192, processed: 3808, promptTokens: 12000 });
    expect(x.record.restoredCheckpoint).toEqual({ posMin: 0, posMax: 8191, nTokens: null, nPast: null });
    expect(x.record.checkpointsErased).toBe(1);
    expect(x.record.checkpointsCreated).toBe(1);
    expect(x.slotTokensBefore).toBe(11800);
    expect(x.lostTokens).toBe(11800 - 11500);
    expect(x.help).toEqual(['CLIENT_PREFIX', 'MORE_CHECKPOINTS']);
  });

  it('May 2025: the whole prompt cached, n_past 1200 → 1199', () => {
    const x = only(MAY_2025);
    expect(x.record.format).toBe('may-2025');
    expect(x).toMatchObject({ promptTokens: 1200, commonPrefix: 1200, reused: 1199, processed: 1 });
    expect(x.verdict).toBe('FULL_REUSE');
    expect(x.record.mustEvalOne).toBe(true);
  });

  it('Dec 2025 – Apr 2026: n_tokens = 2185 of 2300, slot fully kept (f_keep 1.000)', () => {
    const x = only(DEC_2025);
    expect(x.record.format).toBe('current');
    expect(x).toMatchObject({ promptTokens: 2300, reused: 2185, processed: 115 });
    expect(x.verdict).toBe('FULL_REUSE');
    expect(x.record.checkpointsCreated).toBe(1);
  });

  it('2024 text: p0=152, 36 tokens processed, 250 left in the slot', () => {
    const x = only(TEXT_2024);
    expect(x.record.format).toBe('llama-2024');
    expect(x.record).toMatchObject({ slot: 0, task: 6, slotTokensAfter: 250, promptEvalMs: 842.371, promptTps: 42.737 });
    expect(x).toMatchObject({ reused: 152, processed: 36, promptTokens: 188 });
  });

  it('2024 json: first p0 (0) is n_past, later p0 lines are batches', () => {
    const x = only(JSON_2024);
    expect(x.record.format).toBe('llama-2024-json');
    expect(x).toMatchObject({ reused: 0, processed: 2911, promptTokens: 2911, fullReprocess: true });
    expect(x.record.slotTokensAfter).toBe(3020);
  });

  it('2023: in cache 412, to process 23, timing lines without a slot join the request', () => {
    const x = only(TEE_2023);
    expect(x.record.format).toBe('llama-2023');
    expect(x.record).toMatchObject({ slot: 0, task: 2, slotTokensAfter: 484, promptEvalMs: 512.8 });
    expect(x).toMatchObject({ commonPrefix: 412, reused: 412, processed: 23, promptTokens: 435 });
  });

  it('2023, fully cached prompt: `kv cache rm` was logged before n_past was decremented', () => {
    const x = only(
      lines(
        'slot 1 is processing [task id: 7]',
        'slot 1 : in cache: 300 tokens | to process: 0 tokens',
        'slot 1 : kv cache rm - [300, end)',
        'slot 1 : we have to evaluate at least 1 token to generate logits',
        'slot 1 released (340 tokens in cache)',
      ),
    );
    expect(x).toMatchObject({ commonPrefix: 300, reused: 299, promptTokens: 300, verdict: 'FULL_REUSE' });
  });

  it('Oct 2023: `slot 0 - in cache: ...`', () => {
    const x = only(lines('slot 0 - in cache: 57 tokens | to process: 3 tokens', 'slot 0 : kv cache rm - [57, end)'));
    expect(x).toMatchObject({ commonPrefix: 57, reused: 57, processed: 3 });
  });

  it('2023 without task ids: `slot 0 is processing`', () => {
    const x = only(lines('slot 0 is processing', 'slot 0 : in cache: 0 tokens | to process: 97 tokens', 'slot 0 : kv cache rm - [0, end)'));
    expect(x).toMatchObject({ reused: 0, processed: 97 });
    expect(x.record.task).toBeNull();
  });

  it('default verbosity: only the prompt eval time line', () => {
    const x = only(DEFAULT_VERBOSITY);
    expect(x.verdict).toBe('TIMING_ONLY');
    expect(x.processed).toBe(20480);
    expect(x.reused).toBeNull();
    expect(x.record.format).toBe('timing-only');
    expect(x.help).toEqual(['LOG_VERBOSITY']);
  });

  it('default verbosity with the selection line: `checking sim` gives the prompt size, so reused = 429 - 19', () => {
    const x = only(
      lines(
        'slot get_availabl: id  0 | task -1 |  - checking sim = 0.956 (410/429) > 0.100',
        'slot get_availabl: id  0 | task -1 | selected slot by LCP similarity, f_sim_best = 0.956 (> 0.100 thold), f_keep = 1.000',
        'slot launch_slot_: id  0 | task 18 | processing task, is_child = 0',
        'slot print_timing: id  0 | task 18 | prompt eval time =      61.65 ms /    19 tokens (    3.24 ms per token,   308.20 tokens per second)',
        'slot      release: id  0 | task 18 | stop processing: n_tokens = 429, truncated = 0',
      ),
    );
    expect(x).toMatchObject({ promptTokens: 429, reused: 410, processed: 19, commonPrefix: 410 });
    expect(x.verdict).toBe('FULL_REUSE');
  });

  it('2026 TRC restored checkpoint with n_past, and the RAM prompt cache', () => {
    const x = only(
      lines(
        'slot get_availabl: id  0 | task -1 | selected slot by LRU, t_last = 2381',
        'srv   prompt_save:  - saving prompt with length 37, total state size = 4.105 MiB',
        'srv          load:  - looking for better prompt, base f_keep = 0.162, sim = 0.014',
        'srv          load:  - found better prompt with f_keep = 1.000, sim = 0.971',
        'slot launch_slot_: id  0 | task 12 | processing task, is_child = 0',
        'slot update_slots: id  0 | task 12 | new prompt, n_ctx_slot = 16384, n_keep = 0, task.n_tokens = 443',
        'slot update_slots: id  0 | task 12 | cached n_tokens = 430, memory_seq_rm [430, end)',
      ),
    );
    expect(x.verdict).toBe('RAM_CACHE_RESTORE');
    expect(x.record.ramRestore).toEqual({ fKeep: 1, fSim: 0.971 });
    expect(x).toMatchObject({ reused: 430, processed: 13 });
  });

  it('identical prompt, still forced to re-process: server side', () => {
    const x = only(
      lines(
        'slot get_availabl: id  0 | task -1 |  - checking sim = 1.000 (9000/9000) > 0.100',
        'slot get_availabl: id  0 | task -1 | selected slot by LCP similarity, f_sim_best = 1.000 (> 0.100 thold), f_keep = 1.000',
        'slot launch_slot_: id  0 | task 5 | processing task, is_child = 0',
        'slot update_slots: id  0 | task 5 | new prompt, n_ctx_slot = 32768, n_keep = 0, task.n_tokens = 9000',
        'slot update_slots: id  0 | task 5 | forcing full prompt re-processing due to lack of cache data (likely due to SWA or hybrid/recurrent memory, see https://github.com/ggml-org/llama.cpp/pull/13194#issuecomment-2868343055)',
        'slot update_slots: id  0 | task 5 | cached n_tokens = 0, memory_seq_rm [0, end)',
      ),
    );
    expect(x.verdict).toBe('IDENTICAL_NO_REUSE');
    expect(x).toMatchObject({ commonPrefix: 9000, reused: 0, fullReprocess: true, lostTokens: 0, wastedTokens: 8999 });
    expect(x.help[0]).toBe('SERVER_SIDE');
  });

  it('--cache-reuse chunk shifting', () => {
    const x = only(
      lines(
        'slot update_slots: id  0 | task 9 | new prompt, n_ctx_slot = 16384, n_keep = 0, task.n_tokens = 430',
        'slot update_slots: id  0 | task 9 | reusing chunk with size 57, shifting KV cache [194, 251) -> [106, 163)',
        'slot update_slots: id  0 | task 9 | cached n_tokens = 163, memory_seq_rm [163, end)',
      ),
    );
    expect(x).toMatchObject({ reused: 163, commonPrefix: 106 });
    expect(x.record.chunkReuseTokens).toBe(57);
  });

  it('lcs-era slot selection (`selected slot by lcs similarity, lcs_len = ...`)', () => {
    const x = only(
      lines(
        'slot get_availabl: id  2 | task 14 | selected slot by lcs similarity, lcs_len = 812, similarity = 0.912360',
        'slot launch_slot_: id  2 | task 14 | processing task',
        'slot update_slots: id  2 | task 14 | kv cache rm [812, end)',
      ),
    );
    expect(x.record.selection).toBe('lcp');
    expect(x).toMatchObject({ reused: 812, commonPrefix: 812 });
  });
});

// ---- prefixes: the same request, wrapped by each kind of log collector ----

const CORE = [
  'slot launch_slot_: id  0 | task 18 | processing task, is_child = 0',
  'slot update_slots: id  0 | task 18 | new prompt, n_ctx_slot = 16384, n_keep = 0, task.n_tokens = 429',
  'slot update_slots: id  0 | task 18 | cached n_tokens = 410, memory_seq_rm [410, end)',
  'slot print_timing: id  0 | task 18 | prompt eval time =      61.65 ms /    19 tokens (    3.24 ms per token,   308.20 tokens per second)',
  'slot      release: id  0 | task 18 | stop processing: n_tokens = 429, truncated = 0',
];

const PREFIXES: [string, (l: string, i: number) => string][] = [
  ['none', (l) => l],
  ["llama-server's own `0.02.488.244 I `", (l, i) => `0.02.488.${String(244 + i).padStart(3, '0')} I ${l}`],
  ['level letter only', (l) => `I ${l}`],
  ['docker compose', (l) => `llama-server-1  | ${l}`],
  ['docker compose + timestamps', (l) => `llama-1  | 2025-11-27T02:23:49.123456789Z ${l}`],
  ['journald', (l, i) => `Nov 27 02:23:${String(40 + i)} gpu-box llama-server[1234]: ${l}`],
  ['ISO timestamp', (l) => `2025-11-27T02:23:49.123Z ${l}`],
  ['bracketed time and [INFO]', (l) => `[2025-11-27 02:23:49] [INFO] ${l}`],
  ['INFO word', (l) => `INFO ${l}`],
  ['LM Studio', (l) => `[2025-06-01 10:00:00][DEBUG][qwen3-8b] ${l}`],
  ['LM Studio, spaced', (l) => `2025-06-01 10:00:00  [DEBUG] ${l}`],
  ['router child', (l) => `[ 8081] ${l}`],
  ['router child + own prefix', (l) => `[ 8081] 0.02.488.244 I ${l}`],
  ['CRLF', (l) => `${l}\r`],
];

describe('line prefixes', () => {
  for (const [name, wrap] of PREFIXES) {
    it(name, () => {
      const x = only(CORE.map(wrap).join('\n'));
      expect(x.record).toMatchObject({ slot: 0, task: 18, promptTokens: 429, nPastUsed: 410, processed: 19, slotTokensAfter: 429 });
      if (name.startsWith('router')) expect(x.record.instance).toBe('8081');
      else expect(x.record.instance).toBeNull();
    });
  }

  it('router children with the same slot and task ids stay apart', () => {
    const a = CORE.map((l) => `[ 8081] ${l}`);
    const b = CORE.map((l) => `[ 8082] ${l.replace('410', '12').replace('19 tokens', '417 tokens')}`);
    const mixed = a.flatMap((l, i) => [l, b[i]]);
    const xs = explain(mixed.join('\n'));
    expect(xs.map((x) => [x.record.instance, x.reused])).toEqual([
      ['8081', 410],
      ['8082', 12],
    ]);
  });
});

describe('several slots and tasks', () => {
  it('interleaved slots are grouped by slot and task', () => {
    const text = lines(
      'slot launch_slot_: id  0 | task 10 | processing task, is_child = 0',
      'slot launch_slot_: id  1 | task 11 | processing task, is_child = 0',
      'slot update_slots: id  0 | task 10 | new prompt, n_ctx_slot = 8192, n_keep = 0, task.n_tokens = 3000',
      'slot update_slots: id  1 | task 11 | new prompt, n_ctx_slot = 8192, n_keep = 0, task.n_tokens = 900',
      'slot update_slots: id  1 | task 11 | cached n_tokens = 880, memory_seq_rm [880, end)',
      'slot update_slots: id  0 | task 10 | cached n_tokens = 0, memory_seq_rm [0, end)',
      'slot update_slots: id  0 | task 10 | cached n_tokens = 2048, memory_seq_rm [2048, end)',
      'slot print_timing: id  1 | task 11 | prompt eval time =      50.00 ms /    20 tokens (    2.50 ms per token,   400.00 tokens per second)',
      'slot      release: id  1 | task 11 | stop processing: n_tokens = 1000, truncated = 0',
      'slot print_timing: id  0 | task 10 | prompt eval time =    7500.00 ms /  3000 tokens (    2.50 ms per token,   400.00 tokens per second)',
      'slot      release: id  0 | task 10 | stop processing: n_tokens = 3100, truncated = 0',
    );
    const xs = explain(text);
    const byTask = new Map(xs.map((x) => [x.record.task, x]));
    expect(byTask.get(10)).toMatchObject({ reused: 0, processed: 3000, promptTokens: 3000 });
    expect(byTask.get(11)).toMatchObject({ reused: 880, processed: 20, promptTokens: 900 });
    expect(byTask.get(10)!.record.slot).toBe(0);
    expect(byTask.get(11)!.record.slot).toBe(1);
  });

  it('another task used this slot in between', () => {
    const req = (task: number, prompt: number, cached: number, after: number) => [
      `slot launch_slot_: id  0 | task ${task} | processing task, is_child = 0`,
      `slot update_slots: id  0 | task ${task} | new prompt, n_ctx_slot = 32768, n_keep = 0, task.n_tokens = ${prompt}`,
      `slot update_slots: id  0 | task ${task} | cached n_tokens = ${cached}, memory_seq_rm [${cached}, end)`,
      `slot      release: id  0 | task ${task} | stop processing: n_tokens = ${after}, truncated = 0`,
    ];
    const xs = explain([...req(1, 5000, 0, 5100), ...req(2, 800, 12, 950), ...req(3, 5300, 12, 5400)].join('\n'));
    // task 2 breaks task 1's prefix at token 12; task 3 finds task 2's prompt in the slot
    expect(xs.map((x) => x.verdict)).toEqual(['NO_REUSE', 'PREFIX_BREAK', 'SLOT_TAKEN']);
    expect(xs[1]).toMatchObject({ cachedTokens: 5100, commonPrefix: 12, lostTokens: 5100 - 12 });
    expect(xs[2].slotTokensBefore).toBe(950);
    expect(xs[2]).toMatchObject({ lostTokens: 0, wastedTokens: 5000 - 12 });
  });

  it('LRU pick of a used slot, and a cold start', () => {
    const xs = explain(
      lines(
        'slot get_availabl: id  0 | task -1 | selected slot by LRU, t_last = -1',
        'slot launch_slot_: id  0 | task 1 | processing task, is_child = 0',
        'slot update_slots: id  0 | task 1 | new prompt, n_ctx_slot = 4096, n_keep = 0, task.n_tokens = 300',
        'slot update_slots: id  0 | task 1 | cached n_tokens = 0, memory_seq_rm [0, end)',
        'slot get_availabl: id  3 | task -1 | selected slot by LRU, t_last = 88123',
        'slot launch_slot_: id  3 | task 2 | processing task, is_child = 0',
        'slot update_slots: id  3 | task 2 | new prompt, n_ctx_slot = 4096, n_keep = 0, task.n_tokens = 700',
        'slot update_slots: id  3 | task 2 | cached n_tokens = 0, memory_seq_rm [0, end)',
      ),
    );
    expect(xs.map((x) => x.verdict)).toEqual(['COLD_START', 'LRU_SLOT']);
  });
});

describe('pasted JSON responses', () => {
  const chat = {
    choices: [{ index: 0, message: { role: 'assistant', content: 'ok' }, finish_reason: 'stop' }],
    usage: { completion_tokens: 12, prompt_tokens: 4410, total_tokens: 4422, prompt_tokens_details: { cached_tokens: 4096 } },
    timings: { cache_n: 4096, prompt_n: 314, prompt_ms: 1256.0, prompt_per_token_ms: 4.0, prompt_per_second: 250.0, predicted_n: 12 },
  };

  it('one-line and pretty-printed chat responses', () => {
    for (const text of [JSON.stringify(chat), JSON.stringify(chat, null, 2)]) {
      const x = only(text);
      expect(x).toMatchObject({ promptTokens: 4410, cachedTokens: 4096, reused: 4096, processed: 314, commonPrefix: 4096 });
      expect(x.record.format).toBe('response');
    }
  });

  it('usage only (OpenAI-style cached_tokens)', () => {
    const x = only(JSON.stringify({ usage: { prompt_tokens: 1000, completion_tokens: 5, prompt_tokens_details: { cached_tokens: 0 } } }));
    expect(x).toMatchObject({ promptTokens: 1000, reused: 0, processed: 1000, fullReprocess: true });
  });

  it('streamed: the last `data:` chunk carries the timings', () => {
    const text = lines(
      'data: {"choices":[{"delta":{"content":"Hi"},"index":0}],"object":"chat.completion.chunk"}',
      '',
      `data: ${JSON.stringify({ ...chat, choices: [{ delta: {}, finish_reason: 'stop', index: 0 }] })}`,
      '',
      'data: [DONE]',
    );
    expect(only(text)).toMatchObject({ reused: 4096, processed: 314 });
  });

  it('a sequence of responses: the previous one tells what the slot held', () => {
    const a = { usage: { prompt_tokens: 400, completion_tokens: 1 }, timings: { cache_n: 0, prompt_n: 400 } };
    const b = { usage: { prompt_tokens: 450, completion_tokens: 1 }, timings: { cache_n: 380, prompt_n: 70 } };
    const xs = explain([JSON.stringify(a), JSON.stringify(b)].join('\n'));
    expect(xs[1]).toMatchObject({ slotTokensBefore: 400, cachedTokens: 400, reused: 380, verdict: 'PREFIX_BREAK', lostTokens: 20 });
  });

  it('native /completion response with id_slot and tokens_cached', () => {
    const x = only(JSON.stringify({ content: 'x', id_slot: 2, tokens_evaluated: 120, tokens_cached: 140, timings: { prompt_n: 20, prompt_ms: 80 } }));
    expect(x.record.slot).toBe(2);
    expect(x).toMatchObject({ promptTokens: 120, reused: 100, processed: 20 });
  });
});

describe('robustness', () => {
  it('unknown lines are skipped, and a log with nothing recognised says so', () => {
    const text = lines('llama_model_loader: loaded meta data with 33 key-value pairs', 'main: server is listening on http://127.0.0.1:8080', '{not json', 'slot nonsense | task x');
    const { requests, stats } = parseLog(text);
    expect(requests).toEqual([]);
    expect(stats).toEqual({ lines: 4, recognised: 0, skippedLong: 0 });
    const out = humanReport([], summarize([], stats), new Chalk({ level: 0 }));
    expect(out).toContain('recognised no llama-server cache lines in 4 lines');
  });

  it('a stray or truncated `{` never swallows the server lines after it', () => {
    for (const stray of ['{', 'srv  log_server_r: request: {"messages":[{"role":"user","content":"trunc']) {
      const x = only([stray, ...CORE].join('\n'));
      expect(x.record).toMatchObject({ task: 18, nPastUsed: 410, processed: 19 });
    }
  });

  it('the parser streams: records come out as requests finish, not at the end', () => {
    const p = new LogParser();
    const out = [...CORE, ...CORE.map((l) => l.replace(/task 18/, 'task 19'))].map((l) => p.push(l).length);
    // the first request is handed out once the next one starts (held one step for headless timing lines)
    expect(out.reduce((a, b) => a + b, 0)).toBe(1);
    expect(p.end()).toHaveLength(1);
  });

  it('summary: lost tokens and their cost at the measured speed', () => {
    const xs = explain(AUG_2025);
    const s = summarize(xs, { lines: 1, recognised: 1 });
    expect(s.lostTokens).toBe(xs[0].lostTokens);
    expect(s.lostTokens).toBe(100387 - 62);
    expect(s.wastedTokens).toBe(62);
    expect(s.lostSeconds).toBeCloseTo((100387 - 62) / 170, 3);
    expect(s.promptTps).toBeCloseTo((100449 * 1000) / 590876.47, 3);
  });
});

describe('reports', () => {
  it('human report: rustc-like headline with the verdict code, notes and help', () => {
    const xs = explain(AUG_2025);
    const out = humanReport(xs, summarize(xs, { lines: 14, recognised: 12 }), new Chalk({ level: 0 }));
    expect(out).toMatch(/^warning\[PREFIX_BREAK\]: /);
    expect(out).toContain('  --> lines 1-14 · slot 0 · task 4512');
    expect(out).toContain('= note: cached 100,387, prompt 100,449, common prefix 62, reused 0, processed 100,449');
    expect(out).toContain('= help: ');
    expect(out).toContain('summary: 1 request');
  });

  it('json report follows the --json contract', () => {
    const xs = explain([OCT_2025, DEC_2025].join('\n'));
    const doc = JSON.parse(jsonReport(xs, summarize(xs, { lines: 18, recognised: 18 })));
    expect(doc.schemaVersion).toBe(1);
    expect(doc.requests).toHaveLength(2);
    for (const r of doc.requests) {
      for (const k of ['slot', 'task', 'promptTokens', 'cachedTokens', 'commonPrefix', 'reused', 'processed', 'fullReprocess', 'verdict']) {
        expect(r).toHaveProperty(k);
      }
      expect(typeof r.verdict).toBe('string');
    }
    expect(doc.requests[0]).toMatchObject({ slot: 1, task: 77, promptTokens: 5120, cachedTokens: 4651, reused: 4470, processed: 650, fullReprocess: false });
    expect(doc.requests[0].lostTokens).toBe(4651 - 4470);
    expect(doc.summary.lostTokens).toBe(4651 - 4470);
    // the streamed document is the same text as one JSON.stringify of it
    expect(jsonReport(xs, doc.summary)).toBe(`${JSON.stringify(doc, null, 2)}\n`);
  });
});

// ---- the command, in process with a fake context ----

const fakeCtx = capturingContext;

async function run(args: string[], stdin = ''): Promise<{ ctx: ReturnType<typeof fakeCtx>; error: unknown }> {
  const ctx = fakeCtx();
  const program = new Command().exitOverride();
  registerLogsCommand(program, ctx, { stdin: () => Readable.from([stdin]) });
  try {
    await program.parseAsync(['node', 'kvdiff', ...args]);
    return { ctx, error: null };
  } catch (error) {
    return { ctx, error };
  }
}

describe('kvdiff logs (in process)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'kvdiff-logs-'));
  const file = join(dir, 'server.log');
  writeFileSync(file, `${AUG_2025}\n${OCT_2025}\n`);

  it('reads a file and prints one report per request plus a summary', async () => {
    const { ctx, error } = await run(['logs', file]);
    expect(error).toBeNull();
    const out = ctx.out.join('');
    expect(out).toContain('warning[PREFIX_BREAK]');
    expect(out).toContain('summary: 2 requests');
    expect(ctx.exitCode).toBe(1); // a warning verdict in the log: exit 1, report printed
  });

  it('--json on stdin (-): stdout is one JSON document', async () => {
    const { ctx, error } = await run(['logs', '-', '--json'], `${TEXT_2024}\n`);
    expect(error).toBeNull();
    const doc = JSON.parse(ctx.out.join(''));
    expect(doc.schemaVersion).toBe(1);
    expect(doc.requests[0]).toMatchObject({ slot: 0, task: 6, reused: 152, processed: 36, verdict: expect.any(String) });
  });

  it('no file argument reads stdin too', async () => {
    const { ctx } = await run(['logs', '--no-color'], 'nothing to see\n');
    expect(ctx.out.join('')).toContain('recognised no llama-server cache lines');
  });

  it('an unreadable file is a KvdiffError (one line, exit 2 in main)', async () => {
    const missing = await run(['logs', join(dir, 'missing.log')]);
    expect(missing.error).toBeInstanceOf(KvdiffError);
    expect((missing.error as Error).message).toMatch(/^cannot read log .*missing\.log: no such file$/);
    const directory = await run(['logs', dir]);
    expect(directory.error).toBeInstanceOf(KvdiffError);
    expect((directory.error as Error).message).toContain('not a file');
  });
});

describe('front (src/logs/index.ts)', () => {
  it('explainLogText and lastLoggedRequest give what `kvdiff a.json b.json --log` needs', async () => {
    const { explainLogText, lastLoggedRequest } = await import('../src/logs/index.ts');
    const { requests, summary } = explainLogText([TEXT_2024, DEFAULT_VERBOSITY].join('\n'));
    expect(summary.requests).toBe(2);
    expect(lastLoggedRequest(requests)?.reused).toBe(152);
    expect(lastLoggedRequest(requests, 3)).toBeNull();
  });
});

describe('other servers and response shapes', () => {
  it('Responses API usage (input_tokens with input_tokens_details.cached_tokens) and a return_progress chunk', () => {
    expect(only(JSON.stringify({ usage: { input_tokens: 900, output_tokens: 3, input_tokens_details: { cached_tokens: 850 } } }))).toMatchObject({
      promptTokens: 900,
      reused: 850,
      processed: 50,
    });
    expect(only(`data: ${JSON.stringify({ choices: [], prompt_progress: { total: 237, cache: 230, processed: 237, time_ms: 30 } })}`)).toMatchObject({
      promptTokens: 237,
      reused: 230,
    });
  });

  it("Ollama's runner: the second request leaves the first one's 5,300 cached tokens at 1,200", () => {
    const xs = explain(
      lines(
        'time=2026-01-25T14:40:29.858Z level=DEBUG source=cache.go:142 msg="loading cache slot" id=0 cache=0 prompt=5000 used=0 remaining=5000',
        'time=2026-01-25T14:41:02.101Z level=DEBUG source=cache.go:142 msg="loading cache slot" id=0 cache=5300 prompt=5600 used=1200 remaining=4400',
      ),
    );
    expect(xs.map((x) => x.verdict)).toEqual(['COLD_START', 'PREFIX_BREAK']);
    expect(xs[1]).toMatchObject({ cachedTokens: 5300, commonPrefix: 1200, reused: 1200, processed: 4400, lostTokens: 4100 });
  });

  it("Ollama's runner shifting a full context (2025 with id=, 2024 without): a note on the request being processed", () => {
    for (const shift of [
      'time=2025-06-25T15:47:26.313+08:00 level=DEBUG source=cache.go:240 msg="context limit hit - shifting" id=0 limit=50 input=50 keep=4 discard=23',
      'time=2024-11-20T11:58:00.882-06:00 level=DEBUG source=cache.go:217 msg="context limit hit - shifting" limit=50 input=50 keep=4 discard=23',
    ]) {
      const x = only(lines('time=2025-06-25T15:47:25.991+08:00 level=DEBUG source=cache.go:104 msg="loading cache slot" id=0 cache=0 prompt=47 used=0 remaining=47', shift));
      expect(x.notes).toContainEqual({ code: 'CONTEXT_SHIFT', shifts: 1, discarded: 23, keep: 4 });
    }
  });

  it('LM Studio: non-prefix chunks reused from the cache count like --cache-reuse', () => {
    const x = only(lines('Cache reuse summary: 3000/4000 of prompt (75%), 2500 prefix, 500 non-prefix', 'Total prompt tokens: 4000', 'Prompt tokens to decode: 1000'));
    expect(x.record.format).toBe('lmstudio');
    expect(x).toMatchObject({ promptTokens: 4000, commonPrefix: 2500, reused: 3000, processed: 1000 });
    expect(x.record.chunkReuseTokens).toBe(500);
  });

  it('llama-box: prefill_t counts the cached tokens, and prefill_tps is over all of them (t = 2000 ms, 1000 tokens)', () => {
    const x = only(
      lines(
        '[2025-05-15 16:53:37.217425] I srv                   request: rid 11 | POST /v1/chat/completions 127.0.0.1:63152',
        '[2025-05-15 16:53:57.237075] I srv                 reconcile: rid 11 | prefill_t = 1000, prefill_cached_t = 900, prefill_tps = 500.00 tps, ttft = 2000.00ms, decode_t = 40, decode_tps = 20.00 tps, tpot = 50.00ms, draft_t = 0, draft_apt = 0.00%, total_t = 1040, stop_r = stop',
      ),
    );
    expect(x.record.format).toBe('llama-box');
    expect(x.record).toMatchObject({ slot: null, task: null });
    expect(x).toMatchObject({ promptTokens: 1000, reused: 900, processed: 100 });
    // the 100 processed tokens took the 2 s: 50 t/s, not the 500 t/s printed
    expect(x.record.promptTps).toBeCloseTo(50, 6);
  });
});

describe('autumn 2024 wordings', () => {
  it('`prompt tokenized, …` and `input truncated, …`', () => {
    const x = only(
      lines(
        'slot update_slots: id  0 | task 9 | prompt tokenized, n_ctx_slot = 2048, n_keep = 0, n_prompt_tokens = 2600',
        'slot update_slots: id  0 | task 9 | input truncated, n_ctx = 2048, n_keep = 0, n_left = 2048, n_prompt_tokens = 1576',
        'slot update_slots: id  0 | task 9 | kv cache rm [0, end)',
      ),
    );
    expect(x).toMatchObject({ promptTokens: 1576, reused: 0, processed: 1576 });
    expect(x.notes).toContainEqual({ code: 'INPUT_TRUNCATED', keep: 0 });
  });
});

describe('held-out rules (lines written for these tests; numbers read off them)', () => {
  it('2026 without the n_past line: `checking checkpoint … against T` on one-position checkpoints is n_past; the break is priced from the lowest bound', () => {
    const x = only(
      lines(
        'I slot launch_slot_: id  0 | task 9 | processing task, is_child = 0',
        'I slot   operator(): id  0 | task 9 | new prompt, n_ctx_slot = 65536, n_keep = 0, task.n_tokens = 5000',
        'I slot   operator(): id  0 | task 9 | checking checkpoint with [4600, 4600] against 3000...',
        'I slot   operator(): id  0 | task 9 | checking checkpoint with [4100, 4100] against 3000...',
        'W slot   operator(): id  0 | task 9 | forcing full prompt re-processing due to lack of cache data (likely due to SWA or hybrid/recurrent memory, see https://github.com/ggml-org/llama.cpp/pull/13194#issuecomment-2868343055)',
        'I slot   operator(): id  0 | task 9 | cached n_tokens = 0, memory_seq_rm [0, end)',
      ),
    );
    expect(x.commonPrefix).toBe(3000);
    expect(x.verdict).toBe('PREFIX_BREAK');
    expect(x.model).toBe('hybrid');
    expect(x.lostTokens).toBe(1601); // at least 4,601 tokens were cached
    expect(x.notes.map((n) => n.code)).toContain('CACHE_AT_LEAST');
  });

  it('an SWA checkpoint window ([150, 405]) says nothing about n_past (T = n_past - n_swa)', () => {
    const x = only(
      lines(
        'I slot   operator(): id  0 | task 43 | new prompt, n_ctx_slot = 16384, n_keep = 0, task.n_tokens = 410',
        'I slot   operator(): id  0 | task 43 | checking checkpoint with [150, 405] against 0...',
        'I slot   operator(): id  0 | task 43 | checking checkpoint with [0, 0] against 0...',
        'I slot   operator(): id  0 | task 43 | restored context checkpoint (pos_min = 0, pos_max = 0, n_tokens = 1, n_past = 1, size = 0.001 MiB)',
      ),
    );
    // not 0: the window only says n_past <= n_swa, and the restore kept the first token
    expect(x.commonPrefix).toBeNull();
    expect(x.reused).toBe(1);
  });

  it('a request already under way when the paste starts: reuse is prompt − processed, not the first memory_seq_rm', () => {
    const x = only(
      lines(
        'slot update_slots: id  2 | task 8 | n_tokens = 9000, memory_seq_rm [9000, end)',
        'slot update_slots: id  2 | task 8 | prompt processing done, n_tokens = 9004, batch.n_tokens = 4',
        'slot print_timing: id  2 | task 8 | ',
        'prompt eval time =    1000.00 ms /  1004 tokens (    1.00 ms per token,  1004.00 tokens per second)',
      ),
    );
    expect(x.promptTokens).toBe(9004);
    expect(x.reused).toBe(8000);
  });

  it('`n_past = N, slot.prompt.tokens.size()` cut after size(): the break against the previous release', () => {
    const xs = explain(
      lines(
        'slot      release: id  1 | task 3 | stop processing: n_tokens = 700, truncated = 0',
        'slot launch_slot_: id  1 | task 4 | processing task, is_child = 0',
        'slot update_slots: id  1 | task 4 | new prompt, n_ctx_slot = 8192, n_keep = 0, task.n_tokens = 900',
        'slot update_slots: id  1 | task 4 | n_past = 650, slot.prompt.tokens.size()',
      ),
    );
    const x = xs.find((r) => r.record.task === 4)!;
    expect(x.verdict).toBe('PREFIX_BREAK');
    expect(x.lostTokens).toBe(50);
  });

  it('task 0 is the first task of the process: a cold start', () => {
    const x = only(
      lines(
        'slot launch_slot_: id  2 | task 0 | processing task, is_child = 0',
        'slot update_slots: id  2 | task 0 | new prompt, n_ctx_slot = 8192, n_keep = 0, task.n_tokens = 300',
        'slot update_slots: id  2 | task 0 | n_tokens = 0, memory_seq_rm [0, end)',
      ),
    );
    expect(x.verdict).toBe('COLD_START');
  });

  it('task 0 seen only at its end (a timing block, or progress lines with a rate) is still the first task: nothing cached', () => {
    const timing = only(
      lines(
        '0.06.895.980 I slot print_timing: id  1 | task 0 | prompt eval time =     300.11 ms /    20 tokens (   15.01 ms per token,    66.64 tokens per second)',
        '0.06.896.125 I slot      release: id  1 | task 0 | stop processing: n_tokens = 275, truncated = 0',
      ),
    );
    expect([timing.verdict, timing.reused, timing.promptTokens, timing.processed]).toEqual(['COLD_START', 0, 20, 20]);
    const rate = only('2.16.615.729 I slot print_timing: id  0 | task 0 | prompt processing, n_tokens =  28672, progress = 0.18, t = 120.90 s / 237.16 tokens per second');
    expect([rate.verdict, rate.reused, rate.record.promptTps]).toEqual(['COLD_START', 0, 237.16]);
    // any other task seen only at its end stays a timing-only reading
    const later = only('0.06.895.980 I slot print_timing: id  1 | task 7 | prompt eval time =     300.11 ms /    20 tokens (   15.01 ms per token,    66.64 tokens per second)');
    expect([later.verdict, later.reused]).toEqual(['TIMING_ONLY', null]);
  });

  it('default verbosity (no n_past line): f_keep = 1.000 keeps the whole slot, the prompt is that plus what was processed', () => {
    const xs = explain(
      lines(
        'slot      release: id  0 | task 5 | stop processing: n_tokens = 1200, truncated = 0',
        'slot get_availabl: id  0 | task -1 | selected slot by LCP similarity, f_sim_best = 0.800 (> 0.100 thold), f_keep = 1.000',
        'slot launch_slot_: id  0 | task 9 | processing task, is_child = 0',
        'slot print_timing: id  0 | task 9 | prompt eval time =     300.00 ms /   300 tokens (    1.00 ms per token,  1000.00 tokens per second)',
      ),
    );
    const x = xs.find((r) => r.record.task === 9)!;
    expect([x.cachedTokens, x.commonPrefix, x.reused, x.processed, x.promptTokens, x.verdict]).toEqual([1200, 1200, 1200, 300, 1500, 'FULL_REUSE']);
    // a fallback at trace level: the rate line's progress (0.05 after 3,000 of 20,000 processed) cannot be
    // (20,000 + 3,000) / (20,000 + 60,000) = 0.29, so the whole slot was not kept: nothing is read
    const hidden = explain(
      lines(
        'slot      release: id  0 | task 5 | stop processing: n_tokens = 20000, truncated = 0',
        'slot get_availabl: id  0 | task -1 | selected slot by LCP similarity, f_sim_best = 0.990 (> 0.100 thold), f_keep = 1.000',
        'slot print_timing: id  0 | task 9 | prompt processing, n_tokens =   3000, progress = 0.05, t =   3.00 s / 1000.00 tokens per second',
        'slot print_timing: id  0 | task 9 | prompt eval time =   60000.00 ms / 60000 tokens (    1.00 ms per token,  1000.00 tokens per second)',
      ),
    ).find((r) => r.record.task === 9)!;
    expect([hidden.reused, hidden.verdict]).toEqual([null, 'TIMING_ONLY']);
    // f_keep below 1.000 only bounds the prefix: a break at about 0.945 × 1,200 = 1,134 (± 0.6), reuse unknown
    const partial = explain(
      lines(
        'slot      release: id  0 | task 5 | stop processing: n_tokens = 1200, truncated = 0',
        'slot get_availabl: id  0 | task -1 | selected slot by LCP similarity, f_sim_best = 0.700 (> 0.100 thold), f_keep = 0.945',
        'slot print_timing: id  0 | task 9 | prompt eval time =     300.00 ms /   300 tokens (    1.00 ms per token,  1000.00 tokens per second)',
      ),
    ).find((r) => r.record.task === 9)!;
    expect([partial.reused, partial.commonPrefix, partial.verdict]).toEqual([null, 1134, 'PREFIX_BREAK']);
    // a fallback logged at default verbosity (a WRN line) overrides the selection's promise
    const forced = explain(
      lines(
        'slot      release: id  0 | task 5 | stop processing: n_tokens = 1200, truncated = 0',
        'slot get_availabl: id  0 | task -1 | selected slot by LCP similarity, f_sim_best = 0.800 (> 0.100 thold), f_keep = 1.000',
        'slot update_slots: id  0 | task 9 | forcing full prompt re-processing due to lack of cache data (likely due to SWA or hybrid/recurrent memory)',
        'slot print_timing: id  0 | task 9 | prompt eval time =    1500.00 ms /  1500 tokens (    1.00 ms per token,  1000.00 tokens per second)',
      ),
    ).find((r) => r.record.task === 9)!;
    expect([forced.reused, forced.processed, forced.verdict]).toEqual([0, 1500, 'CHECKPOINT_FALLBACK']);
  });

  it('a headless timing block right before a release belongs to the released task', () => {
    const x = only(
      lines(
        'prompt eval time =     100.00 ms /   200 tokens (    0.50 ms per token,  2000.00 tokens per second)',
        '       eval time =     100.00 ms /    10 tokens (   10.00 ms per token,   100.00 tokens per second)',
        '      total time =     200.00 ms /   210 tokens',
        'INFO [           release_slots] slot released | tid="1" timestamp=1 id_slot=0 id_task=12 n_ctx=4096 n_past=209 n_system_tokens=0 n_cache_tokens=209 truncated=false',
      ),
    );
    expect([x.record.slot, x.record.task, x.processed, x.record.slotTokensAfter]).toEqual([0, 12, 200, 209]);
  });

  it('`jq .timings, .usage` output is one response', () => {
    const x = only(lines('{', '  "cache_n": 30,', '  "prompt_n": 10,', '  "prompt_ms": 20.0', '}', '{', '  "prompt_tokens": 40,', '  "completion_tokens": 5,', '  "prompt_tokens_details": { "cached_tokens": 30 }', '}'));
    expect([x.promptTokens, x.reused, x.processed]).toEqual([40, 30, 10]);
  });

  it('--cache-reuse at -lv 4: the common prefix before the chunk shift', () => {
    const x = only(
      lines(
        'slot update_slots: id  0 | task 5 | new prompt, n_ctx_slot = 4096, n_keep = 0, task.n_tokens = 900',
        'slot update_slots: id  0 | task 5 | trying to reuse chunks with size > 64, n_past = 100',
        'slot update_slots: id  0 | task 5 | reusing chunk with size 700, shifting KV cache [300, 1000) -> [100, 800)',
        'slot update_slots: id  0 | task 5 | n_tokens = 800, memory_seq_rm [800, end)',
      ),
    );
    expect([x.commonPrefix, x.reused, x.processed]).toEqual([100, 800, 100]);
  });

  it('a `GET /slots` entry: n_prompt_tokens_cache kept, n_prompt_tokens_processed processed; idle entries without a task are skipped', () => {
    const x = only(
      '[{"id": 0, "n_ctx": 8192, "is_processing": false}, {"id": 3, "n_ctx": 80128, "is_processing": false, "id_task": 123, "n_prompt_tokens": 25656, "n_prompt_tokens_cache": 24160, "n_prompt_tokens_processed": 1496}]',
    );
    expect([x.record.slot, x.record.task, x.promptTokens, x.reused, x.processed]).toEqual([3, 123, 25656, 24160, 1496]);
  });

  it('an idle slot saved to the RAM cache and cleared (`clearing prompt with N tokens`) is empty for its next request', () => {
    const xs = explain(
      lines(
        'slot      release: id  0 | task 7 | stop processing: n_tokens = 656, truncated = 0',
        'slot launch_slot_: id  3 | task 9 | processing task, is_child = 0',
        'slot process_sing: id  0 | task -1 | saving idle slot to prompt cache',
        'slot prompt_clear: id  0 | task -1 | clearing prompt with 656 tokens',
        'slot launch_slot_: id  0 | task 12 | processing task, is_child = 0',
        'slot update_slots: id  0 | task 12 | new prompt, n_ctx_slot = 8192, n_keep = 0, task.n_tokens = 300',
        'slot update_slots: id  0 | task 12 | n_tokens = 0, memory_seq_rm [0, end)',
      ),
    );
    const x = xs.find((r) => r.record.task === 12)!;
    expect([x.cachedTokens, x.reused, x.lostTokens]).toEqual([0, 0, 0]);
    expect(x.notes).toContainEqual({ code: 'SLOT_CLEARED', tokens: 656 });
  });

  it('default verbosity, f_keep below 1: a prefix break at about f_keep × the slot, only when even the rounding bound ends before the slot', () => {
    const run = (size: number, keep: string) =>
      explain(
        lines(
          `slot      release: id  0 | task 4922 | stop processing: n_tokens = ${size}, truncated = 0`,
          `slot get_availabl: id  0 | task -1 | selected slot by LCP similarity, f_sim_best = 0.900 (> 0.100 thold), f_keep = ${keep}`,
          'slot launch_slot_: id  0 | task 4999 | processing task, is_child = 0',
          'slot print_timing: id  0 | task 4999 | prompt eval time =    1000.00 ms /  2500 tokens (    0.40 ms per token,  2500.00 tokens per second)',
        ),
      ).find((x) => x.record.task === 4999)!;
    // 0.945 × 39,093 = 36,942.9: lcp within [0.9445 × 39,093, 0.9455 × 39,093] = [36,924, 36,962], all below 39,092
    const brk = run(39093, '0.945');
    expect([brk.verdict, brk.commonPrefix, brk.cachedTokens, brk.lostTokens, brk.reused]).toEqual(['PREFIX_BREAK', 36943, 39093, 2150, null]);
    expect(brk.notes).toContainEqual({ code: 'COMMON_PREFIX_ESTIMATED', keep: 0.945, within: 19 });
    // 0.999 × 2,000: lcp may be 1,999 (everything but the last token): no break can be told
    const close = run(2000, '0.999');
    expect([close.verdict, close.commonPrefix]).toEqual(['TIMING_ONLY', null]);
    // below 0.5 the server swapped in the RAM prompt cache first (not shown at this level): nothing is read
    const low = run(39093, '0.400');
    expect([low.verdict, low.commonPrefix]).toEqual(['TIMING_ONLY', null]);
  });

  it('lines stripped of their slot prefix: the n_past line names its slot as seq_id, a bare release joins the timing block above it', () => {
    const brk = only(
      lines(
        'server-context.cpp:3217: pos_min == -1, but n_past > 0',
        'n_past = 25190, slot.prompt.tokens.size() = 25550, seq_id = 3, pos_min = -1',
      ),
    );
    expect([brk.record.slot, brk.commonPrefix, brk.cachedTokens, brk.lostTokens, brk.verdict]).toEqual([3, 25190, 25550, 360, 'PREFIX_BREAK']);
    const timing = only(
      lines(
        'prompt eval time =  313780.02 ms / 28138 tokens (   11.15 ms per token,    89.67 tokens per second)',
        'eval time =   14787.06 ms /   794 tokens (   18.62 ms per token,    53.70 tokens per second)',
        'total time =  328567.07 ms / 28932 tokens',
        'graphs reused =       4461',
        'draft acceptance = 0.54889 (  494 accepted /   900 generated), mean len =  2.65',
        'stop processing: n_tokens = 44145, truncated = 0',
      ),
    );
    expect([timing.processed, timing.record.slotTokensAfter, timing.verdict]).toEqual([28138, 44145, 'TIMING_ONLY']);
    // a bare release far from any timing block says nothing about a request
    expect(explain(lines('stop processing: n_tokens = 44145, truncated = 0'))).toEqual([]);
  });

  it("KoboldCpp's early-2024 `ContextLimit: X/Y, Processing:Ts (Ams/T)` summary: the context it keeps and the prompt rate", () => {
    const x = only('ContextLimit: 614/2048, Processing:0.43s (5.5ms/T), Generation:3.62s (55.8ms/T), Total:4.06s (16.02T/s)');
    expect(x.record.format).toBe('koboldcpp');
    expect(x.record.slotTokensAfter).toBe(614);
    expect(x.record.promptEvalMs).toBe(430);
    expect(x.record.promptTps).toBeCloseTo(181.82, 2);
  });

  it('a window of batch lines in the middle of a request is still a request (task 0: nothing cached; others: unknown)', () => {
    const batches = (task: number) =>
      lines(
        `slot update_slots: id  2 | task ${task} | n_tokens = 5376, memory_seq_rm [5376, end)`,
        `slot update_slots: id  2 | task ${task} | prompt processing progress, n_tokens = 5632, batch.n_tokens = 256, progress = 0.196114`,
      );
    const first = only(batches(0));
    expect([first.verdict, first.reused]).toEqual(['COLD_START', 0]);
    const later = only(batches(7));
    expect([later.verdict, later.reused, later.commonPrefix]).toEqual(['UNKNOWN', null, null]);
  });

  it('KoboldCpp: the summary line gives the prompt (context − generated) and the next request its cache', () => {
    const xs = explain(
      lines(
        'Processing Prompt [BLAS] (1000 / 1000 tokens)',
        'Generating (50 / 200 tokens)',
        'CtxLimit:1050/8192, Amt:50/200, Init:0.01s, Process:2.00s (2.0ms/T = 500.00T/s), Generate:5.00s (100.0ms/T = 10.00T/s), Total:7.00s',
        'Processing Prompt (20 / 20 tokens)',
        'Generating (30 / 200 tokens)',
        'CtxLimit:1100/8192, Amt:30/200, Init:0.01s, Process:0.10s (5.0ms/T = 200.00T/s), Generate:3.00s (100.0ms/T = 10.00T/s), Total:3.10s',
      ),
    );
    expect(xs.map((x) => [x.promptTokens, x.reused, x.processed])).toEqual([
      [1000, 0, 1000],
      [1070, 1050, 20],
    ]);
    expect(xs[1].verdict).toBe('FULL_REUSE');
  });
});
