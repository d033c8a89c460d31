/**
 * A verdict per request, as data: what the slot held, how far the new prompt matched it, what the server
 * kept after its checkpoint/SWA handling, what it re-processed, why, and what it cost. No English here:
 * `report.ts` words the codes. `Explainer` is incremental (it remembers the last two requests of each
 * slot, to see another task take a slot in between); `SummaryBuilder` folds explained requests into totals.
 */
import type { RequestRecord } from './types.js';

/** Stable verdict codes: reports and tests key on these, never on the wording. */
export type VerdictCode =
  | 'PREFIX_BREAK' // the new prompt diverged from the cached one before the cache ended: the rest was thrown away
  | 'FULL_REUSE' // everything the slot held (or the whole prompt but its last token) was reused
  | 'CACHE_HIT' // n tokens reused, but the slot's previous size is not in the log, so not known whether all
  | 'CHECKPOINT_FALLBACK' // the prefix held, but SWA/hybrid/recurrent state could not be rolled back to it
  | 'IDENTICAL_NO_REUSE' // the prompt was already fully cached and still re-processed: server side
  | 'RAM_CACHE_RESTORE' // the slot was loaded from the RAM prompt cache (an older request) before matching
  | 'SLOT_TAKEN' // another task used this slot in between and overwrote the conversation's cache
  | 'LRU_SLOT' // no slot was similar enough: the least recently used one was taken and overwritten
  | 'NO_REUSE' // nothing reused, and the slot's previous content is not in the log
  | 'COLD_START' // first request on an empty slot
  | 'TIMING_ONLY' // only the `prompt eval time` line: tokens processed, n_past not logged
  | 'UNKNOWN';

export type Severity = 'ok' | 'info' | 'warning';

export const VERDICT_SEVERITY: Record<VerdictCode, Severity> = {
  PREFIX_BREAK: 'warning',
  FULL_REUSE: 'ok',
  CACHE_HIT: 'info',
  CHECKPOINT_FALLBACK: 'warning',
  IDENTICAL_NO_REUSE: 'warning',
  RAM_CACHE_RESTORE: 'info',
  SLOT_TAKEN: 'warning',
  LRU_SLOT: 'warning',
  NO_REUSE: 'warning',
  COLD_START: 'info',
  TIMING_ONLY: 'info',
  UNKNOWN: 'info',
};

/**
 * What kind of memory forced a fallback, read off the log: `swa` when the server printed n_swa > 1,
 * `hybrid` (hybrid or recurrent) when it printed n_swa 0/1 (no sliding window, yet checkpoints are used),
 * null when the log does not say.
 */
export type ModelKind = 'swa' | 'hybrid' | null;

/** The numbers each verdict is worded from. `null` = not in the log. */
export interface VerdictArgs {
  /** Token index where the new prompt left the cached one (= commonPrefix). */
  at: number | null;
  cached: number | null;
  prompt: number | null;
  reused: number | null;
  processed: number | null;
  lost: number;
  /** Re-processing caused by the checkpoint/SWA fallback below the common prefix. */
  fallback: number;
  seconds: number | null;
  tps: number | null;
  ms: number | null;
  model: ModelKind;
  /** The slot's size is not logged, but a checkpoint beyond the common prefix shows it held at least this many. */
  atLeast?: number;
  /** `at` was estimated from f_keep (no n_past at this log level): ± this many tokens. */
  atWithin?: number;
  /** SLOT_TAKEN: the task that took the slot, and the conversation's earlier prompt it evicted. */
  intruderTask?: number | null;
  evictedTask?: number | null;
  evictedTokens?: number;
  fKeep?: number;
  fSim?: number;
}

export type Note =
  | { code: 'FALLBACK'; commonPrefix: number | null; reused: number; forced: boolean; model: ModelKind }
  | { code: 'CHECKPOINT_RESTORED'; posMin: number; posMax: number; nTokens: number | null }
  | { code: 'CHECKPOINTS'; erased: number; created: number }
  | { code: 'SIZE_UNKNOWN' }
  | { code: 'SELECTED_LCP'; sim: number | null; keep: number | null }
  | { code: 'SELECTED_LRU'; wasEmpty: boolean }
  | { code: 'SELECTED_ID' }
  | { code: 'COMMON_PREFIX_ESTIMATED'; keep: number; within: number }
  | { code: 'CONTEXT_SHIFT'; shifts: number; discarded: number; keep: number | null }
  | { code: 'KCPP_CONTEXT_SHIFT'; erased: number; at: number; shifts: number }
  | { code: 'CHUNK_REUSE'; tokens: number }
  | { code: 'RAM_RESTORE'; fKeep: number; fSim: number }
  | { code: 'PROMPT_EVAL'; tokens: number; ms: number; tps: number | null }
  | { code: 'DIVERGENCE'; old: string; new: string }
  | { code: 'INPUT_TRUNCATED'; keep: number }
  | { code: 'CACHE_AT_LEAST'; tokens: number }
  | { code: 'SLOT_CLEARED'; tokens: number }
  | { code: 'SLOT_AFTER'; tokens: number };

/** Where the fix is. */
export type HelpCode =
  | 'CLIENT_PREFIX' // keep the requests' prefix stable: `kvdiff A B` finds the field
  | 'SWA_FULL' // SWA model: --swa-full keeps the whole cache
  | 'MORE_CHECKPOINTS' // a checkpoint near the prefix would have saved it: --ctx-checkpoints / --checkpoint-min-step
  | 'SERVER_SIDE' // the server did not reuse an identical prompt
  | 'PIN_SLOTS' // several conversations share slots: -np, id_slot, --cache-ram
  | 'LOG_VERBOSITY'; // n_past is not in this log

export interface ExplainedRequest {
  record: RequestRecord;
  promptTokens: number | null;
  /**
   * Tokens the slot held before this request, as the log says (the previous release, the
   * `slot.prompt.tokens.size()` line, f_keep); a response's `cache_n` when nothing else says.
   */
  cachedTokens: number | null;
  /** The longest common prefix with the slot the server found, before any checkpoint fallback. */
  commonPrefix: number | null;
  /** n_past finally used (0 after a forced full re-process). */
  reused: number | null;
  processed: number | null;
  fullReprocess: boolean | null;
  /** Tokens the slot held before this request, only when the log says so. */
  slotTokensBefore: number | null;
  verdict: VerdictCode;
  severity: Severity;
  args: VerdictArgs;
  notes: Note[];
  help: HelpCode[];
  /** Cached tokens thrown away because the prompt diverged (cachedTokens − commonPrefix on a prefix break). */
  lostTokens: number;
  /** lostTokens at this request's measured prompt speed; null when the speed is not in the log. */
  lostSeconds: number | null;
  /** Other re-processing the server could have avoided: fallback below the prefix, slot taken, identical prompt. */
  wastedTokens: number;
  model: ModelKind;
}

// ---- derivation ----

interface Derived {
  prompt: number | null;
  reused: number | null;
  common: number | null;
  processed: number | null;
  slotBefore: number | null;
  /** The common prefix was estimated from the selection's f_keep (3 decimals) times the slot's size: ± this many tokens. */
  commonWithin: number | null;
}

/** n_past after a checkpoint restore when the `memory_seq_rm` line is not in the paste (llama.cpp's rule). */
function reusedAfterRestore(r: RequestRecord, common: number | null): number | null {
  const c = r.restoredCheckpoint;
  if (!c) return null;
  if (c.nPast !== null) return c.nPast;
  const top = Math.max(c.posMin + 1, c.posMax);
  return common !== null ? Math.min(common, top) : top;
}

function derive(r: RequestRecord, prev: RequestRecord | undefined): Derived {
  let reused = r.nPastUsed;
  if (reused === null && r.restoredCheckpoint) reused = reusedAfterRestore(r, r.nPastBefore ?? r.selectionLcp);
  if (reused === null && r.forcedFull) reused = 0;
  // checkpoints above pos_next are erased once n_past is settled; pos_next = 0 is n_past = 0 (a reset or no prefix)
  if (reused === null && r.erasedPosNext === 0) reused = 0;
  if (reused === null && r.mustEvalOne && r.nPastBefore !== null) reused = r.nPastBefore - 1;
  if (reused === null && r.firstBatchStart !== null) reused = r.firstBatchStart;
  let prompt = r.promptTokens ?? r.progressPrompt;
  if (prompt === null && reused !== null && r.processed !== null) prompt = reused + r.processed;
  if (reused === null && prompt !== null && r.processed !== null && prompt >= r.processed) reused = prompt - r.processed;
  let processed = r.processed;
  if (processed === null && prompt !== null && reused !== null) processed = Math.max(0, prompt - reused);
  const fellBack = r.forcedFull || r.restoredCheckpoint !== null;
  let common = r.nPastBefore;
  // the selection LCP was computed against the slot before a RAM-cache restore replaced it
  if (common === null && r.ramRestore === null) common = r.selectionLcp;
  if (common === null && !fellBack && reused !== null) common = Math.max(0, reused - r.chunkReuseTokens) + (r.mustEvalOne ? 1 : 0);
  let slotBefore = r.slotTokensBefore;
  if (slotBefore === null && r.format === 'response' && prev && prev.slotTokensAfter !== null) slotBefore = prev.slotTokensAfter;
  if (slotBefore === null && r.selection === 'lru' && r.selectionTLast === -1) slotBefore = 0;
  // task ids count from 0 per server process (slot save/restore and metrics are tasks too): task 0 is the
  // first thing the server ever did, so every slot and the RAM prompt cache were empty, whichever of its
  // lines the paste kept (a timing block, batch progress, checkpoints created during processing)
  if (slotBefore === null && r.task === 0 && r.format !== 'response') slotBefore = 0;
  // an empty slot has nothing to reuse, unless the RAM prompt cache filled it first
  if (reused === null && slotBefore === 0 && r.ramRestore === null && !r.mustEvalOne) {
    reused = 0;
    if (processed === null && prompt !== null) processed = prompt;
    if (prompt === null && processed !== null) prompt = processed;
  }
  // default verbosity (2026) logs no n_past: the selection's f_keep = lcp / slot size, printed as 1.000, says the
  // whole slot was a prefix of the new prompt (exact below 2,000 tokens, within 0.05 % above); with no fallback
  // logged that is what the server kept, and the prompt is it plus what `prompt eval time` processed. Not read when
  // the prompt may have been the slot itself (f_sim_best 1.000 too and one token processed: n_past was size − 1).
  // A fallback below the slot's end is logged at trace level only, so the rate lines' progress = (kept + done) /
  // prompt must agree, to their 2 decimals, with keeping the whole slot.
  const size = slotBefore;
  const whole =
    reused === null &&
    r.selection === 'lcp' &&
    (r.selectionKeep ?? 0) >= 0.9995 &&
    size !== null &&
    size > 0 &&
    processed !== null &&
    !fellBack &&
    r.ramRestore === null &&
    r.nPastBefore === null &&
    !((r.selectionSim ?? 0) >= 0.9995 && processed <= 1) &&
    r.rateSamples.every((x) => Math.abs((size + x.processed) / (size + processed) - x.progress) <= 0.0051);
  if (whole && size !== null && processed !== null) {
    common = size;
    reused = size;
    prompt ??= reused + processed;
  }
  // f_keep = lcp / slot size, printed with 3 decimals: close enough to recover the slot size
  if (slotBefore === null && r.selectionKeep !== null && r.selectionKeep > 0 && common !== null && r.ramRestore === null) {
    slotBefore = Math.round(common / r.selectionKeep);
  }
  // default verbosity (2026) prints no n_past either way: f_keep = lcp / slot size, with 3 decimals, bounds the common
  // prefix to ±0.05 % of the slot. When even the upper bound ends before the slot's last token the prompt left the
  // cache: a prefix break at about f_keep × size. (Below f_keep 0.5 the server first swaps in the RAM prompt cache,
  // which default verbosity does not show, so nothing is read there; nor after a logged fallback or RAM load.)
  let commonWithin: number | null = null;
  const keep = r.selectionKeep;
  if (common === null && reused === null && r.selection === 'lcp' && keep !== null && keep >= 0.5005 && slotBefore !== null && slotBefore > 1 && !fellBack && r.ramRestore === null) {
    const hi = Math.floor((keep + 0.0005) * slotBefore);
    if (hi < slotBefore - 1) {
      common = Math.round(keep * slotBefore);
      commonWithin = Math.max(hi - common, common - Math.ceil((keep - 0.0005) * slotBefore));
    }
  }
  return { prompt, reused, common, processed, slotBefore, commonWithin };
}

/** Did another task overwrite this slot between the conversation's turns? */
function slotTaken(d: Derived, r: RequestRecord, p1: ExplainedRequest | undefined, p2: ExplainedRequest | undefined): boolean {
  if (!p1 || !p2 || d.prompt === null || d.reused === null || p2.promptTokens === null) return false;
  const p2Size = p2.promptTokens;
  const p1Common = p1.commonPrefix ?? p1.reused;
  if (p1Common === null || r.ramRestore) return false;
  return (
    p2Size >= 16 &&
    d.prompt >= p2Size && // this prompt could continue the one before the intruder
    p1Common < p2Size / 2 && // the intruder shared little with it
    d.reused < p2Size / 2 // and this request found little of it left
  );
}

function modelKind(r: RequestRecord): ModelKind {
  if (r.nSwa === null) return null;
  return r.nSwa > 1 ? 'swa' : 'hybrid';
}

/**
 * A checkpoint close below the prefix would have kept this many more tokens: worth more checkpoints.
 * Below this, the fallback costs less than a checkpoint step anyway.
 */
const CHECKPOINT_WORTH_TOKENS = 512;

export class Explainer {
  /** The last two explained requests per slot. */
  private readonly history = new Map<string, [ExplainedRequest | undefined, ExplainedRequest | undefined]>();

  explain(r: RequestRecord): ExplainedRequest {
    const key = `${r.instance ?? ''}#${r.slot ?? '?'}`;
    const [p1, p2] = this.history.get(key) ?? [undefined, undefined];
    const x = explainOne(r, p1, p2);
    this.history.set(key, [x, p1]);
    return x;
  }
}

export function explainOne(r: RequestRecord, p1?: ExplainedRequest, p2?: ExplainedRequest): ExplainedRequest {
  const d = derive(r, p1?.record);
  const { prompt, reused, common, processed, slotBefore, commonWithin } = d;
  const model = modelKind(r);
  const notes: Note[] = [];
  const help: HelpCode[] = [];
  const tps = r.promptTps;
  let verdict: VerdictCode;
  let lost = 0;
  let wasted = 0;
  const args: VerdictArgs = { at: common, cached: null, prompt, reused, processed, lost: 0, fallback: 0, seconds: null, tps, ms: r.promptEvalMs, model };
  const fellBack = r.forcedFull || r.restoredCheckpoint !== null;
  // the fallback kept less than the common prefix (the last token of a whole-prompt match is always redone)
  const fallbackCost = fellBack && reused !== null && common !== null ? Math.max(0, common - (r.mustEvalOne ? 1 : 0) - reused) : 0;
  // a response's cache_n is a lower bound of what the slot held
  const cached = slotBefore ?? (r.format === 'response' ? reused : null);
  args.cached = cached;
  if (cached === null && r.slotAtLeast !== null) args.atLeast = r.slotAtLeast;
  if (commonWithin !== null) args.atWithin = commonWithin;

  // the slot's size, or a lower bound of it from a checkpoint that lay beyond the common prefix
  const cacheEnd = slotBefore ?? r.slotAtLeast;
  const brokeUnknown = reused === null && common !== null && cacheEnd !== null && common < cacheEnd - 1 && (prompt === null || common < prompt);
  if (brokeUnknown) {
    // the server logged where the prompt left the cache, but the paste ends before it says what it kept
    verdict = 'PREFIX_BREAK';
    lost = Math.max(0, cacheEnd! - common! - r.chunkReuseTokens);
    help.push('CLIENT_PREFIX');
  } else if (reused === null) {
    if (processed !== null) {
      verdict = 'TIMING_ONLY';
      // (llama-server's -lv 4; KoboldCpp's summary line carries the sizes already)
      if (r.format !== 'koboldcpp') help.push('LOG_VERBOSITY');
    } else verdict = 'UNKNOWN';
  } else {
    const contained = common !== null && prompt !== null && common >= prompt;
    // what a stable prefix would have kept: the slot's content (all but the prompt's last token, when known)
    const keepable = slotBefore !== null ? (prompt !== null ? Math.min(slotBefore, prompt - 1) : slotBefore) : null;
    // the prompt left the cached tokens before their end; the slot's last token is often the final
    // generated one, which the next prompt renders differently (or not at all): not a break
    const broke = common !== null && cacheEnd !== null && common < cacheEnd - 1 && (prompt === null || common < prompt);
    if ((contained || r.mustEvalOne) && prompt !== null && reused < prompt - 1 && !broke) {
      verdict = 'IDENTICAL_NO_REUSE';
      wasted = prompt - 1 - reused;
      help.push('SERVER_SIDE');
      if (model === 'swa') help.push('SWA_FULL');
    } else if (r.ramRestore && reused > 0 && !fellBack) {
      verdict = 'RAM_CACHE_RESTORE';
      args.fKeep = r.ramRestore.fKeep;
      args.fSim = r.ramRestore.fSim;
    } else if (slotTaken(d, r, p1, p2)) {
      verdict = 'SLOT_TAKEN';
      wasted = Math.max(0, Math.min(p2!.promptTokens!, prompt! - 1) - reused);
      args.intruderTask = p1!.record.task;
      args.evictedTask = p2!.record.task;
      args.evictedTokens = p2!.promptTokens!;
      help.push('PIN_SLOTS');
    } else if (reused === 0 && slotBefore !== null && slotBefore <= 1) {
      verdict = 'COLD_START';
    } else if (r.selection === 'lru' && r.selectionTLast !== -1 && prompt !== null && reused < prompt / 2 && (reused === 0 || slotBefore === null) && !broke) {
      verdict = 'LRU_SLOT';
      help.push('PIN_SLOTS');
    } else if (broke) {
      verdict = 'PREFIX_BREAK';
      // tokens a --cache-reuse chunk shift moved into place were not thrown away
      lost = Math.max(0, cacheEnd! - common! - r.chunkReuseTokens);
      wasted = fallbackCost;
      help.push('CLIENT_PREFIX');
      if (fallbackCost > 0 && model === 'swa') help.push('SWA_FULL');
      else if (fallbackCost >= CHECKPOINT_WORTH_TOKENS) help.push('MORE_CHECKPOINTS');
    } else if (fellBack && (fallbackCost > 0 || (common === null && reused === 0 && (r.selectionKeep ?? 0) >= 0.9995))) {
      // (f_keep = 1.000: the whole cached prompt was a prefix of the new one, yet nothing was kept)
      verdict = 'CHECKPOINT_FALLBACK';
      wasted = fallbackCost;
      help.push(model === 'swa' ? 'SWA_FULL' : 'MORE_CHECKPOINTS');
    } else if (reused === 0 && slotBefore === null) {
      verdict = 'NO_REUSE';
      notes.push({ code: 'SIZE_UNKNOWN' });
    } else if ((keepable !== null && reused >= keepable - 1) || r.mustEvalOne || contained || (r.selectionKeep !== null && r.selectionKeep >= 0.9995)) {
      verdict = 'FULL_REUSE';
    } else {
      verdict = 'CACHE_HIT';
      notes.push({ code: 'SIZE_UNKNOWN' });
    }
    if (fellBack && reused !== null && verdict !== 'CHECKPOINT_FALLBACK' && verdict !== 'IDENTICAL_NO_REUSE') {
      if (fallbackCost > 0 || r.forcedFull) notes.push({ code: 'FALLBACK', commonPrefix: common, reused, forced: r.forcedFull, model });
    } else if (verdict === 'CHECKPOINT_FALLBACK' || verdict === 'IDENTICAL_NO_REUSE') {
      if (fellBack) notes.push({ code: 'FALLBACK', commonPrefix: common, reused, forced: r.forcedFull, model });
    }
  }

  if (r.restoredCheckpoint) {
    const c = r.restoredCheckpoint;
    notes.push({ code: 'CHECKPOINT_RESTORED', posMin: c.posMin, posMax: c.posMax, nTokens: c.nTokens });
  }
  if (r.truncatedKeep !== null) notes.push({ code: 'INPUT_TRUNCATED', keep: r.truncatedKeep });
  if (r.clearedTokens !== null) notes.push({ code: 'SLOT_CLEARED', tokens: r.clearedTokens });
  // a request seen only at its end: what it left is what the next request on the slot can reuse
  if ((verdict === 'UNKNOWN' || verdict === 'TIMING_ONLY') && r.slotTokensAfter !== null) notes.push({ code: 'SLOT_AFTER', tokens: r.slotTokensAfter });
  // lostTokens is then a lower bound: the slot's exact size is not in the log
  if (slotBefore === null && r.slotAtLeast !== null && lost > 0) notes.push({ code: 'CACHE_AT_LEAST', tokens: r.slotAtLeast });
  if (commonWithin !== null && r.selectionKeep !== null) notes.push({ code: 'COMMON_PREFIX_ESTIMATED', keep: r.selectionKeep, within: commonWithin });
  if (r.divergence) notes.push({ code: 'DIVERGENCE', old: r.divergence.old, new: r.divergence.new });
  if (r.selection === 'lcp') notes.push({ code: 'SELECTED_LCP', sim: r.selectionSim, keep: r.selectionKeep });
  else if (r.selection === 'lru') notes.push({ code: 'SELECTED_LRU', wasEmpty: r.selectionTLast === -1 });
  else if (r.selection === 'id') notes.push({ code: 'SELECTED_ID' });
  if (r.contextShifts > 0) notes.push({ code: 'CONTEXT_SHIFT', shifts: r.contextShifts, discarded: r.contextDiscarded, keep: r.contextKeep });
  if (r.kcppShift) notes.push({ code: 'KCPP_CONTEXT_SHIFT', erased: r.kcppShift.erased, at: r.kcppShift.at, shifts: r.kcppShift.shifts });
  if (r.ramRestore && verdict !== 'RAM_CACHE_RESTORE') notes.push({ code: 'RAM_RESTORE', fKeep: r.ramRestore.fKeep, fSim: r.ramRestore.fSim });
  if (r.chunkReuseTokens > 0) notes.push({ code: 'CHUNK_REUSE', tokens: r.chunkReuseTokens });
  if (r.checkpointsCreated > 0 || r.checkpointsErased > 0) notes.push({ code: 'CHECKPOINTS', erased: r.checkpointsErased, created: r.checkpointsCreated });
  if (r.promptEvalMs !== null && processed !== null) notes.push({ code: 'PROMPT_EVAL', tokens: processed, ms: r.promptEvalMs, tps });

  args.lost = lost;
  args.fallback = verdict === 'PREFIX_BREAK' || verdict === 'CHECKPOINT_FALLBACK' ? wasted : 0;
  args.seconds = lost + wasted > 0 && tps ? (lost + wasted) / tps : null;

  return {
    record: r,
    promptTokens: prompt,
    cachedTokens: cached,
    commonPrefix: common,
    reused,
    processed,
    fullReprocess: reused === null ? null : reused === 0,
    slotTokensBefore: slotBefore,
    verdict,
    severity: VERDICT_SEVERITY[verdict],
    args,
    notes,
    help,
    lostTokens: lost,
    lostSeconds: lost > 0 && tps ? lost / tps : null,
    wastedTokens: wasted,
    model,
  };
}

export interface LogSummary {
  lines: number;
  recognisedLines: number;
  /** Lines longer than the parser's limit, skipped unread. */
  skippedLongLines: number;
  requests: number;
  verdicts: Partial<Record<VerdictCode, number>>;
  promptTokens: number;
  reusedTokens: number;
  processedTokens: number;
  /** Cached tokens thrown away because prompts diverged from the cached ones. */
  lostTokens: number;
  /** What those cost at the measured prompt speed (null when no speed was logged). */
  lostSeconds: number | null;
  /** Other avoidable re-processing (checkpoint fallbacks, slots taken, identical prompts not reused). */
  wastedTokens: number;
  /** Overall measured prompt-eval speed (tokens per second), null when not logged. */
  promptTps: number | null;
}

/** Running totals; `add` each explained request, `result` at the end. */
export class SummaryBuilder {
  private s: LogSummary = {
    lines: 0,
    recognisedLines: 0,
    skippedLongLines: 0,
    requests: 0,
    verdicts: {},
    promptTokens: 0,
    reusedTokens: 0,
    processedTokens: 0,
    lostTokens: 0,
    lostSeconds: null,
    wastedTokens: 0,
    promptTps: null,
  };
  private evalTokens = 0;
  private evalMs = 0;
  private lostAtKnown = 0;
  private lostKnownSeconds = 0;

  add(x: ExplainedRequest): void {
    const s = this.s;
    s.requests++;
    s.verdicts[x.verdict] = (s.verdicts[x.verdict] ?? 0) + 1;
    s.promptTokens += x.promptTokens ?? 0;
    s.reusedTokens += x.reused ?? 0;
    s.processedTokens += x.processed ?? 0;
    s.lostTokens += x.lostTokens;
    s.wastedTokens += x.wastedTokens;
    if (x.lostSeconds !== null) {
      this.lostAtKnown += x.lostTokens;
      this.lostKnownSeconds += x.lostSeconds;
    }
    const ms = x.record.promptEvalMs;
    if (ms !== null && ms > 0 && x.processed !== null) {
      this.evalTokens += x.processed;
      this.evalMs += ms;
    }
  }

  result(stats: { lines: number; recognised: number; skippedLong?: number }): LogSummary {
    const s = { ...this.s, verdicts: { ...this.s.verdicts } };
    s.lines = stats.lines;
    s.recognisedLines = stats.recognised;
    s.skippedLongLines = stats.skippedLong ?? 0;
    s.promptTps = this.evalMs > 0 ? (this.evalTokens * 1000) / this.evalMs : null;
    const unknownLost = s.lostTokens - this.lostAtKnown;
    if (s.lostTokens > 0 && (unknownLost === 0 || s.promptTps)) {
      s.lostSeconds = this.lostKnownSeconds + (unknownLost > 0 && s.promptTps ? unknownLost / s.promptTps : 0);
    }
    return s;
  }
}

export function summarize(xs: ExplainedRequest[], stats: { lines: number; recognised: number; skippedLong?: number }): LogSummary {
  const b = new SummaryBuilder();
  for (const x of xs) b.add(x);
  return b.result(stats);
}
