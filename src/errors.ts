/**
 * A failure that is the user's input or environment, not a bug: the CLI prints `error: <message>`
 * (plus `help: <hint>` when given) on one line each and exits 2, with no stack trace.
 */
export class KvdiffError extends Error {
  readonly hint?: string;
  constructor(message: string, hint?: string) {
    super(message);
    this.name = 'KvdiffError';
    this.hint = hint;
  }
}

/** A render stopped by a limit (steps, time, size, the command's deadline): never retried or swallowed by a probe, always reported (exit 2). */
export class TemplateLimitError extends KvdiffError {}
