import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import { Command, Option } from 'commander';
import { analyzeAhead, type DiffReport } from '../analyze.js';
import { KvdiffError } from '../errors.js';
import type { RequestBody } from '../payload/body.js';
import { readClientBody, type Api } from '../dialect/index.js';
import { formatPath } from '../payload/path.js';
import { causeHelp } from '../report/hints.js';
import { helpTarget } from '../report/dialect.js';
import { num, plural } from '../report/visible.js';
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
      const bodies = (await Promise.all(paths.map((p) => readSequence(p, ctx, opts.api)))).flat();
      if (bodies.length < 2) throw new KvdiffError(`check needs at least two requests, found ${bodies.length}`, 'pass the requests of one session in the order they were sent');
      const engine = await buildEngine(opts, ctx);
      const allowed = new Set(opts.allow);
      const steps: { report: DiffReport; ok: boolean }[] = [];
      for (let i = 1; i < bodies.length; i++) {
        const analysed = await analyzeAhead(engine, bodies[i - 1], bodies[i]);
        const report = opts.redact ? redactReport(analysed, bodies[i - 1], bodies[i]) : analysed;
        const breaking = report.causes.filter((f) => f.breaks);
        const ok = report.reusesAll || (breaking.length > 0 && breaking.every((f) => allowed.has(f.code)));
        steps.push({ report, ok });
      }
      const breaks = steps.filter((s) => !s.ok).length;
      const format = opts.json ? 'json' : opts.format;
      const text =
        format === 'json'
          ? jsonCheck(steps, breaks, opts.redact)
          : format === 'html'
            ? htmlSessionPage(steps, await sessionRate(opts))
            : humanCheck(steps, breaks, ctx.colors({ color: opts.out ? false : opts.color }));
      await writeReport(ctx, text, opts.out);
      ctx.exitCode = breaks ? 1 : 0;
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

/** The bodies a path stands for: a file, a JSON-lines file, or a folder of .json files in name order. */
async function readSequence(path: string, ctx: CliContext, api?: Api): Promise<RequestBody[]> {
  let isDir = false;
  try {
    isDir = (await fsp.stat(path)).isDirectory();
  } catch {
    // readBodyArg reports the missing file
  }
  if (isDir) {
    const all = await fsp.readdir(path);
    // a folder of request bodies, else a --log-prompts-dir folder of rendered prompts
    let names = all.filter((n) => n.endsWith('.json'));
    if (!names.length) names = all.filter((n) => n.endsWith('.txt'));
    names.sort((x, y) => x.localeCompare(y, 'en', { numeric: true }));
    if (!names.length) throw new KvdiffError(`${path} holds no .json request bodies and no .txt rendered prompts`);
    return Promise.all(names.map((n) => readBodyArg(join(path, n), ctx, api)));
  }
  if (path.endsWith('.jsonl')) {
    const text = await fsp.readFile(path, 'utf8');
    return text
      .split('\n')
      .map((line, i) => ({ line, label: `${path}:${i + 1}` }))
      .filter(({ line }) => line.trim() !== '')
      .map(({ line, label }) => readClientBody(line, label, api));
  }
  return [await readBodyArg(path, ctx, api)];
}

function humanCheck(steps: { report: DiffReport; ok: boolean }[], breaks: number, c: ReturnType<CliContext['colors']>): string {
  const out: string[] = [];
  let lost = 0;
  for (const { report: r, ok } of steps) {
    const cmp = r.comparison;
    const head = `${r.a.label} → ${r.b.label}`;
    if (r.reusesAll) {
      out.push(`${c.green('ok')}    ${head}: reuses all ${num(cmp.tokensA)} tokens (n_past ${num(cmp.nPast)} of ${num(cmp.tokensB)})`);
      continue;
    }
    const first = r.causes.find((f) => f.breaks) ?? r.causes[0];
    const where = first ? `: ${first.code} ${formatPath(first.path)}` : '';
    const tag = ok ? c.yellow('allow') : c.red.bold('break');
    out.push(`${tag} ${head}: n_past ${num(cmp.nPast)} of ${num(cmp.tokensB)}, cache break at token ${num(cmp.firstDivergence!.token)}${where}`);
    if (first && !ok) out.push(`      ${c.green.bold('help')}: ${causeHelp(helpTarget(first), r.backend)}`);
    if (!ok) lost += cmp.tokensA - Math.min(cmp.commonPrefix, cmp.nPast);
  }
  const summary = breaks
    ? `${c.red.bold('error')}: ${plural(breaks, 'break')} in ${plural(steps.length, 'step')}: ${plural(lost, 'cached token')} thrown away (run kvdiff A B on a pair for the full report)`
    : `${c.green.bold('ok')}: ${plural(steps.length, 'step')}, every request reuses all of the one before`;
  return `${out.join('\n')}\n${summary}\n`;
}

function jsonCheck(steps: { report: DiffReport; ok: boolean }[], breaks: number, redacted?: boolean): string {
  return `${JSON.stringify(
    {
      schemaVersion: 1,
      ...(redacted ? { redacted: true } : {}),
      breaks,
      steps: steps.map(({ report: r, ok }) => ({
        a: r.a.label,
        b: r.b.label,
        ok,
        nPast: r.comparison.nPast,
        tokens: { a: r.comparison.tokensA, b: r.comparison.tokensB },
        reusesAll: r.reusesAll,
        firstDivergence: r.comparison.firstDivergence ? { token: r.comparison.firstDivergence.token, char: r.comparison.firstDivergence.char } : null,
        causes: r.causes.map((f) => ({ code: f.code, path: formatPath(f.path), token: f.token, breaks: f.breaks })),
      })),
    },
    null,
    2,
  )}\n`;
}
