/**
 * The fast encoders (`ModelInfo.tokenizer.encoder`): llama.cpp's SentencePiece algorithm of our own (tokenize/spm.ts) and the
 * BPE Tokenizer built from arrays (tokenize/bpe.ts). Expected values: llama.cpp itself (node-llama-cpp, vocab only)
 * on a generated corpus, and the Hugging Face form of the same vocabulary (`new Tokenizer(json, config)`).
 */
import { existsSync } from 'node:fs';
import { Tokenizer } from '@huggingface/tokenizers';
import { describe, expect, it } from 'vitest';
import { nodeFs } from '../src/node/fs.ts';
import { loadGgufModel } from '../src/model/gguf/model.ts';
import { ggufTokenizer } from '../src/model/gguf/tokenizer.ts';
import { readGgufHeader } from '../src/model/gguf/header.ts';
import { SpmEncoder } from '../src/tokenize/spm.ts';
import { PromptTokenizer } from '../src/tokenize/prompt.ts';
import { rng } from './rng.ts';
import { SHARED_MODELS } from './shared.ts';

const MODELS = SHARED_MODELS;
const haveModels = existsSync(`${MODELS}tiny-gemma3.gguf`);
const CORPUS_SIZE = 2400;
const SLOW_TEST_MS = 120_000;

describe('SpmEncoder on a hand-made vocabulary', () => {
  // ids: 0 <unk>, 1..3 bytes for 'a' 'b' and 0xC3, then pieces with scores
  const tokens = ['<unk>', '<0x61>', '<0x62>', '<0xC3>', '<0xA9>', 'a', 'b', '▁', 'ab', 'ba', '▁a', 'aba', '<ctl>'];
  const scores = [0, 0, 0, 0, 0, -1, -1, -1, -5, -2, -3, -4, 0];
  const ids = new Map(tokens.map((t, i) => [t, i]));
  const enc = (addSpacePrefix: boolean) => new SpmEncoder({ tokens, ids, scores, specials: [12], addSpacePrefix });

  it('merges the pair whose token scores highest first, ties to the leftmost pair', () => {
    // 'bab': ba (-2) beats ab (-5) → ba + b
    expect(enc(false).encode('bab')).toEqual([9, 6]);
    // 'abab': candidates ab(-5), ba(-2), ab(-5) → ba first: a + ba + b → then aba (-4) from a+ba → aba + b
    expect(enc(false).encode('abab')).toEqual([11, 6]);
    // 'baba': ba at 0 and 2 tie → leftmost first → ba ba
    expect(enc(false).encode('baba')).toEqual([9, 9]);
  });
  it('prefixes a space when asked, spaces become ▁, unknown characters become byte tokens', () => {
    expect(enc(true).encode('a')).toEqual([10]);
    expect(enc(false).encode(' a')).toEqual([10]);
    expect(enc(false).encode('é')).toEqual([3, 4]);
    // no byte token for 'z' (0x7a) and no 'z' token: <unk>
    expect(enc(false).encode('z')).toEqual([0]);
  });
  it('reads a lone surrogate as U+FFFD, as llama.cpp receives it', () => {
    // U+FFFD is EF BF BD: no byte tokens for those, so three <unk>
    expect(enc(false).encode('\ud800')).toEqual([0, 0, 0]);
  });
  it('shows pieces as the Hugging Face decoder does', () => {
    expect(enc(false).decode(10)).toBe(' a');
    expect(enc(false).decode(1)).toBe('a');
    expect(enc(false).decode(3)).toBe('\ufffd');
    expect(enc(false).specials).toEqual([{ id: 12, content: '<ctl>' }]);
  });
});


const PIECES = ['the', ' The', 'cache', "don't", 'naïve', 'café', 'Straße', 'ﬁ', 'x86_64', 'camelCase', '  ', '\n', '\n\n', '\t', '\r\n',
  '    ', '{"a": [1, 2.5e-3, null]}', 'function f(x) {\n  return x;\n}', '你好，世界', '日本語', '한국어', '😀', '👍🏽', '👨‍👩‍👧', '🇫🇷',
  'e\u0301', '\u0308', 'Привет', 'مرحبا', 'नमस्ते', '\u00a0', '\u3000', '\u200b', '\u0000', '\u007f', '\ufffd', '\ud800', '\udfff',
  '12345', '3.14', '١٢٣', '１２３', '<0x41>', '<', '>', '<|', '▁', '▁▁', "'s", "'RE", '!!!', '...', '—', '€', '\u{10ffff}', '𝟘'];

function corpus(specials: string[], n: number): string[] {
  const r = rng(20261127);
  const pick = <T,>(a: readonly T[]) => a[Math.floor(r() * a.length)];
  const out: string[] = [];
  for (let i = 0; i < n; i++) {
    const k = i % 6;
    if (k === 0) out.push(Array.from({ length: 1 + Math.floor(r() * 12) }, () => pick(PIECES)).join(''));
    else if (k === 1) out.push(Array.from({ length: 1 + Math.floor(r() * 6) }, () => pick(PIECES) + (r() < 0.4 ? pick(specials) : '')).join(pick(['', ' ', '\n'])));
    else if (k === 2) out.push(pick([' ', '\n', 'a', '=', '\t', '0']).repeat(1 + Math.floor(r() * 300)) + pick(['', 'x', ' y']));
    else if (k === 3) out.push(Array.from({ length: 1 + Math.floor(r() * 20) }, () => String.fromCodePoint(r() < 0.5 ? 0x20 + Math.floor(r() * 0x5f) : Math.floor(r() * 0x2ffff))).join(''));
    else if (k === 4) out.push(JSON.stringify({ [pick(PIECES)]: [pick(PIECES), r(), { k: pick(PIECES) }] }, null, pick([undefined, 2])));
    else out.push(pick(specials) + pick(PIECES) + pick(specials) + pick(PIECES));
  }
  return out;
}

describe.skipIf(!haveModels)('fast encoders vs llama.cpp on a generated corpus (needs ../shared, node-llama-cpp)', () => {
  for (const file of ['tiny-gemma3.gguf', 'tiny-qwen3.gguf', 'tiny-llama3.1.gguf']) {
    it(`${file}: PromptTokenizer's encoder gives llama.cpp's ids on ${CORPUS_SIZE} strings, and the Hugging Face form's`, async () => {
      const info = await loadGgufModel(nodeFs, MODELS + file);
      expect(info.tokenizer.encoder).toBeTypeOf('function');
      const ours = new PromptTokenizer(info);
      const { getLlama, LlamaLogLevel } = await import('node-llama-cpp');
      const llama = await getLlama({ gpu: false, build: 'never', logLevel: LlamaLogLevel.error });
      const ref = await llama.loadModel({ modelPath: MODELS + file, vocabOnly: true });
      const hf = new Tokenizer(info.tokenizer.json, info.tokenizer.config);
      const specials = ours['enc'].specials.map((t) => t.content).slice(0, 100);
      const bad: string[] = [];
      const items = corpus(specials, CORPUS_SIZE);
      for (const text of items) {
        const got = ours.encode(text, false).ids;
        const want = Array.from(ref.tokenize(text, true));
        const viaHf = hf.encode(text, { add_special_tokens: false }).ids;
        if (JSON.stringify(got) !== JSON.stringify(want) || JSON.stringify(got) !== JSON.stringify(viaHf)) bad.push(JSON.stringify(text).slice(0, 100));
      }
      // pieces and special-token ids agree with the Hugging Face form too
      for (const id of [0, 1, 2, 100, 1000, 5000, ...specials.slice(0, 20).map((s) => hf.encode(s, { add_special_tokens: false }).ids[0])]) {
        expect(ours.piece(id), `piece ${id}`).toBe(hf.decode([id], { skip_special_tokens: false, clean_up_tokenization_spaces: false }));
      }
      await ref.dispose();
      console.log(`${file}: ${items.length} corpus strings through the fast encoder, ${bad.length} mismatches`);
      expect(bad).toEqual([]);
    }, SLOW_TEST_MS);
  }

  it('Gemma-3 with add_space_prefix: the SentencePiece encoder equals the Hugging Face form', async () => {
    const { metadata } = await readGgufHeader(nodeFs, `${MODELS}tiny-gemma3.gguf`);
    const g = ggufTokenizer(new Map(metadata).set('tokenizer.ggml.add_space_prefix', true), 'x.gguf');
    const enc = g.tokenizer.encoder!();
    const hf = new Tokenizer(g.tokenizer.json, g.tokenizer.config);
    const items = corpus(enc.specials.map((t) => t.content).slice(0, 100), 600);
    const ours = new PromptTokenizer({ ...(await loadGgufModel(nodeFs, `${MODELS}tiny-gemma3.gguf`)), tokenizer: g.tokenizer, addBos: false });
    const bad = items.filter((t) => JSON.stringify(ours.encode(t, false).ids) !== JSON.stringify(hf.encode(t, { add_special_tokens: false }).ids));
    expect(bad).toEqual([]);
    expect(enc.encode('Hello').length).toBeGreaterThan(0);
  }, SLOW_TEST_MS);
});
