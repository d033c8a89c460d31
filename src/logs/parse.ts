/**
 * Incremental llama-server log parser: feed it one line at a time, get back the requests that are
 * finished. Only open requests (one per slot) and a little pending slot-selection state are kept, so a
 * 100 MB log streams with flat memory. Unknown lines are skipped; nothing here throws on input.
 */
import { emptyRecord, jsonLogEvent, looseResponse, responseRecord, scanDepth } from './json.js';
import { recogniseLine } from './lines.js';
import type { LogEvent, RequestRecord } from './types.js';

/** A pasted multi-line JSON value larger than this is dropped rather than buffered. */
export const MAX_JSON_CHARS = 8 * 1024 * 1024;

/** Slots-debug text (`old: ...`) may continue on following lines (pieces hold newlines): at most this many. */
const MAX_DIVERGENCE_LINES = 64;
const MAX_DIVERGENCE_CHARS = 16 * 1024;
// a line that starts like a log entry of its own ends a slots-debug continuation
const RE_LOG_START = /^(?:\[\s*\d{2,5}\] )?(?:\d+\.\d{2}\.\d{3}\.\d{3} [A-Z] |slot |srv |main: |llama|common_|ggml|INFO|WARN|ERR|\{|data: )/;
const RE_ROUTER_PREFIX = /^\[\s*(\d{2,5})\] /;

/** A record with nothing the explainer could use (a `processing task` line alone, a timing header). */
function empty(r: RequestRecord): boolean {
  return (
    r.promptTokens === null &&
    r.nPastUsed === null &&
    r.nPastBefore === null &&
    r.processed === null &&
    r.selectionLcp === null &&
    r.selection === null &&
    r.slotTokensAfter === null &&
    r.firstBatchStart === null &&
    !r.forcedFull &&
    !r.mustEvalOne &&
    r.restoredCheckpoint === null &&
    r.checkpointsErased === 0 &&
    r.checkpointsCreated === 0 &&
    r.chunkReuseTokens === 0 &&
    r.truncatedKeep === null &&
    r.ramRestore === null &&
    r.divergence === null &&
    r.promptEvalMs === null
  );
}

const NONE: readonly RequestRecord[] = Object.freeze([]);

interface PendingSelection {
  /** Line number of the first selection line, where the request's story starts. */
  line: number;
  lcp: number | null;
  /** The new prompt's size, from `checking sim = 0.956 (410/429)`. */
  prompt: number | null;
  method: 'lcp' | 'lru' | null;
  sim: number | null;
  keep: number | null;
  tLast: number | null;
  empty: boolean;
}

interface JsonBuffer {
  parts: string[];
  chars: number;
  firstLine: number;
  state: { depth: number; inString: boolean; escape: boolean };
}

export interface ParseStats {
  lines: number;
  /** Lines that were recognised as llama-server cache/timing lines or responses. */
  recognised: number;
  /** Lines longer than MAX_JSON_CHARS, skipped unread. */
  skippedLong: number;
}

function keyOf(instance: string | null, slot: number | null): string {
  return `${instance ?? ''}#${slot ?? '?'}`;
}

export class LogParser {
  private lineNo = 0;
  private recognised = 0;
  private skipped = 0;
  private readonly open = new Map<string, RequestRecord>();
  /** Tokens left in each slot by its last finished request. */
  private readonly slotSize = new Map<string, number>();
  private readonly pending = new Map<string, PendingSelection>();
  private readonly pendingRam = new Map<string, { fKeep: number; fSim: number }>();
  /** The request a `slot print_timing: id N | task M |` header opened a timing block for. */
  private timingTarget: RequestRecord | null = null;
  /** A slots-debug text that may continue on the next lines. */
  private cont: { r: RequestRecord; side: 'old' | 'new'; instance: string | null; lines: number } | null = null;
  private lastTouched: RequestRecord | null = null;
  /** The last closed request, kept one step so that a headless `prompt eval time` line can still join it. */
  private held: RequestRecord | null = null;
  private json: JsonBuffer | null = null;
  private out: RequestRecord[] = [];

  get stats(): ParseStats {
    return { lines: this.lineNo, recognised: this.recognised, skippedLong: this.skipped };
  }

  /** A line too long to read was skipped by the caller: count it (it also ends a pasted JSON value). */
  skipLong(): readonly RequestRecord[] {
    this.lineNo++;
    this.skipped++;
    this.json = null;
    return this.drain();
  }

  /** Feed one line (without its newline). Returns the requests this line finished (usually none). */
  push(line: string): readonly RequestRecord[] {
    if (line.length > MAX_JSON_CHARS) return this.skipLong();
    this.lineNo++;
    if (line.endsWith('\r')) line = line.slice(0, -1);
    if (this.cont && this.continueDivergence(line)) return this.drain();
    this.cont = null;
    if (this.json) this.continueJson(line);
    else {
      const e = recogniseLine(line);
      if (e) {
        this.recognised++;
        this.apply(e);
      } else if (line.includes('{')) this.startJson(line);
    }
    return this.drain();
  }

  /** End of input: everything still open is finished. */
  end(): readonly RequestRecord[] {
    if (this.json) {
      this.json = null; // an unbalanced paste: ignore it
    }
    const rest = [...this.open.values()].sort((a, b) => a.firstLine - b.firstLine);
    this.open.clear();
    for (const r of rest) this.close(r);
    if (this.held) this.out.push(this.held);
    this.held = null;
    return this.drain();
  }

  private drain(): readonly RequestRecord[] {
    if (this.out.length === 0) return NONE;
    const done = this.out;
    this.out = [];
    return done;
  }

  // ---- JSON (2024 json logs, pasted responses) ----

  private startJson(line: string): void {
    const t = line.trimStart();
    let start: string | null = null;
    if (t.startsWith('{') || t.startsWith('[')) start = t;
    else if (t.startsWith('data: {')) start = t.slice(6);
    else {
      const i = line.indexOf('{"');
      if (i >= 0) start = line.slice(i);
    }
    if (start === null) return;
    const state = { depth: 0, inString: false, escape: false };
    if (scanDepth(start, state) <= 0) {
      this.handleJson(start, this.lineNo, line);
      return;
    }
    // only a JSON value that starts its own line may continue on the next lines: a truncated
    // object inside a prefixed log line must not swallow the lines after it
    if (start !== t && !(t.startsWith('data: {') && start === t.slice(6))) return;
    this.json = { parts: [start], chars: start.length, firstLine: this.lineNo, state };
  }

  private continueJson(line: string): void {
    const j = this.json!;
    // a server line in the middle means the `{` was not the start of a pasted response after all
    const e = recogniseLine(line);
    if (e) {
      this.json = null;
      this.recognised++;
      this.apply(e);
      return;
    }
    j.parts.push(line);
    j.chars += line.length + 1;
    if (j.chars > MAX_JSON_CHARS) {
      this.json = null;
      return;
    }
    if (scanDepth(line, j.state) <= 0) {
      this.json = null;
      this.handleJson(j.parts.join('\n'), j.firstLine, j.parts[0]);
    }
  }

  private handleJson(text: string, firstLine: number, rawFirst: string): void {
    let v: unknown;
    try {
      v = JSON.parse(text);
    } catch {
      v = looseResponse(text);
      if (v === null) return;
    }
    const items = Array.isArray(v) ? v : [v];
    const instance = /^\s*\[\s*(\d{2,5})\] /.exec(rawFirst)?.[1] ?? null;
    for (const item of items) {
      if (item === null || typeof item !== 'object' || Array.isArray(item)) continue;
      const o = item as Record<string, unknown>;
      const e = jsonLogEvent(o, instance);
      if (e) {
        this.recognised++;
        this.apply(e);
        continue;
      }
      const r = responseRecord(o, firstLine, this.lineNo);
      if (r) {
        this.recognised++;
        r.instance = instance;
        const k = keyOf(instance, r.slot);
        r.slotTokensBefore = this.slotSize.get(k) ?? null;
        if (r.slotTokensAfter !== null) this.slotSize.set(k, r.slotTokensAfter);
        // streamed chunks of one response (timings_per_token) share its id: the last one counts
        if (r.responseId !== null && this.held && this.held.responseId === r.responseId) {
          r.firstLine = this.held.firstLine;
          r.slotTokensBefore = this.held.slotTokensBefore;
          this.held = r;
        } else this.finish(r);
      }
    }
  }

  // ---- log events ----

  private apply(e: LogEvent): void {
    if (e.slot === null) {
      this.applySlotless(e);
      return;
    }
    const k = keyOf(e.instance, e.slot);
    if (e.kind === 'sim' || e.kind === 'selected' || e.kind === 'slotEmpty') {
      this.select(k, e);
      return;
    }
    let r = this.open.get(k);
    if (r && (e.kind === 'launch' || e.kind === 'ollamaSlot' || (e.task !== null && r.task !== null && e.task !== r.task))) {
      this.open.delete(k);
      this.close(r);
      r = undefined;
    }
    if (!r && e.kind !== 'launch' && e.task !== null && this.held && this.held.task === e.task && keyOf(this.held.instance, this.held.slot) === k) {
      // lines printed after the release (a `print_timing` block) still belong to the request just closed
      this.held.lastLine = this.lineNo;
      if (e.kind === 'timingHeader') this.timingTarget = this.held;
      else if (e.kind !== 'release') this.update(this.held, e);
      return;
    }
    if (!r) {
      if (e.kind === 'release' && e.slotTokens !== undefined) {
        // a release without any line of its request: only remember the slot's size
        this.slotSize.set(k, e.slotTokens);
        return;
      }
      r = this.create(k, e);
    }
    if (r.task === null && e.task !== null) r.task = e.task;
    r.lastLine = this.lineNo;
    this.lastTouched = r;
    this.update(r, e);
    if (e.kind === 'timingHeader') this.timingTarget = r;
    if (e.kind === 'divergence' && e.side) this.cont = { r, side: e.side, instance: e.instance, lines: 0 };
    if (e.kind === 'release') {
      if (e.slotTokens !== undefined) {
        r.slotTokensAfter = e.slotTokens;
        this.slotSize.set(k, e.slotTokens);
      }
      this.open.delete(k);
      this.close(r);
    }
  }

  private applySlotless(e: LogEvent): void {
    if (e.kind === 'ramRestore') {
      const ram = { fKeep: e.keep ?? 0, fSim: e.sim ?? 0 };
      const r = this.lastTouched;
      if (r && this.open.get(keyOf(r.instance, r.slot)) === r && r.nPastUsed === null) r.ramRestore = ram;
      else this.pendingRam.set(e.instance ?? '', ram);
      return;
    }
    if (e.kind === 'lmsSummary' || e.kind === 'lmsTotal' || e.kind === 'lmsDecode') {
      // LM Studio: the summary line starts a request, the two lines after it complete it
      const k = `${e.instance ?? ''}#lmstudio`;
      let r = this.open.get(k);
      if (r && e.kind === 'lmsSummary') {
        this.open.delete(k);
        this.close(r);
        r = undefined;
      }
      if (!r) {
        r = emptyRecord(this.lineNo);
        r.instance = e.instance;
        this.open.set(k, r);
      }
      r.lastLine = this.lineNo;
      this.lastTouched = r;
      this.update(r, e);
      return;
    }
    if (e.kind === 'divergence') {
      // slots-debug text without a slot prefix: the request being processed, else one of its own
      let r = this.lastTouched && this.lastTouched.instance === e.instance ? this.lastTouched : undefined;
      if (!r || this.open.get(keyOf(r.instance, r.slot)) !== r) {
        const k = keyOf(e.instance, null);
        r = this.open.get(k) ?? this.create(k, e);
      }
      r.lastLine = this.lineNo;
      this.update(r, e);
      if (e.side) this.cont = { r, side: e.side, instance: e.instance, lines: 0 };
      return;
    }
    if (e.kind === 'nPastBefore') {
      // ik_llama.cpp's slotless `Cache:` line belongs to the request that just started
      const r = this.lastTouched;
      if (r && this.open.get(keyOf(r.instance, r.slot)) === r) {
        r.lastLine = this.lineNo;
        this.update(r, e);
      }
      return;
    }
    if (e.kind !== 'promptEval') return;
    // a timing line without slot: the block opened by `slot print_timing: ... |`, else the request just seen
    let target: RequestRecord | undefined;
    const t = this.timingTarget;
    this.timingTarget = null;
    if (t && (this.held === t || this.open.get(keyOf(t.instance, t.slot)) === t)) target = t;
    if (!target && this.lastTouched && this.lastTouched.promptEvalMs === null && this.open.get(keyOf(this.lastTouched.instance, this.lastTouched.slot)) === this.lastTouched) {
      target = this.lastTouched;
    }
    if (!target && this.held && this.held.promptEvalMs === null) target = this.held;
    if (target) {
      target.lastLine = this.lineNo;
      this.update(target, e);
      return;
    }
    const r = emptyRecord(this.lineNo);
    r.instance = e.instance;
    this.update(r, e);
    this.finish(r);
  }

  private select(k: string, e: LogEvent): void {
    const p = this.pending.get(k) ?? { line: this.lineNo, lcp: null, prompt: null, method: null, sim: null, keep: null, tLast: null, empty: false };
    if (e.kind === 'slotEmpty') {
      p.empty = true;
    } else if (e.kind === 'sim') {
      p.lcp = e.lcp ?? null;
      p.prompt = e.promptTokens ?? null;
    } else {
      p.method = e.method ?? null;
      p.sim = e.sim ?? p.sim;
      p.keep = e.keep ?? null;
      p.tLast = e.tLast ?? null;
      if (e.lcp !== undefined) p.lcp = e.lcp;
      // the other candidates' `checking sim` lines belonged to this same selection
      const inst = `${e.instance ?? ''}#`;
      for (const other of this.pending.keys()) if (other !== k && other.startsWith(inst)) this.pending.delete(other);
      if (p.method === 'lru') p.lcp = null;
    }
    this.pending.set(k, p);
  }

  private create(k: string, e: LogEvent): RequestRecord {
    const r = emptyRecord(this.lineNo);
    r.instance = e.instance;
    r.slot = e.slot;
    r.task = e.task;
    r.slotTokensBefore = this.slotSize.get(k) ?? null;
    const p = this.pending.get(k);
    if (p) {
      this.pending.delete(k);
      r.firstLine = p.line;
      r.selection = p.method;
      r.selectionLcp = p.lcp;
      r.promptTokens = p.prompt;
      r.selectionSim = p.sim;
      r.selectionKeep = p.keep;
      r.selectionTLast = p.tLast;
      if (p.empty) r.slotTokensBefore = 0;
    }
    const ram = this.pendingRam.get(e.instance ?? '');
    if (ram) {
      this.pendingRam.delete(e.instance ?? '');
      r.ramRestore = ram;
    }
    this.open.set(k, r);
    return r;
  }

  private update(r: RequestRecord, e: LogEvent): void {
    switch (e.kind) {
      case 'newPrompt':
        if (e.promptTokens !== undefined) r.promptTokens = e.promptTokens;
        break;
      case 'progress':
        if (r.promptTokens === null && e.promptTokens !== undefined) r.promptTokens = e.promptTokens;
        break;
      case 'seqRm':
        if (r.nPastUsed === null && e.nPast !== undefined) {
          r.nPastUsed = e.nPast;
          r.format = e.format;
        }
        break;
      case 'nPastBefore':
        if (r.nPastBefore === null && e.nPast !== undefined) r.nPastBefore = e.nPast;
        if (e.slotTokens !== undefined) r.slotTokensBefore = e.slotTokens;
        if (r.processed === null && e.processed !== undefined) r.processed = e.processed;
        if (r.promptTokens === null && e.promptTokens !== undefined) r.promptTokens = e.promptTokens;
        if (r.format === null) r.format = e.format;
        break;
      case 'mustEvalOne':
        // 2023 logged `kv cache rm - [N, end)` before decrementing n_past for a fully cached prompt
        if (e.format === 'llama-2023' && !r.mustEvalOne && r.nPastUsed !== null && r.nPastUsed > 0) {
          r.nPastBefore ??= r.nPastUsed;
          r.nPastUsed--;
          if (r.processed !== null && r.promptEvalMs === null) r.processed++;
        }
        r.mustEvalOne = true;
        if (e.nPast !== undefined) r.nPastBefore = e.nPast;
        if (r.promptTokens === null && e.promptTokens !== undefined) r.promptTokens = e.promptTokens;
        break;
      case 'nPastSet':
        if (r.nPastUsed === null && e.nPast !== undefined) r.nPastUsed = e.nPast;
        break;
      case 'ckptRestored':
        r.restoredCheckpoint = e.ckpt ?? null;
        break;
      case 'forcedFull':
        r.forcedFull = true;
        break;
      case 'ckptErased':
        r.checkpointsErased++;
        break;
      case 'ollamaSlot':
        r.slotTokensBefore = e.slotTokens ?? null;
        r.promptTokens = e.promptTokens ?? null;
        r.nPastUsed = e.nPast ?? null;
        r.processed = e.processed ?? null;
        break;
      case 'lmsSummary':
        r.promptTokens = e.promptTokens ?? null;
        r.nPastBefore = e.lcp ?? null;
        r.chunkReuseTokens = e.size ?? 0;
        break;
      case 'lmsTotal':
        r.promptTokens = e.promptTokens ?? r.promptTokens;
        break;
      case 'lmsDecode':
        r.processed = e.processed ?? null;
        break;
      case 'rate':
        // the prompt rate so far; the final `prompt eval time` line replaces it
        if (r.promptEvalMs === null && e.tps !== undefined && e.tps > 0) r.promptTps = e.tps;
        break;
      case 'truncated':
        if (e.promptTokens !== undefined) r.promptTokens = e.promptTokens;
        r.truncatedKeep = e.keep ?? 0;
        break;
      case 'batch':
        if (r.firstBatchStart === null && e.nPast !== undefined && e.size !== undefined) {
          const start = e.nPast - e.size;
          r.firstBatchStart = start >= 0 ? start : null;
          // progress = processed / prompt; exact enough to give the prompt size when the rounding error of
          // the printed fraction (6 decimals) cannot move it by half a token
          const p = e.progress;
          if (start === 0 && p !== undefined && p > 0 && p <= 1 && (e.nPast * 5e-7) / (p * p) < 0.5) r.progressPrompt = Math.round(e.nPast / p);
        }
        break;
      case 'divergence':
        if (e.side && e.text !== undefined) {
          r.divergence ??= { old: '', new: '' };
          if (r.divergence[e.side] === '') r.divergence[e.side] = e.text;
        }
        break;
      case 'ckptCreated':
        r.checkpointsCreated++;
        break;
      case 'chunkReuse':
        r.chunkReuseTokens += e.size ?? 0;
        break;
      case 'ramRestore':
        r.ramRestore = { fKeep: e.keep ?? 0, fSim: e.sim ?? 0 };
        break;
      case 'promptEval':
        if (e.processed !== undefined) r.processed = e.processed;
        r.promptEvalMs = e.ms ?? null;
        r.promptTps = e.tps !== undefined && e.tps > 0 ? e.tps : null;
        if (r.format === null) r.format = 'timing-only';
        break;
      default:
        break;
    }
    if (e.nSwa !== undefined && r.nSwa === null) r.nSwa = e.nSwa;
    if (r.format === null && e.format !== null && e.kind !== 'launch' && e.kind !== 'release') r.format = e.format;
  }

  private close(r: RequestRecord): void {
    if (this.lastTouched === r) this.lastTouched = null;
    if (empty(r)) return;
    this.finish(r);
  }

  /** Appends a line to the slots-debug text being read; false when the line is not part of it. */
  private continueDivergence(line: string): boolean {
    const c = this.cont!;
    let text = line;
    const m = RE_ROUTER_PREFIX.exec(line);
    if (m) {
      if (m[1] !== c.instance) return false;
      text = line.slice(m[0].length);
    } else if (c.instance !== null) return false;
    if (RE_LOG_START.test(text) || recogniseLine(line) !== null) return false;
    const d = c.r.divergence!;
    if (++c.lines > MAX_DIVERGENCE_LINES || d[c.side].length + text.length > MAX_DIVERGENCE_CHARS) return false;
    d[c.side] += `\n${text}`;
    c.r.lastLine = this.lineNo;
    this.recognised++;
    return true;
  }

  private finish(r: RequestRecord): void {
    if (this.held) this.out.push(this.held);
    this.held = r;
  }
}

/** Parse a whole text (tests, small pastes). Streaming callers use `LogParser` directly. */
export function parseLog(text: string): { requests: RequestRecord[]; stats: ParseStats } {
  const p = new LogParser();
  const requests: RequestRecord[] = [];
  for (const line of text.split('\n')) requests.push(...p.push(line));
  requests.push(...p.end());
  return { requests, stats: p.stats };
}
