/**
 * JSON objects found in a paste: 2024's `--log-format json` log lines (→ a LogEvent) and llama-server
 * responses (`timings.cache_n`/`prompt_n`, `usage.prompt_tokens_details.cached_tokens`, native
 * `/completion`'s `tokens_cached`/`id_slot`) → a finished RequestRecord. Pure, never throws.
 */
import { event2024 } from './lines.js';
import type { LogEvent, RequestRecord } from './types.js';

export function emptyRecord(line: number): RequestRecord {
  return {
    instance: null,
    slot: null,
    task: null,
    format: null,
    firstLine: line,
    lastLine: line,
    promptTokens: null,
    slotTokensBefore: null,
    slotTokensAfter: null,
    nPastBefore: null,
    selectionLcp: null,
    nPastUsed: null,
    processed: null,
    mustEvalOne: false,
    forcedFull: false,
    restoredCheckpoint: null,
    checkpointsErased: 0,
    checkpointsCreated: 0,
    chunkReuseTokens: 0,
    selection: null,
    selectionSim: null,
    selectionKeep: null,
    selectionTLast: null,
    ramRestore: null,
    promptEvalMs: null,
    promptTps: null,
    nSwa: null,
    divergence: null,
    firstBatchStart: null,
    progressPrompt: null,
    responseId: null,
    truncatedKeep: null,
    startSeen: false,
    slotAtLeast: null,
    erasedPosNext: null,
    kcppShift: null,
    generated: null,
    clearedTokens: null,
    contextShifts: 0,
    contextDiscarded: 0,
    contextKeep: null,
    rateSamples: [],
  };
}

function obj(v: unknown): Record<string, unknown> | null {
  return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : null;
}

function int(v: unknown): number | null {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0 ? v : null;
}

function real(v: unknown): number | null {
  return typeof v === 'number' && Number.isFinite(v) ? v : null;
}

/** A pasted response → a record, or null when it carries no prompt accounting. */
export function responseRecord(o: Record<string, unknown>, firstLine: number, lastLine: number): RequestRecord | null {
  const timings = obj(o.timings);
  const usage = obj(o.usage);
  // chat completions: prompt_tokens_details; Responses API: input_tokens(_details), which count cached tokens too
  const details = usage ? (obj(usage.prompt_tokens_details) ?? obj(usage.input_tokens_details)) : null;
  // a streamed chunk with return_progress: {total, cache, processed, time_ms}
  const progress = obj(o.prompt_progress);
  // a `GET /slots` entry: n_prompt_tokens = n_prompt_tokens_cache (kept) + n_prompt_tokens_processed, once
  // the slot is idle (while processing, n_prompt_tokens is only as far as it got)
  const slotEntry = 'id_task' in o && 'n_prompt_tokens_cache' in o;
  const cacheN =
    int(timings?.cache_n) ?? int(details?.cached_tokens) ?? int(o.tokens_cached_prompt) ?? int(progress?.cache) ?? (slotEntry ? int(o.n_prompt_tokens_cache) : null);
  const promptN = int(timings?.prompt_n) ?? (slotEntry ? int(o.n_prompt_tokens_processed) : null);
  let prompt =
    int(usage?.prompt_tokens) ??
    int(o.tokens_evaluated) ??
    (details ? int(usage?.input_tokens) : null) ??
    int(progress?.total) ??
    (slotEntry && o.is_processing !== true ? int(o.n_prompt_tokens) : null);
  if (prompt === null && cacheN !== null && promptN !== null) prompt = cacheN + promptN;
  let reused = cacheN;
  if (reused === null && prompt !== null && promptN !== null && prompt >= promptN) reused = prompt - promptN;
  if (reused === null && promptN === null) return null;
  const r = emptyRecord(firstLine);
  r.lastLine = lastLine;
  r.format = 'response';
  r.slot = int(o.id_slot) ?? (slotEntry ? int(o.id) : null);
  if (slotEntry) r.task = int(o.id_task);
  r.responseId = typeof o.id === 'string' ? o.id : null;
  r.promptTokens = prompt;
  r.nPastUsed = reused;
  r.processed = promptN ?? (prompt !== null && reused !== null ? prompt - reused : null);
  r.promptEvalMs = real(timings?.prompt_ms);
  r.promptTps = real(timings?.prompt_per_second);
  const generated = int(usage?.completion_tokens) ?? int(timings?.predicted_n) ?? int(o.tokens_predicted);
  // the slot keeps the prompt plus every generated token except the last one
  if (prompt !== null && !slotEntry) r.slotTokensAfter = int(o.tokens_cached) ?? prompt + Math.max(0, (generated ?? 1) - 1);
  return r;
}

/**
 * A response a person shortened by hand (`...` in place of fields) is not JSON: read its `timings` and
 * `usage` objects alone, which are flat (usage has one nested level).
 */
export function looseResponse(text: string): Record<string, unknown> | null {
  const out: Record<string, unknown> = {};
  const t = /"timings"\s*:\s*(\{[^{}]*\})/.exec(text);
  const u = /"usage"\s*:\s*(\{(?:[^{}]|\{[^{}]*\})*\})/.exec(text);
  for (const [k, m] of [['timings', t], ['usage', u]] as const) {
    if (!m) continue;
    try {
      out[k] = JSON.parse(m[1]);
    } catch {
      // still not JSON: leave it out
    }
  }
  const slot = /"id_slot"\s*:\s*(\d+)/.exec(text);
  if (slot) out.id_slot = Number(slot[1]);
  return 'timings' in out || 'usage' in out ? out : null;
}

/** A 2024 `--log-format json` line (`{"level":"INFO","function":"update_slots","msg":"kv cache rm [p0, end)",...}`). */
export function jsonLogEvent(o: Record<string, unknown>, instance: string | null): LogEvent | null {
  // `msg` in the server's JSON logs (2024); `message` in the early-2024 ones
  const msg = typeof o.msg === 'string' ? o.msg : typeof o.message === 'string' && typeof o.level === 'string' ? o.message : null;
  if (msg === null) return null;
  return event2024(msg.trim(), o, 'llama-2024-json', instance);
}

/**
 * Tracks `{`/`}` depth across lines, outside strings, so a pretty-printed response pasted over many
 * lines is parsed once complete. Returns the new depth (0 = balanced).
 */
export function scanDepth(text: string, state: { depth: number; inString: boolean; escape: boolean }): number {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (state.inString) {
      if (state.escape) state.escape = false;
      else if (c === 92) state.escape = true;
      else if (c === 34) state.inString = false;
    } else if (c === 34) state.inString = true;
    else if (c === 123 || c === 91) state.depth++;
    else if (c === 125 || c === 93) state.depth--;
  }
  return state.depth;
}
