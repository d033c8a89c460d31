import { rawPrompt, toChat } from './dialect/index.js';
import { TemplateLimitError } from './jinja/compat.js';
import { backendProfile, type Backend } from './backends.js';
import type { ModelMemoryInfo } from './model/types.js';
import type { RequestBody } from './payload/body.js';
import type { Processed, Processor } from './processor.js';
import { commonTextPrefix } from './text.js';

/**
 * What the server keeps and reuses between two requests: llama-server's cache rules
 * (tools/server/server-context.cpp at 34af94cd, ../shared/docs/llama-server-behaviour.md §c) and the block/page
 * rounding of vLLM and SGLang.
 */
export interface CacheConfig {
  /** The backend whose cache rules apply (its `BackendProfile.cache`). */
  server: Backend;
  /** llama-server `--cache-reuse N`: shift cached chunks of at least N tokens (0 = off). */
  cacheReuse: number;
  /** Sliding-window size of the model (0 = none). */
  nSwa: number;
  /** Recurrent or hybrid memory (can only resume from checkpoints). */
  recurrent: boolean;
  /** llama-server `--swa-full`: keep the whole context in the SWA cache (no checkpoints needed). */
  swaFull: boolean;
  /** `--ctx-checkpoints N` (per slot; 0 disables). */
  ctxCheckpoints: number;
  /** `--checkpoint-min-step N`. */
  checkpointMinStep: number;
  /** `-b` / `-ub`. */
  nBatch: number;
  nUbatch: number;
  /** vLLM `--block-size` / SGLang `--page-size`. */
  blockSize: number;
}

export const DEFAULT_CACHE_CONFIG: CacheConfig = {
  server: 'llama.cpp',
  cacheReuse: 0,
  nSwa: 0,
  recurrent: false,
  swaFull: false,
  ctxCheckpoints: 32,
  checkpointMinStep: 8192,
  nBatch: 2048,
  nUbatch: 512,
  blockSize: 16,
};

/** The cache rules a backend applies: its defaults, the model's memory facts, then the flags given. */
export function cacheConfigFor(backend: Backend, memory: ModelMemoryInfo | undefined, overrides: Partial<CacheConfig> = {}): CacheConfig {
  return {
    ...DEFAULT_CACHE_CONFIG,
    nSwa: memory?.nSwa ?? 0,
    recurrent: memory?.recurrent ?? false,
    server: backend,
    blockSize: backendProfile(backend).blockSize,
    ...overrides,
  };
}

/** llama.cpp pads the SWA cache to a multiple of this many cells (llama-kv-cache-iswa.cpp). */
export const SWA_CACHE_PAD = 256;

/** Length of the common prefix of two id arrays. */
export function commonPrefix(a: readonly number[], b: readonly number[]): number {
  const n = Math.min(a.length, b.length);
  let i = 0;
  while (i < n && a[i] === b[i]) i++;
  return i;
}

/** Why the server cannot resume at any position (SWA cache or recurrent memory), for checkpoint steps. */
export type CheckpointCause = { memory: 'recurrent' } | { memory: 'swa'; window: number; slotPosMin: number };

/** One step of the reuse decision, as data; reporters word it. `nPast` is n_past after the step. */
export type ReuseStep =
  | { rule: 'lcp'; nPast: number }
  | { rule: 'cache-reuse'; nPast: number; minChunk: number; gained: number }
  | { rule: 'checkpoint'; nPast: number; cause: CheckpointCause; checkpoint: Checkpoint }
  | { rule: 'no-checkpoint'; nPast: number; cause: CheckpointCause; commonPrefix: number }
  | { rule: 'full-match-minus-1'; nPast: number }
  | { rule: 'block-rounding'; nPast: number; server: Backend; unit: 'block' | 'page'; blockSize: number };

/** A context checkpoint llama-server keeps for SWA / recurrent memory. */
export interface Checkpoint {
  posMin: number;
  posMax: number;
  nTokens: number;
}

/**
 * Where llama-server creates checkpoints while processing a prompt of `n` tokens (c.3): at the first user-message
 * start, at user-message starts at least `checkpointMinStep` after the previous checkpoint, at the last
 * user-message start, and near the end (`n − min(n_batch, 4 + n_ubatch)` and `n − 4`). Each is taken before the
 * batch starting there, so it covers `[posMin, nTokens − 1]`.
 */
export function checkpointsFor(n: number, userStarts: readonly number[], cfg: CacheConfig): Checkpoint[] {
  if (cfg.ctxCheckpoints <= 0) return [];
  const at = new Set<number>();
  let last = -Infinity;
  const lastUser = userStarts.length ? userStarts[userStarts.length - 1] : -1;
  for (const s of userStarts) {
    if (s <= 0 || s >= n) continue;
    if (at.size === 0 || s - last >= cfg.checkpointMinStep || s === lastUser) {
      at.add(s);
      last = s;
    }
  }
  for (const p of [n - Math.min(cfg.nBatch, 4 + cfg.nUbatch), n - 4]) if (p > 0) at.add(p);
  const cells = swaCells(cfg);
  const list = [...at].sort((x, y) => x - y).map((p) => ({ nTokens: p, posMax: p - 1, posMin: cfg.recurrent ? p - 1 : Math.max(0, p - cells) }));
  return list.slice(-cfg.ctxCheckpoints);
}

/** Cells of the SWA cache: the window plus one micro-batch, padded (what stays in memory after a prompt). */
function swaCells(cfg: CacheConfig): number {
  return Math.ceil((cfg.nSwa + cfg.nUbatch) / SWA_CACHE_PAD) * SWA_CACHE_PAD;
}

/**
 * n_past for prompt `b` when the slot holds `cache` (A's tokens, plus any generated tokens fed back).
 * `userStarts` are the token positions where A's user messages start (for SWA checkpoints).
 */
export function predictReuse(cache: readonly number[], b: readonly number[], cfg: CacheConfig, userStarts: readonly number[] = []): { nPast: number; steps: ReuseStep[] } {
  const lcp = commonPrefix(cache, b);
  const steps: ReuseStep[] = [{ rule: 'lcp', nPast: lcp }];
  const rules = backendProfile(cfg.server).cache;
  if (rules.rules === 'paged') {
    // both recompute at least the last token, then reuse whole blocks / pages only
    const usable = Math.min(lcp, b.length - 1);
    const nPast = Math.max(0, Math.floor(usable / cfg.blockSize) * cfg.blockSize);
    if (nPast !== lcp) {
      steps.push({ rule: 'block-rounding', nPast, server: cfg.server, unit: rules.unit, blockSize: cfg.blockSize });
    }
    return { nPast, steps };
  }
  let nPast = lcp;
  const swa = usesCheckpoints(cfg);
  if (cfg.cacheReuse > 0 && !swa) {
    const gained = chunkReuse(cache, b, lcp, cfg.cacheReuse);
    if (gained > 0) {
      nPast += gained;
      steps.push({ rule: 'cache-reuse', nPast, minChunk: cfg.cacheReuse, gained });
    }
  }
  if (swa && cache.length > 0) {
    const noNewTokens = nPast === b.length;
    const thold = Math.max(0, nPast - cfg.nSwa - (noNewTokens ? 1 : 0));
    const slotPosMin = cfg.recurrent ? cache.length - 1 : Math.max(0, cache.length - swaCells(cfg));
    if (slotPosMin >= thold) {
      const ckpts = checkpointsFor(cache.length, userStarts, cfg);
      const usable = [...ckpts].reverse().find((c) => c.posMax <= nPast && (c.posMin < thold || c.posMin === 0));
      const cause: CheckpointCause = cfg.recurrent ? { memory: 'recurrent' } : { memory: 'swa', window: cfg.nSwa, slotPosMin };
      if (usable) {
        nPast = Math.min(nPast, Math.max(usable.posMin + 1, usable.posMax), usable.nTokens);
        steps.push({ rule: 'checkpoint', nPast, cause, checkpoint: usable });
      } else {
        nPast = 0;
        steps.push({ rule: 'no-checkpoint', nPast, cause, commonPrefix: lcp });
      }
    }
  }
  if (nPast === b.length && nPast > 0) {
    nPast--;
    steps.push({ rule: 'full-match-minus-1', nPast });
  }
  return { nPast, steps };
}

/**
 * `--cache-reuse`: after the common prefix, scan the cache for runs of at least `minChunk` tokens that equal the
 * prompt at its current head and shift them into place. The scan advances in the cache, never in the prompt.
 */
function chunkReuse(cache: readonly number[], b: readonly number[], lcp: number, minChunk: number): number {
  let headC = lcp;
  let headP = lcp;
  let gained = 0;
  while (headC < cache.length && headP < b.length) {
    let n = 0;
    while (headC + n < cache.length && headP + n < b.length && cache[headC + n] === b[headP + n]) n++;
    if (n >= minChunk) {
      gained += n;
      headC += n;
      headP += n;
    } else {
      headC += 1;
    }
  }
  return gained;
}

/** SWA (without `--swa-full`) and recurrent memory resume only from checkpoints taken at user-message starts. */
export function usesCheckpoints(cfg: CacheConfig): boolean {
  return (cfg.nSwa > 0 && !cfg.swaFull) || cfg.recurrent;
}

/** Where llama-server would take checkpoints while processing A: its user-message starts, found only when needed. */
export function checkpointStarts(processor: Processor, a: RequestBody, pa: Processed): number[] {
  return usesCheckpoints(processor.cache) ? userMessageStarts(processor, a, pa) : [];
}

/**
 * Token positions where the user messages of `body` start in its rendered prompt (llama-server takes SWA
 * checkpoints there): each message's start is where the render of the messages before it stops agreeing with
 * the full render.
 */
export function userMessageStarts(engine: Processor, body: RequestBody, p: Processed): number[] {
  const starts: number[] = [];
  for (const prefix of userMessagePrefixes(body, engine.backend)) {
    let text: string;
    try {
      text = prefix ? engine.render(prefix, 'a message prefix') : '';
    } catch (err) {
      if (err instanceof TemplateLimitError) throw err;
      continue; // templates that refuse a partial conversation: no checkpoint position known there
    }
    const at = commonTextPrefix(text, p.rendered);
    // a BOS the tokenizer added has no text of its own: it never starts a message
    const from = engine.firstTextToken(p);
    const found = p.tokens.starts.slice(from).findIndex((s) => s >= at);
    const token = found < 0 ? -1 : found + from;
    if (token >= 0) starts.push(token);
  }
  return starts;
}

/**
 * For each user message of `body` (as the template sees it: other dialects converted), the body holding only the
 * messages before it, without a generation prompt; null for a first message (nothing before it). A remote
 * server is sent these ahead.
 */
export function userMessagePrefixes(body: RequestBody, backend: Backend): (RequestBody | null)[] {
  if (rawPrompt(body)) return [];
  const root = toChat(body, backend).root;
  if (root.type !== 'object') return [];
  const msgs = root.entries.find((e) => e.key === 'messages')?.value;
  if (msgs?.type !== 'array') return [];
  const out: (RequestBody | null)[] = [];
  msgs.items.forEach((m, k) => {
    const role = m.type === 'object' ? m.entries.find((e) => e.key === 'role')?.value : undefined;
    if (role?.type !== 'string' || role.value !== 'user') return;
    if (k === 0) {
      out.push(null);
      return;
    }
    const prefixRoot = {
      type: 'object' as const,
      entries: [
        ...root.entries.filter((e) => e.key !== 'messages' && e.key !== 'add_generation_prompt'),
        { key: 'messages', value: { type: 'array' as const, items: msgs.items.slice(0, k) } },
        { key: 'add_generation_prompt', value: { type: 'boolean' as const, value: false } },
      ],
    };
    out.push({ label: body.label, root: prefixRoot });
  });
  return out;
}
