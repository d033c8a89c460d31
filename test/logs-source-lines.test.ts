/**
 * Synthetic-from-source layer, separate from the real corpus: every llama-server log line about n_past, the
 * prompt cache, checkpoints, context shift, cache reuse, slots and timings, written from its format string
 * (numbers filled in by hand) with the place it comes from. Current lines cite
 * `tools/server/server-context.cpp` at llama.cpp de3ff81 (the checkout in /work/oracle); older ones cite the
 * file of their era and a public diff or paste where the format string can be read. Each row says what the
 * line must become (an event kind and its numbers) or that it must stay harmless (no cache event).
 */
import { describe, expect, it } from 'vitest';
import { Explainer } from '../src/logs/explain.ts';
import { recogniseLine, recogniseLineExhaustive } from '../src/logs/lines.ts';
import { parseLog } from '../src/logs/parse.ts';
import type { LogEvent } from '../src/logs/types.ts';

const CUR = 'tools/server/server-context.cpp@de3ff81';

interface Row {
  ref: string;
  line: string;
  /** null: the line must not become a cache event (it is about something else). */
  want: Partial<LogEvent> | null;
}

const ROWS: Row[] = [
  // ---- current source (server-context.cpp at de3ff81) ----
  { ref: `${CUR}:548 SLT_INF stop processing`, line: 'slot      release: id  2 | task 41 | stop processing: n_tokens = 1234, truncated = 0', want: { kind: 'release', slot: 2, task: 41, slotTokens: 1234 } },
  { ref: `${CUR}:628 SLT_INF print_timings_pp`, line: 'slot print_timing: id  0 | task 9 | prompt processing, n_tokens =   2048, progress = 0.25, t =   4.10 s / 499.51 tokens per second', want: { kind: 'rate', tps: 499.51 } },
  { ref: `${CUR}:642 SLT_INF prompt eval time`, line: 'slot print_timing: id  0 | task 9 | prompt eval time =    4100.00 ms /  2048 tokens (    2.00 ms per token,   499.51 tokens per second)', want: { kind: 'promptEval', processed: 2048, ms: 4100, tps: 499.51 } },
  { ref: `${CUR}:615 SLT_INF generation progress`, line: 'slot print_timing: id  0 | task 9 | n_gen =    100, tg =  30.00 t/s, tg_3s =  31.00 t/s', want: null },
  { ref: `${CUR}:654 SLT_INF graphs reused`, line: 'slot print_timing: id  0 | task 9 |    graphs reused =         61', want: null },
  { ref: `${CUR}:676 SLT_INF draft acceptance`, line: 'slot print_timing: id  0 | task 9 | draft acceptance = 0.75000 (   30 accepted /    40 generated), mean len =  2.50', want: null },
  { ref: `${CUR}:335 SLT_TRC prompt_clear`, line: 'slot prompt_clear: id  1 | task -1 | clearing prompt with 656 tokens', want: { kind: 'slotCleared', slot: 1, slotTokens: 656 } },
  { ref: `${CUR}:1680 SRV_WRN try_clear_idle_slots`, line: 'srv  try_clear_id: purging slot 2 with 4096 tokens', want: { kind: 'slotCleared', slot: 2, slotTokens: 4096 } },
  { ref: `${CUR}:309 SRV_TRC prompt_save`, line: 'srv   prompt_save:  - saving prompt with length 442, total state size = 199.284 MiB (draft: 0.000 MiB)', want: { kind: 'promptSave', slotTokens: 442 } },
  { ref: `${CUR}:328 SLT_WRN prompt_load`, line: 'slot  prompt_load: id  0 | task 12 | failed to load prompt from cache', want: null },
  { ref: `server-task.cpp@de3ff81:1826 SRV_TRC load`, line: 'srv          load:  - found better prompt with f_keep = 0.491, f_sim = 0.519', want: { kind: 'ramRestore', keep: 0.491, sim: 0.519 } },
  { ref: `server-task.cpp@de3ff81:1799 SRV_TRC load`, line: 'srv          load:  - looking for better prompt, base f_keep = 0.444, f_sim = 0.519', want: null },
  { ref: 'server-task.cpp@de3ff81:1717 SRV_TRC alloc', line: 'srv         alloc:  - prompt is already in the cache, skipping', want: null },
  { ref: 'server-task.cpp@de3ff81:1753 SRV_WRN alloc', line: 'srv         alloc:  - making room for prompt cache entry, removing oldest entry (size = 3418.112 MiB)', want: null },
  { ref: 'server-task.cpp@de3ff81:1810 SRV_TRC load candidate', line: 'srv          load:    - prompt with length    5250, lcp =    2600, f_keep = 0.495, f_sim = 0.519', want: null },
  { ref: 'server-task.cpp@de3ff81:1894 SRV_TRC cache state', line: 'srv        update:  - cache state: 5 prompts, 7053.061 MiB (limits: 8192.000 MiB, 262144 tokens, 262144 est)', want: null },
  { ref: 'server-task.cpp@de3ff81:1898 SRV_TRC cached prompt', line: 'srv        update:    - prompt 0x5e0b55ebda80:    5199 tokens, checkpoints:  6,  1372.380 MiB', want: null },
  { ref: `${CUR}:1556 SLT_INF selected by id`, line: 'slot get_availabl: id  1 | task -1 | selected slot by id (1)', want: { kind: 'selected', slot: 1, method: 'id' } },
  { ref: `${CUR}:1579 SLT_TRC slot empty`, line: 'slot get_availabl: id  3 | task -1 |  - skipping, slot is empty', want: { kind: 'slotEmpty', slot: 3 } },
  { ref: `${CUR}:1587 SLT_TRC checking sim`, line: 'slot get_availabl: id  0 | task -1 |  - checking sim = 0.956 (410/429) > 0.100', want: { kind: 'sim', sim: 0.956, lcp: 410, promptTokens: 429 } },
  { ref: `${CUR}:1601 SLT_INF selected by LCP`, line: 'slot get_availabl: id  0 | task -1 | selected slot by LCP similarity, f_sim_best = 0.783 (> 0.100 thold), f_keep = 1.000', want: { kind: 'selected', method: 'lcp', sim: 0.783, keep: 1 } },
  { ref: `${CUR}:1630 SLT_INF selected by LRU`, line: 'slot get_availabl: id  3 | task -1 | selected slot by LRU, t_last = -1', want: { kind: 'selected', method: 'lru', tLast: -1 } },
  { ref: `${CUR}:1829 SLT_INF launch`, line: 'slot launch_slot_: id  0 | task 77 | processing task, is_child = 0', want: { kind: 'launch', task: 77 } },
  { ref: `${CUR}:1891 SLT_DBG out of context`, line: 'slot process_toke: id  0 | task 77 | stopped due to running out of context capacity, prompt.n_tokens() = 4095, task.n_tokens = 4000, n_gen = 95, n_ctx = 4096', want: null },
  { ref: `${CUR}:2320 SLT_TRC checkpoint too close`, line: 'slot create_check: id  0 | task 77 | erasing context checkpoint too close to an earlier one (pos_min = 100, pos_max = 100, n_tokens = 101, size = 62.813 MiB)', want: null },
  { ref: `${CUR}:2335 SLT_WRN old checkpoint`, line: 'slot create_check: id  0 | task 77 | erasing old context checkpoint (pos_min = 16037, pos_max = 16037, n_tokens = 16038, size = 75.376 MiB)', want: null },
  { ref: `${CUR}:2346 SLT_TRC superseding`, line: 'slot create_check: id  0 | task 77 | superseding context checkpoint at n_tokens = 16038', want: null },
  { ref: `${CUR}:2368 SLT_TRC created checkpoint`, line: 'slot create_check: id  0 | task 77 | created context checkpoint 2 of 32 (pos_min = 545, pos_max = 545, n_tokens = 546, size = 149.626 MiB)', want: { kind: 'ckptCreated', task: 77 } },
  { ref: `${CUR}:3086 SLT_DBG speculative checkpoint`, line: 'slot update_slots: id  0 | task 77 | created speculative checkpoint (pos_min = 10, pos_max = 20, n_tokens = 21, size = 1.000 MiB, draft = 0.500 MiB)', want: null },
  { ref: `${CUR}:2439 SLT_TRC idle slot saved`, line: 'slot process_sing: id  0 | task -1 | saving idle slot to prompt cache', want: { kind: 'idleSave', slot: 0 } },
  { ref: `${CUR}:2949 SLT_WRN context shift`, line: 'slot update_slots: id  0 | task 77 | slot context shift, n_keep = 4, n_left = 4090, n_discard = 2045', want: { kind: 'ctxShift', task: 77, keep: 4, size: 2045 } },
  { ref: `${CUR}:3147 SLT_TRC new prompt`, line: 'slot update_slots: id  0 | task 77 | new prompt, n_ctx_slot = 131072, n_keep = 0, task.n_tokens = 111081', want: { kind: 'newPrompt', promptTokens: 111081 } },
  { ref: `${CUR}:3223 SLT_DBG alora`, line: 'slot update_slots: id  0 | task 77 | only caching to alora invocation start (n_past = 120, alora_invocation_start = 121)', want: null },
  { ref: `${CUR}:3234 SLT_WRN cache reuse unsupported`, line: 'slot update_slots: id  0 | task 77 | cache reuse is not supported - ignoring n_cache_reuse = 256', want: null },
  { ref: `${CUR}:3249 SLT_DBG trying to reuse`, line: 'slot update_slots: id  0 | task 77 | trying to reuse chunks with size > 256, n_past = 900', want: { kind: 'nPastBefore', nPast: 900 } },
  { ref: `${CUR}:3262 SLT_TRC reusing chunk`, line: 'slot update_slots: id  0 | task 77 | reusing chunk with size 512, shifting KV cache [1000, 1512) -> [900, 1412)', want: { kind: 'chunkReuse', size: 512 } },
  { ref: `${CUR}:3284 SLT_DBG after context reuse`, line: 'slot update_slots: id  0 | task 77 | after context reuse, new n_past = 1412', want: { kind: 'nPastSet', nPast: 1412 } },
  { ref: `${CUR}:3302 SLT_ERR pos_min -1`, line: 'slot update_slots: id  2 | task 77 | n_past = 75, slot.prompt.tokens.size() = 821, seq_id = 2, pos_min = -1', want: { kind: 'nPastBefore', nPast: 75, slotTokens: 821 } },
  { ref: `${CUR}:3342 SLT_WRN slots debug old`, line: 'slot update_slots: id  0 | task 77 | old: ... the cat sat | on the mat', want: { kind: 'divergence', side: 'old', text: 'the cat sat | on the mat' } },
  { ref: `${CUR}:3356 SLT_TRC checking checkpoint`, line: 'slot update_slots: id  0 | task 77 | checking checkpoint with [32242, 32242] against 32502...', want: { kind: 'ckptCheck', nPast: 32502 } },
  { ref: `${CUR}:3376 SLT_TRC restored checkpoint`, line: 'slot update_slots: id  1 | task 77 | restored context checkpoint (pos_min = 32242, pos_max = 32242, n_tokens = 32243, n_past = 32243, size = 62.813 MiB)', want: { kind: 'ckptRestored', ckpt: { posMin: 32242, posMax: 32242, nTokens: 32243, nPast: 32243 } } },
  { ref: `${CUR}:3380 SLT_TRC forcing full`, line: 'slot update_slots: id  0 | task 77 | forcing full prompt re-processing due to lack of cache data (likely due to SWA or hybrid/recurrent memory, see https://github.com/ggml-org/llama.cpp/pull/13194#issuecomment-2868343055)', want: { kind: 'forcedFull' } },
  { ref: 'examples/server/server.cpp, autumn 2024 SLT_INF (paste: ggml-org/llama.cpp#10054)', line: 'slot update_slots: id  1 | task 1 | tokenizing prompt, len = 1', want: { kind: 'newPrompt', slot: 1, task: 1 } },
  { ref: 'examples/server/server.cpp, autumn 2024 SLT_INF (paste: ggml-org/llama.cpp#10054)', line: 'slot update_slots: id  1 | task 1 | prompt tokenized, n_ctx_slot = 8192, n_keep = 0, n_prompt_tokens = 2029', want: { kind: 'newPrompt', promptTokens: 2029 } },
  { ref: 'ik_llama.cpp 2026, no srv prefix (paste: ikawrakow/ik_llama.cpp#1294)', line: ' - saving prompt with length 2905, total state size = 111.570 MiB', want: { kind: 'promptSave', slotTokens: 2905 } },
  { ref: 'ik_llama.cpp 2026 apply_checkp, no n_swa/pos_next (paste: skye-harris/hass_local_openai_llm#41)', line: 'slot apply_checkp: id  0 | task 168 | erased invalidated context checkpoint (pos_min = 5564, pos_max = 5564, size = 62.856 MiB)', want: { kind: 'ckptErased', nPast: undefined, ckpt: { posMin: 5564, posMax: 5564, nTokens: null, nPast: null } } },
  { ref: 'KoboldCpp gpttype_adapter.cpp PurgeMissingTokens() printf (paste: LostRuins/koboldcpp#681)', line: '[Context Shifting: Erased 240 tokens at position 1238]', want: { kind: 'kcppShift', size: 240, keep: 1238 } },
  { ref: 'KoboldCpp 1.111 (paste: LostRuins/koboldcpp#2131)', line: 'Processing Prompt [BATCH] (431 / 431 tokens)', want: { kind: 'kcppPrompt', processed: 431 } },
  { ref: `${CUR}:3393 SLT_TRC erased invalidated`, line: 'slot update_slots: id  0 | task 77 | erased invalidated context checkpoint (pos_min = 15, pos_max = 15, n_tokens = 16, n_swa = 0, pos_next = 0, size = 62.813 MiB)', want: { kind: 'ckptErased', nSwa: 0, nPast: 0, ckpt: { posMin: 15, posMax: 15, nTokens: 16, nPast: null } } },
  { ref: `${CUR}:3404 SLT_WRN evaluate at least 1`, line: 'slot update_slots: id  0 | task 77 | need to evaluate at least 1 token for each active slot (n_past = 500, task.n_tokens() = 500)', want: { kind: 'mustEvalOne', nPast: 500, promptTokens: 500 } },
  { ref: `${CUR}:3406 SLT_WRN n_past set`, line: 'slot update_slots: id  0 | task 77 | n_past was set to 499', want: { kind: 'nPastSet', nPast: 499 } },
  { ref: `${CUR}:3442 SLT_TRC memory_seq_rm`, line: 'slot update_slots: id  0 | task 77 | cached n_tokens = 2185, memory_seq_rm [2185, end)', want: { kind: 'seqRm', format: 'current', nPast: 2185 } },
  { ref: `${CUR}:3934 SLT_INF accepted drafts`, line: 'slot update_slots: id  0 | task 77 | accepted  3/ 4 draft tokens', want: null },
  { ref: `${CUR}:3629 SLT_DBG do_checkpoint`, line: 'slot update_slots: id  0 | task 77 | main/do_checkpoint = yes, pos_min = 0, pos_max = 8191', want: null },

  // ---- earlier wordings of the same lines (file of the era; where the format string can be read) ----
  { ref: 'examples/server/server.cpp, Oct 2023 LOG_TEE (llama.cpp#3738)', line: 'slot 0 : in cache: 264 tokens | to process: 12 tokens', want: { kind: 'nPastBefore', nPast: 264, processed: 12, promptTokens: 276 } },
  { ref: 'examples/server/server.cpp, Nov 2023 LOG_TEE (llama.cpp#3969 diff)', line: 'slot 0: context shift - n_keep = 0, n_left = 2046, n_discard = 1023', want: { kind: 'ctxShift', slot: 0, keep: 0, size: 1023 } },
  { ref: 'examples/server/server.cpp, 2023 LOG_TEE kv cache rm', line: 'slot 0 : kv cache rm - [264, end)', want: { kind: 'seqRm', nPast: 264 } },
  { ref: 'examples/server/server.cpp, 2023 LOG_TEE release', line: 'slot 0 released (269 tokens in cache)', want: { kind: 'release', slotTokens: 269 } },
  { ref: 'examples/server/server.cpp, 2024 LOG_INFO("slot context shift", {id_slot, id_task, n_keep, n_left, n_discard, ...})', line: 'INFO [            update_slots] slot context shift | tid="1" timestamp=2 id_slot=0 id_task=5 n_keep=1 n_left=2046 n_discard=1023 n_ctx=2048 n_past=2047 n_system_tokens=0 n_cache_tokens=2048', want: { kind: 'ctxShift', slot: 0, task: 5, keep: 1, size: 1023 } },
  { ref: 'examples/server/server.cpp, 2024 LOG_INFO("input truncated", {n_ctx, n_erase, n_keep, n_left, n_shift}) (as vendored by Ollama)', line: 'INFO [update_slots] input truncated | n_ctx=2048 n_erase=1090 n_keep=4 n_left=2044 n_shift=1022 tid="130623106379776" timestamp=1721345155', want: { kind: 'truncated', keep: 4, promptTokens: undefined } },
  { ref: 'examples/server/server.cpp, 2024 LOG_INFO kv cache rm', line: 'INFO [            update_slots] kv cache rm [p0, end) | tid="1" timestamp=2 id_slot=0 id_task=6 p0=152', want: { kind: 'seqRm', slot: 0, task: 6, nPast: 152 } },
  { ref: 'examples/server/server.cpp, Sep 2024 SLT_INF kv cache rm', line: 'slot update_slots: id  0 | task 3 | kv cache rm [185, end)', want: { kind: 'seqRm', format: 'may-2025', nPast: 185 } },
  { ref: 'examples/server/server.cpp, Sep 2024 SLT_INF progress', line: 'slot update_slots: id  0 | task 3 | prompt processing progress, n_past = 422, n_tokens = 237, progress = 0.561611', want: { kind: 'batch', nPast: 422, size: 237 } },
  { ref: 'examples/server/server.cpp, Sep 2024 SLT_INF lcs selection', line: 'slot get_availabl: id  1 | task -1 | selected slot by lcs similarity, lcs_len = 300, similarity = 0.750 (> 0.500 thold)', want: { kind: 'selected', method: 'lcp', lcp: 300 } },
  { ref: 'tools/server/server.cpp, Aug 2025 SLT_WRN cache_tokens.size()', line: 'slot update_slots: id  0 | task 4512 | n_past = 62, cache_tokens.size() = 100387, seq_id = 0, pos_min = 99363, n_swa = 1024', want: { kind: 'nPastBefore', nPast: 62, slotTokens: 100387, nSwa: 1024 } },
  { ref: 'tools/server/server.cpp, Oct 2025 SLT_INF n_past memory_seq_rm', line: 'slot update_slots: id  0 | task 0 | n_past = 2048, memory_seq_rm [2048, end)', want: { kind: 'seqRm', format: 'oct-2025', nPast: 2048 } },
  { ref: 'tools/server/server-context.cpp, Dec 2025 SLT_INF n_tokens memory_seq_rm', line: 'slot update_slots: id  3 | task 0 | n_tokens = 0, memory_seq_rm [0, end)', want: { kind: 'seqRm', format: 'current', nPast: 0 } },
  { ref: 'tools/server/server-context.cpp, Dec 2025 SLT_INF prompt processing done', line: 'slot update_slots: id  0 | task 8753 | prompt processing done, n_tokens = 550, batch.n_tokens = 4', want: { kind: 'progress', promptTokens: 550 } },
  { ref: 'tools/server/server-context.cpp, Feb 2026 SLT_WRN Checking checkpoint', line: 'slot update_slots: id  0 | task 2505 | Checking checkpoint with [89323, 89323] against 85490...', want: { kind: 'ckptCheck', nPast: 85490 } },
  { ref: 'tools/server/server-context.cpp, 2026 SLT_INF restored (field order without n_past)', line: 'slot update_slots: id  1 | task 2180 | restored context checkpoint (pos_min = 326, pos_max = 326, size = 186.329 MiB)', want: { kind: 'ckptRestored', ckpt: { posMin: 326, posMax: 326, nTokens: null, nPast: null } } },
];

function pick(e: LogEvent | null, want: Partial<LogEvent>): Partial<LogEvent> | null {
  if (e === null) return null;
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(want)) out[k] = (e as unknown as Record<string, unknown>)[k];
  return out as Partial<LogEvent>;
}

/** Line kinds that are not about the cache: a harmless line may be recognised as one of these, never as a cache event. */
const CACHE_KINDS = new Set(['seqRm', 'nPastBefore', 'nPastSet', 'ckptRestored', 'ckptErased', 'ckptCreated', 'forcedFull', 'chunkReuse', 'release', 'slotCleared', 'ctxShift', 'promptEval', 'rate', 'newPrompt', 'progress', 'batch', 'ramRestore']);

describe('every cache line of llama-server, from its format string', () => {
  for (const row of ROWS) {
    it(`${row.ref}: ${row.line.slice(0, 90)}`, () => {
      const e = recogniseLine(row.line);
      if (row.want === null) {
        expect(e === null || !CACHE_KINDS.has(e.kind), `${row.line} → ${JSON.stringify(e)}`).toBe(true);
      } else {
        expect(pick(e, row.want)).toEqual(row.want);
      }
    });
  }
});

describe('the fast recogniser reads each of these lines as trying every wording in turn does', () => {
  it('each row, its message with the first letter in the other case, and after a tab', () => {
    let read = 0;
    for (const row of ROWS) {
      const variants = [row.line];
      const m = /^(.*?\| task -?\d+ \|\s*)(.)/.exec(row.line);
      if (m) {
        const c = m[2] === m[2].toUpperCase() ? m[2].toLowerCase() : m[2].toUpperCase();
        variants.push(m[1] + c + row.line.slice(m[0].length), `${m[1]}\t${row.line.slice(m[1].length)}`);
      }
      for (const l of variants) {
        const want = recogniseLineExhaustive(l);
        if (want) read++;
        expect(recogniseLine(l), l).toStrictEqual(want);
      }
    }
    expect(read).toBeGreaterThan(ROWS.length / 2);
  });
});

describe('the families these lines form, end to end', () => {
  function explain(text: string) {
    const ex = new Explainer();
    return parseLog(text).requests.map((r) => ex.explain(r));
  }

  it('a context shift while a request runs is a note on it (2023, 2024 and current wordings alike)', () => {
    for (const shift of [
      'slot 0: context shift - n_keep = 0, n_left = 510, n_discard = 255',
      'INFO [            update_slots] slot context shift | tid="1" timestamp=2 id_slot=0 id_task=1 n_keep=0 n_left=510 n_discard=255',
      'slot update_slots: id  0 | task 1 | slot context shift, n_keep = 0, n_left = 510, n_discard = 255',
    ]) {
      const xs = explain(['slot launch_slot_: id  0 | task 1 | processing task', 'slot update_slots: id  0 | task 1 | new prompt, n_ctx_slot = 512, n_keep = 0, task.n_tokens = 225', 'slot update_slots: id  0 | task 1 | n_tokens = 0, memory_seq_rm [0, end)', shift].join('\n'));
      expect(xs).toHaveLength(1);
      expect(xs[0].notes).toContainEqual({ code: 'CONTEXT_SHIFT', shifts: 1, discarded: 255, keep: 0 });
    }
  });

  it('pos_next = 0 on an erased checkpoint is n_past = 0 even when the paste starts after the reset line; a later pos_next is not read as n_past', () => {
    const erased = (p: number) => `slot update_slots: id  0 | task 9 | erased invalidated context checkpoint (pos_min = 900, pos_max = 900, n_tokens = 901, n_swa = 0, pos_next = ${p}, size = 62.813 MiB)`;
    const [x] = explain([erased(0), erased(0)].join('\n'));
    expect([x.reused, x.fullReprocess, x.record.checkpointsErased]).toEqual([0, true, 2]);
    // pos_next > 0 counts positions, which multimodal prompts do not map one to one onto tokens
    const [y] = explain(erased(512));
    expect(y.reused).toBeNull();
  });

  it('autumn 2024: `tokenizing prompt` / `prompt tokenized` start the request, so its first kv cache rm is its n_past', () => {
    const [, x] = explain(
      [
        'slot update_slots: id  0 | task 0 | kv cache rm [0, end)',
        'slot update_slots: id  1 | task 1 | tokenizing prompt, len = 1',
        'slot update_slots: id  1 | task 1 | prompt tokenized, n_ctx_slot = 8192, n_keep = 0, n_prompt_tokens = 2029',
        'slot update_slots: id  1 | task 1 | kv cache rm [0, end)',
        'slot update_slots: id  1 | task 1 | prompt processing progress, n_past = 19, n_tokens = 2048, progress = 0.009364',
        'slot update_slots: id  1 | task 1 | kv cache rm [19, end)',
      ].join('\n'),
    );
    expect([x.record.task, x.promptTokens, x.reused, x.processed]).toEqual([1, 2029, 0, 2029]);
  });

  it('the saved prompt after a selection is the selected slot\'s size; a paste cut before the task still reads it', () => {
    const xs = explain(
      [
        'slot get_availabl: id  3 | task -1 | selected slot by LCP similarity, sim_best = 0.500 (> 0.100 thold), f_keep = 0.056',
        'srv  get_availabl: updating prompt cache',
        'srv   prompt_save:  - saving prompt with length 178, total state size = 21.356 MiB (draft: 0.000 MiB)',
        'srv          load:  - looking for better prompt, base f_keep = 0.056, sim = 0.500',
      ].join('\n'),
    );
    expect(xs.map((x) => [x.record.slot, x.record.task, x.cachedTokens])).toEqual([[3, null, 178]]);
    // f_keep below 0.5: the RAM cache may swap the slot's content, so nothing is read about the new prompt
    expect([xs[0].reused, xs[0].commonPrefix]).toEqual([null, null]);
    // an LRU pick of a never-used slot is an empty slot; a selection with nothing known stays silent
    const [cold] = explain('slot get_availabl: id  3 | task -1 | selected slot by LRU, t_last = -1\nsrv  get_availabl: updating prompt cache');
    expect([cold.record.slot, cold.cachedTokens, cold.verdict]).toEqual([3, 0, 'COLD_START']);
    expect(explain('slot get_availabl: id  2 | task -1 | selected slot by LCP similarity, sim_best = 0.900 (> 0.100 thold), f_keep = 0.950')).toEqual([]);
  });

  it('an idle slot saved to the RAM cache is that slot\'s prompt, not the selected one\'s', () => {
    const xs = explain(
      [
        // slot 3 was empty, so prompt_save() printed nothing for it; the save right after is idle slot 0's
        'slot get_availabl: id  3 | task -1 | selected slot by LRU, t_last = 168504210124',
        'slot process_sing: id  0 | task -1 | saving idle slot to prompt cache',
        'srv   prompt_save:  - saving prompt with length 656, total state size = 215.266 MiB (draft: 0.000 MiB)',
        'slot prompt_clear: id  0 | task -1 | clearing prompt with 656 tokens',
        'slot launch_slot_: id  3 | task 1804 | processing task, is_child = 0',
        'slot update_slots: id  3 | task 1804 | new prompt, n_ctx_slot = 65536, n_keep = 0, task.n_tokens = 2100',
        'slot launch_slot_: id  0 | task 1900 | processing task, is_child = 0',
        'slot update_slots: id  0 | task 1900 | new prompt, n_ctx_slot = 65536, n_keep = 0, task.n_tokens = 700',
        'slot update_slots: id  0 | task 1900 | cached n_tokens = 0, memory_seq_rm [0, end)',
      ].join('\n'),
    );
    const t3 = xs.find((x) => x.record.task === 1804)!;
    const t0 = xs.find((x) => x.record.task === 1900)!;
    expect(t3.cachedTokens).not.toBe(656);
    expect([t0.cachedTokens, t0.verdict]).toEqual([0, 'COLD_START']);
    expect(t0.notes).toContainEqual({ code: 'SLOT_CLEARED', tokens: 656 });
  });

  it("KoboldCpp's ContextShift is a note on the prompt it was prepared for, not on the request before it", () => {
    const xs = explain(
      [
        'CtxLimit: 11833/12288, Process:32.48s (3.1ms/T = 325.81T/s), Generate:7.91s (82.4ms/T = 12.13T/s), Total:40.39s (2.38T/s)',
        '[Context Shifting: Erased 240 tokens at position 1238]',
        'Processing Prompt (76 / 76 tokens)',
        'Generating (120 / 120 tokens)',
        'CtxLimit: 11782/12288, Process:0.81s (10.6ms/T = 94.41T/s), Generate:9.38s (82.3ms/T = 12.15T/s), Total:10.19s (11.19T/s)',
      ].join('\n'),
    );
    expect(xs).toHaveLength(2);
    expect(xs[0].notes.some((n) => n.code === 'KCPP_CONTEXT_SHIFT')).toBe(false);
    expect(xs[1].notes).toContainEqual({ code: 'KCPP_CONTEXT_SHIFT', erased: 240, at: 1238, shifts: 1 });
    expect([xs[1].processed, xs[1].record.slotTokensAfter]).toEqual([76, 11782]);
  });

  it('a checkpoint search one below n_past - n_swa (no new tokens, PR 24110) says the prompt is n_past long; one at n_past - n_swa says nothing', () => {
    const lines = (t: number) =>
      [
        'slot update_slots: id  2 | task 993 | n_past = 57826, slot.prompt.tokens.size() = 57826, seq_id = 2, pos_min = 57825, n_swa = 0',
        `slot update_slots: id  2 | task 993 | Checking checkpoint with [57631, 57631] against ${t}...`,
        'slot update_slots: id  2 | task 993 | restored context checkpoint (pos_min = 57631, pos_max = 57631, n_tokens = 57632, n_past = 57632, size = 62.813 MiB)',
      ].join('\n');
    const [x] = explain(lines(57825));
    expect([x.promptTokens, x.commonPrefix, x.reused, x.verdict]).toEqual([57826, 57826, 57632, 'IDENTICAL_NO_REUSE']);
    const [y] = explain(lines(57826));
    expect(y.promptTokens).toBeNull();
    expect(y.verdict).toBe('CHECKPOINT_FALLBACK');
  });

  it('a purged idle slot is empty for its next request', () => {
    const xs = explain(
      [
        'slot      release: id  2 | task 10 | stop processing: n_tokens = 4096, truncated = 0',
        'srv  try_clear_id: purging slot 2 with 4096 tokens',
        'slot launch_slot_: id  2 | task 11 | processing task, is_child = 0',
        'slot update_slots: id  2 | task 11 | new prompt, n_ctx_slot = 8192, n_keep = 0, task.n_tokens = 4200',
        'slot update_slots: id  2 | task 11 | cached n_tokens = 0, memory_seq_rm [0, end)',
      ].join('\n'),
    );
    const x = xs.find((r) => r.record.task === 11)!;
    expect([x.cachedTokens, x.reused, x.verdict]).toEqual([0, 0, 'COLD_START']);
    expect(x.notes).toContainEqual({ code: 'SLOT_CLEARED', tokens: 4096 });
  });

  it('a slot pinned by id_slot says so, and --cache-reuse reads n_past after the chunk shift', () => {
    const xs = explain(
      [
        'slot get_availabl: id  1 | task -1 | selected slot by id (1)',
        'slot launch_slot_: id  1 | task 5 | processing task, is_child = 0',
        'slot update_slots: id  1 | task 5 | new prompt, n_ctx_slot = 8192, n_keep = 0, task.n_tokens = 1600',
        'slot update_slots: id  1 | task 5 | trying to reuse chunks with size > 256, n_past = 900',
        'slot update_slots: id  1 | task 5 | reusing chunk with size 512, shifting KV cache [1000, 1512) -> [900, 1412)',
        'slot update_slots: id  1 | task 5 | after context reuse, new n_past = 1412',
        'slot update_slots: id  1 | task 5 | cached n_tokens = 1412, memory_seq_rm [1412, end)',
      ].join('\n'),
    );
    expect(xs).toHaveLength(1);
    expect([xs[0].commonPrefix, xs[0].reused, xs[0].processed]).toEqual([900, 1412, 188]);
    expect(xs[0].notes).toContainEqual({ code: 'SELECTED_ID' });
    expect(xs[0].notes).toContainEqual({ code: 'CHUNK_REUSE', tokens: 512 });
  });
});
