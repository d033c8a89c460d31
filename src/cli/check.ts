import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import { Command, Option } from 'commander';
import { checkSequence } from '../check.js';
import { KvdiffError } from '../errors.js';
import { decodeUtf8, type RequestBody } from '../payload/body.js';
import { MAX_BODY_BYTES } from '../payload/json.js';
import { readClientBody, type Api } from '../dialect/index.js';
import { fsError, readBounded } from '../node/read.js';
import { humanCheckReport, jsonCheckReport } from '../report/check.js';
import type { CliContext } from './context.js';
import { htmlSessionPage } from '../report/html/page.js';
import { redactReport } from '../report/redact.js';
import { parseRate, writeReport } from './output.js';
import { explainLogText } from '../logs/index.js';
import { addEngineOptions, buildEngine, readBodyArg, type EngineCliOptions } from './shared.js';

interface CheckOptions extends EngineCliOptions {
  json?: boolean;
  format: 'human' | 'json' | 'html';
  out?: string;
  redact?: boolean;
  ppRate?: number;
  timings?: string;
  allow: string[];
  color?: boolean;
}

/** `kvdiff check`: every request of a recorded sequence must reuse all of the one before it. */
export function registerCheckCommand(program: Command, ctx: CliContext): void {
  const cmd = new Command('check')
    .description('check that a recorded sequence of requests stays prefix-stable (for pre-commit hooks and CI)')
    .argument('<paths...>', 'request bodies in order: .json files, .jsonl files (one body per line), or folders of .json files or of rendered prompts (.txt, as llama-server --log-prompts-dir writes them) in name order')
    .option('--json', 'print the JSON report (same as --format json)')
    .addOption(new Option('--format <format>', 'report format').choices(['human', 'json', 'html']).default('human'))
    .option('--out <file>', 'write the report to this file (atomically) instead of stdout')
    .option('--redact', 'replace message text by placeholders of the same length (structure, token counts and break positions stay)')
    .option('--pp-rate <tokens/s>', 'prompt-processing speed, to price the re-processed tokens in time (html)', parseRate)
    .option('--timings <file>', 'a llama-server log (or saved responses with timings) of the session: its measured prompt speed prices the lost tokens when --pp-rate is not given (html)')
    .addOption(new Option('--allow <code...>', 'finding codes that do not fail the check (e.g. TEMPLATE_REWRITES_HISTORY)').default([]))
    .option('--no-color', 'plain text even on a terminal')
    .addHelpText('after', '\nExit status: 0 when every request reuses all of the previous one, 1 on a break, 2 on bad input.')
    .action(async (paths: string[], opts: CheckOptions) => {
      const bodies: RequestBody[] = [];
      for (const p of paths) bodies.push(...(await readSequence(p, ctx, opts.api)));
      if (bodies.length < 2) throw new KvdiffError(`check needs at least two requests, found ${bodies.length}`, 'pass the requests of one session in the order they were sent');
      const engine = await buildEngine(opts, ctx);
      const checked = await checkSequence(engine, bodies, opts.allow);
      // step i compares bodies[i] with bodies[i + 1]; redaction needs both to find the text to hide
      const result = opts.redact ? { ...checked, steps: checked.steps.map((s, i) => ({ ...s, report: redactReport(s.report, bodies[i], bodies[i + 1]) })) } : checked;
      const format = opts.json ? 'json' : opts.format;
      const text =
        format === 'json'
          ? jsonCheckReport(result, opts.redact)
          : format === 'html'
            ? htmlSessionPage(result.steps, await sessionRate(opts))
            : humanCheckReport(result, ctx.colors({ color: opts.out ? false : opts.color }));
      await writeReport(ctx, text, opts.out);
      ctx.exitCode = result.breaks ? 1 : 0;
    });
  addEngineOptions(cmd);
  program.addCommand(cmd);
}

/** The prompt speed for the session page: --pp-rate, else the speed measured in the --timings log. */
async function sessionRate(opts: CheckOptions): Promise<{ ppRate?: number; rateFrom?: string }> {
  if (opts.ppRate !== undefined || !opts.timings) return { ppRate: opts.ppRate };
  let text: string;
  try {
    text = await fsp.readFile(opts.timings, 'utf8');
  } catch (err) {
    throw new KvdiffError(`cannot read timings ${opts.timings}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  const tps = explainLogText(text).summary.promptTps;
  if (!tps) throw new KvdiffError(`${opts.timings} logs no prompt speed ("prompt eval time" lines or response timings)`, 'pass --pp-rate TOKENS_PER_SECOND instead');
  return { ppRate: tps, rateFrom: opts.timings };
}

/**
 * The bodies a path stands for: a file, a JSON-lines file, or a folder of .json files (else of .txt rendered prompts)
 * in name order. Files are read one at a time (a folder of thousands must not open them all at once: EMFILE at
 * `ulimit -n 256`).
 */
async function readSequence(path: string, ctx: CliContext, api?: Api): Promise<RequestBody[]> {
  let isDir = false;
  try {
    isDir = (await fsp.stat(path)).isDirectory();
  } catch (err) {
    throw fsError(err, path, '');
  }
  if (isDir) {
    let all: string[];
    try {
      all = await fsp.readdir(path);
    } catch (err) {
      throw fsError(err, path, 'folder');
    }
    // a folder of request bodies, else a --log-prompts-dir folder of rendered prompts
    let names = all.filter((n) => n.endsWith('.json'));
    if (!names.length) names = all.filter((n) => n.endsWith('.txt'));
    names.sort((x, y) => x.localeCompare(y, 'en', { numeric: true }));
    if (!names.length) throw new KvdiffError(`${path} holds no .json request bodies and no .txt rendered prompts`);
    const bodies: RequestBody[] = [];
    for (const n of names) bodies.push(await readBodyArg(join(path, n), ctx, api));
    return bodies;
  }
  if (path.endsWith('.jsonl')) {
    const text = decodeUtf8(await readBounded(path, MAX_BODY_BYTES, ''), path);
    return text
      .split('\n')
      .map((line, i) => ({ line, label: `${path}:${i + 1}` }))
      .filter(({ line }) => line.trim() !== '')
      .map(({ line, label }) => readClientBody(line, label, api));
  }
  return [await readBodyArg(path, ctx, api)];
}
