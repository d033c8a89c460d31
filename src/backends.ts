import type { CacheConfig } from './cache.js';
import type { BackendName } from './normalize.js';

/** The serving stacks kvdiff predicts for (`--backend`). */
export type Backend = 'llama.cpp' | 'raw' | 'vllm' | 'sglang';
export const BACKEND_CHOICES: readonly Backend[] = ['llama.cpp', 'raw', 'vllm', 'sglang'];

/**
 * How each backend turns messages into a prompt: llama-server rebuilds them (its own rules); raw, vLLM and
 * SGLang hand the client's messages to the Hugging Face template.
 */
export function renderBackend(b: Backend): BackendName {
  return b === 'llama.cpp' ? 'llama.cpp' : 'raw';
}

/** Which cache rules apply: llama-server's (also used for raw), vLLM's blocks, SGLang's pages. */
export function cacheServer(b: Backend): CacheConfig['server'] {
  return b === 'vllm' || b === 'sglang' ? b : 'llama.cpp';
}
