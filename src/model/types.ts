/**
 * What a model source (embedded default, GGUF file, Hugging Face folder, Hub id, live server) resolves to.
 * Every stage after `model/` reads only this shape, never files.
 */

/**
 * A tokenizer ready to encode: what `PromptTokenizer` runs. Gives exactly the ids `new Tokenizer(json, config)` gives
 * for the same `TokenizerFiles` (both follow llama.cpp), but is built from compact arrays in a few milliseconds.
 */
export interface TokenEncoder {
  /** Ids of one text piece that holds no special token (llama.cpp's tokenization of a raw-text fragment). */
  encode(text: string): number[];
  /** A token's vocabulary text (byte-level characters or SentencePiece `▁` form), undefined for an unknown id. */
  token(id: number): string | undefined;
  /** Id of a vocabulary or special token text, undefined when there is none. */
  id(text: string): number | undefined;
  /** Display text of one token (special tokens as written; a partial UTF-8 byte shows as U+FFFD). */
  decode(id: number): string;
  /**
   * Special (added) tokens, matched in the raw text before `encode` as llama.cpp's partition does. `lstrip` /
   * `rstrip`: whitespace just before / after the token is dropped (llama.cpp's LSTRIP/RSTRIP attributes,
   * tokenizer.json's flags).
   */
  readonly specials: readonly SpecialToken[];
  /**
   * Which whitespace `lstrip`/`rstrip` drop: `ascii` is llama.cpp's C `isspace` (space, \t, \n, \v, \f, \r);
   * absent, JavaScript's `trim` set, as @huggingface/tokenizers strips.
   */
  readonly stripSpace?: 'ascii';
  /** How a token's text maps to input bytes: GPT-2 byte characters, or SentencePiece (`▁` = space, `<0xNN>`). */
  readonly textForm: 'byte-level' | 'spm';
  /** Which code encodes: kvdiff's own (`kvdiff`) or `@huggingface/tokenizers` (for tests and diagnostics). */
  readonly engine?: 'kvdiff' | '@huggingface/tokenizers';
}

export interface SpecialToken {
  id: number;
  content: string;
  lstrip?: boolean;
  rstrip?: boolean;
}

/** A tokenizer in Hugging Face `tokenizer.json` + `tokenizer_config.json` form (what `@huggingface/tokenizers` takes). */
export interface TokenizerFiles {
  /** Parsed `tokenizer.json`. Sources that set `encoder` may build it lazily, on first read (a getter). */
  json: Record<string, unknown>;
  /** Parsed `tokenizer_config.json` (may be `{}`). */
  config: Record<string, unknown>;
  /**
   * Optional fast path: builds an encoder with the same ids as `new Tokenizer(json, config)`, without that
   * constructor's cost (GGUF SentencePiece, prepared BPE forms). `PromptTokenizer` calls it once when present.
   */
  encoder?: () => TokenEncoder;
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
