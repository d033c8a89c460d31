import { createRequire } from 'node:module';
import { Command, CommanderError } from 'commander';
import { Chalk } from 'chalk';
import { KvdiffError } from '../errors.js';
import { safeText } from '../report/format.js';
import { readStreamBounded } from '../node/read.js';
import { MAX_BODY_BYTES } from '../payload/json.js';
import type { CliContext } from './context.js';
import { registerCheckCommand } from './check.js';
import { registerDiffCommand } from './diff.js';
import { registerRenderCommands } from './render.js';
import { registerLogsCommand } from './logs.js';
import { registerRecordCommand } from './record.js';

function packageVersion(): string {
  return (createRequire(import.meta.url)('../../package.json') as { version: string }).version;
}

/** Builds the commander program. Each command module registers itself here. */
export function buildProgram(ctx: CliContext): Command {
  const program = new Command();
  program
    .name('kvdiff')
    .description('explain prompt-cache (KV-cache) misses between two chat requests')
    .version(packageVersion(), '-V, --version', 'print the kvdiff version')
    .exitOverride()
    // commander's usage errors quote the argument typed (`unknown option '--\x1b[2J'`): escape it like any input
    .configureOutput({ writeOut: (s) => ctx.stdout(s), writeErr: (s) => ctx.stderr(s.split('\n').map(safeText).join('\n')) });
  // -- command registrations (one line per command module) --
  registerDiffCommand(program, ctx);
  registerRenderCommands(program, ctx);
  registerCheckCommand(program, ctx);
  registerLogsCommand(program, ctx);
  registerRecordCommand(program, ctx);
  // commands added with addCommand() do not inherit these; without them a usage error would exit the process
  for (const cmd of program.commands) cmd.copyInheritedSettings(program);
  return program;
}

/** Where to report a bug: printed under the stack of an internal error. */
export const BUG_REPORT_HINT = 'this is a bug in kvdiff: please report it with the command you ran and the stack above';

export function nodeContext(): CliContext {
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    // `kvdiff ... | head` closes the pipe early: stop writing quietly
    if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    // a full disk (`> /dev/full`: ENOSPC), a broken device: the output is incomplete, so say so and fail
    process.stderr.write(`error: cannot write the output: ${err.code ?? err.message}${err.code === 'ENOSPC' ? ' (no space left on the device)' : ''}\n`);
    process.exit(2);
  });
  return {
    stdout: (s) => process.stdout.write(s),
    stderr: (s) => process.stderr.write(s),
    readStdin: async () => readStreamBounded(process.stdin, MAX_BODY_BYTES, 'standard input'),
    env: process.env,
    isTTY: Boolean(process.stdout.isTTY),
    stderrIsTTY: Boolean(process.stderr.isTTY),
    colors({ json, color }) {
      const off = json || color === false || 'NO_COLOR' in process.env || !process.stdout.isTTY;
      const forced = process.env.FORCE_COLOR && process.env.FORCE_COLOR !== '0';
      return new Chalk({ level: off && !(forced && !json && color !== false) ? 0 : 1 });
    },
    exitCode: 0,
  };
}

/** Runs the CLI; returns the exit code. The only catch in the program: known errors are one line, exit 2. */
export async function main(argv: string[], ctx: CliContext = nodeContext()): Promise<number> {
  const program = buildProgram(ctx);
  try {
    await program.parseAsync(argv);
    return ctx.exitCode;
  } catch (err) {
    if (err instanceof CommanderError) {
      if (err.exitCode === 0) return 0; // --help, --version
      return 2; // commander already printed its message
    }
    if (err instanceof KvdiffError) {
      // messages quote inputs (file names, template and server messages): never let them drive the terminal
      ctx.stderr(`error: ${safeText(err.message)}\n`);
      if (err.hint) ctx.stderr(`help: ${safeText(err.hint)}\n`);
      return 2;
    }
    const e = err as Error;
    ctx.stderr(`error: internal error: ${safeText(e?.message ?? String(err))}\n${safeText(e?.stack ?? '').replace(/\\n/g, '\n')}\n${BUG_REPORT_HINT}\n`);
    return 2;
  }
}
