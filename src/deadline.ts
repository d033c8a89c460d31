import { TemplateLimitError } from './errors.js';

/**
 * Default time one command may take, every render, tokenization and server request included: a 1M-token session
 * with dozens of differences is analysed in well under a minute; past two minutes something is hostile or stuck.
 * Per-render limits (MAX_RENDER_MS) and per-request limits (SERVER_TIMEOUT_MS) stay, but never run past this.
 */
export const DEFAULT_TIMEOUT_MS = 120_000;

/** The command ran out of its overall time: reported (exit 2), never swallowed as one variant's failure. */
export class DeadlineError extends TemplateLimitError {}

/** One overall deadline for a command (`--timeout`), shared by every stage that could take long. */
export class Deadline {
  private readonly at: number;
  constructor(readonly ms: number = DEFAULT_TIMEOUT_MS) {
    this.at = performance.now() + ms;
  }

  /** Milliseconds left (0 when past). */
  remaining(): number {
    return Math.max(0, this.at - performance.now());
  }

  /** Throws a DeadlineError naming what was being done when the time is up. */
  check(doing: string): void {
    if (this.remaining() <= 0) throw this.error(doing);
  }

  error(doing: string): DeadlineError {
    return new DeadlineError(
      `kvdiff stopped after ${this.ms / 1000} s (--timeout) while ${doing}`,
      'pass a larger --timeout, or look for the template or input that makes it slow',
    );
  }
}
