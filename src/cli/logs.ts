/**
 * `kvdiff logs [FILE|-]`: stream a llama-server log (or pasted responses) line by line and explain
 * every request's prompt-cache reuse. The only place of the logs feature that touches fs/process.
 */
import { closeSync, constants, createReadStream, openSync, promises as fsp, readSync } from 'node:fs';
import type { Readable } from 'node:stream';
import type { Command } from 'commander';
import { KvdiffError } from '../errors.js';
import { Explainer, SummaryBuilder } from '../logs/explain.js';
import { LogParser, MAX_JSON_CHARS } from '../logs/parse.js';
import type { RequestRecord } from '../logs/types.js';
import { humanNothing, humanRequest, humanSummary, JsonStream, visibleText } from '../logs/report.js';
import type { CliContext } from './context.js';

export interface LogsIo {
  /** Standard input as a stream (tests pass their own; default `process.stdin`). */
  stdin?: () => Readable;
}

interface LogsOptions {
  json?: boolean;
  color?: boolean;
}

/**
 * Bytes one line may take before it is skipped unread (counted in the summary): a pasted one-line JSON
 * response may be this long; anything longer is a prompt dump, never a cache line, and would otherwise
 * grow one string without bound (readline's RangeError past 512 MB).
 */
export const MAX_READ_LINE_BYTES = MAX_JSON_CHARS;

/** Output is written in pieces of at most about this size (and at the end of every input chunk), never as one string. */
const OUTPUT_FLUSH_CHARS = 64 * 1024;

/** The log as a stream, and whether it can pause (a pipe, a terminal, stdin) rather than being a file read to its end. */
async function openInput(file: string | undefined, io: LogsIo, ctx: CliContext): Promise<{ input: AsyncIterable<Buffer | string>; follow: boolean }> {
  if (file === undefined || file === '-') {
    if (io.stdin) return { input: io.stdin(), follow: true };
    if (process.stdin.isTTY) ctx.stderr('reading a llama-server log from standard input (paste it, then Ctrl-D)\n');
    return { input: process.stdin, follow: true };
  }
  let isDir: boolean;
  let isFile: boolean;
  try {
    // files, pipes (`logs <(…)`), FIFOs and devices (/dev/null, /dev/stdin) are all streams to read
    const st = await fsp.stat(file);
    isDir = st.isDirectory();
    isFile = st.isFile();
    await fsp.access(file, constants.R_OK);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : (err as Error).message;
    throw new KvdiffError(`cannot read log ${visibleText(file)}: ${why}`);
  }
  if (isDir) throw new KvdiffError(`cannot read log ${visibleText(file)}: not a file (a directory)`);
  return { input: isFile ? fileChunks(file) : createReadStream(file), follow: !isFile };
}

/** Bytes read from a regular file at a time. */
const FILE_CHUNK_BYTES = 64 * 1024;

/**
 * A regular file, read synchronously into one buffer reused for every chunk: no stream, no wait on the thread pool
 * between chunks, no new buffer per chunk (the event loop still turns once per chunk). The buffer is safe to reuse because the splitter is done with each chunk
 * before the next is read (it copies the unfinished line it keeps).
 */
async function* fileChunks(file: string): AsyncGenerator<Buffer> {
  const fd = openSync(file, 'r');
  try {
    const buf = Buffer.allocUnsafe(FILE_CHUNK_BYTES);
    for (;;) {
      const n = readSync(fd, buf, 0, buf.length, null);
      if (n === 0) return;
      yield n === buf.length ? buf : buf.subarray(0, n);
      // back to the event loop between chunks: the garbage collector's tasks (sweeping, finalisation) run there, and
      // without them the peak RSS grew with the file (97 MB for a 200 MB log, 127 MB for 400 MB)
      await new Promise(setImmediate);
    }
  } finally {
    closeSync(fd);
  }
}

/**
 * Splits bytes into lines with a bound on each line: bytes of a line longer than `max` are dropped as they arrive,
 * and the line is reported as skipped (null). CRLF is left to the parser. Synchronous per chunk, so a 200 MB log
 * costs no promise per line. The lines a chunk holds whole are decoded in one piece and split as a string (UTF-8
 * never has byte 10 inside a character, so this is the per-line decoding); only the line a chunk starts or ends
 * in the middle of is kept as bytes.
 */
export class LineSplitter {
  private parts: Buffer[] = [];
  private size = 0;
  private skipping = false;

  constructor(private readonly max: number) {}

  /** Calls `line` for every line this chunk completes. */
  push(chunk: Buffer | string, line: (text: string | null) => void): void {
    const buf = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    const first = buf.indexOf(10);
    if (first < 0) {
      this.carry(buf, 0, buf.length, true);
      return;
    }
    // the line earlier chunks started
    this.carry(buf, 0, first, false);
    this.emit(line);
    const last = buf.lastIndexOf(10);
    if (last > first) {
      const text = buf.toString('utf8', first + 1, last);
      if (last - first - 1 <= this.max) {
        // no line in between can be longer than all of them together
        let from = 0;
        for (let i = text.indexOf('\n'); i >= 0; i = text.indexOf('\n', from)) {
          line(text.slice(from, i));
          from = i + 1;
        }
        line(from === 0 ? text : text.slice(from));
      } else {
        // a limit smaller than the chunk: each line's bytes counted where it lies in the chunk
        let from = 0;
        let fromByte = first + 1;
        for (;;) {
          const i = text.indexOf('\n', from);
          const nlByte = i < 0 ? last : buf.indexOf(10, fromByte);
          line(nlByte - fromByte > this.max ? null : text.slice(from, i < 0 ? text.length : i));
          if (i < 0) break;
          from = i + 1;
          fromByte = nlByte + 1;
        }
      }
    }
    // keep no reference to the whole chunk: copy the unfinished tail
    this.carry(buf, last + 1, buf.length, true);
  }

  /** The last line, when the input did not end with a newline. */
  end(line: (text: string | null) => void): void {
    if (this.skipping || this.size > 0) this.emit(line);
    this.parts = [];
    this.size = 0;
    this.skipping = false;
  }

  /**
   * Bytes [from, to) of `buf` belong to the unfinished line (dropped once it is longer than the limit); `copy` when
   * they outlive this chunk, so that no reference to the whole chunk is kept.
   */
  private carry(buf: Buffer, from: number, to: number, copy: boolean): void {
    if (this.skipping) return;
    if (this.size + (to - from) > this.max) {
      this.skipping = true;
      this.parts = [];
      this.size = 0;
    } else if (to > from) {
      this.parts.push(copy ? Buffer.from(buf.subarray(from, to)) : buf.subarray(from, to));
      this.size += to - from;
    }
  }

  /** The unfinished line is complete. */
  private emit(line: (text: string | null) => void): void {
    if (this.skipping) line(null);
    else if (this.parts.length === 0) line('');
    else line(this.parts.length === 1 ? this.parts[0].toString('utf8') : Buffer.concat(this.parts, this.size).toString('utf8'));
    this.parts = [];
    this.size = 0;
    this.skipping = false;
  }
}

/** `LineSplitter` over a stream, one line at a time (for callers that want an iterator). */
export async function* boundedLines(input: AsyncIterable<Buffer | string>, max: number): AsyncGenerator<string | null> {
  const splitter = new LineSplitter(max);
  const lines: (string | null)[] = [];
  const add = (l: string | null) => void lines.push(l);
  for await (const chunk of input) {
    splitter.push(chunk, add);
    yield* lines.splice(0);
  }
  splitter.end(add);
  yield* lines;
}

/**
 * How long a pipe may stay quiet before the request the parser holds for late lines (a timing block printed after
 * the release) is printed: `docker logs -f | kvdiff logs -` shows each request once its last line has arrived,
 * not when the next request finishes. A file is read without waiting, so this never applies to one.
 */
export const FOLLOW_IDLE_MS = 100;

const IDLE = Symbol('idle');

/**
 * The chunks of `input`; on a stream that can pause (a pipe, stdin), `idle()` is called whenever no chunk arrived
 * for FOLLOW_IDLE_MS, once per pause.
 */
async function* chunks(input: AsyncIterable<Buffer | string>, follow: boolean, idle: () => void): AsyncGenerator<Buffer | string> {
  if (!follow) {
    yield* input;
    return;
  }
  const it = input[Symbol.asyncIterator]();
  let timer: NodeJS.Timeout | undefined;
  try {
    for (;;) {
      const next = it.next();
      let r = await Promise.race([next, new Promise<typeof IDLE>((resolve) => (timer = setTimeout(resolve, FOLLOW_IDLE_MS, IDLE)))]);
      clearTimeout(timer);
      if (r === IDLE) {
        idle();
        r = await next;
      }
      if (r.done) return;
      yield r.value as Buffer | string;
    }
  } finally {
    clearTimeout(timer);
    await it.return?.();
  }
}

/** Streams lines through the parser and explainer, and the report out as requests finish. */
export async function runLogs(file: string | undefined, opts: LogsOptions, ctx: CliContext, io: LogsIo = {}): Promise<void> {
  const { input, follow } = await openInput(file, io, ctx);
  const c = ctx.colors({ json: opts.json, color: opts.color });
  const parser = new LogParser();
  const explainer = new Explainer();
  const summary = new SummaryBuilder();
  const json = opts.json ? new JsonStream() : null;
  // output is gathered per input chunk and written when the chunk is done (one write per chunk, not per request)
  let pending = json ? json.start() : '';
  let printed = 0;
  let found = false;
  const flush = () => {
    if (pending) ctx.stdout(pending);
    pending = '';
  };
  const take = (records: readonly RequestRecord[]): void => {
    for (const r of records) {
      const x = explainer.explain(r);
      summary.add(x);
      if (x.severity === 'warning') found = true;
      if (json) pending += json.request(x);
      else pending += `${printed++ > 0 ? '\n' : ''}${humanRequest(x, c)}`;
    }
    if (pending.length >= OUTPUT_FLUSH_CHARS) flush();
  };
  const line = (text: string | null) => take(text === null ? parser.skipLong() : parser.push(text));
  const splitter = new LineSplitter(MAX_READ_LINE_BYTES);
  const idle = () => {
    take(parser.idle());
    flush();
  };
  try {
    for await (const chunk of chunks(input, follow, idle)) {
      splitter.push(chunk, line);
      flush();
    }
  } catch (err) {
    throw new KvdiffError(`cannot read log ${visibleText(file ?? 'from stdin')}: ${(err as Error).message}`);
  }
  splitter.end(line);
  take(parser.end());
  const s = summary.result(parser.stats);
  if (json) pending += json.end(s);
  else if (printed === 0) pending += humanNothing(s, c);
  else pending += `\n${humanSummary(s, c)}`;
  flush();
  // STYLE.md's exit codes: 1 for a finding, here a request whose cache was lost or not used (a warning verdict).
  ctx.exitCode = found ? 1 : 0;
}

export function registerLogsCommand(program: Command, ctx: CliContext, io: LogsIo = {}): void {
  program
    .command('logs')
    .description("explain llama-server's prompt-cache reuse per request from its log (or pasted JSON responses)")
    .argument('[file]', 'log file; - or nothing reads standard input')
    .option('--json', 'machine-readable report (schemaVersion 1) on stdout')
    .option('--no-color', 'no colours')
    .action(async (file: string | undefined, opts: LogsOptions) => {
      await runLogs(file, opts, ctx, io);
    });
}
