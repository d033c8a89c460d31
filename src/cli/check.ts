import { basename } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Command, Option } from 'commander';
import type { SessionOutcome } from '../check.js';
import { KvdiffError } from '../errors.js';
import { decodeUtf8 } from '../payload/body.js';
import { MAX_BODY_BYTES } from '../payload/json.js';
import { lineOfPath } from '../payload/locate.js';
import type { JsonPath } from '../payload/path.js';
import type { Processor } from '../processor.js';
import { readBounded } from '../node/read.js';
import type { Locate } from '../report/check.js';
import { safeText } from '../report/format.js';
import type { SessionConfig } from '../expectations.js';
import type { CliContext } from './context.js';
import { resolveSessions, sessionConfig, EXPECTATIONS_FILE, type RequestSource } from './check-input.js';
import { addEngineOptions, buildEngine, type EngineCliOptions } from './shared.js';
import { parseRate, writeReport } from './output.js';

/** Report formats of `kvdiff check` (one more reporter is one more entry). */
export const CHECK_FORMATS = ['text', 'json', 'github', 'html'] as const;
export type CheckFormat = (typeof CHECK_FORMATS)[number];

/** A run this long on a terminal shows progress on stderr. */
const PROGRESS_AFTER_MS = 1000;

interface CheckOptions extends EngineCliOptions {
  json?: boolean;
  format?: CheckFormat;
  allow: string[];
  color?: boolean;
  config?: string;
  out?: string;
  redact?: boolean;
  ppRate?: number;
  timings?: string;
}

/** `kvdiff check`: every request of a recorded sequence must reuse all of the one before it. */
export function registerCheckCommand(program: Command, ctx: CliContext): void {
  const cmd = new Command('check')
    .description('check that recorded sessions of requests stay prefix-stable (for pre-commit hooks and CI)')
    .argument(
      '<paths...>',
      'sessions: folders of request bodies (.json, or .txt rendered prompts) in name order, a kvdiff record --out folder (one session per subfolder), .jsonl files (one body per line), .har exports; a capture file (0003.json) stands for its session folder; other .json files in a row form one session',
    )
    .addOption(new Option('--format <format>', 'report format').choices([...CHECK_FORMATS]).default('text'))
    .option('--json', 'the JSON report (same as --format json)')
    .addOption(new Option('--allow <code...>', 'finding codes that do not fail the check (e.g. TEMPLATE_REWRITES_HISTORY)').default([]))
    .option('--config <file>', `expectations for every session (default: ${EXPECTATIONS_FILE} beside the requests, kvdiff.config.json or package.json "kvdiff" above them)`)
    .option('--out <file>', 'write the report to this file (atomically) instead of stdout')
    .option('--redact', 'replace message text by placeholders of the same length (structure, token counts and break positions stay)')
    .option('--pp-rate <tokens/s>', 'prompt-processing speed, to price the re-processed tokens in time (html)', parseRate)
    .option('--timings <file>', 'a llama-server log (or saved responses with timings) of the session: its measured prompt speed prices the lost tokens when --pp-rate is not given (html)')
    .option('--no-color', 'plain text even on a terminal')
    .addHelpText('after', '\nExit status: 0 when every session passes, 1 on a break (or a declared break that no longer happens), 2 on bad input (the other sessions are still checked and reported).')
    .action(async (paths: string[], opts: CheckOptions) => {
      const format: CheckFormat = opts.json ? 'json' : (opts.format ?? 'text');
      // the pipeline and reporters load when a check runs, not for `--help` or a usage error
      const [{ checkSequence }, { githubCheckReport, humanCheckReport, jsonCheckReport }, { htmlSessionPage }, { redactReport }] = await Promise.all([
        import('../check.js'),
        import('../report/check.js'),
        import('../report/html/page.js'),
        import('../report/redact.js'),
      ]);
      const specs = await resolveSessions(paths, opts.api);
      const sources = new Map<string, RequestSource>();
      const engines = new Map<string, Promise<Processor>>();
      const outcomes: SessionOutcome[] = [];
      const declared = new Map<string, string[]>();
      const progress = startProgress(ctx);
      for (const spec of specs) {
        try {
          if (spec.error) throw spec.error;
          const { config, from } = await sessionConfig(spec, opts.config);
          declared.set(spec.name, from.filter((f) => f.endsWith(EXPECTATIONS_FILE)));
          const requests = await spec.load(sources);
          const count = requests.labels.length;
          if (count < 2) throw new KvdiffError(`check needs at least two requests, found ${count} in ${spec.name}`, 'pass the requests of one session in the order they were sent');
          const engine = await engineFor(engines, opts, config, ctx);
          const result = await checkSequence(engine, requests, {
            allow: opts.allow,
            expectations: config,
            logged: requests.logged,
            onStep: (i, n) => progress(spec.name, i, n),
            ...(opts.redact ? { mapReport: redactReport } : {}),
            keepReports: format === 'html',
          });
          outcomes.push({ name: spec.name, ...(from.length ? { expectationsFrom: from } : {}), result });
        } catch (err) {
          if (!(err instanceof KvdiffError)) throw err;
          outcomes.push({ name: spec.name, error: { message: err.message, ...(err.hint ? { hint: err.hint } : {}) } });
          ctx.stderr(`error: ${safeText(err.message)}${err.message.includes(spec.name) ? '' : ` (session ${safeText(spec.name)})`}\n`);
          if (err.hint) ctx.stderr(`help: ${safeText(err.hint)}\n`);
        }
      }
      progress.done();
      const locate = await locator(outcomes, sources);
      let text = '';
      if (format === 'json') text = jsonCheckReport(outcomes, opts.redact);
      else if (format === 'github') text = githubCheckReport(outcomes, locate, await declarations(outcomes, declared));
      else if (format === 'html') {
        const steps = outcomes.flatMap((o) => o.result?.steps.map((s) => ({ report: s.full!, ok: s.ok })) ?? []);
        if (steps.length) text = htmlSessionPage(steps, await sessionRate(opts));
      }
      // nothing could be checked: the error lines on stderr are the whole report
      else if (outcomes.some((o) => o.result)) text = humanCheckReport(outcomes, ctx.colors({ color: opts.out ? false : opts.color }), locate);
      if (text) await writeReport(ctx, text, opts.out);
      ctx.exitCode = outcomes.some((o) => o.error) ? 2 : outcomes.some((o) => !o.result!.ok) ? 1 : 0;
    });
  addEngineOptions(cmd);
  program.addCommand(cmd);
}

/** The prompt speed for the session page: --pp-rate, else the speed measured in the --timings log. */
async function sessionRate(opts: CheckOptions): Promise<{ ppRate?: number; rateFrom?: string }> {
  if (opts.ppRate !== undefined || !opts.timings) return { ppRate: opts.ppRate };
  const text = decodeUtf8(await readBounded(opts.timings, MAX_LOG_BYTES, 'timings log'), opts.timings);
  const { explainLogText } = await import('../logs/index.js');
  const tps = explainLogText(text).summary.promptTps;
  if (!tps) throw new KvdiffError(`${opts.timings} logs no prompt speed ("prompt eval time" lines or response timings)`, 'pass --pp-rate TOKENS_PER_SECOND instead');
  return { ppRate: tps, rateFrom: opts.timings };
}

/** Largest --timings log read whole (a session's log; `kvdiff logs` streams longer ones). */
const MAX_LOG_BYTES = 256 * 1024 * 1024;

/** One engine per distinct model setting: a run over many sessions of one model loads it once. */
function engineFor(engines: Map<string, Promise<Processor>>, opts: CheckOptions, c: SessionConfig, ctx: CliContext): Promise<Processor> {
  const merged: EngineCliOptions = { ...opts };
  for (const k of ['model', 'gguf', 'hf', 'template', 'templateName', 'tokenizer', 'date'] as const) if (c[k] !== undefined) merged[k] = c[k];
  if (c.backend !== undefined) merged.backend = c.backend;
  if (c.cacheReuse !== undefined) merged.cacheReuse = c.cacheReuse;
  const key = JSON.stringify(merged);
  let e = engines.get(key);
  if (!e) {
    e = buildEngine(merged, ctx);
    engines.set(key, e);
  }
  return e;
}

/** Progress on stderr once a run has taken a second, on a terminal only. */
function startProgress(ctx: CliContext) {
  const now = ctx.now ?? (() => performance.now());
  const start = now();
  let shown = false;
  const show = (session: string, i: number, n: number) => {
    if (!ctx.stderrIsTTY || now() - start < PROGRESS_AFTER_MS) return;
    shown = true;
    ctx.stderr(`\r\x1b[Kchecking ${safeText(session)}: step ${i + 1} of ${n + 1}`);
  };
  return Object.assign(show, { done: () => shown && ctx.stderr('\r\x1b[K') });
}

/** Where a session's declarations are: the nearest kvdiff.json, at the line of the step a problem names. */
async function declarations(outcomes: SessionOutcome[], declared: Map<string, string[]>) {
  const found = new Map<string, { file: string; line?: number }>();
  for (const o of outcomes) {
    const files = declared.get(o.name) ?? [];
    if (!files.length) continue;
    const nearest = files[files.length - 1];
    found.set(`${o.name}\u0000`, { file: nearest });
    for (const p of o.result?.problems ?? []) {
      if (p.code === 'REUSE_BELOW_MINIMUM') continue;
      for (const file of [...files].reverse()) {
        const text = await readBounded(file, MAX_BODY_BYTES, '').then((b) => decodeUtf8(b, file)).catch(() => null);
        const line = text === null ? undefined : (lineOfPath(text, ['steps', p.key]) ?? lineOfPath(text, ['sessions', basename(o.name), 'steps', p.key]));
        if (line) {
          found.set(`${o.name}\u0000${p.key}`, { file, line });
          break;
        }
      }
    }
  }
  return (session: string, key?: string) => found.get(`${session}\u0000${key ?? ''}`) ?? found.get(`${session}\u0000`);
}

/** Where each failing cause's JSON path is: the request file, and its line when the file holds that one body. */
async function locator(outcomes: SessionOutcome[], sources: Map<string, RequestSource>): Promise<Locate> {
  const lines = new Map<string, number | undefined>();
  const key = (label: string, path: JsonPath) => `${label}\u0000${JSON.stringify(path)}`;
  const texts = new Map<string, string | null>();
  for (const o of outcomes) {
    for (const st of o.result?.steps ?? []) {
      if (st.ok) continue;
      for (const f of st.report.causes) {
        const label = f.side === 'a' ? st.report.a.label : st.report.b.label;
        const src = sources.get(label);
        if (!src?.whole && !src?.at) continue;
        if (!texts.has(src.file)) texts.set(src.file, await readBounded(src.file, MAX_BODY_BYTES, '').then((b) => decodeUtf8(b, src.file)).catch(() => null));
        const text = texts.get(src.file);
        // a wrapped body (HAR) is one JSON string in its file: the line of that string
        lines.set(key(label, f.path), text == null ? undefined : lineOfPath(text, src.at ?? f.path));
      }
    }
  }
  return (label, path) => {
    const src = sources.get(label);
    if (!src) return { file: label };
    const line = src.whole || src.at ? lines.get(key(label, path)) : src.line;
    return { file: src.file, ...(line ? { line } : {}) };
  };
}
