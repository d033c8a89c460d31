import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { fork, type ChildProcess } from 'node:child_process';
import { setPriority } from 'node:os';
import type { Processor } from '../../processor.js';
import { analyseRequest, type AnalysisJob, type RecordLine } from './analysis.js';

/**
 * Analyses waiting at most: when requests come faster than they can be analysed, later ones are captured but not
 * analysed (and their line says so) instead of queueing bodies in memory without end.
 */
export const MAX_PENDING_ANALYSES = 256;

const BEHIND = `${MAX_PENDING_ANALYSES} analyses are waiting already`;

/** Runs analyses in the order given and hands back each line; never throws into the caller. */
export interface Analyzer {
  /** Queues a job; returns null, or why it was refused (too many waiting, or the analysis is off). */
  submit(job: AnalysisJob): string | null;
  /** Waits for queued analyses (at most `ms`), then stops; returns how many were left unanalysed. */
  close(ms: number): Promise<number>;
}

export type LineSink = (line: RecordLine) => void;
export type ErrorSink = (job: AnalysisJob, message: string) => void;

/**
 * Analyses on this thread, one at a time, each after the event loop has served pending traffic (setImmediate).
 * For tests and the library; the CLI uses `ProcessAnalyzer` so a long analysis never holds up forwarding.
 */
export class InlineAnalyzer implements Analyzer {
  private readonly queue: AnalysisJob[] = [];
  private running = false;
  private idle: (() => void)[] = [];
  private stopped = false;

  constructor(private readonly engine: Promise<Processor>, private readonly onLine: LineSink, private readonly onError: ErrorSink) {}

  submit(job: AnalysisJob): string | null {
    if (this.stopped) return 'the analysis has stopped';
    if (this.queue.length >= MAX_PENDING_ANALYSES) return BEHIND;
    this.queue.push(job);
    if (!this.running) this.pump();
    return null;
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

/** Messages between the proxy and its analysis process. */
export type ToAnalysis = { type: 'init'; engineOptions: unknown } | { type: 'job'; job: AnalysisJob };
export type FromAnalysis =
  | { type: 'line'; line: RecordLine }
  | { type: 'error'; job: AnalysisJob; message: string }
  | { type: 'log'; text: string }
  | { type: 'fatal'; message: string; hint?: string };

/** The analysis process's script, when running from the built package (dist/cli/record-analysis.js). */
export function analysisScript(): string | null {
  const path = fileURLToPath(new URL('../../cli/record-analysis.js', import.meta.url));
  return existsSync(path) ? path : null;
}

/**
 * Niceness of the analysis process (0 normal, 19 lowest): the operating system gives the proxy the CPU first, so a
 * long analysis never adds latency to forwarding (measured with `npm run bench`; a worker thread, which cannot be
 * given a priority of its own, added tens of milliseconds at p99 on a loaded 2-core machine).
 */
export const ANALYSIS_NICENESS = 15;

/**
 * Analyses in a child process at low priority: model loading, rendering and attribution never take the proxy's
 * event loop or its CPU. `engineOptions` are the command's model options; the process builds its own engine.
 */
export class ProcessAnalyzer implements Analyzer {
  private readonly child: ChildProcess;
  private inFlight = 0;
  private idle: (() => void)[] = [];
  private dead = false;
  private exited = false;
  private closing = false;

  constructor(script: string, engineOptions: unknown, onLine: LineSink, onError: ErrorSink, onLog: (text: string) => void, onFatal: (message: string, hint?: string) => void) {
    this.child = fork(script, [], { serialization: 'advanced', stdio: ['ignore', 'ignore', 'ignore', 'ipc'] });
    try {
      setPriority(this.child.pid!, ANALYSIS_NICENESS);
    } catch {
      // not allowed here: analysis still runs, at normal priority
    }
    const down = (message: string, hint?: string) => {
      if (this.dead) return;
      this.dead = true;
      this.idle.splice(0).forEach((f) => f());
      if (!this.closing) onFatal(message, hint);
    };
    this.child.on('message', (m: FromAnalysis) => {
      if (m.type === 'log') return onLog(m.text);
      if (m.type === 'fatal') return down(m.message, m.hint);
      if (m.type === 'line') onLine(m.line);
      else onError(m.job, m.message);
      if (--this.inFlight === 0) this.idle.splice(0).forEach((f) => f());
    });
    this.child.on('error', (err) => down(`analysis process failed: ${err.message}`));
    this.child.on('exit', (code, signal) => {
      this.exited = true;
      down(`analysis process ended (${signal ?? `exit ${code}`})`);
    });
    this.child.send({ type: 'init', engineOptions } satisfies ToAnalysis);
  }

  submit(job: AnalysisJob): string | null {
    if (this.dead) return 'the analysis is off (see the note above)';
    if (this.inFlight >= MAX_PENDING_ANALYSES) return BEHIND;
    this.inFlight++;
    this.child.send({ type: 'job', job } satisfies ToAnalysis);
    return null;
  }

  async close(ms: number): Promise<number> {
    this.closing = true;
    if (this.inFlight > 0 && !this.dead) await Promise.race([new Promise<void>((r) => this.idle.push(r)), new Promise((r) => setTimeout(r, ms).unref())]);
    const left = this.dead ? 0 : this.inFlight;
    // also after a fatal error: the process is still there (it ignores Ctrl-C), and its channel keeps us alive
    if (!this.exited) {
      const exited = new Promise((r) => this.child.once('exit', r));
      this.child.kill();
      await exited;
    }
    return left;
  }
}
