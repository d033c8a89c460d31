import type { CheckpointCause, ReuseStep } from '../cache.js';

function causeText(c: CheckpointCause): string {
  return c.memory === 'recurrent' ? 'recurrent/hybrid memory cannot be cut at any position' : `the SWA cache (window ${c.window}) no longer holds the positions before ${c.slotPosMin}`;
}

/** One cache step in words (the human `note:` lines and the `detail` of `--json`'s `reuseSteps`). */
export function reuseStepText(s: ReuseStep): string {
  switch (s.rule) {
    case 'lcp':
      return `longest common token prefix with the cached tokens: ${s.nPast}`;
    case 'block-rounding':
      return `${s.server} reuses whole ${s.unit}s of ${s.blockSize} tokens and computes the last token again`;
    case 'cache-reuse':
      return `--cache-reuse ${s.minChunk} shifts ${s.gained} later cached tokens into place`;
    case 'checkpoint':
      return `${causeText(s.cause)}: restores the checkpoint [${s.checkpoint.posMin}, ${s.checkpoint.posMax}] (n_tokens = ${s.checkpoint.nTokens})`;
    case 'no-checkpoint':
      return `${causeText(s.cause)} and no checkpoint lies at or below ${s.commonPrefix}: full prompt re-processing`;
    case 'full-match-minus-1':
      return 'B is entirely cached; the last token is evaluated again for its logits';
  }
}

/** The `--json` form of the steps: rule, n_past after it, and the step in words. */
export function jsonReuseSteps(steps: readonly ReuseStep[]): { rule: ReuseStep['rule']; nPast: number; detail: string }[] {
  return steps.map((s) => ({ rule: s.rule, nPast: s.nPast, detail: reuseStepText(s) }));
}
