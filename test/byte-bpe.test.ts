/**
 * kvdiff's byte-level BPE encoder (src/tokenize/byte-bpe.ts) against @huggingface/tokenizers' full Tokenizer on the
 * same tokenizer.json: seeded strings of every kind (test/text-corpus.ts), and tokenizer.json variants that use each
 * pre-tokenizer, normalizer and model option the encoder reproduces. Expected ids always come from the library.
 * (Against llama.cpp, for GGUF sources: test/gguf-tokenizer.test.ts.)
 */
import { Tokenizer } from '@huggingface/tokenizers';
import { describe, expect, it } from 'vitest';
import { bpeEncoder } from '../src/tokenize/bpe.ts';
import { PromptTokenizer } from '../src/tokenize/prompt.ts';
import { readGgufHeader } from '../src/model/gguf/header.ts';
import { ggufTokenizer } from '../src/model/gguf/tokenizer.ts';
import { nodeFs } from '../src/node/fs.ts';
import type { ModelInfo, TokenEncoder } from '../src/model/types.ts';
import { corpus } from './text-corpus.ts';
import { QWEN3_CONFIG_BYTES, QWEN3_TOKENIZER_BYTES } from './qwen3-files.ts';
import { HAVE_SHARED, SHARED_MODELS } from './shared.ts';
import { existsSync } from 'node:fs';

const SLOW_TEST_MS = 120_000;
const SEED = 20261202;

const QWEN3 = JSON.parse(QWEN3_TOKENIZER_BYTES.toString('utf8')) as Record<string, unknown>;
const QWEN3_CONFIG = JSON.parse(QWEN3_CONFIG_BYTES.toString('utf8')) as Record<string, unknown>;

/** A model around a tokenizer.json, for PromptTokenizer (which splits special tokens off as llama-server does). */
function modelOf(json: Record<string, unknown>, config: Record<string, unknown>): ModelInfo {
  return {
    source: { kind: 'files', name: 'test', templateSha256: '' },
    chatTemplate: '',
    tokenizer: { json, config },
    bosToken: '',
    eosToken: '',
    addBos: false,
    addEos: false,
  };
}

/** Corpus strings whose ids differ between kvdiff and the library's full Tokenizer. */
function mismatches(json: Record<string, unknown>, config: Record<string, unknown>, size: number, seed = SEED): string[] {
  const lib = new Tokenizer(json, config);
  const ours = new PromptTokenizer(modelOf(json, config));
  const specials = ((json.added_tokens as { content: string }[]) ?? []).map((t) => t.content);
  const out: string[] = [];
  for (const { kind, text } of corpus(specials, size, seed)) {
    const want: number[] = lib.encode(text, { add_special_tokens: false }).ids;
    const got = ours.encode(text, false).ids;
    if (want.length !== got.length || want.some((id, i) => id !== got[i])) out.push(`${kind}: ${JSON.stringify(text).slice(0, 160)}`);
  }
  return out;
}

const engineOf = (json: Record<string, unknown>, config = QWEN3_CONFIG): TokenEncoder['engine'] => bpeEncoder(json, config).engine;
const withPre = (pre: unknown, extra: Record<string, unknown> = {}) => ({ ...QWEN3, pre_tokenizer: pre, ...extra });
const BYTE_LEVEL = { type: 'ByteLevel', add_prefix_space: false, trim_offsets: false, use_regex: false };

describe('Qwen3 tokenizer.json (embedded): kvdiff encodes like @huggingface/tokenizers', () => {
  it('as shipped (NFC normalizer) and as llama-server runs it (no normalizer), kvdiff\'s encoder is the one used', () => {
    expect(engineOf(QWEN3)).toBe('kvdiff');
    expect(engineOf({ ...QWEN3, normalizer: null })).toBe('kvdiff');
  });

  it('as shipped: 3000 seeded strings of every kind give the same ids', () => {
    expect(mismatches(QWEN3, QWEN3_CONFIG, 3000)).toEqual([]);
  }, SLOW_TEST_MS);

  it('without the normalizer (the embedded model\'s server form): 3000 more strings', () => {
    expect(mismatches({ ...QWEN3, normalizer: null }, QWEN3_CONFIG, 3000, SEED + 1)).toEqual([]);
  }, SLOW_TEST_MS);

  it('long pieces (merged through the heap) and repeated pieces (from the cache) give the same ids', () => {
    const lib = new Tokenizer(QWEN3, QWEN3_CONFIG);
    const ours = bpeEncoder(QWEN3, QWEN3_CONFIG);
    const texts = [
      ' '.repeat(5000) + 'x',
      '日本語のテキストを長く書いています'.repeat(40),
      'aGVsbG8gd29ybGQ'.repeat(300),
      'é'.repeat(700),
      '😀👍🏽'.repeat(200),
      '=-'.repeat(1000) + '\n'.repeat(300),
      'function f(x) { return x * 2; }\n'.repeat(200),
      // longer than the encoder's scratch arrays (64 KiB of UTF-8): merged in arrays of their own
      ' '.repeat(30_000) + 'x',
      'é'.repeat(22_000),
    ];
    for (const text of [...texts, ...texts]) {
      expect(ours.encode(text), text.slice(0, 20)).toEqual(lib.encode(text, { add_special_tokens: false }).ids);
    }
  }, SLOW_TEST_MS);
});

describe('tokenizer.json variants (Qwen3 vocabulary): each option the encoder reproduces', () => {
  const variants: [string, Record<string, unknown>][] = [
    ['GPT-2 style: ByteLevel with its own regex and add_prefix_space', withPre({ type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true })],
    ['ByteLevel without regex, add_prefix_space', withPre({ ...BYTE_LEVEL, add_prefix_space: true })],
    ['two Split steps (digits in threes, then words), a String pattern, an inverted Split', withPre({
      type: 'Sequence',
      pretokenizers: [
        { type: 'Split', pattern: { Regex: '\\p{N}{1,3}' }, behavior: 'Isolated', invert: false },
        { type: 'Split', pattern: { String: '\n' }, behavior: 'Isolated', invert: false },
        { type: 'Split', pattern: { Regex: "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+" }, behavior: 'Isolated', invert: true },
        BYTE_LEVEL,
      ],
    })],
    ['a Split whose regex can match empty text', withPre({
      type: 'Sequence',
      pretokenizers: [{ type: 'Split', pattern: { Regex: '\\s*' }, behavior: 'MergedWithPrevious', invert: false }, BYTE_LEVEL],
    })],
    ['NFKC, Replace and normalized added tokens', {
      ...QWEN3,
      normalizer: { type: 'Sequence', normalizers: [{ type: 'NFKC' }, { type: 'Replace', pattern: { String: '  ' }, content: ' ' }, { type: 'Replace', pattern: { Regex: '[\\u{d800}-\\u{dfff}]' }, content: '\ufffd' }] },
      added_tokens: [
        ...(QWEN3.added_tokens as Record<string, unknown>[]),
        // NFKC turns "ﬁ" into "fi" and "①" into "1": these added tokens then match inside normalised text
        { id: 151669, content: 'fi fi', single_word: false, lstrip: false, rstrip: false, normalized: true, special: false },
        { id: 151670, content: '<tag 1>', single_word: false, lstrip: false, rstrip: false, normalized: true, special: false },
      ],
    }],
    ['ignore_merges (Llama-3 style)', { ...QWEN3, model: { ...(QWEN3.model as object), ignore_merges: true } }],
  ];
  for (const [name, json] of variants) {
    it(`${name}: kvdiff's encoder, same ids on 800 strings`, () => {
      expect(engineOf(json)).toBe('kvdiff');
      expect(mismatches(json, QWEN3_CONFIG, 800)).toEqual([]);
    }, SLOW_TEST_MS);
  }

  it('a normalized added token that appears only after normalisation is found as the library finds it', () => {
    const json = variants[4][1];
    expect(engineOf(json)).toBe('kvdiff');
    const lib = new Tokenizer(json, QWEN3_CONFIG);
    const ours = new PromptTokenizer(modelOf(json, QWEN3_CONFIG));
    for (const text of ['ﬁ ﬁnance', 'a <tag ①> b', 'x ﬁ  ﬁ y']) {
      const want: number[] = lib.encode(text, { add_special_tokens: false }).ids;
      expect(want.some((id) => id >= 151669), text).toBe(true); // the case is real: the library emits the added token
      expect(ours.encode(text, false).ids, text).toEqual(want);
    }
  });

  it('what the encoder does not reproduce stays with the library (and gives its ids)', () => {
    const fallbacks: [string, Record<string, unknown>, Record<string, unknown>?][] = [
      ['Metaspace', withPre({ type: 'Metaspace', replacement: '▁', prepend_scheme: 'always', split: true })],
      ['Digits before ByteLevel', withPre({ type: 'Sequence', pretokenizers: [{ type: 'Digits', individual_digits: true }, BYTE_LEVEL] })],
      ['a Removed Split', withPre({ type: 'Sequence', pretokenizers: [{ type: 'Split', pattern: { String: ' ' }, behavior: 'Removed', invert: false }, BYTE_LEVEL] })],
      ['no ByteLevel step', withPre({ type: 'Split', pattern: { Regex: '\\s+' }, behavior: 'Isolated', invert: false })],
      ['byte_fallback', { ...QWEN3, model: { ...(QWEN3.model as object), byte_fallback: true } }],
      ['remove_space in tokenizer_config.json', QWEN3, { ...QWEN3_CONFIG, remove_space: true }],
    ];
    for (const [name, json, config = QWEN3_CONFIG] of fallbacks) {
      expect(engineOf(json, config), name).toBe('@huggingface/tokenizers');
      const lib = new Tokenizer(json, config);
      const ours = bpeEncoder(json, config);
      for (const text of ['Hello  world 12345', 'café ﬁ 日本']) expect(ours.encode(text), name).toEqual(lib.encode(text, { add_special_tokens: false }).ids);
    }
  }, SLOW_TEST_MS);
});

const LLAMA3_GGUF = SHARED_MODELS + 'tiny-llama3.1.gguf';
describe.skipIf(!HAVE_SHARED || !existsSync(LLAMA3_GGUF))('Llama-3 tokenizer.json (vocabulary of ../shared/models/tiny-llama3.1.gguf)', () => {
  it('with Meta\'s pre-tokenizer and ignore_merges: kvdiff encodes like @huggingface/tokenizers on 2000 strings', async () => {
    const { metadata } = await readGgufHeader(nodeFs, LLAMA3_GGUF);
    const g = ggufTokenizer(metadata, LLAMA3_GGUF);
    // Llama-3's tokenizer.json as Meta ships it: this Split regex in Oniguruma syntax, no normalizer, ignore_merges
    const json: Record<string, unknown> = {
      ...g.tokenizer.json,
      normalizer: null,
      pre_tokenizer: withPre({
        type: 'Sequence',
        pretokenizers: [
          { type: 'Split', pattern: { Regex: "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+" }, behavior: 'Isolated', invert: false },
          { ...BYTE_LEVEL, trim_offsets: true },
        ],
      }).pre_tokenizer,
      post_processor: null,
    };
    expect((json.model as { ignore_merges: boolean }).ignore_merges).toBe(true);
    expect(engineOf(json, {})).toBe('kvdiff');
    expect(mismatches(json, {}, 2000)).toEqual([]);
  }, SLOW_TEST_MS);
});

describe('added tokens with lstrip / rstrip (tokenizer.json flags)', () => {
  it('whitespace around them is dropped as @huggingface/tokenizers drops it', () => {
    const added = (QWEN3.added_tokens as { content: string; lstrip: boolean; rstrip: boolean }[]).map((t) =>
      t.content === '<|im_end|>' ? { ...t, rstrip: true } : t.content === '<|im_start|>' ? { ...t, lstrip: true } : t,
    );
    const json = { ...QWEN3, added_tokens: added };
    const lib = new Tokenizer(json, QWEN3_CONFIG);
    // the flags took effect in the library: the newline after <|im_end|> and the spaces before <|im_start|> are gone
    const libIds = (text: string) => lib.encode(text, { add_special_tokens: false }).ids;
    expect(libIds('a<|im_end|>\n\nb')).toEqual(libIds('a<|im_end|>b'));
    expect(libIds('a  <|im_start|>b')).toEqual(libIds('a<|im_start|>b'));
    const edges = ['x<|im_end|>\u3000\u00a0 y', 'x <|im_end|> \n <|im_start|>  y', ' \t<|im_start|>user\nhi<|im_end|>\n'];
    const ours = new PromptTokenizer(modelOf(json, QWEN3_CONFIG));
    for (const text of edges) expect(ours.encode(text, false).ids, JSON.stringify(text)).toEqual(libIds(text));
    expect(mismatches(json, QWEN3_CONFIG, 1500)).toEqual([]);
  }, SLOW_TEST_MS);
});
