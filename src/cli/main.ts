import { createRequire } from 'node:module';
import { Command, CommanderError } from 'commander';
import { Chalk } from 'chalk';
import { KvdiffError } from '../errors.js';
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
    .configureOutput({ writeOut: (s) => ctx.stdout(s), writeErr: (s) => ctx.stderr(s) });
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

export function nodeContext(): CliContext {
  // `kvdiff ... | head` closes the pipe early: stop writing quietly instead of crashing on EPIPE
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw err;
  });
  return {
    stdout: (s) => process.stdout.write(s),
    stderr: (s) => process.stderr.write(s),
    readStdin: async () => {
      const chunks: Buffer[] = [];
      for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
      return Buffer.concat(chunks).toString('utf8');
    },
    env: process.env,
    isTTY: Boolean(process.stdout.isTTY),
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
      ctx.stderr(`error: ${err.message}\n`);
      if (err.hint) ctx.stderr(`help: ${err.hint}\n`);
      return 2;
    }
    const e = err as Error;
    ctx.stderr(`error: internal error: ${e?.message ?? String(err)}\n${e?.stack ?? ''}\n`);
    return 2;
  }
}
