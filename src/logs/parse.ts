/**
 * Incremental llama-server log parser: feed it one line at a time, get back the requests that are
 * finished. Only open requests (one per slot) and a little pending slot-selection state are kept, so a
 * 100 MB log streams with flat memory. Unknown lines are skipped; nothing here throws on input.
 */
import { emptyRecord, jsonLogEvent, looseResponse, responseRecord, scanDepth } from './json.js';
import { recogniseLine } from './lines.js';
import type { LogEvent, RequestRecord, SlotSelection } from './types.js';

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
    r.promptEvalMs === null &&
    // `prompt processing, n_tokens = N, progress = F, t = … / R tokens per second` (2026): a prompt was being processed
    r.promptTps === null &&
    r.contextShifts === 0 &&
    r.kcppShift === null &&
    // per-batch `memory_seq_rm` / progress lines of a request already under way: it was processing a prompt
    r.format === null
  );
}

const NONE: readonly RequestRecord[] = Object.freeze([]);

/** `jq '.timings, .usage'` prints the two objects one after the other; a shell prompt line may sit between. */
const BARE_SIBLING_LINES = 3;

/**
 * A response's `timings` (cache_n, prompt_n) or `usage` (prompt_tokens with its details) object pasted on its
 * own, as `jq .timings` prints it: which of the two, or null.
 */
function bareResponsePart(o: Record<string, unknown>): 'timings' | 'usage' | null {
  if ('timings' in o || 'usage' in o || 'choices' in o) return null;
  if (typeof o.prompt_n === 'number' && (typeof o.cache_n === 'number' || typeof o.prompt_ms === 'number')) return 'timings';
  if (typeof o.prompt_tokens === 'number' && (typeof o.prompt_tokens_details === 'object' || typeof o.completion_tokens === 'number')) return 'usage';
  return null;
}

/** A headless timing block and the release line that names its task are this close (2024's `print_timings` block is 3 lines). */
const ADOPT_WITHIN_LINES = 4;
/** Rate lines kept per request to check a reading of what was kept against (the first ones discriminate most). */
const MAX_RATE_SAMPLES = 4;
/** `saving prompt with length N` follows the selection (or idle-save) line within `updating prompt cache`. */
const SAVE_WITHIN_LINES = 3;
/** A current timing block (prompt, eval, total, graphs reused, draft acceptance, statistics) before a stripped release line. */
const BARE_RELEASE_WITHIN_LINES = 8;

interface PendingSelection {
  /** Line number of the first selection line, where the request's story starts. */
  line: number;
  lcp: number | null;
  /** The new prompt's size, from `checking sim = 0.956 (410/429)`. */
  prompt: number | null;
  method: SlotSelection | null;
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

/** Events that only occur once a request is under way: a record opened by one of them started before the excerpt. */
const MIDWAY_KINDS: ReadonlySet<LogEvent['kind']> = new Set(['seqRm', 'batch', 'progress', 'ckptCreated', 'promptEval', 'rate', 'timingHeader', 'release']);

/**
 * Wordings printed once per prompt batch (Sep 2024 on): the first one after the request's start is the n_past the
 * server chose, a later one only says how far processing got. 2023/2024 logged `kv cache rm` once per request.
 */
function perBatch(e: LogEvent): boolean {
  return e.format === 'current' || e.format === 'oct-2025' || e.format === 'may-2025';
}

/** The keys of slots 0-63 without a router instance, built once: most lines name one of them. */
const PLAIN_KEYS: readonly string[] = Array.from({ length: 64 }, (_, i) => `#${i}`);

function keyOf(instance: string | null, slot: number | null): string {
  if (instance === null && slot !== null && slot >= 0 && slot < 64 && Number.isInteger(slot)) return PLAIN_KEYS[slot];
  return `${instance ?? ''}#${slot ?? '?'}`;
}

export class LogParser {
  private lineNo = 0;
  private recognised = 0;
  private skipped = 0;
  private readonly open = new Map<string, RequestRecord>();
  /** Tokens left in each slot by its last finished request. */
  private readonly slotSize = new Map<string, number>();
  /** Slots emptied by `clearing prompt with N tokens` since their last request, with N. */
  private readonly cleared = new Map<string, number>();
  private readonly pending = new Map<string, PendingSelection>();
  private readonly pendingRam = new Map<string, { fKeep: number; fSim: number }>();
  /**
   * The slot whose prompt the next ` - saving prompt with length N` line saves: the one just selected (its old prompt
   * goes to the RAM cache before the new request may load a better one) or the idle slot being saved.
   */
  private saver: { key: string; line: number } | null = null;
  /** ik_llama.cpp's slotless `Cache: cache_size = N, n_past = M` line, printed before its request's first slot line. */
  private pendingIkCache: LogEvent | null = null;
  /** The request a `slot print_timing: id N | task M |` header opened a timing block for. */
  private timingTarget: RequestRecord | null = null;
  /** A slots-debug text that may continue on the next lines. */
  private cont: { r: RequestRecord; side: 'old' | 'new'; instance: string | null; lines: number } | null = null;
  private lastTouched: RequestRecord | null = null;
  /** The last closed request, kept one step so that a headless `prompt eval time` line can still join it. */
  private held: RequestRecord | null = null;
  /** The held request was already returned by `idle()`: late lines still join it, it is not returned again. */
  private heldOut = false;
  private json: JsonBuffer | null = null;
  /** The held response was read from a bare `timings`/`usage` object: its sibling object may follow. */
  private bareHeld: RequestRecord | null = null;
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

  /**
   * The input paused (a followed log): the request held for late lines is returned now rather than when the next
   * one finishes. Lines that still belong to it join it quietly (they are not in what was returned).
   */
  idle(): readonly RequestRecord[] {
    if (this.held && !this.heldOut) {
      this.out.push(this.held);
      this.heldOut = true;
    }
    return this.drain();
  }

  /** End of input: everything still open is finished. */
  end(): readonly RequestRecord[] {
    if (this.json) {
      this.json = null; // an unbalanced paste: ignore it
    }
    this.unclaimedSelections();
    const rest = [...this.open.values()].sort((a, b) => a.firstLine - b.firstLine);
    this.open.clear();
    for (const r of rest) this.close(r);
    if (this.held && !this.heldOut) this.out.push(this.held);
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
      let o = item as Record<string, unknown>;
      const e = jsonLogEvent(o, instance);
      if (e) {
        this.recognised++;
        this.apply(e);
        continue;
      }
      // `jq .timings, .usage`: a response's objects printed on their own
      const bare = bareResponsePart(o);
      if (bare) o = { [bare]: o };
      const r = responseRecord(o, firstLine, this.lineNo);
      if (r && bare && this.mergeBare(r)) {
        this.recognised++;
        continue;
      }
      if (r && bare) this.bareHeld = r;
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
    if (e.kind === 'slotCleared') {
      // prompt_clear(): the slot's tokens are gone (idle slots are saved to the RAM cache and cleared when
      // another task starts); the next request on it finds it empty unless the RAM cache refills it
      const open = this.open.get(k);
      if (!open || open.task === null || open.task !== e.task) {
        this.slotSize.set(k, 0);
        if (e.slotTokens !== undefined && Number.isSafeInteger(e.slotTokens) && e.slotTokens > 0) this.cleared.set(k, e.slotTokens);
      }
      return;
    }
    if (e.kind === 'sim' || e.kind === 'selected' || e.kind === 'slotEmpty') {
      this.select(k, e);
      if (e.kind === 'selected') this.saver = { key: k, line: this.lineNo };
      return;
    }
    if (e.kind === 'idleSave') {
      this.saver = { key: k, line: this.lineNo };
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
    if (!r && e.kind === 'release' && this.adoptHeadless(e, k)) return;
    if (!r) {
      if (e.kind === 'release' && e.slotTokens !== undefined && e.task === null) {
        // a 2023 release without any line of its request: only remember the slot's size
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
    if (e.kind === 'promptSave') {
      // get_available_slot(): selected → `updating prompt cache` → prompt_save() of that slot (nothing is printed
      // for an empty slot); process_single_task: `saving idle slot to prompt cache` → prompt_save() → prompt_clear()
      const s = this.saver;
      this.saver = null;
      if (s && this.lineNo - s.line <= SAVE_WITHIN_LINES && e.slotTokens !== undefined && !this.open.has(s.key)) this.slotSize.set(s.key, e.slotTokens);
      return;
    }
    if (e.kind === 'ramRestore') {
      const ram = { fKeep: e.keep ?? 0, fSim: e.sim ?? 0 };
      const r = this.lastTouched;
      if (r && this.open.get(keyOf(r.instance, r.slot)) === r && r.nPastUsed === null) r.ramRestore = ram;
      else this.pendingRam.set(e.instance ?? '', ram);
      return;
    }
    if (e.kind === 'kcppDebug' || e.kind === 'kcppPrompt' || e.kind === 'kcppGen' || e.kind === 'kcppCtx' || e.kind === 'kcppShift') {
      this.koboldcpp(e);
      return;
    }
    if (e.kind === 'boxReconcile') {
      // llama-box prints one line when a request ends, with everything it says about the request
      const r = emptyRecord(this.lineNo);
      r.instance = e.instance;
      this.update(r, e);
      this.finish(r);
      return;
    }
    if (e.kind === 'lmsSummary' || e.kind === 'lmsTotal' || e.kind === 'lmsDecode') {
      // LM Studio: the summary line starts a request, the two lines after it complete it
      const k = `${e.instance ?? ''}#lmstudio`;
      const r = this.engineRecord(k, e, e.kind === 'lmsSummary', () => {});
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
      // ik_llama.cpp's slotless `Cache:` line belongs to the request that just started, or to the next one
      const r = this.lastTouched;
      if (r && this.open.get(keyOf(r.instance, r.slot)) === r && r.nPastBefore === null) {
        r.lastLine = this.lineNo;
        this.update(r, e);
      } else this.pendingIkCache = e;
      return;
    }
    if (e.kind === 'ctxShift' || e.kind === 'truncated') {
      // a context shift or truncation without a slot (Ollama 2024): the request being processed
      const r = this.lastTouched;
      if (r && this.open.get(keyOf(r.instance, r.slot)) === r) {
        r.lastLine = this.lineNo;
        this.update(r, e);
      }
      return;
    }
    if (e.kind === 'release') {
      // a release line stripped of its slot prefix: what the headless timing block just read left in the slot
      const h = this.held;
      if (h && h.slot === null && h.format === 'timing-only' && h.slotTokensAfter === null && this.lineNo - h.lastLine <= BARE_RELEASE_WITHIN_LINES && e.slotTokens !== undefined) {
        h.slotTokensAfter = e.slotTokens;
        h.lastLine = this.lineNo;
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

  /**
   * The open request of an engine with one context (LM Studio, KoboldCpp) under key `k`: closed first when `next`
   * (the line starts the next request), created with `init` when there is none; marked as touched on this line.
   */
  private engineRecord(k: string, e: LogEvent, next: boolean, init: (r: RequestRecord) => void): RequestRecord {
    let r = this.open.get(k);
    if (r && next) {
      this.open.delete(k);
      this.close(r);
      r = undefined;
    }
    if (!r) {
      r = emptyRecord(this.lineNo);
      r.instance = e.instance;
      init(r);
      this.open.set(k, r);
    }
    r.lastLine = this.lineNo;
    this.lastTouched = r;
    return r;
  }

  /**
   * KoboldCpp has one context: a request runs from its first `[Debug: ...]`/`Processing Prompt` line to its
   * `CtxLimit` summary, which says what the context holds afterwards (the next request's cached tokens).
   */
  private koboldcpp(e: LogEvent): void {
    const k = `${e.instance ?? ''}#koboldcpp`;
    let r = this.open.get(k);
    // a new debug line, or progress starting again after the generation began, is the next request
    const otherTotal = e.kind === 'kcppPrompt' && r !== undefined && r.processed !== null && e.processed !== r.processed;
    // a context shift is printed while the next prompt is prepared: after a prompt was processed it starts another
    const shiftAfter = e.kind === 'kcppShift' && r !== undefined && (r.processed !== null || r.generated !== null);
    const next = e.kind === 'kcppDebug' || otherTotal || shiftAfter || (e.kind === 'kcppPrompt' && r?.generated != null);
    r = this.engineRecord(k, e, next, (fresh) => {
      fresh.format = 'koboldcpp';
      fresh.slotTokensBefore = this.slotSize.get(k) ?? null;
      fresh.startSeen = e.kind === 'kcppDebug' || (e.kind === 'kcppPrompt' && (e.progress ?? 1) < 1);
    });
    switch (e.kind) {
      case 'kcppDebug':
        r.promptTokens = e.promptTokens ?? null;
        r.nPastUsed = e.nPast ?? null;
        break;
      case 'kcppPrompt':
        r.processed = e.processed ?? r.processed;
        break;
      case 'kcppGen':
        r.generated = e.size ?? r.generated;
        break;
      case 'kcppShift': {
        const s = r.kcppShift;
        r.kcppShift = { erased: (s?.erased ?? 0) + (e.size ?? 0), at: s?.at ?? e.keep ?? 0, shifts: (s?.shifts ?? 0) + 1 };
        break;
      }
      case 'kcppCtx': {
        if (e.size !== undefined) r.generated = e.size;
        if (r.processed === null && e.processed !== undefined) r.processed = e.processed;
        if (e.ms !== undefined) r.promptEvalMs = e.ms;
        if (e.tps !== undefined && e.tps > 0) r.promptTps = e.tps;
        const ctx = e.slotTokens!;
        if (r.promptTokens === null && r.generated !== null && ctx >= r.generated) r.promptTokens = ctx - r.generated;
        r.slotTokensAfter = ctx;
        this.slotSize.set(k, ctx);
        this.open.delete(k);
        this.close(r);
        break;
      }
      default:
        break;
    }
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

  /**
   * Slot selections the paste ends after (the request's task lines are cut off): still a request on that slot when
   * the log says what the slot held (its last release, the saved prompt's length, or LRU's t_last = -1).
   */
  private unclaimedSelections(): void {
    for (const [k, p] of [...this.pending.entries()].sort((a, b) => a[1].line - b[1].line)) {
      if (p.method === null) continue;
      const size = this.slotSize.get(k) ?? (p.empty || (p.method === 'lru' && p.tLast === -1) ? 0 : undefined);
      if (size === undefined || this.open.has(k)) continue;
      const hash = k.lastIndexOf('#');
      const slot = Number(k.slice(hash + 1));
      if (!Number.isSafeInteger(slot)) continue;
      const instance = hash > 0 ? k.slice(0, hash) : null;
      const r = this.create(k, { kind: 'selected', format: null, instance, slot, task: null });
      r.slotTokensBefore ??= size;
      r.startSeen = true;
    }
    this.pending.clear();
  }

  private create(k: string, e: LogEvent): RequestRecord {
    const r = emptyRecord(this.lineNo);
    r.instance = e.instance;
    r.slot = e.slot;
    r.task = e.task;
    r.slotTokensBefore = this.slotSize.get(k) ?? null;
    r.clearedTokens = this.cleared.get(k) ?? null;
    this.cleared.delete(k);
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
    r.startSeen = p !== undefined || !MIDWAY_KINDS.has(e.kind);
    if (this.pendingIkCache) {
      this.update(r, this.pendingIkCache);
      this.pendingIkCache = null;
      r.startSeen = true;
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
          r.format = e.format;
          // a request already under way when the excerpt starts: this is batch progress, not its n_past
          if (r.startSeen || !perBatch(e)) r.nPastUsed = e.nPast;
        }
        break;
      case 'ckptCheck':
        if (e.ckpt) {
          // the newest checkpoint is checked first; one that covers a single position past 0 is a recurrent
          // state (hybrid/recurrent memory, n_swa = 0), so T is n_past itself. An SWA checkpoint spans a
          // window ([150, 405]); the first token's [0, 0] says nothing
          const first = r.slotAtLeast === null;
          r.slotAtLeast = Math.max(r.slotAtLeast ?? 0, e.ckpt.posMax + 1);
          // T = max(0, pos_next - n_swa - (has_new_tokens ? 0 : 1)) since mid-2026 (PR 24110): one below n_past - n_swa
          // means the prompt had no token past n_past, so it is n_past long (text prompts: pos_next = n_past)
          if (first && r.promptTokens === null && r.nPastBefore !== null && r.nSwa !== null && e.nPast !== undefined && e.nPast > 0 && e.nPast === r.nPastBefore - r.nSwa - 1) {
            r.promptTokens = r.nPastBefore;
          }
          if (first && e.ckpt.posMin === e.ckpt.posMax && e.ckpt.posMin > 0 && (r.nSwa === null || r.nSwa <= 1)) {
            if (r.nPastBefore === null && e.nPast !== undefined) r.nPastBefore = e.nPast;
            r.nSwa ??= 0;
          }
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
        if (r.erasedPosNext === null && e.nPast !== undefined) r.erasedPosNext = e.nPast;
        if (e.ckpt && e.ckpt.posMax > 0) r.slotAtLeast = Math.max(r.slotAtLeast ?? 0, e.ckpt.posMax + 1);
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
      case 'boxReconcile':
        r.promptTokens = e.promptTokens ?? null;
        r.nPastUsed = e.nPast ?? null;
        r.processed = e.processed ?? null;
        r.promptEvalMs = e.ms ?? null;
        r.promptTps = e.tps !== undefined && e.tps > 0 ? e.tps : null;
        break;
      case 'rate':
        // the prompt rate so far; the final `prompt eval time` line replaces it
        if (r.promptEvalMs === null && e.tps !== undefined && e.tps > 0) r.promptTps = e.tps;
        if (r.rateSamples.length < MAX_RATE_SAMPLES && e.processed !== undefined && e.progress !== undefined) r.rateSamples.push({ processed: e.processed, progress: e.progress });
        break;
      case 'truncated':
        if (e.promptTokens !== undefined) r.promptTokens = e.promptTokens;
        r.truncatedKeep = e.keep ?? 0;
        break;
      case 'batch':
        if (r.firstBatchStart === null && e.nPast !== undefined && e.size !== undefined && (r.startSeen || e.nPast === e.size)) {
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
      case 'ctxShift':
        r.contextShifts++;
        r.contextDiscarded += e.size ?? 0;
        if (e.keep !== undefined) r.contextKeep = e.keep;
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

  /** The other half (`usage` after `timings`, or the reverse) of the bare response just held: fill in what it lacks. */
  private mergeBare(r: RequestRecord): boolean {
    const h = this.held;
    if (!h || h !== this.bareHeld || r.firstLine - h.lastLine > BARE_SIBLING_LINES) return false;
    if (h.promptTokens !== null && r.promptTokens !== null && h.promptTokens !== r.promptTokens) return false;
    h.promptTokens ??= r.promptTokens;
    h.nPastUsed ??= r.nPastUsed;
    h.processed ??= r.processed;
    h.promptEvalMs ??= r.promptEvalMs;
    h.promptTps ??= r.promptTps;
    h.slotTokensAfter ??= r.slotTokensAfter;
    h.lastLine = r.lastLine;
    this.bareHeld = null;
    return true;
  }

  /**
   * A release line right after a timing block that had no slot prefix (ik_llama.cpp, pastes cut above the
   * `print_timing` header): the block was the released task's.
   */
  private adoptHeadless(e: LogEvent, k: string): boolean {
    const h = this.held;
    if (!h || h.slot !== null || h.task !== null || h.format !== 'timing-only' || this.lineNo - h.lastLine > ADOPT_WITHIN_LINES) return false;
    h.instance = e.instance;
    h.slot = e.slot;
    h.task = e.task;
    h.lastLine = this.lineNo;
    if (e.slotTokens !== undefined) {
      h.slotTokensAfter = e.slotTokens;
      this.slotSize.set(k, e.slotTokens);
    }
    return true;
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
    if (this.held && !this.heldOut) this.out.push(this.held);
    this.held = r;
    this.heldOut = false;
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
