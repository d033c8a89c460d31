/**
 * Front of the logs feature for other modules (e.g. `kvdiff a.json b.json --log FILE`, which wants the
 * n_past the server logged beside its prediction). Pure: callers bring the lines.
 */
import { Explainer, SummaryBuilder, type ExplainedRequest, type LogSummary } from './explain.js';
import { LogParser } from './parse.js';

export { LogParser, parseLog, type ParseStats } from './parse.js';
export { Explainer, SummaryBuilder, explainOne, summarize, VERDICT_SEVERITY } from './explain.js';
export type { ExplainedRequest, HelpCode, LogSummary, ModelKind, Note, Severity, VerdictArgs, VerdictCode } from './explain.js';
export {
  headline,
  helpText,
  humanReport,
  humanRequest,
  humanSummary,
  humanNothing,
  jsonReport,
  jsonRequest,
  JsonStream,
  LOGS_SCHEMA_VERSION,
  noteText,
  visibleText,
} from './report.js';
export type { JsonRequest } from './report.js';
export type { LogEvent, LogFormat, RequestRecord } from './types.js';

/** Parse and explain any iterable of lines (an array, or a generator over a big file). */
export function explainLines(lines: Iterable<string>): { requests: ExplainedRequest[]; summary: LogSummary } {
  const parser = new LogParser();
  const explainer = new Explainer();
  const summary = new SummaryBuilder();
  const requests: ExplainedRequest[] = [];
  const take = (rs: ReturnType<LogParser['push']>) => {
    for (const r of rs) {
      const x = explainer.explain(r);
      summary.add(x);
      requests.push(x);
    }
  };
  for (const line of lines) take(parser.push(line));
  take(parser.end());
  return { requests, summary: summary.result(parser.stats) };
}

/** Same, for a pasted text. */
export function explainLogText(text: string): { requests: ExplainedRequest[]; summary: LogSummary } {
  return explainLines(text.split('\n'));
}

/**
 * The request a prediction should be compared with: the last one in the log that has a logged n_past
 * (optionally on a given slot). Null when the log has none.
 */
export function lastLoggedRequest(requests: ExplainedRequest[], slot?: number): ExplainedRequest | null {
  for (let i = requests.length - 1; i >= 0; i--) {
    const x = requests[i];
    if (x.reused !== null && (slot === undefined || x.record.slot === slot)) return x;
  }
  return null;
}
