import type { ChalkInstance } from 'chalk';

/** What every CLI command gets from `main`: output sinks, colour, environment. Tests pass their own. */
export interface CliContext {
  stdout(text: string): void;
  stderr(text: string): void;
  /** Reads all of standard input (for `-`), up to MAX_BODY_BYTES. */
  readStdin(): Promise<string | Uint8Array>;
  env: Record<string, string | undefined>;
  /** Whether stdout is a terminal (decides colour). */
  isTTY: boolean;
  /** Whether stderr is a terminal (decides progress lines). */
  stderrIsTTY?: boolean;
  /** Milliseconds of a monotonic clock (progress after a second); default performance.now. */
  now?(): number;
  /** Builds the chalk instance for a command, given whether --json / --no-color were asked for. */
  colors(opts: { json?: boolean; color?: boolean }): ChalkInstance;
  /** Exit code set by the command (0 by default). */
  exitCode: number;
}
