import { commonPrefix, DEFAULT_CACHE_CONFIG, predictReuse, type CacheConfig, type ReuseStep } from './cache.js';
import { codePointIndex, commonTextPrefix } from './text.js';
import type { Tokens } from './tokenize/prompt.js';

export { commonPrefix } from './cache.js';
export { codePointIndex, commonTextPrefix } from './text.js';

/** Where two rendered prompts part, and what the server can reuse. */
export interface Comparison {
  /** Longest common token prefix of A's and B's tokens. */
  commonPrefix: number;
  /** Tokens the server reuses for B (llama-server's logged `n_past`, `timings.cache_n`). */
  nPast: number;
  /** How nPast follows from the common prefix: the cache rules that applied, in order. */
  steps: ReuseStep[];
  tokensA: number;
  tokensB: number;
  /** Null when B starts with every token of A (nothing of A's prompt is lost). */
  firstDivergence: Divergence | null;
}

export interface Divergence {
  /** Index of the first token that differs (= commonPrefix). */
  token: number;
  /** Code-point index of the first character that differs in the rendered texts (or where the token starts). */
  char: number;
  /** The same place as UTF-16 indices into A's and B's rendered text. */
  utf16: number;
}


/**
 * Where B parts from A, and what the server reuses: by default llama-server's rule (longest common token
 * prefix, minus 1 when all of B is cached), else the cache rules given (SWA checkpoints, --cache-reuse, blocks).
 */
export function comparePrompts(
  textA: string,
  a: Tokens,
  textB: string,
  b: Tokens,
  cache: CacheConfig = DEFAULT_CACHE_CONFIG,
  userStartsA: readonly number[] = [],
  /** What the slot holds when it is more than A's prompt (A's generated tokens fed back). */
  slotIds: readonly number[] = a.ids,
): Comparison {
  const lcp = commonPrefix(a.ids, b.ids);
  const reuse = predictReuse(slotIds, b.ids, cache, userStartsA);
  let firstDivergence: Divergence | null = null;
  if (lcp < a.ids.length) {
    const textLcp = commonTextPrefix(textA, textB);
    // A's text is a prefix of B's and only the tokens differ (a boundary moved): point at the token instead
    const at = textLcp >= textA.length ? (lcp < b.ids.length ? b.starts[lcp] : textB.length) : textLcp;
    firstDivergence = { token: lcp, char: codePointIndex(textB, at), utf16: at };
  }
  return {
    commonPrefix: lcp,
    nPast: reuse.nPast,
    steps: reuse.steps,
    tokensA: a.ids.length,
    tokensB: b.ids.length,
    firstDivergence,
  };
}
