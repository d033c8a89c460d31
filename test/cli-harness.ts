import { Chalk } from 'chalk';
import { main } from '../src/cli/main.js';
import type { CliContext } from '../src/cli/context.js';

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** A CLI context that keeps what is written (`out`, `err`): no colour, no terminal, empty stdin and environment. */
export function capturingContext(more: Partial<CliContext> = {}): CliContext & { out: string[]; err: string[] } {
  const out: string[] = [];
  const err: string[] = [];
  return {
    out,
    err,
    stdout: (s) => void out.push(s),
    stderr: (s) => void err.push(s),
    readStdin: async () => '',
    env: {},
    isTTY: false,
    colors: () => new Chalk({ level: 0 }),
    exitCode: 0,
    ...more,
  };
}

/** Runs the CLI in-process with captured output, no colour, and optional stdin. */
export async function runCli(args: string[], stdin = '', more: Partial<CliContext> = {}): Promise<CliResult> {
  const ctx = capturingContext({ readStdin: async () => stdin, ...more });
  const code = await main(['node', 'kvdiff', ...args], ctx);
  return { code, stdout: ctx.out.join(''), stderr: ctx.err.join('') };
}
