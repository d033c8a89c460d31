/**
 * Words the explained requests (codes and numbers from explain.ts) twice from the same data: a rustc-like
 * human report (chalk passed in, never built here) and the `--json` contract of issue 5 (`schemaVersion: 1`),
 * which can be written piece by piece so a 1 GB log never becomes one string.
 */
import type { ChalkInstance } from 'chalk';
import type { ExplainedRequest, HelpCode, LogSummary, ModelKind, Note, VerdictArgs } from './explain.js';

export const LOGS_SCHEMA_VERSION = 1;

// ---- numbers ----

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

/**
 * Text that came from the log, made safe for a terminal: C0/C1 controls and DEL become `\xNN`, so a log
 * line cannot move the cursor, clear the screen or fake output. JSON output keeps the exact strings.
 */
const NAMED: Record<string, string> = { '\n': '\\n', '\t': '\\t', '\r': '\\r' };

export function visibleText(s: string): string {
  // eslint-disable-next-line no-control-regex
  return s.replace(/[\u0000-\u001f\u007f-\u009f]/g, (c) => NAMED[c] ?? `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}

const n = (v: number | null): string => (v === null ? '?' : fmtInt(v));

/** ", about 10 min at 170 t/s" or "" */
function cost(tokens: number, tps: number | null): string {
  if (!tps || tokens <= 0) return '';
  return `, about ${fmtDuration(tokens / tps)} at ${fmtTps(tps)} t/s`;
}

function memory(model: ModelKind): string {
  return model === 'swa' ? 'SWA model' : model === 'hybrid' ? 'hybrid/recurrent model' : 'hybrid/SWA model';
}

// ---- wording ----

/** The headline of one request. */
export function headline(x: ExplainedRequest): string {
  const a: VerdictArgs = x.args;
  const P = n(a.prompt);
  switch (x.verdict) {
    case 'PREFIX_BREAK': {
      const after =
        a.reused === 0
          ? a.prompt !== null ? `all ${P} prompt tokens re-processed` : 'the whole prompt re-processed'
          : `${n(a.processed)} of ${P} prompt tokens re-processed`;
      const about = a.atWithin !== undefined ? 'about ' : '';
      return `prefix break at ${about}token ${n(a.at)} of ${a.cached === null && a.atLeast !== undefined ? `at least ${fmtInt(a.atLeast)}` : n(a.cached)} cached: ${plural(a.lost, 'cached token')} lost${a.atWithin !== undefined ? ` (± ${fmtInt(a.atWithin)})` : ''}${cost(a.lost, a.tps)}; ${after}`;
    }
    case 'CHECKPOINT_FALLBACK':
      return a.reused === 0
        ? `${memory(a.model)}: no checkpoint at or below the common prefix (${n(a.at)}) → all ${P} tokens re-processed${cost(a.processed ?? 0, a.tps)}`
        : `${memory(a.model)}: nearest checkpoint at ${n(a.reused)}, below the common prefix (${n(a.at)}) → ${a.processed !== null ? `${fmtInt(a.processed)} tokens` : 'everything after it'} re-processed${cost(a.fallback, a.tps)}`;
    case 'IDENTICAL_NO_REUSE':
      return `identical prompt, still no reuse: server side, not your payload (${n(a.processed)} of ${P} tokens re-processed${cost(x.wastedTokens, a.tps)})`;
    case 'RAM_CACHE_RESTORE':
      return `restored from the RAM prompt cache: ${n(a.reused)} of ${P} tokens reused from an older request (f_keep = ${(a.fKeep ?? 0).toFixed(3)}, f_sim = ${(a.fSim ?? 0).toFixed(3)})`;
    case 'SLOT_TAKEN':
      return `another task used this slot in between: task ${a.intruderTask ?? '?'} replaced the ${fmtInt(a.evictedTokens ?? 0)}-token prompt of task ${a.evictedTask ?? '?'} → ${n(a.processed)} tokens re-processed${cost(x.wastedTokens, a.tps)}`;
    case 'COLD_START':
      return `first request on ${x.record.slot !== null ? `slot ${x.record.slot}` : 'the slot'}: all ${P} tokens processed`;
    case 'LRU_SLOT':
      return `no slot was similar enough: ${x.record.slot !== null ? `slot ${x.record.slot}` : 'a slot'} picked by LRU and overwritten, ${n(a.processed)} of ${P} tokens processed`;
    case 'NO_REUSE':
      return `no reuse: all ${P} tokens processed${cost(a.processed ?? 0, a.tps)}`;
    case 'FULL_REUSE':
      return a.prompt !== null && a.reused === a.prompt - 1
        ? `full reuse: ${n(a.reused)} of ${P} tokens from cache, the last one is always evaluated again`
        : `full reuse: ${n(a.reused)} of ${P} tokens from cache, ${n(a.processed)} new`;
    case 'CACHE_HIT':
      return `reused ${n(a.reused)} of ${P} tokens, ${n(a.processed)} processed`;
    case 'TIMING_ONLY':
      return `${n(a.processed)} prompt tokens processed${a.ms !== null ? ` in ${fmtDuration(a.ms / 1000)}` : ''} (n_past not logged)`;
    case 'UNKNOWN':
      return 'request seen, but its lines do not say what was reused';
  }
}

export function noteText(note: Note): string {
  switch (note.code) {
    case 'FALLBACK': {
      const what = note.forced
        ? `no checkpoint at or below ${note.commonPrefix !== null ? `token ${fmtInt(note.commonPrefix)}` : 'the common prefix'} on this ${memory(note.model)}: full re-processing ("forcing full prompt re-processing due to lack of cache data")`
        : `the ${memory(note.model)} fell back to a checkpoint at ${fmtInt(note.reused)}${note.commonPrefix !== null ? `, below the common prefix ${fmtInt(note.commonPrefix)}` : ''}`;
      return what;
    }
    case 'CHECKPOINT_RESTORED':
      return `restored context checkpoint [${note.posMin}, ${note.posMax}]${note.nTokens !== null ? ` (${plural(note.nTokens, 'token')})` : ''}`;
    case 'CHECKPOINTS':
      return `context checkpoints: ${note.erased} erased, ${note.created} created`;
    case 'SIZE_UNKNOWN':
      return "the slot's previous size is not in this log, so whether this was all of it is unknown";
    case 'SELECTED_LCP':
      return `slot chosen by LCP similarity${note.sim !== null ? ` (f_sim = ${note.sim.toFixed(3)}${note.keep !== null ? `, f_keep = ${note.keep.toFixed(3)}` : ''})` : ''}`;
    case 'SELECTED_LRU':
      return `slot chosen by LRU${note.wasEmpty ? ' (it was empty)' : ' (no idle slot shared enough of the prompt)'}`;
    case 'COMMON_PREFIX_ESTIMATED':
      return `this log level prints no n_past: the common prefix is f_keep ${note.keep.toFixed(3)} × the slot's size, ± ${plural(note.within, 'token')} (-lv 4 logs it exactly)`;
    case 'SELECTED_ID':
      return "slot chosen by the request's id_slot";
    case 'CONTEXT_SHIFT':
      return note.keep !== null && note.keep > 0
        ? `the context filled up: the server shifted it ${note.shifts === 1 ? 'once' : `${note.shifts} times`}, dropping ${plural(note.discarded, 'token')} after the first ${fmtInt(note.keep)} (n_keep); a client that resends the whole history matches only its first ${plural(note.keep, 'token')} next time`
        : `the context filled up: the server shifted it ${note.shifts === 1 ? 'once' : `${note.shifts} times`}, dropping ${plural(note.discarded, 'token')} from the start of the conversation (n_keep = 0); a client that resends the whole history will not match past its first token next time`;
    case 'KCPP_CONTEXT_SHIFT':
      return `KoboldCpp's ContextShift erased ${plural(note.erased, 'token')} at position ${fmtInt(note.at)} that the new prompt no longer has${note.shifts > 1 ? ` (${note.shifts} shifts)` : ''} and moved the rest of its context into place, so they were not processed again`;
    case 'CHUNK_REUSE':
      return `--cache-reuse shifted ${fmtInt(note.tokens)} tokens of matching chunks into place`;
    case 'RAM_RESTORE':
      return `loaded from the RAM prompt cache first (f_keep = ${note.fKeep.toFixed(3)}, f_sim = ${note.fSim.toFixed(3)})`;
    case 'PROMPT_EVAL':
      return `prompt eval: ${fmtInt(note.tokens)} tokens in ${fmtDuration(note.ms / 1000)}${note.tps ? ` (${fmtTps(note.tps)} t/s)` : ''}`;
    case 'INPUT_TRUNCATED':
      return `the prompt did not fit the context: the server kept its first ${plural(note.keep, 'token')} and cut the middle (raise -c, or trim history in the client)`;
    case 'SLOT_AFTER':
      return `it left ${plural(note.tokens, 'token')} in the slot for the next request`;
    case 'SLOT_CLEARED':
      return `the server had cleared this slot (${plural(note.tokens, 'token')}, saved to the RAM prompt cache while idle): only a RAM-cache load could bring them back`;
    case 'CACHE_AT_LEAST':
      return `the slot held at least ${plural(note.tokens, 'token')} (a checkpoint lay beyond the common prefix); its exact size is not in this log, so the loss is a lower bound`;
    case 'DIVERGENCE':
      return `divergence (LLAMA_SERVER_SLOTS_DEBUG, \`|\` at n_past):\n       old: ${visibleText(note.old)}\n       new: ${visibleText(note.new)}`;
  }
}

export function helpText(h: HelpCode, x: ExplainedRequest): string {
  switch (h) {
    case 'CLIENT_PREFIX':
      return `the client's request changed at token ${n(x.commonPrefix)}: keep everything before it byte-stable; run \`kvdiff A B\` on the two requests to find the field`;
    case 'SWA_FULL':
      return 'SWA model: --swa-full keeps the whole cache, so any common prefix can be reused';
    case 'MORE_CHECKPOINTS':
      return 'a checkpoint closer to the common prefix would have kept more: raise --ctx-checkpoints or lower --checkpoint-min-step';
    case 'SERVER_SIDE':
      return 'the client sent tokens the slot already held: check the server (-lv 4 lines, --ctx-checkpoints, --cache-ram, -np, version)';
    case 'PIN_SLOTS':
      return 'with several clients, raise -np (or pin `id_slot`) so each conversation keeps a slot; --cache-ram lets evicted prompts come back';
    case 'LOG_VERBOSITY':
      return 'start llama-server with -lv 4 (or -v) to log n_past and checkpoints, or read `timings.cache_n` in the response';
  }
}

// ---- json ----

export interface JsonRequest {
  slot: number | null;
  task: number | null;
  promptTokens: number | null;
  cachedTokens: number | null;
  commonPrefix: number | null;
  reused: number | null;
  processed: number | null;
  fullReprocess: boolean | null;
  verdict: string;
  // more fields (allowed by the contract)
  lostTokens: number;
  lostSeconds: number | null;
  wastedTokens: number;
  instance: string | null;
  format: string | null;
  lines: [number, number];
  slotTokensBefore: number | null;
  slotTokensAfter: number | null;
  model: ModelKind;
  selection: string | null;
  checkpoints: {
    restored: { posMin: number; posMax: number; nTokens: number | null } | null;
    erased: number;
    created: number;
    forcedFull: boolean;
  };
  chunkReuseTokens: number;
  ramRestore: { fKeep: number; fSim: number } | null;
  divergence: { old: string; new: string } | null;
  promptEvalMs: number | null;
  promptTps: number | null;
  notes: Note[];
  help: HelpCode[];
  message: string;
  hint: string | null;
}

export function jsonRequest(x: ExplainedRequest): JsonRequest {
  const r = x.record;
  const c = r.restoredCheckpoint;
  return {
    slot: r.slot,
    task: r.task,
    promptTokens: x.promptTokens,
    cachedTokens: x.cachedTokens,
    commonPrefix: x.commonPrefix,
    reused: x.reused,
    processed: x.processed,
    fullReprocess: x.fullReprocess,
    verdict: x.verdict,
    lostTokens: x.lostTokens,
    lostSeconds: x.lostSeconds,
    wastedTokens: x.wastedTokens,
    instance: r.instance,
    format: r.format,
    lines: [r.firstLine, r.lastLine],
    slotTokensBefore: x.slotTokensBefore,
    slotTokensAfter: r.slotTokensAfter,
    model: x.model,
    selection: r.selection,
    checkpoints: {
      restored: c ? { posMin: c.posMin, posMax: c.posMax, nTokens: c.nTokens } : null,
      erased: r.checkpointsErased,
      created: r.checkpointsCreated,
      forcedFull: r.forcedFull,
    },
    chunkReuseTokens: r.chunkReuseTokens,
    ramRestore: r.ramRestore,
    divergence: r.divergence,
    promptEvalMs: r.promptEvalMs,
    promptTps: r.promptTps,
    notes: x.notes,
    help: x.help,
    message: headline(x),
    hint: x.help.length ? helpText(x.help[0], x) : null,
  };
}

const indent = (s: string, pad: string) => s.replace(/\n/g, `\n${pad}`);

/**
 * The `--json` document in pieces, byte-identical to `JSON.stringify(doc, null, 2)`: `start()`, one
 * `request()` per request, then `end(summary)`.
 */
export class JsonStream {
  private count = 0;
  start(): string {
    return `{\n  "schemaVersion": ${LOGS_SCHEMA_VERSION},\n  "requests": [`;
  }
  request(x: ExplainedRequest): string {
    // stringified two arrays deep, the object's lines already carry the 4 spaces of its place in the document
    // (`[\n  [\n    ` before it, `\n  ]\n]` after): no second pass to indent them
    return `${this.count++ > 0 ? ',' : ''}\n    ${JSON.stringify([[jsonRequest(x)]], null, 2).slice(10, -6)}`;
  }
  end(summary: LogSummary): string {
    return `${this.count > 0 ? '\n  ' : ''}],\n  "summary": ${indent(JSON.stringify(summary, null, 2), '  ')}\n}\n`;
  }
}

export function jsonReport(xs: ExplainedRequest[], summary: LogSummary): string {
  const j = new JsonStream();
  return j.start() + xs.map((x) => j.request(x)).join('') + j.end(summary);
}

// ---- human ----

/** One request, rustc-style: `warning[CODE]: headline`, a `-->` pointer, `= note:` lines, `help:`. */
export function humanRequest(x: ExplainedRequest, c: ChalkInstance): string {
  const r = x.record;
  const level = x.severity === 'warning' ? c.yellow.bold('warning') : x.severity === 'ok' ? c.green.bold('ok') : c.cyan.bold('note');
  const lines: string[] = [`${level}${c.bold(`[${x.verdict}]`)}: ${c.bold(headline(x))}`];
  const where = [
    r.firstLine === r.lastLine ? `line ${r.firstLine}` : `lines ${r.firstLine}-${r.lastLine}`,
    r.instance !== null ? `instance ${r.instance}` : null,
    r.slot !== null ? `slot ${r.slot}` : null,
    r.task !== null ? `task ${r.task}` : null,
    r.format ? `${r.format} format` : null,
  ].filter((s) => s !== null);
  lines.push(`  ${c.blue('-->')} ${where.join(' · ')}`);
  const nums = [
    x.cachedTokens !== null ? `cached ${fmtInt(x.cachedTokens)}` : null,
    x.promptTokens !== null ? `prompt ${fmtInt(x.promptTokens)}` : null,
    x.commonPrefix !== null ? `common prefix ${fmtInt(x.commonPrefix)}` : null,
    x.reused !== null ? `reused ${fmtInt(x.reused)}` : null,
    x.processed !== null ? `processed ${fmtInt(x.processed)}` : null,
  ].filter((s) => s !== null);
  if (nums.length) lines.push(`   ${c.blue('=')} ${c.bold('note')}: ${nums.join(', ')}`);
  for (const note of x.notes) if (!(note.code === 'FALLBACK' && x.verdict === 'CHECKPOINT_FALLBACK')) lines.push(`   ${c.blue('=')} ${c.bold('note')}: ${noteText(note)}`);
  for (const h of x.help) lines.push(`   ${c.blue('=')} ${c.green.bold('help')}: ${helpText(h, x)}`);
  return `${lines.join('\n')}\n`;
}

export function humanSummary(s: LogSummary, c: ChalkInstance): string {
  const parts = [plural(s.requests, 'request'), `${plural(s.reusedTokens, 'token')} reused`, `${fmtInt(s.processedTokens)} processed`];
  let out = `${c.bold('summary')}: ${parts.join(', ')}\n`;
  if (s.lostTokens > 0) {
    const time = s.lostSeconds !== null ? `, about ${fmtDuration(s.lostSeconds)}${s.promptTps ? ` at ${fmtTps(s.promptTps)} t/s` : ''}` : '';
    out += `   ${c.blue('=')} ${c.bold('note')}: ${plural(s.lostTokens, 'cached token')} thrown away because prompts diverged from the cache${time}\n`;
  } else {
    out += `   ${c.blue('=')} ${c.bold('note')}: no cached tokens lost to a prefix break\n`;
  }
  if (s.wastedTokens > 0) out += `   ${c.blue('=')} ${c.bold('note')}: ${plural(s.wastedTokens, 'more token')} re-processed by checkpoint fallbacks, slots taken or identical prompts\n`;
  if (s.skippedLongLines > 0) out += `   ${c.blue('=')} ${c.bold('note')}: ${plural(s.skippedLongLines, 'over-long line')} skipped\n`;
  const counts = Object.entries(s.verdicts).map(([k, v]) => `${k} ${v}`);
  if (counts.length) out += `   ${c.blue('=')} ${c.bold('note')}: verdicts: ${counts.join(', ')}\n`;
  return out;
}

/** When not a single request was recognised: one line, with the wordings expected and how to get them. */
export function humanNothing(s: LogSummary, c: ChalkInstance): string {
  return (
    `${c.yellow.bold('warning')}: recognised no llama-server cache lines in ${fmtInt(s.lines)} line${s.lines === 1 ? '' : 's'}` +
    ' (expected `slot update_slots: id 0 | task 3 | ...`, `prompt eval time = ...`, or a JSON response with `timings`/`usage`;' +
    ' paste the server\'s own stderr, started with -lv 4 or -v)\n'
  );
}

export function humanReport(xs: ExplainedRequest[], summary: LogSummary, c: ChalkInstance): string {
  if (xs.length === 0) return humanNothing(summary, c);
  return `${xs.map((x) => humanRequest(x, c)).join('\n')}\n${humanSummary(summary, c)}`;
}
