/**
 * llama.cpp's BPE pre-tokenizers (`tokenizer.ggml.pre`), as JavaScript regexes with llama.cpp's semantics.
 *
 * Source of truth: `llm_tokenizer_bpe` in llama.cpp's src/llama-vocab.cpp (which regexes per pre-tokenizer type) and
 * `unicode_regex_split` in src/unicode.cpp (how they run). Each regex splits every piece the previous one produced,
 * keeping unmatched text as pieces of its own ("Isolated" split). What differs from running the original Hugging
 * Face regexes in V8, and is reproduced here:
 * - character classes follow llama.cpp's Unicode 15.1 tables (see unicode.ts);
 * - `\s` is llama.cpp's whitespace set (Unicode White_Space: U+0085 yes, U+FEFF no);
 * - `(?i:'s|…)` matches ASCII letters only.
 */
import { llamaClasses } from './unicode.js';

export interface PreTokenizerSpec {
  /** Regex sources, applied in order, each splitting the pieces of the one before. */
  regexes: string[];
  /** llama.cpp `ignore_merges`: a pre-token that is itself in the vocabulary becomes that token. */
  ignoreMerges: boolean;
  /** llama.cpp's default for `add_bos` when `tokenizer.ggml.add_bos_token` is absent. */
  addBosDefault: boolean;
}

const c = llamaClasses;

/** `(?i:'s|'t|'re|'ve|'m|'ll|'d)` as llama.cpp matches it (ASCII case folding only). */
const CONTRACTIONS = "'(?:[sS]|[tT]|[rR][eE]|[vV][eE]|[mM]|[lL][lL]|[dD])";

function gpt2Regex(): string {
  const L = c.any('L');
  const N = c.any('N');
  return [
    "'(?:s|t|re|ve|m|ll|d)",
    ` ?${L}+`,
    ` ?${N}+`,
    ` ?${c.none(`${c.ws}`, 'L', 'N')}+`,
    `${c.ws}+(?!${c.nonWs})`,
    `${c.ws}+`,
  ].join('|');
}

/**
 * The llama3 (digits in threes), qwen2 (single digits) and qwen35 (letters runs take combining marks) hand-written
 * splitters share everything else.
 */
function llama3LikeRegex(digits: '{1,3}' | '', marks = false): string {
  const word = marks ? c.any('L', 'M') : c.any('L');
  const notWord = marks ? c.none(c.ws, 'L', 'M', 'N') : c.none(c.ws, 'L', 'N');
  return [
    CONTRACTIONS,
    `${c.none('\\r\\n', 'L', 'N')}?${word}+`,
    `${c.any('N')}${digits}`,
    ` ?${notWord}+[\\r\\n]*`,
    `${c.ws}*[\\r\\n]+`,
    `${c.ws}+(?!${c.nonWs})`,
    `${c.ws}+`,
  ].join('|');
}

function gpt4oRegex(): string {
  const L = c.any('L');
  const lead = `${c.none('\\r\\n', 'L', 'N')}?`;
  const upperish = `(?:(?=${L})[^a-z])`;
  const lowerish = `(?:(?=${L})[^A-Z])`;
  const suffix = `(?:${CONTRACTIONS})?`;
  return [
    `${lead}${upperish}*${lowerish}+${suffix}`,
    `${lead}${upperish}+${lowerish}*${suffix}`,
    `${c.any('N')}{1,3}`,
    ` ?${c.none(c.ws, 'L', 'N')}+[\\r\\n/]*`,
    `${c.ws}*[\\r\\n]+`,
    `${c.ws}+(?!${c.nonWs})`,
    `${c.ws}+`,
  ].join('|');
}

function deepseekV3Regexes(): string[] {
  const PS = c.any('P', 'S');
  return [
    `${c.any('N')}{1,3}`,
    '[\\u4e00-\\u9fa5\\u3040-\\u309f\\u30a0-\\u30ff]+',
    [
      "[!\"#$%&'()*+,\\-./:;<=>?@\\[\\\\\\]^_`{|}~][A-Za-z]+",
      `${c.none('\\r\\n', 'L', 'P', 'S')}?${c.any('L', 'M')}+`,
      ` ?${PS}+[\\r\\n]*`,
      `${c.ws}*[\\r\\n]+`,
      `${c.ws}+(?!${c.nonWs})`,
      `${c.ws}+`,
    ].join('|'),
  ];
}

function defaultRegexes(): string[] {
  return [`(?:${c.any('P')}|[$+<=>^~|])+`, gpt2Regex(), `${c.any('N')}+`, '[0-9][0-9][0-9]'];
}

function starcoderRegexes(): string[] {
  return [c.any('N'), gpt2Regex()];
}

const LLAMA3_NAMES = ['llama3', 'llama-v3', 'llama-bpe', 'falcon3', 'falcon-h1', 'pixtral', 'midm-2.0', 'lfm2', 'jina-v5-nano'];
const QWEN2_NAMES = ['qwen2', 'deepseek-r1-qwen', 'kormo', 'f2llmv2', 'megrez', 'stablelm2', 'hunyuan', 'solar-open'];
const GPT2_NAMES = ['gpt-2', 'phi-2', 'jina-es', 'jina-de', 'gigachat', 'jina-v2-es', 'jina-v2-de', 'a.x-4.0', 'mellum',
  'modern-bert', 'mpt', 'olmo', 'jais', 'trillion', 'granite-docling', 'exaone4'];
const STARCODER_NAMES = ['starcoder', 'refact', 'command-r', 'smollm', 'codeshell', 'exaone', 'minerva-7b', 'mellum2'];
const DEEPSEEK3_NAMES = ['deepseek-v3', 'hunyuan-dense', 'joyai-llm', 'hy_v4'];
const GPT4O_NAMES = ['gpt-4o', 'llama4', 'kanana2', 'talkie', 'minimax-m2'];

/** The names kvdiff can reproduce, for error messages. */
export const SUPPORTED_PRE_TOKENIZERS = ['default', ...LLAMA3_NAMES, 'dbrx', 'smaug-bpe', ...QWEN2_NAMES, 'qwen35', ...GPT2_NAMES,
  ...STARCODER_NAMES, ...DEEPSEEK3_NAMES, ...GPT4O_NAMES];

/** The pre-tokenizer for `tokenizer.ggml.pre`, or null when kvdiff does not reproduce it. */
export function preTokenizerFor(pre: string): PreTokenizerSpec | null {
  const spec = (regexes: string[], ignoreMerges = false, addBosDefault = false) => ({ regexes, ignoreMerges, addBosDefault });
  // llama.cpp treats a missing pre-tokenizer as 'default' (with a warning).
  if (pre === 'default' || pre === '') return spec(defaultRegexes());
  if (LLAMA3_NAMES.includes(pre)) return spec([llama3LikeRegex('{1,3}')], true, true);
  if (pre === 'dbrx' || pre === 'smaug-bpe') return spec([llama3LikeRegex('{1,3}')]);
  if (QWEN2_NAMES.includes(pre)) return spec([llama3LikeRegex('')]);
  if (pre === 'qwen35') return spec([llama3LikeRegex('', true)]);
  if (GPT2_NAMES.includes(pre)) return spec([gpt2Regex()]);
  if (STARCODER_NAMES.includes(pre)) return spec(starcoderRegexes());
  if (DEEPSEEK3_NAMES.includes(pre)) return spec(deepseekV3Regexes());
  if (GPT4O_NAMES.includes(pre)) return spec([gpt4oRegex()]);
  return null;
}
