/**
 * What one serving stack does with a request, in one record: how messages reach the template, which Jinja
 * engine renders them, what the tokenizer adds, and its cache rules. A new backend is one more entry in
 * `BACKEND_PROFILES`; everything else (`--backend` choices, normalize, engine, cache, attribution notes) reads it.
 */
export interface BackendProfile {
  /**
   * How request messages reach the template: `llama.cpp` rebuilds them by its own rules (server-common.cpp,
   * common/chat.cpp); `hf` hands the client's messages to the template as transformers' `apply_chat_template` does.
   */
  readonly messages: 'llama.cpp' | 'hf';
  /** Which Jinja engine's behaviour to reproduce: llama.cpp's own (`common/jinja`) or plain @huggingface/jinja. */
  readonly jinja: 'llama.cpp' | 'hf';
  /**
   * Whether the tokenizer adds BOS/EOS to the rendered text. llama-server tokenizes with `add_special=true`;
   * Hugging Face's `apply_chat_template(tokenize=True)` with `add_special_tokens=False`.
   */
  readonly addSpecialTokens: boolean;
  /** Whether a BOS (EOS) string the template printed at the start (end) is cut before tokenizing (llama.cpp). */
  readonly stripsSpecialText: boolean;
  /**
   * Cache rules: llama-server's (longest common prefix, `--cache-reuse`, SWA/recurrent checkpoints, the last
   * token again when all is cached), or reuse in whole blocks (vLLM) / pages (SGLang) of `blockSize` tokens.
   */
  readonly cache: { readonly rules: 'llama.cpp' } | { readonly rules: 'paged'; readonly unit: 'block' | 'page' };
  /** Default `CacheConfig.blockSize` (vLLM `--block-size`, SGLang `--page-size`). */
  readonly blockSize: number;
  /**
   * Whether its /v1/messages conversion rewrites the `cch=` stamp of Claude Code's billing-header system block to
   * `fffff` (llama-server does, server-chat.cpp; vLLM and SGLang template the stamp as sent).
   */
  readonly rewritesBillingHeader: boolean;
  /** The backend with the other message handling: attribution says what a difference does there. */
  readonly contrast: Backend;
}

/** The serving stacks kvdiff predicts for (`--backend`); each has its entry in `BACKEND_PROFILES`. */
export type Backend = 'llama.cpp' | 'raw' | 'vllm' | 'sglang';

/** Every backend's profile, in the order `--help` lists them. */
export const BACKEND_PROFILES: Readonly<Record<Backend, BackendProfile>> = {
  'llama.cpp': { messages: 'llama.cpp', jinja: 'llama.cpp', addSpecialTokens: true, stripsSpecialText: true, cache: { rules: 'llama.cpp' }, blockSize: 16, rewritesBillingHeader: true, contrast: 'raw' },
  raw: { messages: 'hf', jinja: 'hf', addSpecialTokens: false, stripsSpecialText: false, cache: { rules: 'llama.cpp' }, blockSize: 16, rewritesBillingHeader: false, contrast: 'llama.cpp' },
  vllm: { messages: 'hf', jinja: 'hf', addSpecialTokens: false, stripsSpecialText: false, cache: { rules: 'paged', unit: 'block' }, blockSize: 16, rewritesBillingHeader: false, contrast: 'llama.cpp' },
  sglang: { messages: 'hf', jinja: 'hf', addSpecialTokens: false, stripsSpecialText: false, cache: { rules: 'paged', unit: 'page' }, blockSize: 1, rewritesBillingHeader: false, contrast: 'llama.cpp' },
};

export const BACKEND_CHOICES = Object.keys(BACKEND_PROFILES) as readonly Backend[];

export function backendProfile(b: Backend): BackendProfile {
  return BACKEND_PROFILES[b];
}
