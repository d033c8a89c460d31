/**
 * A verdict per request: what the server reused, what it re-processed, why, and what it cost.
 * `Explainer` is incremental (it remembers the last two requests of each slot, to see another task
 * take a slot in between); `summarize` folds explained requests into totals. Pure.
 */
import type { RequestRecord } from './types.js';

/** Stable verdict codes: reports and tests key on these, never on the wording. */
export type VerdictCode =
  | 'FULL_REUSE' // everything the slot held (or the whole prompt but its last token) was reused
  | 'PARTIAL_REUSE' // the prompt diverged from the cached one: the tail after the common prefix was re-processed
  | 'CACHE_HIT' // n tokens reused, but the slot's previous size is not in the log, so not known whether all
  | 'CHECKPOINT_FALLBACK' // SWA/hybrid/recurrent: no usable checkpoint at the common prefix, fell back lower (or to 0)
  | 'IDENTICAL_NO_REUSE' // the prompt was already fully cached and still re-processed: server side
  | 'RAM_CACHE_RESTORE' // the slot was loaded from the RAM prompt cache (an older request) before matching
  | 'SLOT_TAKEN' // another task used this slot in between and overwrote the conversation's cache
  | 'LRU_SLOT' // no slot was similar enough: the least recently used one was taken and overwritten
  | 'NO_REUSE' // nothing reused from a non-empty slot
  | 'COLD_START' // first request on an empty slot
  | 'TIMING_ONLY' // only the `prompt eval time` line: tokens processed, n_past not logged
  | 'UNKNOWN';

export type Severity = 'ok' | 'info' | 'warning';

export const VERDICT_SEVERITY: Record<VerdictCode, Severity> = {
  FULL_REUSE: 'ok',
  PARTIAL_REUSE: 'warning',
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

export interface ExplainedRequest {
  record: RequestRecord;
  promptTokens: number | null;
  /** = reused: what the response reports as `timings.cache_n` / `cached_tokens`. */
  cachedTokens: number | null;
  /** n_past before any checkpoint fallback (the longest common prefix with the slot), when the log shows it. */
  commonPrefix: number | null;
  /** n_past finally used (0 after a forced full re-process). */
  reused: number | null;
  processed: number | null;
  fullReprocess: boolean | null;
  /** Tokens the slot held before this request. */
  slotTokensBefore: number | null;
  verdict: VerdictCode;
  severity: Severity;
  message: string;
  notes: string[];
  hint: string | null;
  /** Tokens re-processed that a stable prefix (or a usable checkpoint) would have kept. */
  lostTokens: number;
  /** lostTokens at this request's measured prompt speed; null when the speed is not in the log. */
  lostSeconds: number | null;
}

// ---- formatting helpers (shared with report.ts) ----

export function fmtInt(n: number): string {
  // toLocaleString is slow on a hot path; this is the same en-US grouping
  const r = Math.round(n);
  const digits = String(Math.abs(r));
  if (!Number.isSafeInteger(r) || digits.length <= 3) return String(r);
  let out = digits.slice(0, digits.length % 3 || 3);
  for (let i = out.length; i < digits.length; i += 3) out += `,${digits.slice(i, i + 3)}`;
  return r < 0 ? `-${out}` : out;
}

/** `1 token`, `2 tokens` */
export function plural(n: number, word: string): string {
  return `${fmtInt(n)} ${word}${Math.round(n) === 1 ? '' : 's'}`;
}

export function fmtDuration(seconds: number): string {
  if (seconds < 1) return `${Math.max(1, Math.round(seconds * 1000))} ms`;
  if (seconds < 60) return `${seconds < 10 ? seconds.toFixed(1) : Math.round(seconds)} s`;
  if (seconds < 3600) return `${Math.round(seconds / 60)} min`;
  return `${(seconds / 3600).toFixed(1)} h`;
}

export function fmtTps(tps: number): string {
  return tps >= 100 ? fmtInt(tps) : tps.toFixed(1);
}

/** ", about 10 min at 170 t/s" or "" */
function cost(tokens: number, tps: number | null): string {
  if (!tps || tokens <= 0) return '';
  return `, about ${fmtDuration(tokens / tps)} at ${fmtTps(tps)} t/s`;
}

// ---- derivation ----

interface Derived {
  prompt: number | null;
  reused: number | null;
  common: number | null;
  processed: number | null;
  slotBefore: number | null;
}

function derive(r: RequestRecord, prev: RequestRecord | undefined): Derived {
  let reused = r.nPastUsed;
  if (reused === null && r.forcedFull) reused = 0;
  if (reused === null && r.mustEvalOne && r.nPastBefore !== null) reused = r.nPastBefore - 1;
  let prompt = r.promptTokens;
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
  // f_keep = lcp / slot size, printed with 3 decimals: close enough to recover the slot size
  if (slotBefore === null && r.selectionKeep !== null && r.selectionKeep > 0 && common !== null && r.ramRestore === null) {
    slotBefore = Math.round(common / r.selectionKeep);
  }
  return { prompt, reused, common, processed, slotBefore };
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
  const { prompt, reused, common, processed, slotBefore } = d;
  const notes: string[] = [];
  let hint: string | null = null;
  let verdict: VerdictCode;
  let message: string;
  let lost = 0;
  const tps = r.promptTps;
  const P = prompt !== null ? fmtInt(prompt) : '?';
  const where = r.slot !== null ? `slot ${r.slot}` : 'the slot';

  if (reused === null) {
    if (processed !== null) {
      verdict = 'TIMING_ONLY';
      message = `${fmtInt(processed)} prompt tokens processed${r.promptEvalMs !== null ? ` in ${fmtDuration(r.promptEvalMs / 1000)}` : ''} (n_past not logged)`;
      hint = 'start llama-server with -lv 4 (or -v) to log n_past and checkpoints, or read `timings.cache_n` in the response';
    } else {
      verdict = 'UNKNOWN';
      message = 'request seen, but its lines do not say what was reused';
    }
  } else {
    const contained = common !== null && prompt !== null && common >= prompt;
    const fellBack = r.forcedFull || r.restoredCheckpoint !== null;
    const keepable = slotBefore !== null && prompt !== null ? Math.min(slotBefore, prompt - 1) : null;
    if ((contained || r.mustEvalOne) && prompt !== null && reused < prompt - 1) {
      verdict = 'IDENTICAL_NO_REUSE';
      lost = prompt - 1 - reused;
      message = `identical prompt, still no reuse: server side, not your payload (${fmtInt(processed ?? prompt - reused)} of ${P} tokens re-processed${cost(lost, tps)})`;
      hint = 'the client sent tokens the slot already held: check the server (-lv 4 lines, --swa-full, --ctx-checkpoints, --cache-ram, -np, version)';
    } else if (fellBack && (common === null || reused < common - (r.mustEvalOne ? 1 : 0))) {
      verdict = 'CHECKPOINT_FALLBACK';
      // what a stable prefix would have kept: the slot's content (or at least the common prefix)
      lost = Math.max(0, (keepable ?? common ?? 0) - reused);
      const cp = common !== null ? `the common prefix (${fmtInt(common)})` : 'the common prefix';
      if (reused === 0) {
        message = `hybrid/SWA model: no checkpoint at or below ${cp} → all ${P} tokens re-processed${cost(processed ?? prompt ?? 0, tps)}`;
      } else {
        message = `hybrid/SWA model: nearest checkpoint at ${fmtInt(reused)}, below ${cp} → ${fmtInt(processed ?? 0)} tokens re-processed${common !== null && prompt !== null ? ` instead of ${fmtInt(Math.max(1, prompt - common))}` : ''}${cost(lost, tps)}`;
      }
      if (r.restoredCheckpoint) {
        const c = r.restoredCheckpoint;
        notes.push(`restored context checkpoint [${c.posMin}, ${c.posMax}]${c.nTokens !== null ? ` (${plural(c.nTokens, 'token')})` : ''}`);
      }
      if (r.forcedFull) notes.push('the server logged "forcing full prompt re-processing due to lack of cache data"');
      hint =
        common !== null && slotBefore !== null && common < slotBefore
          ? `the prompt changed at token ${fmtInt(common)}: keep everything before it stable (run \`kvdiff a.json b.json\` on the two requests); for SWA models --swa-full keeps the whole cache`
          : 'SWA/recurrent state cannot be rolled back to any position: --swa-full (SWA models), more --ctx-checkpoints or a smaller --checkpoint-min-step';
    } else if (r.ramRestore && reused > 0) {
      verdict = 'RAM_CACHE_RESTORE';
      message = `restored from the RAM prompt cache: ${fmtInt(reused)} of ${P} tokens reused from an older request (f_keep = ${r.ramRestore.fKeep.toFixed(3)}, f_sim = ${r.ramRestore.fSim.toFixed(3)})`;
      notes.push('the slot held another prompt; llama-server loaded a better match from --cache-ram before comparing');
    } else if (slotTaken(d, r, p1, p2)) {
      verdict = 'SLOT_TAKEN';
      lost = Math.max(0, Math.min(p2!.promptTokens!, prompt! - 1) - reused);
      message = `another task used this slot in between: task ${p1!.record.task ?? '?'} replaced the ${fmtInt(p2!.promptTokens!)}-token prompt of task ${p2!.record.task ?? '?'} → ${fmtInt(processed ?? 0)} tokens re-processed${cost(lost, tps)}`;
      hint = 'pin each conversation to its own slot (`id_slot`), raise -np, or keep --cache-ram on so an evicted prompt can be restored';
    } else if (reused === 0 && slotBefore === 0) {
      verdict = 'COLD_START';
      message = `first request on ${where}: all ${P} tokens processed`;
    } else if (r.selection === 'lru' && r.selectionTLast !== -1 && prompt !== null && reused < prompt / 2 && (reused === 0 || slotBefore === null)) {
      verdict = 'LRU_SLOT';
      message = `no slot was similar enough: ${where} picked by LRU and overwritten, ${fmtInt(processed ?? 0)} of ${P} tokens processed`;
      hint = 'with several clients, raise -np (or pin `id_slot`) so each conversation keeps a slot; --cache-ram lets evicted prompts come back';
    } else if (reused === 0) {
      verdict = 'NO_REUSE';
      message = `no reuse: all ${P} tokens processed${cost(processed ?? 0, tps)}`;
      if (slotBefore !== null) notes.push(`the slot held ${fmtInt(slotBefore)} tokens; the prompt differed from its first token`);
      hint = 'a prompt that changes at its very start (a date or time in the system prompt, a different template) loses the whole cache';
    } else if (keepable !== null && reused < keepable) {
      verdict = 'PARTIAL_REUSE';
      lost = keepable - reused;
      message = `cache break at token ${fmtInt(common ?? reused)} of ${P}: ${fmtInt(processed ?? 0)} tokens re-processed, ${fmtInt(lost)} of them were in the slot${cost(lost, tps)}`;
      hint = `the prompt diverged from the cached one at token ${fmtInt(common ?? reused)}: run \`kvdiff a.json b.json\` on the two requests to see which field changed`;
    } else if (keepable !== null || r.mustEvalOne || (r.selectionKeep !== null && r.selectionKeep >= 0.9995)) {
      verdict = 'FULL_REUSE';
      message =
        prompt !== null && reused === prompt - 1
          ? `full reuse: ${fmtInt(reused)} of ${P} tokens from cache, the last one is always evaluated again`
          : `full reuse: ${fmtInt(reused)} of ${P} tokens from cache, ${fmtInt(processed ?? 0)} new`;
    } else {
      verdict = 'CACHE_HIT';
      message = `reused ${fmtInt(reused)} of ${P} tokens, ${fmtInt(processed ?? 0)} processed`;
      notes.push("the slot's previous size is not in this log, so whether this was all of it is unknown");
    }
    if (slotBefore !== null && verdict !== 'COLD_START') notes.push(`the slot held ${fmtInt(slotBefore)} tokens before this request`);
  }

  if (r.selection === 'lcp') {
    notes.push(`slot chosen by LCP similarity${r.selectionSim !== null ? ` (f_sim = ${r.selectionSim.toFixed(3)}${r.selectionKeep !== null ? `, f_keep = ${r.selectionKeep.toFixed(3)}` : ''})` : ''}`);
  } else if (r.selection === 'lru') {
    notes.push(`slot chosen by LRU${r.selectionTLast === -1 ? ' (it was empty)' : ' (no idle slot shared enough of the prompt)'}`);
  }
  if (r.chunkReuseTokens > 0) notes.push(`--cache-reuse shifted ${fmtInt(r.chunkReuseTokens)} tokens of matching chunks into place`);
  if (r.checkpointsCreated > 0 || r.checkpointsErased > 0) {
    notes.push(`context checkpoints: ${r.checkpointsErased} erased, ${r.checkpointsCreated} created`);
  }
  if (r.promptEvalMs !== null && processed !== null) {
    notes.push(`prompt eval: ${fmtInt(processed)} tokens in ${fmtDuration(r.promptEvalMs / 1000)}${tps ? ` (${fmtTps(tps)} t/s)` : ''}`);
  }

  return {
    record: r,
    promptTokens: prompt,
    cachedTokens: reused,
    commonPrefix: common,
    reused,
    processed,
    fullReprocess: reused === null ? null : reused === 0,
    slotTokensBefore: slotBefore,
    verdict,
    severity: VERDICT_SEVERITY[verdict],
    message,
    notes,
    hint,
    lostTokens: lost,
    lostSeconds: lost > 0 && tps ? lost / tps : null,
  };
}

export interface LogSummary {
  lines: number;
  recognisedLines: number;
  requests: number;
  verdicts: Partial<Record<VerdictCode, number>>;
  promptTokens: number;
  reusedTokens: number;
  processedTokens: number;
  /** Tokens re-processed that a stable prefix would have kept. */
  lostTokens: number;
  /** What those cost at the measured prompt speed (null when no speed was logged). */
  lostSeconds: number | null;
  /** Overall measured prompt-eval speed (tokens per second), null when not logged. */
  promptTps: number | null;
}

/** Running totals; `add` each explained request, `result` at the end. */
export class SummaryBuilder {
  private s: LogSummary = {
    lines: 0,
    recognisedLines: 0,
    requests: 0,
    verdicts: {},
    promptTokens: 0,
    reusedTokens: 0,
    processedTokens: 0,
    lostTokens: 0,
    lostSeconds: null,
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

  result(stats: { lines: number; recognised: number }): LogSummary {
    const s = { ...this.s, verdicts: { ...this.s.verdicts } };
    s.lines = stats.lines;
    s.recognisedLines = stats.recognised;
    s.promptTps = this.evalMs > 0 ? (this.evalTokens * 1000) / this.evalMs : null;
    const unknownLost = s.lostTokens - this.lostAtKnown;
    if (s.lostTokens > 0 && (unknownLost === 0 || s.promptTps)) {
      s.lostSeconds = this.lostKnownSeconds + (unknownLost > 0 && s.promptTps ? unknownLost / s.promptTps : 0);
    }
    return s;
  }
}

export function summarize(xs: ExplainedRequest[], stats: { lines: number; recognised: number }): LogSummary {
  const b = new SummaryBuilder();
  for (const x of xs) b.add(x);
  return b.result(stats);
}
