import { analyzeAhead, type DiffReport } from './analyze.js';
import type { Finding, FindingCode } from './attribute/attribute.js';
import { KvdiffError } from './errors.js';
import type { Processed, Processor } from './processor.js';
import type { RequestBody } from './payload/body.js';
import { nodesEqual, type JsonNode } from './payload/json.js';

/** What a project declares about one step (`kvdiff.json` → `steps`). */
export interface StepExpectation {
  /** `break`: this step is known to break the cache (a compaction, a model switch); it fails when it stops breaking. */
  expect?: 'break';
  /** Why (shown beside the step). */
  reason?: string;
  /** Finding codes that may break this step. */
  allow?: string[];
}

/** What a project declares about one session (`kvdiff.json` beside the requests, or under a `kvdiff` config key). */
export interface SessionExpectations {
  /** Finding codes that may break any step. */
  allow?: string[];
  /** Least share of the prompt tokens of requests 2..n the server must reuse (0..1). */
  minReuse?: number;
  /** By step number (`"3"`: the third request against the second) or by the request's file name (`"0003.json"`). */
  steps?: Record<string, StepExpectation>;
}

/**
 * The part of a step's diff report a check keeps (no rendered texts or token ids: a long session holds many). Its
 * findings are plain data without the notes computed on first read (`elsewhere`, an ignored finding's `reason`):
 * `full` (`keepReports`) or `kvdiff A B` on the pair has them.
 */
export type StepReport = Pick<DiffReport, 'backend' | 'comparison' | 'reusesAll' | 'causes' | 'ignored'> & {
  a: { label: string };
  b: { label: string };
};

/** How a step came out: reused all, broke for allowed codes, broke as declared, broke, or declared but did not break. */
export type StepStatus = 'ok' | 'allowed' | 'expected' | 'break' | 'stale';

/** One request against the one before it. */
export interface CheckStep {
  /** 1-based position of B in the session (the first request is step 1, compared against nothing). */
  step: number;
  report: StepReport;
  status: StepStatus;
  /** Passes: reuses all of the previous request, breaks only for allowed codes, or breaks as declared. */
  ok: boolean;
  /** The declaration that applied to this step, and the key it was found under. */
  expectation?: StepExpectation & { key: string };
  /** What the server reported reusing when the session was recorded (`timings.cache_n`), when known. */
  logged?: number;
  /** The whole report, when `CheckOptions.keepReports` asked for it. */
  full?: DiffReport;
}

/** Session-level findings: data, worded by the reporters. */
export type CheckProblem =
  | { code: 'STALE_EXPECTATION'; step: number; key: string; label: string; reason?: string }
  | { code: 'UNKNOWN_STEP'; key: string; steps: number }
  | { code: 'REUSE_BELOW_MINIMUM'; ratio: number; min: number };

export interface CheckResult {
  steps: CheckStep[];
  /** Steps that are not ok. */
  breaks: number;
  /** The first request (step 1): what it costs from a cold cache. */
  first: { label: string; tokens: number; logged?: number };
  /** Tokens of requests 2..n and how many of them the server reuses. */
  reuse: { reused: number; tokens: number; ratio: number };
  problems: CheckProblem[];
  /** Every step ok and no problem. */
  ok: boolean;
}

export interface CheckOptions {
  /** Finding codes that do not fail the check (`--allow`). */
  allow?: Iterable<FindingCode | string>;
  expectations?: SessionExpectations;
  /** Per request, the reuse the server reported when it was recorded (`kvdiff record`'s responses/): shown beside the prediction. */
  logged?: readonly (number | null | undefined)[];
  /** Called after each step (progress for a long session). */
  onStep?(done: number, total: number): void;
  /** Applied to each step's full report before it is judged and summarised (`--redact`: the reporters' redaction). */
  mapReport?(report: DiffReport, a: RequestBody, b: RequestBody): DiffReport;
  /** Keep each step's full report (`full`): rendered prompts and token ids, for a page that shows them (`--format html`). */
  keepReports?: boolean;
}

/**
 * A session's requests read on demand, so a long session holds only the pair being compared (and not every body
 * at once): the labels up front (expectations name steps by file name), each body when its step comes.
 */
export interface SessionRequests {
  readonly labels: readonly string[];
  /** The i-th request (0-based), in the order they were sent; its label is `labels[i]`. */
  read(i: number): RequestBody | Promise<RequestBody>;
}

/**
 * `kvdiff check`: every request of a recorded sequence must reuse all of the one before it; a break whose every
 * breaking cause has an allowed code (one the client cannot fix), or one the project declared, passes.
 * Each request is rendered once (step i's B is step i+1's A, and a what-if variant equal to B is B), tokenized
 * from where it parts from the request before it, and only a summary of each step is kept.
 */
export async function checkSequence(
  processor: Processor,
  requests: readonly RequestBody[] | SessionRequests,
  opts: CheckOptions | Iterable<FindingCode | string> = {},
): Promise<CheckResult> {
  const o: CheckOptions = isIterable(opts) ? { allow: opts } : opts;
  const session: SessionRequests = isSession(requests) ? requests : { labels: requests.map((b) => b.label), read: (i) => requests[i] };
  const n = session.labels.length;
  if (n < 2) throw new KvdiffError(`check needs at least two requests, found ${n}`, 'pass the requests of one session in the order they were sent');
  // bodies in memory are checked for one model before any work; bodies read on demand as each is read
  const models = modelCheck();
  if (!isSession(requests)) for (const b of requests) models(b);
  const exp = o.expectations ?? {};
  const allowed = new Set<string>([...(o.allow ?? []), ...(exp.allow ?? [])]);
  const declared = stepExpectations(exp, session.labels);
  const engine = processOnce(processor);
  const steps: CheckStep[] = [];
  let reused = 0;
  let tokens = 0;
  let firstTokens = 0;
  const read = async (i: number) => {
    const body = await session.read(i);
    models(body);
    return body;
  };
  let a = await read(0);
  for (let i = 1; i < n; i++) {
    const b = await read(i);
    engine.next(a, b);
    const analysed = await analyzeAhead(engine, a, b);
    const r = o.mapReport ? o.mapReport(analysed, a, b) : analysed;
    if (i === 1) firstTokens = r.comparison.tokensA;
    reused += r.comparison.nPast;
    tokens += r.comparison.tokensB;
    const expectation = declared.byStep.get(i + 1);
    const logged = o.logged?.[i];
    steps.push({
      step: i + 1,
      report: summary(r),
      ...judge(r, allowed, expectation),
      ...(expectation ? { expectation } : {}),
      ...(typeof logged === 'number' ? { logged } : {}),
      ...(o.keepReports ? { full: r } : {}),
    });
    o.onStep?.(i, n - 1);
    a = b;
  }
  const problems: CheckProblem[] = declared.unknown.map((key) => ({ code: 'UNKNOWN_STEP' as const, key, steps: n }));
  for (const s of steps) {
    if (s.status === 'stale') problems.push({ code: 'STALE_EXPECTATION', step: s.step, key: s.expectation!.key, label: s.report.b.label, ...(s.expectation!.reason ? { reason: s.expectation!.reason } : {}) });
  }
  const ratio = tokens ? reused / tokens : 1;
  if (exp.minReuse !== undefined && ratio < exp.minReuse) problems.push({ code: 'REUSE_BELOW_MINIMUM', ratio, min: exp.minReuse });
  const breaks = steps.filter((s) => !s.ok).length;
  return { steps, breaks, first: { label: session.labels[0], tokens: firstTokens, ...(typeof o.logged?.[0] === 'number' ? { logged: o.logged[0] } : {}) }, reuse: { reused, tokens, ratio }, problems, ok: breaks === 0 && problems.length === 0 };
}

function judge(r: DiffReport, allowed: Set<string>, e: StepExpectation | undefined): { status: StepStatus; ok: boolean } {
  if (r.reusesAll) return e?.expect === 'break' ? { status: 'stale', ok: false } : { status: 'ok', ok: true };
  if (e?.expect === 'break') return { status: 'expected', ok: true };
  const codes = new Set([...allowed, ...(e?.allow ?? [])]);
  const breaking = r.causes.filter((f) => f.breaks);
  if (breaking.length > 0 && breaking.every((f) => codes.has(f.code))) return { status: 'allowed', ok: true };
  return { status: 'break', ok: false };
}

function summary(r: DiffReport): StepReport {
  return { a: { label: r.a.label }, b: { label: r.b.label }, backend: r.backend, comparison: r.comparison, reusesAll: r.reusesAll, causes: r.causes.map(plain), ignored: r.ignored.map(plain) };
}

/**
 * A finding as data: its own values, without the notes computed on first read (`elsewhere`, an ignored finding's
 * `reason`), which would render again and keep the step's requests alive for as long as the summary lives.
 */
function plain(f: Finding): Finding {
  const out: Record<string, unknown> = {};
  for (const [k, d] of Object.entries(Object.getOwnPropertyDescriptors(f))) if ('value' in d) out[k] = d.value;
  return out as unknown as Finding;
}

/** The declared steps by number; keys that name no request are reported (a typo must not silence nothing). */
function stepExpectations(exp: SessionExpectations, labels: readonly string[]) {
  const byStep = new Map<number, StepExpectation & { key: string }>();
  const unknown: string[] = [];
  for (const [key, e] of Object.entries(exp.steps ?? {})) {
    const n = /^\d+$/.test(key) ? Number(key) : labels.findIndex((l) => baseName(l) === key) + 1;
    if (n >= 2 && n <= labels.length) byStep.set(n, { ...e, key });
    else unknown.push(key);
  }
  return { byStep, unknown };
}

function baseName(label: string): string {
  return label.slice(Math.max(label.lastIndexOf('/'), label.lastIndexOf('\\')) + 1);
}

/** One session talks to one model: a `model` field that changes mid-session is a different server (or a mistake). */
function modelCheck(): (b: RequestBody) => void {
  let first: { model: string; label: string } | undefined;
  return (b) => {
    const model = modelOf(b.root);
    if (model === undefined) return;
    if (!first) first = { model, label: b.label };
    else if (model !== first.model) {
      throw new KvdiffError(`mixed models in one session: ${first.label} asks for ${JSON.stringify(first.model)}, ${b.label} for ${JSON.stringify(model)}`, 'check the requests of each model as their own session');
    }
  };
}

function modelOf(root: JsonNode): string | undefined {
  if (root.type !== 'object') return undefined;
  const e = root.entries.find((x) => x.key === 'model');
  return e?.value.type === 'string' ? e.value.value : undefined;
}

function isIterable(x: unknown): x is Iterable<string> {
  return typeof x === 'object' && x !== null && Symbol.iterator in x;
}

function isSession(x: readonly RequestBody[] | SessionRequests): x is SessionRequests {
  return !Array.isArray(x);
}

/**
 * The processor for one step after another (`next(a, b)` before each): A was B of the step before, so its result
 * is kept; B is tokenized from where its render parts from A's (`processAfter`, the same ids as a whole encode); a
 * what-if variant equal to A or B (on a growth step, A with B's appended messages is B) is not rendered again.
 */
function processOnce(p: Processor): Processor & { next(a: RequestBody, b: RequestBody): void } {
  let known = new Map<RequestBody, Processed>();
  let a: RequestBody | undefined;
  let b: RequestBody | undefined;
  const same = (body: RequestBody): Processed | undefined => {
    const hit = known.get(body);
    if (hit) return hit;
    // compared only against bodies already processed; structural equality stops at the first difference
    for (const [k, r] of known) if (k.api === body.api && nodesEqual(k.root, body.root)) return r;
    return undefined;
  };
  const keep = (body: RequestBody, r: Processed): Processed => {
    if (body === a || body === b) known.set(body, r);
    return r;
  };
  const process = (body: RequestBody, side: string): Processed => {
    const hit = same(body);
    if (hit) return hit;
    // B after A: only what follows A's last special token before the first change is tokenized again
    const base = body === b && a ? known.get(a) : undefined;
    return keep(body, base && p.processAfter ? p.processAfter(body, side, base) : p.process(body, side));
  };
  const processAfter = (body: RequestBody, side: string, base: Processed): Processed => same(body) ?? keep(body, p.processAfter!(body, side, base));
  const next = (nextA: RequestBody, nextB: RequestBody) => {
    const kept = known.get(nextA);
    known = new Map(kept ? [[nextA, kept]] : []);
    a = nextA;
    b = nextB;
  };
  return new Proxy(p, {
    get(target, key) {
      if (key === 'process') return process;
      if (key === 'processAfter') return p.processAfter ? processAfter : undefined;
      if (key === 'next') return next;
      const v = Reflect.get(target, key, target) as unknown;
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  }) as Processor & { next(a: RequestBody, b: RequestBody): void };
}

export type { Finding };

/** One session of a run: its result, or why it could not be checked (bad input stays in its own session). */
export interface SessionOutcome {
  /** How the user named it (folder, file). */
  name: string;
  /** Where its expectations came from, when any applied. */
  expectationsFrom?: string[];
  result?: CheckResult;
  error?: { message: string; hint?: string };
}
