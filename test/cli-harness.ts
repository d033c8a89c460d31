import { Chalk } from 'chalk';
import { main } from '../src/cli/main.js';
import type { CliContext } from '../src/cli/context.js';

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the CLI in-process with captured output, no colour, and optional stdin. */
export async function runCli(args: string[], stdin = '', more: Partial<CliContext> = {}): Promise<CliResult> {
  let stdout = '';
  let stderr = '';
  const ctx: CliContext = {
    stdout: (s) => void (stdout += s),
    stderr: (s) => void (stderr += s),
    readStdin: async () => stdin,
    env: {},
    isTTY: false,
    colors: () => new Chalk({ level: 0 }),
    exitCode: 0,
    ...more,
  };
  const code = await main(['node', 'kvdiff', ...args], ctx);
  return { code, stdout, stderr };
}
