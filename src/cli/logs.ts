/**
 * `kvdiff logs [FILE|-]`: stream a llama-server log (or pasted responses) line by line and explain
 * every request's prompt-cache reuse. The only place of the logs feature that touches fs/process.
 */
import { constants, createReadStream, promises as fsp } from 'node:fs';
import type { Readable } from 'node:stream';
import type { Command } from 'commander';
import { KvdiffError } from '../errors.js';
import { Explainer, SummaryBuilder } from '../logs/explain.js';
import { LogParser, MAX_JSON_CHARS } from '../logs/parse.js';
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

/** --json output is written in pieces of about this size, never as one string. */
const JSON_FLUSH_CHARS = 64 * 1024;

async function openInput(file: string | undefined, io: LogsIo, ctx: CliContext): Promise<Readable> {
  if (file === undefined || file === '-') {
    if (io.stdin) return io.stdin();
    if (process.stdin.isTTY) ctx.stderr('reading a llama-server log from standard input (paste it, then Ctrl-D)\n');
    return process.stdin;
  }
  let isDir: boolean;
  try {
    // files, pipes (`logs <(…)`), FIFOs and devices (/dev/null, /dev/stdin) are all streams to read
    isDir = (await fsp.stat(file)).isDirectory();
    await fsp.access(file, constants.R_OK);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : (err as Error).message;
    throw new KvdiffError(`cannot read log ${visibleText(file)}: ${why}`);
  }
  if (isDir) throw new KvdiffError(`cannot read log ${visibleText(file)}: not a file (a directory)`);
  return createReadStream(file);
}

/**
 * Splits a byte stream into lines with a bound on each line: bytes of a line longer than `max` are
 * dropped as they arrive, and the line is reported as skipped. CRLF is left to the parser.
 */
export async function* boundedLines(input: AsyncIterable<Buffer | string>, max: number): AsyncGenerator<string | null> {
  let parts: Buffer[] = [];
  let size = 0;
  let skipping = false;
  for await (const chunk of input) {
    const buf = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    let from = 0;
    for (;;) {
      const nl = buf.indexOf(10, from);
      const end = nl < 0 ? buf.length : nl;
      if (!skipping) {
        if (size + (end - from) > max) {
          skipping = true;
          parts = [];
          size = 0;
        } else if (end > from) {
          parts.push(buf.subarray(from, end));
          size += end - from;
        }
      }
      if (nl < 0) break;
      if (skipping) yield null;
      else yield parts.length === 1 ? parts[0].toString('utf8') : Buffer.concat(parts, size).toString('utf8');
      parts = [];
      size = 0;
      skipping = false;
      from = nl + 1;
    }
    // keep no reference to the whole chunk: copy the unfinished tail
    if (parts.length) parts = [Buffer.from(Buffer.concat(parts, size))];
  }
  if (skipping) yield null;
  else if (size > 0) yield Buffer.concat(parts, size).toString('utf8');
}

/** Streams lines through the parser and explainer, and the report out as requests finish. */
export async function runLogs(file: string | undefined, opts: LogsOptions, ctx: CliContext, io: LogsIo = {}): Promise<void> {
  const input = await openInput(file, io, ctx);
  const c = ctx.colors({ json: opts.json, color: opts.color });
  const parser = new LogParser();
  const explainer = new Explainer();
  const summary = new SummaryBuilder();
  const json = opts.json ? new JsonStream() : null;
  let pending = json ? json.start() : '';
  let printed = 0;
  let found = false;
  const take = (records: ReturnType<LogParser['push']>): void => {
    for (const r of records) {
      const x = explainer.explain(r);
      summary.add(x);
      if (x.severity === 'warning') found = true;
      if (json) {
        pending += json.request(x);
        if (pending.length >= JSON_FLUSH_CHARS) {
          ctx.stdout(pending);
          pending = '';
        }
      } else ctx.stdout(`${printed++ > 0 ? '\n' : ''}${humanRequest(x, c)}`);
    }
  };
  try {
    for await (const line of boundedLines(input, MAX_READ_LINE_BYTES)) {
      take(line === null ? parser.skipLong() : parser.push(line));
    }
  } catch (err) {
    throw new KvdiffError(`cannot read log ${visibleText(file ?? 'from stdin')}: ${(err as Error).message}`);
  }
  take(parser.end());
  const s = summary.result(parser.stats);
  if (json) ctx.stdout(pending + json.end(s));
  else if (printed === 0) ctx.stdout(humanNothing(s, c));
  else ctx.stdout(`\n${humanSummary(s, c)}`);
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
