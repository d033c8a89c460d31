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
import { PromptTokenizer } from '../src/tokenize/prompt.ts';
import { corpus as textCorpus } from './text-corpus.ts';
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
      const ours = new PromptTokenizer(info);
      // kvdiff's own encoder (byte-level BPE or SentencePiece), not the library's, is what gets checked here
      expect(info.tokenizer.encoder?.().engine).toBe('kvdiff');
      const cases = fixtureCases(file);
      expect(cases.length).toBeGreaterThan(0);
      for (const c of cases) {
        // The server tokenizes with add_special (BOS where the model adds it) and parse_special.
        expect(ours.encode(c.text).ids, c.name).toEqual(c.ids);
        // the tokenizer.json form kvdiff hands out (`--tokenizer` comparisons) gives them too
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


function corpus(specials: string[]): { kind: string; text: string }[] {
  return textCorpus(specials, CORPUS_SIZE, CORPUS_SEED);
}

/**
 * Corpus strings whose ids differ between llama.cpp (`ref`) and kvdiff, all without BOS: kvdiff's own encoder
 * (PromptTokenizer over the source's `encoder`) and the tokenizer.json form run by @huggingface/tokenizers (`tok`).
 */
function corpusMismatches(
  ref: { tokenize(text: string, specialTokens: boolean): readonly number[] },
  info: Pick<ModelInfo, 'tokenizer' | 'source' | 'bosToken' | 'eosToken'>,
  tok: Tokenizer,
  items: { kind: string; text: string }[],
): { kind: string; text: string; want: number[]; got: number[] }[] {
  const out: { kind: string; text: string; want: number[]; got: number[] }[] = [];
  const ours = new PromptTokenizer({ ...info, chatTemplate: '', addBos: false, addEos: false } as ModelInfo);
  for (const { kind, text } of items) {
    // node-llama-cpp's tokenize(text, true) is llama_tokenize(add_special=false, parse_special=true).
    const want = Array.from(ref.tokenize(text, true));
    for (const [how, got] of [['kvdiff', ours.encode(text, false).ids], ['tokenizer.json', tok.encode(text, { add_special_tokens: false }).ids]] as const) {
      if (want.length !== got.length || want.some((id, i) => id !== got[i])) out.push({ kind: `${how} ${kind}`, text, want, got });
    }
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
      const mismatches = corpusMismatches(ref, info, tok, items);
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
        expect(g.tokenizer.encoder?.().engine).toBe('kvdiff');
        const tok = new Tokenizer(g.tokenizer.json, g.tokenizer.config);
        const specials = (g.tokenizer.json.added_tokens as { content: string }[]).map((t) => t.content);
        const items = corpus(specials).slice(0, RELABEL_CORPUS_SIZE);
        const mismatches = corpusMismatches(ref, { ...g, source: { kind: 'gguf', name: path, templateSha256: '' } }, tok, items).map(describeMismatch);
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
      const mismatches = corpusMismatches(ref, { ...g, source: { kind: 'gguf', name: path, templateSha256: '' } }, tok, items).map(describeMismatch);
      await ref.dispose();
      console.log(`add_space_prefix: ${items.length} corpus strings, ${mismatches.length} mismatches`);
      expect(mismatches).toEqual([]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, SLOW_TEST_MS);
});

describe.skipIf(!haveShared)('per-model token attributes: general.name "phi-3" makes special tokens RSTRIP (Qwen3 vocabulary re-labelled; needs ../shared, node-llama-cpp)', () => {
  it(`the whitespace after a special token is dropped as llama.cpp drops it, on ${RELABEL_CORPUS_SIZE} strings and edge cases`, async () => {
    const source = MODELS + 'tiny-qwen3.gguf';
    const { metadata, metadataBytes } = await readGgufHeader(nodeFs, source);
    const from = metadata.get('general.name') as string;
    const to = 'Phi-3 mini (re-labelled Qwen3 vocabulary)';
    const dir = mkdtempSync(join(tmpdir(), 'kvdiff-gguf-'));
    const path = join(dir, 'qwen3-as-phi3.gguf');
    try {
      writeFileSync(path, relabel(await nodeFs.readRange(source, 0, metadataBytes), 'general.name', from, to));
      const { getLlama, LlamaLogLevel } = await import('node-llama-cpp');
      const llama = await getLlama({ gpu: false, build: 'never', logLevel: LlamaLogLevel.error });
      const ref = await llama.loadModel({ modelPath: path, vocabOnly: true });
      const g = ggufTokenizer(new Map(metadata).set('general.name', to), path);
      const info = { ...g, source: { kind: 'gguf', name: path, templateSha256: '' } } as unknown as ModelInfo;
      const ours = new PromptTokenizer({ ...info, chatTemplate: '', addBos: false, addEos: false } as ModelInfo);
      const llamaIds = (text: string) => Array.from(ref.tokenize(text, true));
      // The attribute took effect in llama.cpp: the newline after <|im_end|> is gone, after <|endoftext|> it is not.
      expect(llamaIds('<|im_end|>\n\nx')).toEqual(llamaIds('<|im_end|>x'));
      expect(llamaIds('<|endoftext|>\nx')).not.toEqual(llamaIds('<|endoftext|>x'));
      const specials = (g.tokenizer.json.added_tokens as { content: string }[]).map((t) => t.content);
      const edges = [
        '<|im_start|>user\n hello<|im_end|>\n<|im_start|>assistant\n',
        '<|im_end|> \t\n\v\f\r x',
        '<|im_end|>\u3000x',
        '<|im_end|>\u00a0x',
        '<|im_end|>\u0085x',
        '<|endoftext|>  x',
        '</s> \nx',
        'a <|im_end|>  <|im_start|>  b',
        '<|im_end|>\n',
        '<tool_call>\n{"a": 1}\n</tool_call>\n\n<|im_end|>',
      ].map((text) => ({ kind: 'edge', text }));
      const items = [...edges, ...corpus(specials).slice(0, RELABEL_CORPUS_SIZE)];
      const mismatches = items.filter(({ text }) => {
        const want = llamaIds(text);
        const got = ours.encode(text, false).ids;
        return want.length !== got.length || want.some((id, i) => id !== got[i]);
      });
      await ref.dispose();
      expect(mismatches.map(describeMismatch)).toEqual([]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, SLOW_TEST_MS);
});
