/**
 * Shapes shared by the log pipeline: lines → events (lines.ts) → per-request records (parse.ts)
 * → explained requests (explain.ts) → reports (report.ts). Data only, no behaviour.
 */

/** Which generation of llama-server wording (or pasted response) a request was recognised from. */
export type LogFormat =
  | 'current' // `cached n_tokens = N, memory_seq_rm [N, end)` (2026) / `n_tokens = N, memory_seq_rm` (Dec 2025 – Apr 2026)
  | 'oct-2025' // `n_past = N, memory_seq_rm [N, end)`
  | 'may-2025' // `slot update_slots: id 0 | task 1 | kv cache rm [N, end)` (Sep 2024 – Sep 2025)
  | 'llama-2024' // `INFO [ update_slots] kv cache rm [p0, end) | ... p0=N`
  | 'llama-2024-json' // `{"level":"INFO","function":"update_slots","msg":"kv cache rm [p0, end)",...,"p0":N}`
  | 'llama-2023' // `slot 0 : kv cache rm - [N, end)`
  | 'timing-only' // default verbosity on a current build: only `prompt eval time = ... / N tokens`
  | 'response' // a pasted JSON response (`timings` / `usage`)
  | 'ollama' // Ollama's own runner (`loading cache slot`), not llama-server
  | 'lmstudio' // LM Studio's llama.cpp engine (`Cache reuse summary: A/B of prompt`)
  | 'llama-box' // GPUStack's llama-box (`reconcile: rid R | prefill_t = N, prefill_cached_t = C, …`): one line a request, no slots
  | 'koboldcpp'; // KoboldCpp (`Processing Prompt [BLAS] (N / M tokens)`, `CtxLimit:X/Y, Amt:a/b, ...`)

/** How the server picked the slot: prompt similarity, least recently used, or the request's own `id_slot`. */
export type SlotSelection = 'lcp' | 'lru' | 'id';

/** One recognised log line, reduced to what matters for the cache. */
export type LogEventKind =
  | 'launch' // a slot starts a task
  | 'newPrompt' // promptTokens
  | 'seqRm' // nPast: the n_past actually used (first one per task), later ones are batch progress
  | 'nPastBefore' // nPast before the "evaluate at least 1 token" / checkpoint adjustments
  | 'nPastSet' // `n_past was set to N`
  | 'mustEvalOne' // the whole prompt was cached; the last token is evaluated again
  | 'ckptRestored'
  | 'ckptErased'
  | 'ckptCreated'
  | 'ckptCheck' // `checking checkpoint with [a, b] against T`: T = max(0, n_past - n_swa), the checkpoint a candidate
  | 'rate' // `prompt processing, n_tokens = N, progress = F, t = T s / R tokens per second` (2026)
  | 'truncated' // `input truncated, …`: the prompt did not fit the context and its middle was cut
  | 'forcedFull' // `forcing full prompt re-processing due to lack of cache data`
  | 'chunkReuse' // `--cache-reuse`: size
  | 'sim' // slot selection candidate: lcp / n
  | 'slotEmpty' // slot selection: `- skipping, slot is empty`
  | 'selected' // slot chosen by LCP similarity or LRU
  | 'divergence' // LLAMA_SERVER_SLOTS_DEBUG: `old: ... | ...` / `new: ... | ...` around the first mismatch
  | 'ollamaSlot' // Ollama's runner: `msg="loading cache slot" id=0 cache=N prompt=N used=N remaining=N`
  | 'lmsSummary' // LM Studio: `Cache reuse summary: A/B of prompt (P%), X prefix, Y non-prefix`
  | 'lmsTotal' // LM Studio: `Total prompt tokens: N`
  | 'lmsDecode' // LM Studio: `Prompt tokens to decode: N`
  | 'boxReconcile' // llama-box: a finished request: promptTokens (prefill_t), nPast (prefill_cached_t), processed, tps, ms
  | 'kcppDebug' // KoboldCpp --debug: `[Debug: embd_inp=N n_past=M ...]` (prompt size, tokens kept)
  | 'kcppPrompt' // KoboldCpp: `Processing Prompt [BLAS] (N / M tokens)`: M tokens to process (the cache gave the rest)
  | 'kcppGen' // KoboldCpp: `Generating (a / b tokens)`
  | 'kcppShift' // KoboldCpp's ContextShift: `[Context Shifting: Erased N tokens at position P]` before the prompt it serves
  | 'kcppCtx' // KoboldCpp's summary: `CtxLimit:X/Y, Amt:a/b, ...`: X = prompt + generated, the context it keeps
  | 'ramRestore' // RAM prompt cache: a better cached prompt was loaded into the slot
  | 'promptEval' // prompt eval time: ms, tokens (= processed), tps
  | 'timingHeader' // `slot print_timing: id 0 | task 3 |` followed by timing lines without a prefix
  | 'progress' // `prompt done`: promptTokens (the total)
  | 'batch' // `prompt processing progress, n_past = END, n_tokens = BATCH, progress = F`: the first one tells where processing started
  | 'release' // the slot finished the task; slotTokens = tokens left in the slot
  | 'slotCleared' // `clearing prompt with N tokens` / `purging slot N with M tokens`: the slot was emptied (2026)
  | 'promptSave' // RAM prompt cache: ` - saving prompt with length N`, the prompt of the slot just selected or idled: slotTokens
  | 'idleSave' // `saving idle slot to prompt cache`: the next `saving prompt with length N` is this slot's
  | 'ctxShift'; // `slot context shift, n_keep = K, n_left = L, n_discard = D` (every era): D tokens after the first K dropped

export interface LogEvent {
  kind: LogEventKind;
  format: LogFormat | null;
  /** Router-mode child (its port), when lines carry the router's `[ 8081] ` prefix. */
  instance: string | null;
  slot: number | null;
  task: number | null;
  nPast?: number;
  promptTokens?: number;
  slotTokens?: number;
  processed?: number;
  ms?: number;
  tps?: number;
  size?: number;
  sim?: number;
  keep?: number;
  tLast?: number;
  lcp?: number;
  method?: SlotSelection;
  ckpt?: CheckpointInfo;
  nSwa?: number;
  /** `prompt processing progress`: fraction of the prompt processed so far. */
  progress?: number;
  /** `old` or `new` text of a slots-debug line, exactly as logged. */
  side?: 'old' | 'new';
  text?: string;
}

export interface CheckpointInfo {
  posMin: number;
  posMax: number;
  nTokens: number | null;
  nPast: number | null;
}

/** Everything the log said about one request (one task on one slot), before any judgement. */
export interface RequestRecord {
  instance: string | null;
  slot: number | null;
  task: number | null;
  format: LogFormat | null;
  /** 1-based line numbers of the first and last line attributed to this request. */
  firstLine: number;
  lastLine: number;
  promptTokens: number | null;
  /** Tokens the slot held before this request (from the previous release, or the log line saying so). */
  slotTokensBefore: number | null;
  /** Tokens left in the slot after the request (release line; prompt + generated − 1 for responses). */
  slotTokensAfter: number | null;
  /** n_past before adjustments, as logged (`need to evaluate...`, `n_past = X, cache_tokens.size()`, `in cache:`). */
  nPastBefore: number | null;
  /** LCP of the chosen slot from slot selection (`checking sim = 0.112 (46/410)`). */
  selectionLcp: number | null;
  /** n_past finally used (first `memory_seq_rm` / `kv cache rm`, `n_past was set to`, `cache_n`). */
  nPastUsed: number | null;
  processed: number | null;
  mustEvalOne: boolean;
  forcedFull: boolean;
  restoredCheckpoint: CheckpointInfo | null;
  checkpointsErased: number;
  checkpointsCreated: number;
  chunkReuseTokens: number;
  selection: SlotSelection | null;
  selectionSim: number | null;
  selectionKeep: number | null;
  /** `t_last` of an LRU pick: -1 means the slot had never been used. */
  selectionTLast: number | null;
  ramRestore: { fKeep: number; fSim: number } | null;
  promptEvalMs: number | null;
  promptTps: number | null;
  /** n_swa as the server printed it beside n_past (Aug 2025 on): > 1 a sliding window, 0/1 hybrid/recurrent. */
  nSwa: number | null;
  /** LLAMA_SERVER_SLOTS_DEBUG: the cached and the new text around the first mismatch (`|` at n_past). */
  divergence: { old: string; new: string } | null;
  /** Where the first `prompt processing progress` batch started (its end minus its size), when that is all the log says. */
  firstBatchStart: number | null;
  /** The prompt size read off the first batch's progress fraction, when exact. */
  progressPrompt: number | null;
  /** A response's `id` (streamed chunks of one response share it). */
  responseId: string | null;
  /** The server cut the prompt to fit the context (`input truncated`), keeping this many tokens at the start. */
  truncatedKeep: number | null;
  /**
   * The excerpt shows how this request started (its `new prompt` / `processing task` / `n_past` / slot-selection
   * line). When it does not, the first `memory_seq_rm` seen is batch progress, not the n_past the server chose.
   */
  startSeen: boolean;
  /** The slot held at least this many tokens: a checkpoint checked or erased above the common prefix ends there. */
  slotAtLeast: number | null;
  /** `pos_next` of the first `erased invalidated context checkpoint (…, pos_next = P, …)`: where processing resumes. */
  erasedPosNext: number | null;
  /**
   * KoboldCpp's ContextShift before this prompt: it erased the tokens the new prompt no longer has (at 1-based
   * position `at`) and shifted the rest of its context into place, so they did not have to be processed again.
   */
  kcppShift: { erased: number; at: number; shifts: number } | null;
  /** Tokens generated (KoboldCpp's summary line counts them in its context size). */
  generated: number | null;
  /** The slot was emptied (`clearing prompt with N tokens`) after its last request: N. */
  clearedTokens: number | null;
  /** Context shifts while this request ran (the context filled up), the tokens they dropped, and n_keep. */
  contextShifts: number;
  contextDiscarded: number;
  contextKeep: number | null;
  /**
   * Each 2026 rate line: tokens processed so far and progress = (kept + processed so far) / prompt, 2 decimals.
   * At most a few are kept (the first ones tell the most about what was kept).
   */
  rateSamples: { processed: number; progress: number }[];
}
