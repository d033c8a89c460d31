/**
 * What a model source (embedded default, GGUF file, Hugging Face folder, Hub id, live server) resolves to.
 * Every stage after `model/` reads only this shape, never files.
 */

/** A tokenizer in Hugging Face `tokenizer.json` + `tokenizer_config.json` form (what `@huggingface/tokenizers` takes). */
export interface TokenizerFiles {
  /** Parsed `tokenizer.json`. */
  json: Record<string, unknown>;
  /** Parsed `tokenizer_config.json` (may be `{}`). */
  config: Record<string, unknown>;
}

/** Where the template and tokenizer came from; shown in every report and in `--json` as `model`. */
export interface ModelSourceInfo {
  kind: 'builtin' | 'gguf' | 'hf' | 'hub' | 'server' | 'files';
  /** Display name: `qwen3`, a file path, a Hub id. */
  name: string;
  /** File the template was read from (or the GGUF / folder), when there is one. */
  templateFile?: string;
  /** File (or folder) the tokenizer was read from, when there is one. */
  tokenizerFile?: string;
  /** sha256 (hex) of the template text as rendered. */
  templateSha256: string;
  /** Named template (`tokenizer.chat_template.<name>`), when one was chosen. */
  templateName?: string;
}

/** Attention layout facts that decide what the server can reuse (backends issue). */
export interface ModelMemoryInfo {
  /** Sliding-window size in tokens, 0 when the model has none. */
  nSwa: number;
  /** True for recurrent or hybrid memory (Mamba, RWKV, ...). */
  recurrent: boolean;
}

export interface ModelInfo {
  source: ModelSourceInfo;
  /** The Jinja chat template text. */
  chatTemplate: string;
  /** All named templates, when the source has several (`default` included). */
  namedTemplates?: Record<string, string>;
  tokenizer: TokenizerFiles;
  /** Token text passed to the template as `bos_token` / `eos_token` ('' when the model has none). */
  bosToken: string;
  eosToken: string;
  /** Whether tokenization adds BOS / EOS (llama.cpp's `tokenizer.ggml.add_bos_token`, HF post-processor). */
  addBos: boolean;
  addEos: boolean;
  memory?: ModelMemoryInfo;
}
