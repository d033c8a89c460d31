/**
 * `kvdiff logs [FILE|-]`: stream a llama-server log (or pasted responses) line by line and explain
 * every request's prompt-cache reuse. The only place of the logs feature that touches fs/process.
 */
import { constants, createReadStream, promises as fsp } from 'node:fs';
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import type { Command } from 'commander';
import { KvdiffError } from '../errors.js';
import { Explainer, SummaryBuilder, type ExplainedRequest } from '../logs/explain.js';
import { LogParser } from '../logs/parse.js';
import { humanNothing, humanRequest, humanSummary, jsonReport } from '../logs/report.js';
import type { CliContext } from './context.js';

export interface LogsIo {
  /** Standard input as a stream (tests pass their own; default `process.stdin`). */
  stdin?: () => Readable;
}

interface LogsOptions {
  json?: boolean;
  color?: boolean;
}

async function openInput(file: string | undefined, io: LogsIo, ctx: CliContext): Promise<Readable> {
  if (file === undefined || file === '-') {
    if (io.stdin) return io.stdin();
    if (process.stdin.isTTY) ctx.stderr('reading a llama-server log from standard input (paste it, then Ctrl-D)\n');
    return process.stdin;
  }
  let isFile: boolean;
  try {
    isFile = (await fsp.stat(file)).isFile();
    if (isFile) await fsp.access(file, constants.R_OK);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : (err as Error).message;
    throw new KvdiffError(`cannot read log ${file}: ${why}`);
  }
  if (!isFile) throw new KvdiffError(`cannot read log ${file}: not a file`);
  return createReadStream(file);
}

/** Streams lines through the parser and explainer; with --json the requests are kept for one document. */
export async function runLogs(file: string | undefined, opts: LogsOptions, ctx: CliContext, io: LogsIo = {}): Promise<void> {
  const input = await openInput(file, io, ctx);
  const c = ctx.colors({ json: opts.json, color: opts.color });
  const parser = new LogParser();
  const explainer = new Explainer();
  const summary = new SummaryBuilder();
  const kept: ExplainedRequest[] = [];
  let printed = 0;
  const take = (records: ReturnType<LogParser['push']>): void => {
    for (const r of records) {
      const x = explainer.explain(r);
      summary.add(x);
      if (opts.json) kept.push(x);
      else ctx.stdout(`${printed++ > 0 ? '\n' : ''}${humanRequest(x, c)}`);
    }
  };
  let readError: Error | null = null;
  input.on('error', (err) => {
    readError = err;
  });
  const rl = createInterface({ input, crlfDelay: Infinity });
  try {
    for await (const line of rl) take(parser.push(line));
  } catch (err) {
    readError = err as Error;
  }
  if (readError) throw new KvdiffError(`cannot read log ${file ?? 'from stdin'}: ${(readError as Error).message}`);
  take(parser.end());
  const s = summary.result(parser.stats);
  if (opts.json) ctx.stdout(jsonReport(kept, s));
  else if (printed === 0) ctx.stdout(humanNothing(s, c));
  else ctx.stdout(`\n${humanSummary(s, c)}`);
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
