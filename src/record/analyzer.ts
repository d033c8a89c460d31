import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { Processor } from '../engine.js';
import { analyseRequest, type AnalysisJob, type RecordLine } from './analysis.js';

/**
 * Analyses waiting at most: when requests come faster than they can be analysed, later ones are captured but not
 * analysed (and their line says so) instead of queueing bodies in memory without end.
 */
export const MAX_PENDING_ANALYSES = 256;

/** Runs analyses in the order given and hands back each line; never throws into the caller. */
export interface Analyzer {
  /** Queues a job; false when it is refused (too many waiting, or the analysis is off). */
  submit(job: AnalysisJob): boolean;
  /** Waits for queued analyses (at most `ms`), then stops; returns how many were left unanalysed. */
  close(ms: number): Promise<number>;
}

export type LineSink = (line: RecordLine) => void;
export type ErrorSink = (job: AnalysisJob, message: string) => void;

/**
 * Analyses on this thread, one at a time, each after the event loop has served pending traffic (setImmediate).
 * For tests and the library; the CLI uses `WorkerAnalyzer` so a long analysis never holds up forwarding.
 */
export class InlineAnalyzer implements Analyzer {
  private readonly queue: AnalysisJob[] = [];
  private running = false;
  private idle: (() => void)[] = [];
  private stopped = false;

  constructor(private readonly engine: Promise<Processor>, private readonly onLine: LineSink, private readonly onError: ErrorSink) {}

  submit(job: AnalysisJob): boolean {
    if (this.stopped || this.queue.length >= MAX_PENDING_ANALYSES) return false;
    this.queue.push(job);
    if (!this.running) this.pump();
    return true;
  }

  private pump(): void {
    this.running = true;
    setImmediate(async () => {
      const job = this.queue.shift();
      if (!job || this.stopped) {
        this.running = false;
        this.idle.splice(0).forEach((f) => f());
        return;
      }
      try {
        this.onLine(await analyseRequest(await this.engine, job));
      } catch (err) {
        this.onError(job, (err as Error).message);
      }
      this.pump();
    });
  }

  async close(ms: number): Promise<number> {
    if (this.running) await Promise.race([new Promise<void>((r) => this.idle.push(r)), new Promise((r) => setTimeout(r, ms).unref())]);
    this.stopped = true;
    const left = this.queue.length;
    this.queue.length = 0;
    return left;
  }
}

/** Messages between the proxy and its analysis thread. */
export type ToWorker = { type: 'job'; job: AnalysisJob };
export type FromWorker =
  | { type: 'line'; line: RecordLine }
  | { type: 'error'; job: AnalysisJob; message: string }
  | { type: 'log'; text: string }
  | { type: 'fatal'; message: string; hint?: string };

/** The analysis thread's script, when running from the built package (dist/record/worker.js). */
export function workerScript(): string | null {
  const path = fileURLToPath(new URL('./worker.js', import.meta.url));
  return existsSync(path) ? path : null;
}

/**
 * Analyses on a worker thread: model loading, rendering and attribution never take the proxy's event loop.
 * `engineOptions` are the command's model options; the thread builds its own engine from them.
 */
export class WorkerAnalyzer implements Analyzer {
  private readonly worker: Worker;
  private inFlight = 0;
  private idle: (() => void)[] = [];
  private dead = false;

  constructor(script: string, engineOptions: unknown, onLine: LineSink, onError: ErrorSink, onLog: (text: string) => void, onFatal: (message: string, hint?: string) => void) {
    this.worker = new Worker(script, { workerData: { engineOptions } });
    this.worker.unref();
    this.worker.on('message', (m: FromWorker) => {
      if (m.type === 'log') return onLog(m.text);
      if (m.type === 'fatal') {
        this.dead = true;
        return onFatal(m.message, m.hint);
      }
      if (m.type === 'line') onLine(m.line);
      else onError(m.job, m.message);
      if (--this.inFlight === 0) this.idle.splice(0).forEach((f) => f());
    });
    this.worker.on('error', (err) => {
      this.dead = true;
      onFatal(`analysis thread failed: ${err.message}`);
    });
  }

  submit(job: AnalysisJob): boolean {
    if (this.dead || this.inFlight >= MAX_PENDING_ANALYSES) return false;
    this.inFlight++;
    this.worker.postMessage({ type: 'job', job } satisfies ToWorker);
    return true;
  }

  async close(ms: number): Promise<number> {
    if (this.inFlight > 0 && !this.dead) await Promise.race([new Promise<void>((r) => this.idle.push(r)), new Promise((r) => setTimeout(r, ms).unref())]);
    const left = this.dead ? 0 : this.inFlight;
    await this.worker.terminate();
    return left;
  }
}
