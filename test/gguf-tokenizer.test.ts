/**
 * Fidelity of the GGUF tokenizers: llama-server's recorded token ids (../shared/fixtures/llama-server) and
 * llama.cpp's own tokenizer (node-llama-cpp, vocab only) on a generated corpus are the expected values.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, sep } from 'node:path';
import { Tokenizer } from '@huggingface/tokenizers';
import { describe, expect, it } from 'vitest';
import { nodeFs } from '../src/node/fs.ts';
import { KvdiffError } from '../src/errors.ts';
import { loadGgufModel } from '../src/model/gguf/model.ts';
import { ggufTokenizer } from '../src/model/gguf/tokenizer.ts';
import { readGgufHeader, type GgufValue } from '../src/model/gguf/header.ts';
import type { ModelInfo } from '../src/model/types.ts';
import { rng } from './rng.ts';
import { SHARED, SHARED_MODELS } from './shared.ts';

const MODELS = SHARED_MODELS;
const FIXTURES = join(SHARED, 'fixtures', 'llama-server') + sep;
const MODEL_FILES = ['tiny-qwen3.gguf', 'tiny-llama3.1.gguf', 'tiny-gemma3.gguf'];
const haveShared = existsSync(MODELS) && existsSync(FIXTURES);
/** Strings per model in the generated corpus. */
const CORPUS_SIZE = 2400;
const CORPUS_SEED = 20260827;
/** Loading three vocabularies into node-llama-cpp and encoding thousands of strings takes a few seconds. */
const SLOW_TEST_MS = 120_000;

interface Fixture {
  case: string;
  model: string;
  rendered_a: unknown;
  rendered_b: unknown;
  tokens_a: number[] | null;
  tokens_b: number[] | null;
  steps?: { step: number; rendered: string; tokens: number[] }[];
}

function fixtureCases(model: string): { name: string; text: string; ids: number[] }[] {
  const out: { name: string; text: string; ids: number[] }[] = [];
  for (const file of readdirSync(FIXTURES).filter((f) => f.endsWith('.json')).sort()) {
    const f = JSON.parse(readFileSync(FIXTURES + file, 'utf8')) as Fixture;
    if (f.model !== model) continue;
    if (typeof f.rendered_a === 'string' && f.tokens_a) out.push({ name: `${f.case} a`, text: f.rendered_a, ids: f.tokens_a });
    if (typeof f.rendered_b === 'string' && f.tokens_b) out.push({ name: `${f.case} b`, text: f.rendered_b, ids: f.tokens_b });
    for (const s of f.steps ?? []) out.push({ name: `${f.case} step ${s.step}`, text: s.rendered, ids: s.tokens });
  }
  return out;
}

const models = new Map<string, Promise<ModelInfo>>();
function model(file: string): Promise<ModelInfo> {
  let m = models.get(file);
  if (!m) models.set(file, (m = loadGgufModel(nodeFs, MODELS + file)));
  return m;
}

describe.skipIf(!haveShared)('GGUF tokenizer vs llama-server recordings (needs ../shared)', () => {
  for (const file of MODEL_FILES) {
    it(`${file}: every recorded prompt tokenizes to the recorded ids`, async () => {
      const info = await model(file);
      const tok = new Tokenizer(info.tokenizer.json, info.tokenizer.config);
      const cases = fixtureCases(file);
      expect(cases.length).toBeGreaterThan(0);
      for (const c of cases) {
        // The server tokenizes with add_special (BOS where the model adds it) and parse_special.
        expect(tok.encode(c.text).ids, c.name).toEqual(c.ids);
      }
    }, SLOW_TEST_MS);
  }

  it('reads template, special tokens and memory layout from the headers', async () => {
    const qwen = await model('tiny-qwen3.gguf');
    expect(qwen.source).toMatchObject({ kind: 'gguf', name: MODELS + 'tiny-qwen3.gguf' });
    expect(qwen.source.templateSha256).toMatch(/^[0-9a-f]{64}$/);
    expect(qwen.chatTemplate).toContain('<|im_start|>');
    expect([qwen.bosToken, qwen.eosToken, qwen.addBos, qwen.addEos]).toEqual(['<|endoftext|>', '<|im_end|>', false, false]);
    expect(qwen.memory).toEqual({ nSwa: 0, recurrent: false });
    const llama = await model('tiny-llama3.1.gguf');
    expect([llama.bosToken, llama.eosToken, llama.addBos]).toEqual(['<|begin_of_text|>', '<|eot_id|>', true]);
    const gemma = await model('tiny-gemma3.gguf');
    expect([gemma.bosToken, gemma.eosToken, gemma.addBos]).toEqual(['<bos>', '<eos>', true]);
    expect(gemma.memory).toEqual({ nSwa: 64, recurrent: false });
  });

  it('an unknown template name is an error that lists the available ones', async () => {
    const err = await loadGgufModel(nodeFs, MODELS + 'tiny-qwen3.gguf', { templateName: 'tool_use' }).catch((e) => e);
    expect(err).toBeInstanceOf(KvdiffError);
    expect(err.message).toMatch(/no chat template named "tool_use"; available: "default"/);
  });
});

describe('GGUF tokenizer errors', () => {
  const header = (pre: string): Map<string, GgufValue> =>
    new Map<string, GgufValue>([
      ['tokenizer.ggml.model', 'gpt2'],
      ['tokenizer.ggml.pre', pre],
      ['tokenizer.ggml.tokens', { kind: 'array', elementType: 8, values: ['a', 'b', 'ab'] }],
      ['tokenizer.ggml.merges', { kind: 'array', elementType: 8, values: ['a b'] }],
    ]);

  it('an unknown pre-tokenizer names itself and suggests --tokenizer', () => {
    expect(() => ggufTokenizer(header('klingon-bpe'), 'x.gguf')).toThrow(KvdiffError);
    try {
      ggufTokenizer(header('klingon-bpe'), 'x.gguf');
    } catch (e) {
      expect((e as KvdiffError).message).toContain('"klingon-bpe"');
      expect((e as KvdiffError).hint).toContain('--tokenizer FILE');
    }
  });

  it('a tiny inline vocabulary tokenizes with its merges', () => {
    const g = ggufTokenizer(header('gpt-2'), 'x.gguf');
    const tok = new Tokenizer(g.tokenizer.json, g.tokenizer.config);
    expect(tok.encode('abba', { add_special_tokens: false }).ids).toEqual([2, 1, 0]);
  });
});

// ---------------------------------------------------------------------------------------------------------------
// Generated corpus vs llama.cpp (node-llama-cpp)


const WORDS = ['the', 'The', 'cache', 'KV', 'prompt', 'token', "don't", "it's", "WE'LL", "they'Re", 'o’clock', 'naïve',
  'café', 'über', 'Straße', 'ﬁnance', 'HTTP/1.1', 'x86_64', 'snake_case', 'camelCaseWord', 'ALLCAPS', 'I', 'a'];
const CODE = ['function f(x) {\n  return x * 2;\n}', 'def g(a, b=None):\n    if a:\n        return [i for i in range(10)]\n',
  '#include <stdio.h>\nint main(void){printf("%d\\n",42);}', 'const {a, b} = obj?.x ?? {};', '    \tindented\t\ttabs',
  'SELECT * FROM t WHERE id=1;', '<div class="x">&nbsp;</div>', '$ npm run build && echo ok', 'a->b::c<<=2;', '```ts\nlet x = 1;\n```'];
const CJK = ['你好，世界', '日本語のテキスト', 'カタカナとひらがな', '한국어 문장입니다', '漢字かな交じり文', '中文（括号）。', '𠀀𠀁𪚥'];
const EMOJI = ['😀', '👍🏽', '👨‍👩‍👧‍👦', '🇫🇷', '🏳️‍🌈', '❤️', '🫩', '🪉', '🫆', '✨', '🤖💬', '#️⃣', '©®™'];
const SCRIPTS = ['Привет мир', 'Γειά σου', 'مرحبا بالعالم', 'שלום עולם', 'नमस्ते दुनिया', 'สวัสดีชาวโลก', 'ሰላም', 'Ողջույն',
  'გამარჯობა', 'ᚠᚢᚦ', 'ꦲꦏ꧀ꦱꦫ', 'ᱚᱞ ᱪᱤᱠᱤ', 'Tiếng Việt', '𐐷𐐸'];
const NEW_UNICODE = ['\u{1C89}\u{1C8A}', '\u{A7CB}\u{A7CC}', '\u{10D4A}\u{10D4B}', '\u{16D40}\u{16D41}', '\u{1E5D0}', '\u{116D0}',
  '\u{1CC00}', '\u{1FA89}', '\u{1E6C0}\u{1E6C1}', '\u{088F}', '\u{20C1}'];
const RTL_MARKS = ['\u200e', '\u200f', '\u202a', '\u202b', '\u202c', '\u202d', '\u202e', '\u2066', '\u2067', '\u2069', '\u061c'];
const WHITESPACE = [' ', '\t', '\n', '\r\n', '\r', '\v', '\f', '\u00a0', '\u0085', '\u1680', '\u2000', '\u2007', '\u200a',
  '\u2028', '\u2029', '\u202f', '\u205f', '\u3000', '\ufeff', '\u200b', '\u180e'];
const CONTROL = ['\u0000', '\u0001', '\u0007', '\u001b', '\u001c', '\u001f', '\u007f', '\u0080', '\u009f', '\u00ad', '\ufffd',
  '\ufffe', '\u{e0001}', '\u{10ffff}', '\ud800', '\udfff'];
const COMBINING = ['\u0301', '\u0300', '\u0308', '\u0327', '\u20dd', '\u0489', '\u1ab0', '\u1dc0', '\ufe20', '\u0651', '\u093f'];
const PUNCT = ['~', '!', '"', '#', '$', '%', '&', "'", '(', ')', '*', '+', ',', '-', '.', '/', ':', ';', '<', '=', '>', '?', '@',
  '[', '\\', ']', '^', '_', '`', '{', '|', '}', '¨', '«', '»', '…', '—', '、', '。', '¿', '§', '€', '→', '∑', '™'];
const DIGITS = ['0', '7', '42', '1234567', '3.14159', '-0.5e-10', '1,000,000', '٠١٢٣', '۴۵۶', '०१२', '１２３', 'Ⅻ', '½', '²', '𝟘𝟙'];

type Gen = (r: () => number, specials: string[]) => string;

function pick<T>(r: () => number, a: readonly T[]): T {
  return a[Math.floor(r() * a.length)];
}
function repeat(r: () => number, n: number, f: () => string, sep = ''): string {
  return Array.from({ length: n }, f).join(sep);
}

function randomJson(r: () => number, depth: number): unknown {
  const k = r();
  if (depth > 2 || k < 0.3) return pick(r, [1, -2.5, 1e21, 'text', "it's", '', null, true, '中文', '😀', 'a\nb', ' lead']);
  if (k < 0.6) return Array.from({ length: 1 + Math.floor(r() * 4) }, () => randomJson(r, depth + 1));
  return Object.fromEntries(Array.from({ length: 1 + Math.floor(r() * 4) }, () => [pick(r, WORDS), randomJson(r, depth + 1)]));
}

function randomCodePoint(r: () => number): string {
  const k = r();
  const cp =
    k < 0.4 ? 0x20 + Math.floor(r() * 0x5f) : k < 0.7 ? 0xa0 + Math.floor(r() * 0x2f60) : k < 0.9 ? Math.floor(r() * 0x10000) : 0x10000 + Math.floor(r() * 0x100000);
  return String.fromCodePoint(cp);
}

const GENERATORS: Record<string, Gen> = {
  prose: (r) => repeat(r, 1 + Math.floor(r() * 12), () => pick(r, WORDS), pick(r, [' ', '  ', ', ', '. ', '\n'])),
  code: (r) => repeat(r, 1 + Math.floor(r() * 3), () => pick(r, CODE), pick(r, ['\n', '\n\n', '\r\n'])),
  json: (r) => JSON.stringify(randomJson(r, 0), null, pick(r, [undefined, 2, 4, '\t'])),
  cjk: (r) => repeat(r, 1 + Math.floor(r() * 4), () => pick(r, CJK), pick(r, ['', ' ', '\n', '，'])),
  emoji: (r) => repeat(r, 1 + Math.floor(r() * 6), () => pick(r, EMOJI), pick(r, ['', ' ', 'x'])),
  whitespace: (r) => repeat(r, 1 + Math.floor(r() * 6), () => pick(r, WHITESPACE).repeat(1 + Math.floor(r() * (r() < 0.1 ? 600 : 8))) + (r() < 0.5 ? pick(r, WORDS) : '')),
  longRuns: (r) => pick(r, [' ', '\n', '\t', '-', '=', '0', 'a', '\u3000', '.']).repeat(20 + Math.floor(r() * 3000)) + pick(r, ['', 'x', '\n', ' y']),
  digits: (r) => repeat(r, 1 + Math.floor(r() * 6), () => pick(r, DIGITS) + (r() < 0.3 ? String(Math.floor(r() * 1e12)) : ''), pick(r, ['', ' ', '+', '.', 'x'])),
  specials: (r, s) => repeat(r, 1 + Math.floor(r() * 6), () => (r() < 0.6 ? pick(r, s) : pick(r, s).slice(0, -1)) + pick(r, ['', ' ', '\n', 'x', pick(r, WORDS)])),
  combining: (r) => repeat(r, 1 + Math.floor(r() * 6), () => pick(r, ['a', 'e', 'ı', 'O', 'ß', '中', ' ', '1']) + repeat(r, Math.floor(r() * 4), () => pick(r, COMBINING))),
  scripts: (r) => repeat(r, 1 + Math.floor(r() * 5), () => pick(r, [...SCRIPTS, ...WORDS]), pick(r, [' ', '', '\n', '-'])),
  rtl: (r) => repeat(r, 1 + Math.floor(r() * 5), () => pick(r, RTL_MARKS) + pick(r, SCRIPTS.slice(2, 4)) + pick(r, ['', ' 123 ', ' abc'])),
  control: (r) => repeat(r, 1 + Math.floor(r() * 6), () => pick(r, CONTROL) + (r() < 0.5 ? pick(r, WORDS) : '')),
  newUnicode: (r) => repeat(r, 1 + Math.floor(r() * 4), () => pick(r, NEW_UNICODE) + pick(r, ['', ' ', 'a', '1', '.'])),
  punct: (r) => repeat(r, 1 + Math.floor(r() * 10), () => pick(r, ['', '', ' ', '\n', 'a', 'Z', '1', '\r\n', ' x']) + pick(r, PUNCT).repeat(1 + Math.floor(r() * 3))),
  contractions: (r) => repeat(r, 1 + Math.floor(r() * 6), () => pick(r, ["'s", "'t", "'re", "'VE", "'m", "'Ll", "'d", "'x", "''", "'"]) + pick(r, ['', ' ', 'a', 'S'])),
  random: (r) => repeat(r, 1 + Math.floor(r() * 20), () => randomCodePoint(r)),
  mixed: (r, s) => repeat(r, 2 + Math.floor(r() * 6), () => pick(r, Object.values(GENERATORS).slice(0, -1))(r, s)),
};

function corpus(specials: string[]): { kind: string; text: string }[] {
  const r = rng(CORPUS_SEED);
  const kinds = Object.keys(GENERATORS);
  return Array.from({ length: CORPUS_SIZE }, (_, i) => {
    const kind = kinds[i % kinds.length];
    return { kind, text: GENERATORS[kind](r, specials) };
  });
}

/** Corpus strings whose ids differ between llama.cpp (`ref`) and ours (`tok`), both without BOS. */
function corpusMismatches(
  ref: { tokenize(text: string, specialTokens: boolean): readonly number[] },
  tok: Tokenizer,
  items: { kind: string; text: string }[],
): { kind: string; text: string; want: number[]; got: number[] }[] {
  const out: { kind: string; text: string; want: number[]; got: number[] }[] = [];
  for (const { kind, text } of items) {
    // node-llama-cpp's tokenize(text, true) is llama_tokenize(add_special=false, parse_special=true).
    const want = Array.from(ref.tokenize(text, true));
    const got = tok.encode(text, { add_special_tokens: false }).ids;
    if (want.length !== got.length || want.some((id, i) => id !== got[i])) out.push({ kind, text, want, got });
  }
  return out;
}

const describeMismatch = (m: { kind: string; text: string }) => `${m.kind}: ${JSON.stringify(m.text).slice(0, 120)}`;

describe.skipIf(!haveShared)('GGUF tokenizer vs llama.cpp on a generated corpus (needs ../shared, node-llama-cpp)', () => {
  for (const file of MODEL_FILES) {
    it(`${file}: ${CORPUS_SIZE} strings tokenize exactly as llama.cpp does`, async () => {
      const { getLlama, LlamaLogLevel } = await import('node-llama-cpp');
      const llama = await getLlama({ gpu: false, build: 'never', logLevel: LlamaLogLevel.error });
      const ref = await llama.loadModel({ modelPath: MODELS + file, vocabOnly: true });
      const info = await model(file);
      const tok = new Tokenizer(info.tokenizer.json, info.tokenizer.config);
      const specials = (info.tokenizer.json.added_tokens as { content: string }[]).map((t) => t.content).slice(0, 200);
      const items = corpus(specials);
      const mismatches = corpusMismatches(ref, tok, items);
      await ref.dispose();
      console.log(`${file}: ${items.length} corpus strings, ${mismatches.length} mismatches`);
      for (const m of mismatches.slice(0, 5)) console.log(JSON.stringify(m).slice(0, 600));
      expect(mismatches.map(describeMismatch)).toEqual([]);
    }, SLOW_TEST_MS);
  }
});

// ---------------------------------------------------------------------------------------------------------------
// Pre-tokenizers the tiny models do not use: the Qwen3 vocabulary re-labelled with another tokenizer.ggml.pre,
// written as a header-only GGUF that node-llama-cpp loads with vocabOnly.

/** Strings per re-labelled vocabulary: fewer than the main corpus, there are seven of them. */
const RELABEL_CORPUS_SIZE = 1200;
const RELABELLED = ['default', 'gpt-2', 'starcoder', 'deepseek-v3', 'gpt-4o', 'dbrx', 'llama-bpe', 'qwen35'];

/** The header of `bytes` with the string value of `key` replaced and no tensors (so it is only a vocabulary). */
function relabel(bytes: Uint8Array, key: string, from: string, to: string): Uint8Array {
  const enc = new TextEncoder();
  const entry = (value: string) => {
    const k = enc.encode(key);
    const v = enc.encode(value);
    const out = new Uint8Array(8 + k.length + 4 + 8 + v.length);
    const dv = new DataView(out.buffer);
    dv.setBigUint64(0, BigInt(k.length), true);
    out.set(k, 8);
    dv.setUint32(8 + k.length, 8, true);
    dv.setBigUint64(12 + k.length, BigInt(v.length), true);
    out.set(v, 20 + k.length);
    return out;
  };
  const old = entry(from);
  const at = Buffer.from(bytes).indexOf(Buffer.from(old));
  if (at < 0) throw new Error(`${key}=${from} not found`);
  const repl = entry(to);
  const body = new Uint8Array(bytes.length - old.length + repl.length);
  body.set(bytes.subarray(0, at), 0);
  body.set(repl, at);
  body.set(bytes.subarray(at + old.length), at + repl.length);
  new DataView(body.buffer).setBigUint64(8, 0n, true); // tensor count
  const padded = new Uint8Array(Math.ceil(body.length / 32) * 32);
  padded.set(body);
  return padded;
}

describe.skipIf(!haveShared)('GGUF pre-tokenizers vs llama.cpp on a re-labelled Qwen3 vocabulary (needs ../shared, node-llama-cpp)', () => {
  for (const pre of RELABELLED) {
    it(`tokenizer.ggml.pre = ${pre}: ${RELABEL_CORPUS_SIZE} strings tokenize exactly as llama.cpp does`, async () => {
      const source = MODELS + 'tiny-qwen3.gguf';
      const { metadata, metadataBytes } = await readGgufHeader(nodeFs, source);
      const dir = mkdtempSync(join(tmpdir(), 'kvdiff-gguf-'));
      const path = join(dir, `qwen3-as-${pre}.gguf`);
      try {
        writeFileSync(path, relabel(await nodeFs.readRange(source, 0, metadataBytes), 'tokenizer.ggml.pre', 'qwen2', pre));
        const { getLlama, LlamaLogLevel } = await import('node-llama-cpp');
        const llama = await getLlama({ gpu: false, build: 'never', logLevel: LlamaLogLevel.error });
        const ref = await llama.loadModel({ modelPath: path, vocabOnly: true });
        const relabelled = new Map(metadata).set('tokenizer.ggml.pre', pre);
        const g = ggufTokenizer(relabelled, path);
        const tok = new Tokenizer(g.tokenizer.json, g.tokenizer.config);
        const specials = (g.tokenizer.json.added_tokens as { content: string }[]).map((t) => t.content);
        const items = corpus(specials).slice(0, RELABEL_CORPUS_SIZE);
        const mismatches = corpusMismatches(ref, tok, items).map(describeMismatch);
        await ref.dispose();
        console.log(`pre ${pre}: ${items.length} corpus strings, ${mismatches.length} mismatches`);
        expect(mismatches).toEqual([]);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    }, SLOW_TEST_MS);
  }
});

/** The header of `bytes` with the bool value of `key` set to `value` (same length, so a one-byte patch). */
function patchBool(bytes: Uint8Array, key: string, value: boolean): Uint8Array {
  const k = new TextEncoder().encode(key);
  const head = new Uint8Array(8 + k.length + 4);
  new DataView(head.buffer).setBigUint64(0, BigInt(k.length), true);
  head.set(k, 8);
  new DataView(head.buffer).setUint32(8 + k.length, 7, true);
  const at = Buffer.from(bytes).indexOf(Buffer.from(head));
  if (at < 0) throw new Error(`${key} not found`);
  const out = bytes.slice();
  out[at + head.length] = value ? 1 : 0;
  new DataView(out.buffer).setBigUint64(8, 0n, true); // tensor count
  const padded = new Uint8Array(Math.ceil(out.length / 32) * 32);
  padded.set(out);
  return padded;
}

describe.skipIf(!haveShared)('SentencePiece with add_space_prefix (Gemma-3 vocabulary re-labelled; needs ../shared, node-llama-cpp)', () => {
  it(`tokenizer.ggml.add_space_prefix = true: ${RELABEL_CORPUS_SIZE} strings tokenize exactly as llama.cpp does`, async () => {
    const source = MODELS + 'tiny-gemma3.gguf';
    const { metadata, metadataBytes } = await readGgufHeader(nodeFs, source);
    const dir = mkdtempSync(join(tmpdir(), 'kvdiff-gguf-'));
    const path = join(dir, 'gemma3-space-prefix.gguf');
    try {
      writeFileSync(path, patchBool(await nodeFs.readRange(source, 0, metadataBytes), 'tokenizer.ggml.add_space_prefix', true));
      const { getLlama, LlamaLogLevel } = await import('node-llama-cpp');
      const llama = await getLlama({ gpu: false, build: 'never', logLevel: LlamaLogLevel.error });
      const ref = await llama.loadModel({ modelPath: path, vocabOnly: true });
      const g = ggufTokenizer(new Map(metadata).set('tokenizer.ggml.add_space_prefix', true), path);
      const tok = new Tokenizer(g.tokenizer.json, g.tokenizer.config);
      // The flag took effect on both sides: a text piece starts with '▁'.
      expect(tok.encode('Hello', { add_special_tokens: false }).tokens[0]).toBe('▁Hello');
      expect(Array.from(ref.tokenize('Hello', true))).toEqual(tok.encode('Hello', { add_special_tokens: false }).ids);
      const specials = (g.tokenizer.json.added_tokens as { content: string }[]).map((t) => t.content).slice(0, 200);
      const items = corpus(specials).slice(0, RELABEL_CORPUS_SIZE);
      const mismatches = corpusMismatches(ref, tok, items).map(describeMismatch);
      await ref.dispose();
      console.log(`add_space_prefix: ${items.length} corpus strings, ${mismatches.length} mismatches`);
      expect(mismatches).toEqual([]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, SLOW_TEST_MS);
});
