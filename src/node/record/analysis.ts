import { analyzeAhead } from '../../analyze.js';
import { encodesReplies, type Processor } from '../../processor.js';
import { readClientBody } from '../../dialect/index.js';
import type { Api } from '../../payload/body.js';
import { KvdiffError } from '../../errors.js';
import type { RequestBody } from '../../payload/body.js';
import { parseJson } from '../../payload/json.js';
import { formatPath } from '../../payload/path.js';
import type { GeneratedResponse } from '../../payload/response.js';
import type { Dialect } from './routes.js';
import type { ReuseField } from './counters.js';

/** One captured request, as the analysis sees it. */
export interface CapturedRequest {
  /** Capture file, relative to --out (`chat-session-1/0002.json`). */
  label: string;
  dialect: Dialect;
  /** The body exactly as sent. */
  body: string;
  /** What the server generated for it (chat completions), when known: it stays in the slot after the prompt. */
  reply?: { message: Record<string, unknown>; finishReason: string | null; completionTokens: number | null } | null;
}

/** One request to analyse: it and the one before it in its session, and what the server reported. */
export interface AnalysisJob {
  session: string;
  seq: number;
  current: CapturedRequest;
  previous: CapturedRequest | null;
  reported: { reused: number | null; field: ReuseField | null; promptTokens: number | null };
  /** Set when the exchange failed (client gone, upstream error): said on the line; the request is still analysed. */
  failed?: string;
}

/** The per-request line, as data (`--json` prints it as is; the human line words it). */
export interface RecordLine {
  type: 'request';
  session: string;
  seq: number;
  dialect: Dialect;
  file: string;
  /** Prompt tokens kvdiff counts for this request (null when not analysed). */
  tokens: number | null;
  /** Tokens kvdiff predicts the server reuses from the previous request of the session (null for the first). */
  predicted: number | null;
  /** Tokens the server says it reused, and the field that said so. */
  reported: number | null;
  reportedField: ReuseField | null;
  /** Whether prediction and server agree (null when either is missing). */
  agrees: boolean | null;
  /** The first token of the previous prompt this request changes, and the first cause found. */
  break: { token: number; of: number; code: string | null; path: string | null } | null;
  /** Why something is missing: first request, dialect not analysed yet, over the size limit, bad body. */
  note: string | null;
}

/** The endpoint each route's bodies were sent to, as the dialect stage names it. */
const API_OF: Record<Dialect, Api> = { chat: 'chat', anthropic: 'messages', responses: 'responses', completion: 'completion' };

/**
 * The one place a captured body becomes what the pipeline reads: read for the endpoint it was sent to (the route
 * decides, not the shape), then converted by the dialect stage as llama-server converts it. Returns a reason
 * instead of a body when it cannot.
 */
export function pipelineBody(req: CapturedRequest): RequestBody | string {
  try {
    return readClientBody(req.body, req.label, API_OF[req.dialect]);
  } catch (err) {
    if (err instanceof KvdiffError) return err.message;
    throw err;
  }
}

/**
 * Analyses one request against the previous one of its session with the same pipeline as `kvdiff A B`
 * (`analyzeAhead`, so a live server as the engine, `--server`, gets its renders asked ahead).
 */
export async function analyseRequest(engine: Processor, job: AnalysisJob): Promise<RecordLine> {
  const { current, reported } = job;
  const line: RecordLine = {
    type: 'request',
    session: job.session,
    seq: job.seq,
    dialect: current.dialect,
    file: current.label,
    tokens: null,
    predicted: null,
    reported: reported.reused,
    reportedField: reported.field,
    agrees: null,
    break: null,
    note: null,
  };
  const out = await analyseBody(engine, job, line);
  if (job.failed) out.note = out.note ? `${job.failed}; ${out.note}` : job.failed;
  return out;
}

async function analyseBody(engine: Processor, job: AnalysisJob, line: RecordLine): Promise<RecordLine> {
  const { current, previous } = job;
  const b = pipelineBody(current);
  if (typeof b === 'string') return { ...line, note: b };
  try {
    const a = previous ? pipelineBody(previous) : null;
    if (a === null || typeof a === 'string') {
      if (engine.prefetch) await engine.prefetch([b]);
      line.tokens = engine.process(b, current.label).tokens.ids.length;
      line.note = a === null ? 'first request of the session' : `previous request not analysed: ${a}`;
      return line;
    }
    // the previous reply stays in the slot; only an engine that tokenizes replies itself can place it (not --server)
    const response = encodesReplies(engine) && previous!.dialect === 'chat' ? generated(previous!) : undefined;
    let report;
    try {
      report = await analyzeAhead(engine, a, b, { response });
    } catch (err) {
      if (!response || !(err instanceof KvdiffError)) throw err;
      report = await analyzeAhead(engine, a, b); // the reply could not be rendered after A: predict from A's prompt alone
    }
    const cmp = report.comparison;
    line.tokens = cmp.tokensB;
    line.predicted = cmp.nPast;
    line.agrees = job.reported.reused === null ? null : job.reported.reused === cmp.nPast;
    if (cmp.firstDivergence) {
      const first = report.causes.find((f) => f.breaks) ?? report.causes[0];
      line.break = { token: cmp.firstDivergence.token, of: cmp.tokensB, code: first?.code ?? null, path: first ? formatPath(first.path) : null };
    }
    return line;
  } catch (err) {
    if (err instanceof KvdiffError) return { ...line, note: err.message };
    throw err;
  }
}

/** The previous request's reply as `--response` reads it, so the slot holds its generated tokens too. */
function generated(prev: CapturedRequest): GeneratedResponse | undefined {
  if (!prev.reply) return undefined;
  return {
    label: `${prev.label} reply`,
    message: parseJson(JSON.stringify(prev.reply.message), `${prev.label} reply`),
    finishReason: prev.reply.finishReason,
    completionTokens: prev.reply.completionTokens,
  };
}
