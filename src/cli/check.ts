import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import { Command, Option } from 'commander';
import { checkSequence } from '../check.js';
import { KvdiffError } from '../errors.js';
import { parseBody, type RequestBody } from '../payload/body.js';
import { humanCheckReport, jsonCheckReport } from '../report/check.js';
import type { CliContext } from './context.js';
import { addEngineOptions, buildEngine, readBodyArg, type EngineCliOptions } from './shared.js';

interface CheckOptions extends EngineCliOptions {
  json?: boolean;
  allow: string[];
  color?: boolean;
}

/** `kvdiff check`: every request of a recorded sequence must reuse all of the one before it. */
export function registerCheckCommand(program: Command, ctx: CliContext): void {
  const cmd = new Command('check')
    .description('check that a recorded sequence of requests stays prefix-stable (for pre-commit hooks and CI)')
    .argument('<paths...>', 'request bodies in order: .json files, .jsonl files (one body per line), or folders of .json files (name order)')
    .option('--json', 'print the JSON report')
    .addOption(new Option('--allow <code...>', 'finding codes that do not fail the check (e.g. TEMPLATE_REWRITES_HISTORY)').default([]))
    .option('--no-color', 'plain text even on a terminal')
    .addHelpText('after', '\nExit status: 0 when every request reuses all of the previous one, 1 on a break, 2 on bad input.')
    .action(async (paths: string[], opts: CheckOptions) => {
      const bodies = (await Promise.all(paths.map((p) => readSequence(p, ctx)))).flat();
      if (bodies.length < 2) throw new KvdiffError(`check needs at least two requests, found ${bodies.length}`, 'pass the requests of one session in the order they were sent');
      const engine = await buildEngine(opts, ctx);
      const result = await checkSequence(engine, bodies, opts.allow);
      ctx.stdout(opts.json ? jsonCheckReport(result) : humanCheckReport(result, ctx.colors({ color: opts.color })));
      ctx.exitCode = result.breaks ? 1 : 0;
    });
  addEngineOptions(cmd);
  program.addCommand(cmd);
}

/** The bodies a path stands for: a file, a JSON-lines file, or a folder of .json files in name order. */
async function readSequence(path: string, ctx: CliContext): Promise<RequestBody[]> {
  let isDir = false;
  try {
    isDir = (await fsp.stat(path)).isDirectory();
  } catch {
    // readBodyArg reports the missing file
  }
  if (isDir) {
    const names = (await fsp.readdir(path)).filter((n) => n.endsWith('.json')).sort((x, y) => x.localeCompare(y, 'en', { numeric: true }));
    if (!names.length) throw new KvdiffError(`${path} holds no .json request bodies`);
    return Promise.all(names.map((n) => readBodyArg(join(path, n), ctx)));
  }
  if (path.endsWith('.jsonl')) {
    const text = await fsp.readFile(path, 'utf8');
    return text
      .split('\n')
      .map((line, i) => ({ line, label: `${path}:${i + 1}` }))
      .filter(({ line }) => line.trim() !== '')
      .map(({ line, label }) => parseBody(line, label));
  }
  return [await readBodyArg(path, ctx)];
}
