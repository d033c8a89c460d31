import { Command, Option } from 'commander';
import { MAX_BODY_BYTES } from '../payload/json.js';
import { readBounded } from '../node/read.js';
import type { LoggedReuse } from '../analyze.js';
import { KvdiffError } from '../errors.js';
import type { CliContext } from './context.js';
import { writeReport } from './output.js';
import { addEngineOptions, buildEngine, readBodyArg, type EngineCliOptions } from './shared.js';

/**
 * A response or log file, checked for type and size first (a device or a huge file is refused, not read whole).
 * A log over this is better given to `kvdiff logs`, which streams it.
 */
const MAX_SIDE_FILE_BYTES = MAX_BODY_BYTES;

async function readText(file: string, what: string): Promise<string> {
  return new TextDecoder().decode(await readBounded(file, MAX_SIDE_FILE_BYTES, what));
}

/** The last request with a logged n_past in a llama-server log file. */
async function loggedReuse(file: string, predicted: number): Promise<LoggedReuse> {
  const text = await readText(file, 'log');
  const { explainLogText, lastLoggedRequest } = await import('../logs/index.js');
  const last = lastLoggedRequest(explainLogText(text).requests);
  const reused = last?.reused ?? null;
  return {
    file,
    task: last?.record.task ?? null,
    slot: last?.record.slot ?? null,
    reused,
    promptTokens: last?.promptTokens ?? null,
    agrees: reused === predicted,
  };
}

interface DiffCommandOptions extends EngineCliOptions {
  log?: string;
  response?: string;
  json?: boolean;
  format: 'human' | 'text' | 'json' | 'github' | 'html';
  color?: boolean;
  out?: string;
  redact?: boolean;
}

/** `kvdiff A.json B.json`: the default command. */
export function registerDiffCommand(program: Command, ctx: CliContext): void {
  const cmd = new Command('diff')
    .description('predict what llama-server reuses when B follows A, and which JSON field breaks the prefix')
    .argument('<a>', 'the earlier request body (file, or - for stdin)')
    .argument('<b>', 'the later request body (file, or - for stdin)')
    .option('--json', 'print the JSON report (same as --format json)')
    .addOption(new Option('--format <format>', 'report format').choices(['text', 'json', 'github', 'html', 'human']).default('text'))
    .option('--out <file>', 'write the report to this file (atomically) instead of stdout')
    .option('--redact', 'replace message text by placeholders of the same length (structure, token counts and the break position stay), to share a report')
    .option('--no-color', 'plain text even on a terminal')
    .option('--response <file>', "A's chat-completion response: its generated tokens are in the slot too")
    .option('--log <file>', "a llama-server log of B's request: show the n_past it logged beside the prediction")
    .addHelpText(
      'after',
      '\nExit status: 0 when B reuses all of A\'s prompt, 1 when something breaks the cache, 2 on bad input.\n' +
        'Example: kvdiff samples/session-reload/loop.json samples/session-reload/reload.json',
    )
    .action(async (a: string, b: string, opts: DiffCommandOptions) => {
      if (a === '-' && b === '-') throw new KvdiffError('only one of A and B can be read from stdin (-)');
      const format = opts.json ? 'json' : opts.format;
      const engine = await buildEngine(opts, ctx);
      // the pipeline and reporters load when a diff runs, not for `--help` or a usage error
      const [{ analyzeAhead }, { readResponse }, { githubReport }, { humanReport }, { jsonReport, toJsonReport }, { htmlDiffPage }, { redactNode, redactReport }] = await Promise.all([
        import('../analyze.js'),
        import('../payload/response.js'),
        import('../report/github.js'),
        import('../report/human.js'),
        import('../report/json.js'),
        import('../report/html/page.js'),
        import('../report/redact.js'),
      ]);
      const response = opts.response ? readResponse(await readText(opts.response, 'response'), opts.response) : undefined;
      const bodyA = await readBodyArg(a, ctx, opts.api);
      const bodyB = await readBodyArg(b, ctx, opts.api);
      const analysed = await analyzeAhead(engine, bodyA, bodyB, { response });
      if (opts.log) analysed.logged = await loggedReuse(opts.log, analysed.comparison.nPast);
      const report = opts.redact ? redactReport(analysed, bodyA, bodyB) : analysed;
      let text: string;
      if (format === 'json') text = opts.redact ? `${JSON.stringify({ ...toJsonReport(report), redacted: true }, null, 2)}\n` : jsonReport(report);
      else if (format === 'github') text = githubReport(report);
      else if (format === 'html') {
        const textOnly = bodyA.api === 'prompt' || bodyB.api === 'prompt';
        const node = (n: typeof bodyA.root) => (opts.redact ? redactNode(n) : n);
        text = htmlDiffPage(report, textOnly ? undefined : { a: node(bodyA.root), b: node(bodyB.root) });
      } else {
        text = humanReport(report, ctx.colors({ json: false, color: opts.out ? false : opts.color }));
        if (opts.redact) text += 'note: --redact: message text is replaced by placeholders of the same length; the numbers are those of the real prompts\n';
      }
      await writeReport(ctx, text, opts.out);
      ctx.exitCode = analysed.reusesAll ? 0 : 1;
    });
  addEngineOptions(cmd);
  program.addCommand(cmd, { isDefault: true });
}
