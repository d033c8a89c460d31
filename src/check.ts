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

/** The part of a step's diff report a check keeps (no rendered texts or token ids: a long session holds many). */
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
 * `kvdiff check`: every request of a recorded sequence must reuse all of the one before it; a break whose every
 * breaking cause has an allowed code (one the client cannot fix), or one the project declared, passes.
 * Each request is rendered and tokenized once: step i's B is step i+1's A.
 */
export async function checkSequence(processor: Processor, bodies: readonly RequestBody[], opts: CheckOptions | Iterable<FindingCode | string> = {}): Promise<CheckResult> {
  const o: CheckOptions = isIterable(opts) ? { allow: opts } : opts;
  if (bodies.length < 2) throw new KvdiffError(`check needs at least two requests, found ${bodies.length}`, 'pass the requests of one session in the order they were sent');
  sameModel(bodies);
  const exp = o.expectations ?? {};
  const allowed = new Set<string>([...(o.allow ?? []), ...(exp.allow ?? [])]);
  const declared = stepExpectations(exp, bodies);
  const engine = processOnce(processor, new Set(bodies));
  const steps: CheckStep[] = [];
  let reused = 0;
  let tokens = 0;
  let firstTokens = 0;
  for (let i = 1; i < bodies.length; i++) {
    const analysed = await analyzeAhead(engine, bodies[i - 1], bodies[i]);
    const r = o.mapReport ? o.mapReport(analysed, bodies[i - 1], bodies[i]) : analysed;
    engine.forget(bodies[i - 1]);
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
    o.onStep?.(i, bodies.length - 1);
  }
  const problems: CheckProblem[] = declared.unknown.map((key) => ({ code: 'UNKNOWN_STEP' as const, key, steps: bodies.length }));
  for (const s of steps) {
    if (s.status === 'stale') problems.push({ code: 'STALE_EXPECTATION', step: s.step, key: s.expectation!.key, label: s.report.b.label, ...(s.expectation!.reason ? { reason: s.expectation!.reason } : {}) });
  }
  const ratio = tokens ? reused / tokens : 1;
  if (exp.minReuse !== undefined && ratio < exp.minReuse) problems.push({ code: 'REUSE_BELOW_MINIMUM', ratio, min: exp.minReuse });
  const breaks = steps.filter((s) => !s.ok).length;
  return { steps, breaks, first: { label: bodies[0].label, tokens: firstTokens, ...(typeof o.logged?.[0] === 'number' ? { logged: o.logged[0] } : {}) }, reuse: { reused, tokens, ratio }, problems, ok: breaks === 0 && problems.length === 0 };
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
  return { a: { label: r.a.label }, b: { label: r.b.label }, backend: r.backend, comparison: r.comparison, reusesAll: r.reusesAll, causes: r.causes, ignored: r.ignored };
}

/** The declared steps by number; keys that name no request are reported (a typo must not silence nothing). */
function stepExpectations(exp: SessionExpectations, bodies: readonly RequestBody[]) {
  const byStep = new Map<number, StepExpectation & { key: string }>();
  const unknown: string[] = [];
  for (const [key, e] of Object.entries(exp.steps ?? {})) {
    const n = /^\d+$/.test(key) ? Number(key) : bodies.findIndex((b) => baseName(b.label) === key) + 1;
    if (n >= 2 && n <= bodies.length) byStep.set(n, { ...e, key });
    else unknown.push(key);
  }
  return { byStep, unknown };
}

function baseName(label: string): string {
  return label.slice(Math.max(label.lastIndexOf('/'), label.lastIndexOf('\\')) + 1);
}

/** One session talks to one model: a `model` field that changes mid-session is a different server (or a mistake). */
function sameModel(bodies: readonly RequestBody[]): void {
  let first: { model: string; label: string } | undefined;
  for (const b of bodies) {
    const model = modelOf(b.root);
    if (model === undefined) continue;
    if (!first) first = { model, label: b.label };
    else if (model !== first.model) {
      throw new KvdiffError(`mixed models in one session: ${first.label} asks for ${JSON.stringify(first.model)}, ${b.label} for ${JSON.stringify(model)}`, 'check the requests of each model as their own session');
    }
  }
}

function modelOf(root: JsonNode): string | undefined {
  if (root.type !== 'object') return undefined;
  const e = root.entries.find((x) => x.key === 'model');
  return e?.value.type === 'string' ? e.value.value : undefined;
}

function isIterable(x: unknown): x is Iterable<string> {
  return typeof x === 'object' && x !== null && Symbol.iterator in x;
}

/** The processor, remembering the last bodies it processed, so each request of a sequence is rendered once. */
function processOnce(p: Processor, sequence: ReadonlySet<RequestBody>): Processor & { forget(body: RequestBody): void } {
  const done = new Map<RequestBody, Processed>();
  const process = (body: RequestBody, side: string): Processed => {
    if (!sequence.has(body)) {
      // a what-if variant: on a pure growth step, A with B's appended messages is B itself, already processed
      for (const [known, r] of done) if (known.api === body.api && nodesEqual(known.root, body.root)) return r;
      return p.process(body, side);
    }
    let r = done.get(body);
    if (!r) {
      r = p.process(body, side);
      done.set(body, r);
    }
    return r;
  };
  const forget = (body: RequestBody) => void done.delete(body);
  return new Proxy(p, {
    get(target, key) {
      if (key === 'process') return process;
      if (key === 'forget') return forget;
      const v = Reflect.get(target, key, target) as unknown;
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  }) as Processor & { forget(body: RequestBody): void };
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
