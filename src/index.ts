/**
 * kvdiff as a library: predict what llama-server reuses between two chat requests and which JSON fields break
 * the cache. `diffRequests` returns the same object `kvdiff A B --json` prints.
 */
import { analyzeAhead, type DiffReport } from './analyze.js';
import { parseDate } from './clock.js';
import type { Backend } from './backends.js';
import type { CacheConfig } from './cache.js';
import type { ModelOptions } from './model/resolve.js';
import type { ModelInfo } from './model/types.js';
import { openProcessor, processHost, todayUtc } from './node/open.js';
import type { RequestBody } from './payload/body.js';
import { readClientBody, type Api } from './dialect/index.js';
import { toJsonReport } from './report/json.js';
import { checkSequence, type SessionExpectations } from './check.js';
import { resultJson } from './report/check.js';

export interface DiffOptions extends ModelOptions {
  backend?: Backend;
  /** Server cache settings (--cache-reuse, SWA checkpoints, block size). */
  cache?: Partial<CacheConfig>;
  /** The date templates see: `YYYY-MM-DD` or a Date (its UTC calendar day). Default: today. */
  date?: string | Date;
  /** A model already resolved (skips loading). */
  modelInfo?: ModelInfo;
  /** A running llama-server that renders and tokenizes instead (`--server URL`). */
  server?: string;
  /** The endpoint the bodies were sent to (`chat`, `messages`, `responses`, `completion`); default: by shape. */
  api?: Api;
}

/** A request body: a parsed object, or JSON text (whose key order is then kept exactly). */
export type BodyInput = string | Record<string, unknown>;

export type JsonDiffReport = ReturnType<typeof toJsonReport>;

/** Loads the model once (or connects to the server); `diff` then compares any number of pairs. */
export async function createDiffer(opts: DiffOptions = {}) {
  const now = opts.date instanceof Date ? opts.date : opts.date ? parseDate(opts.date) : todayUtc();
  const engine = await openProcessor({ ...opts, backend: opts.backend ?? 'llama.cpp', now }, processHost());
  return {
    engine,
    /** The full report (rendered texts, token ids, findings). */
    analyze: (a: BodyInput, b: BodyInput): Promise<DiffReport> => analyzeAhead(engine, toBody(a, 'A', opts.api), toBody(b, 'B', opts.api)),
    /** The `--json` report. */
    diff: async (a: BodyInput, b: BodyInput): Promise<JsonDiffReport> => toJsonReport(await analyzeAhead(engine, toBody(a, 'A', opts.api), toBody(b, 'B', opts.api))),
  };
}

/** One comparison: `(await diffRequests(a, b)).nPast`, `.causes`, `.ignored` as in `--json`. */
export async function diffRequests(a: BodyInput, b: BodyInput, opts: DiffOptions = {}): Promise<JsonDiffReport> {
  return (await createDiffer(opts)).diff(a, b);
}

export interface CheckSessionOptions extends DiffOptions {
  /** Finding codes that may break a step (the client cannot fix them). */
  allow?: string[];
  /** What the project declares: expected breaks by step number, allowed codes, a minimum reuse ratio. */
  expectations?: SessionExpectations;
  /** The session's name in the report (default `session`). */
  name?: string;
  /** Labels of the requests (default `request 1`, `request 2`, …): file names make expectations by name work. */
  labels?: string[];
}

export type JsonCheckSession = ReturnType<typeof resultJson>;

/**
 * `kvdiff check` on requests in memory: `(await checkSession(requests)).ok` is true when every request reuses all
 * of the one before it (or breaks only as declared). Each step is in `.steps` with `nPast`, `status`, `causes`.
 */
export async function checkSession(requests: readonly BodyInput[], opts: CheckSessionOptions = {}): Promise<JsonCheckSession> {
  const bodies = requests.map((r, i) => toBody(r, opts.labels?.[i] ?? `request ${i + 1}`, opts.api));
  const { engine } = await createDiffer(opts);
  const result = await checkSequence(engine, bodies, { allow: opts.allow ?? [], ...(opts.expectations ? { expectations: opts.expectations } : {}) });
  return resultJson(opts.name ?? 'session', result);
}

/** A body in any dialect llama-server accepts (detected by shape unless `api` says). */
function toBody(input: BodyInput, label: string, api?: Api): RequestBody {
  return readClientBody(typeof input === 'string' ? input : JSON.stringify(input), label, api);
}

export { KvdiffError } from './errors.js';
export { checkSequence, type CheckResult, type CheckStep, type CheckOptions, type CheckProblem, type SessionExpectations, type StepExpectation, type StepStatus, type SessionOutcome } from './check.js';
export type { DiffReport } from './analyze.js';
export type { Finding, FindingArgs, FindingCode } from './attribute/attribute.js';
export type { DiffArgs, DiffCode } from './attribute/diff.js';
export type { IgnoredReason } from './normalize.js';
export type { ReuseStep } from './cache.js';
export type { BackendProfile } from './backends.js';
export type { Processor } from './processor.js';
export type { ModelInfo } from './model/types.js';
export type { Backend } from './backends.js';
export type { Api } from './dialect/index.js';
export { convert as convertBody, readClientBody } from './dialect/index.js';
export type { CacheConfig } from './cache.js';
export { explainLogText, explainLines, LogParser } from './logs/index.js';
export type { ExplainedRequest, LogSummary, VerdictCode } from './logs/index.js';
export { htmlDiffPage, htmlSessionPage, type SessionStep } from './report/html/page.js';
export { redactReport, redactBody } from './report/redact.js';
