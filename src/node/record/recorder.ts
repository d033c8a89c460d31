import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { AnalysisJob, CapturedRequest, RecordLine } from './analysis.js';
import type { Analyzer } from './analyzer.js';
import { RecordProxy, type Exchange, type ExchangeResult } from './proxy.js';
import { Redactor } from './secrets.js';
import { SessionRouter } from './sessions.js';
import { captureName, CaptureStore, RESPONSES_DIR } from './store.js';

/** Requests kept per session as possible "previous" ones (responses may end out of order). */
const KEEP_PREVIOUS = 8;

/** How long Ctrl-C waits for requests in flight and queued analyses before cutting them. */
export const SHUTDOWN_GRACE_MS = 5000;

export interface RecorderOptions {
  upstream: URL;
  out: string;
  maxBodyBytes: number;
  redact: readonly string[];
  /** Builds the analyzer, given where its lines go. */
  analyzer(onLine: (line: RecordLine) => void, onError: (job: AnalysisJob, message: string) => void): Analyzer;
  onLine(line: RecordLine): void;
  /** One-line notes for the person watching (captures skipped, write failures). */
  onNote(text: string): void;
}

/**
 * `kvdiff record` put together: the proxy forwards, the store writes each capture and what the server answered,
 * the analyzer compares each request with the one before it in its session. Traffic never waits on the other two.
 */
export class Recorder {
  readonly store: CaptureStore;
  readonly proxy: RecordProxy;
  private readonly analyzer: Analyzer;
  /** Per session, the captured requests still needed as "previous" (by seq). */
  private readonly recent = new Map<string, Map<number, CapturedRequest>>();
  /** Exchanges whose response ended before their body was assigned (rare; resolved when it is). */
  private readonly early = new Map<number, ExchangeResult>();
  readonly stats = { captured: 0, responses: 0, skipped: 0, lines: 0, unanalysed: 0 };

  constructor(private readonly opts: RecorderOptions) {
    this.store = new CaptureStore(opts.out);
    const router = new SessionRouter((name) => this.store.taken(name));
    this.proxy = new RecordProxy({
      upstream: opts.upstream,
      maxBodyBytes: opts.maxBodyBytes,
      redactor: new Redactor(opts.redact),
      router,
      events: { request: (ex) => this.request(ex), response: (ex, r) => this.response(ex, r) },
    });
    this.analyzer = opts.analyzer(
      (line) => {
        this.stats.lines++;
        opts.onLine(line);
      },
      (job, message) => opts.onNote(`${job.current.label}: analysis failed: ${message}`),
    );
  }

  listen(port: number, host: string): Promise<AddressInfo> {
    return this.proxy.listen(port, host);
  }

  /** Ctrl-C: stop accepting, let requests in flight end (bounded), write everything, then stop the analysis. */
  async close(graceMs = SHUTDOWN_GRACE_MS): Promise<{ unanalysed: number }> {
    await this.proxy.close(graceMs);
    await this.store.flush();
    const unanalysed = await this.analyzer.close(graceMs);
    for (const f of this.store.failures) this.opts.onNote(`could not write ${f}`);
    return { unanalysed };
  }

  private label(session: string, seq: number): string {
    return join(session, captureName(seq));
  }

  private request(ex: Exchange): void {
    const session = ex.session!;
    this.stats.captured++;
    void this.store.request(session, ex.seq, ex.body!);
    let m = this.recent.get(session);
    if (!m) this.recent.set(session, (m = new Map()));
    m.set(ex.seq, { label: this.label(session, ex.seq), dialect: ex.dialect, body: ex.body!.toString('utf8') });
    const early = this.early.get(ex.id);
    if (early) {
      this.early.delete(ex.id);
      this.response(ex, early);
    }
  }

  private response(ex: Exchange, r: ExchangeResult): void {
    if (ex.body === null && ex.bodyBytes > this.opts.maxBodyBytes) {
      this.stats.skipped++;
      this.opts.onNote(`${ex.method} ${ex.path}: body of ${ex.bodyBytes} bytes is over --max-body ${this.opts.maxBodyBytes}: forwarded, not captured`);
      return;
    }
    if (ex.session === null) {
      // the body never completed (client gone mid-upload): nothing to capture
      if (r.error) return;
      this.early.set(ex.id, r);
      return;
    }
    this.stats.responses++;
    const c = r.counters;
    const meta = {
      kvdiff: {
        schemaVersion: 1,
        request: captureName(ex.seq),
        session: ex.session,
        seq: ex.seq,
        dialect: ex.dialect,
        method: ex.method,
        path: ex.path,
        receivedAt: ex.receivedAt.toISOString(),
        bodyBytes: ex.bodyBytes,
        streamed: ex.streamed,
        assignedBy: ex.assignedBy,
        headers: ex.headers,
        redactedHeaders: ex.redactedHeaders,
        status: r.status,
        durationMs: Math.round(r.durationMs * 10) / 10,
        error: r.error,
        reused: c?.reused ?? null,
        reusedField: c?.reusedField ?? null,
        promptTokens: c?.promptTokens ?? null,
      },
      timings: c?.timings ?? null,
      usage: c?.usage ?? null,
      // the shape `kvdiff A B --response` reads: this request's reply stays in the slot before the next prompt
      ...(c?.message ? { choices: [{ index: 0, message: c.message, finish_reason: c.finishReason }] } : {}),
    };
    void this.store.response(ex.session, ex.seq, meta);
    const m = this.recent.get(ex.session)!;
    const current = m.get(ex.seq)!;
    if (c?.message && ex.dialect === 'chat') {
      const u = c.usage as { completion_tokens?: unknown } | null;
      const t = c.timings as { predicted_n?: unknown } | null;
      const sampled = typeof u?.completion_tokens === 'number' ? u.completion_tokens : typeof t?.predicted_n === 'number' ? t.predicted_n : null;
      current.reply = { message: c.message, finishReason: c.finishReason, completionTokens: sampled };
    }
    const previous = m.get(ex.seq - 1) ?? null;
    // keep only what a later request may still compare against
    for (const k of m.keys()) if (k < ex.seq - KEEP_PREVIOUS) m.delete(k);
    const job: AnalysisJob = {
      session: ex.session,
      seq: ex.seq,
      current,
      previous,
      reported: { reused: c?.reused ?? null, field: c?.reusedField ?? null, promptTokens: c?.promptTokens ?? null },
      ...(r.error ? { failed: r.error === 'client disconnected' ? r.error : `upstream: ${r.error}` } : {}),
    };
    const refused = this.analyzer.submit(job);
    if (refused !== null) {
      this.stats.unanalysed++;
      this.opts.onLine({
        type: 'request',
        session: ex.session,
        seq: ex.seq,
        dialect: ex.dialect,
        file: current.label,
        tokens: null,
        predicted: null,
        reported: job.reported.reused,
        reportedField: job.reported.field,
        agrees: null,
        break: null,
        note: `not analysed: ${refused} (captured; run kvdiff check on the session afterwards)`,
      });
    }
  }
}

export { RESPONSES_DIR };
