/**
 * The GGUF header reader: round trips of every value type, and property tests that random or damaged headers
 * give either a result or a KvdiffError (never another exception, never a hang, never a read or allocation
 * sized by a corrupt length field).
 */
import { existsSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { nodeFs } from '../src/node/fs.ts';
import { KvdiffError } from '../src/errors.ts';
import type { ModelFs } from '../src/model/fs.ts';
import {
  GgufType,
  MAX_ARRAY_LENGTH,
  MAX_KV_COUNT,
  MAX_STRING_LENGTH,
  parseGgufBytes,
  readGgufHeader,
  readGgufMetadata,
  type GgufArray,
} from '../src/model/gguf/header.ts';
import { ggufModelFromMetadata, loadGgufModel } from '../src/model/gguf/model.ts';
import { gguf, Writer, type Entry } from './gguf-writer.ts';
import { SHARED_MODELS } from './shared.ts';

const MODELS = SHARED_MODELS;
const haveModels = existsSync(MODELS);
/** Property runs per test; each parse of a small header takes well under a millisecond. */
const RUNS = 300;

// the small GGUF writer lives in gguf-writer.ts (the fuzz suite builds headers with it too)

/** An in-memory ModelFs that records every read, so tests can check what the reader asked for. */
function memoryFs(files: Record<string, Uint8Array>) {
  const reads: { offset: number; length: number }[] = [];
  const fs: ModelFs = {
    async readFile(path) {
      const f = files[path];
      if (!f) throw new KvdiffError(`${path}: no such file`);
      return f;
    },
    async readRange(path, offset, length) {
      reads.push({ offset, length });
      const f = files[path];
      if (!f) throw new KvdiffError(`${path}: no such file`);
      return f.slice(offset, offset + length);
    },
    async size(path) {
      return files[path]?.length ?? null;
    },
    async isDirectory() {
      return false;
    },
    async writeFileAtomic(path, data) {
      files[path] = typeof data === 'string' ? new TextEncoder().encode(data) : data;
    },
    async list() {
      return Object.keys(files);
    },
  };
  return { fs, reads };
}

const SMALL_VOCAB: Entry[] = [
  ['general.architecture', GgufType.STRING, 'llama'],
  ['llama.attention.sliding_window', GgufType.UINT32, 4096],
  ['tokenizer.ggml.model', GgufType.STRING, 'gpt2'],
  ['tokenizer.ggml.pre', GgufType.STRING, 'llama-bpe'],
  ['tokenizer.ggml.tokens', GgufType.ARRAY, ['a', 'b', 'ab', 'Ġ', 'Ġa', '<|begin_of_text|>', '<|eot_id|>'], GgufType.STRING],
  ['tokenizer.ggml.token_type', GgufType.ARRAY, [1, 1, 1, 1, 1, 3, 3], GgufType.INT32],
  ['tokenizer.ggml.merges', GgufType.ARRAY, ['a b', 'Ġ a'], GgufType.STRING],
  ['tokenizer.ggml.bos_token_id', GgufType.UINT32, 5],
  ['tokenizer.ggml.eos_token_id', GgufType.UINT32, 6],
  ['tokenizer.chat_template', GgufType.STRING, '{{ bos_token }}{% for m in messages %}{{ m.content }}{% endfor %}'],
  ['tokenizer.chat_template.tool_use', GgufType.STRING, 'tools: {{ tools }}'],
];

/** Parsing must end in a value or a KvdiffError; anything else fails the property. */
async function resultOrKvdiffError<T>(p: Promise<T>): Promise<T | KvdiffError> {
  try {
    return await p;
  } catch (err) {
    if (err instanceof KvdiffError) {
      expect(err.message.split('\n')).toHaveLength(1);
      return err;
    }
    throw err;
  }
}

// --- round trips -------------------------------------------------------------------------------------------------

describe('GGUF reader', () => {
  it('reads every scalar type, strings and arrays (including arrays of strings and of arrays)', async () => {
    const bytes = gguf([
      ['u8', GgufType.UINT8, 200],
      ['i8', GgufType.INT8, -5],
      ['u16', GgufType.UINT16, 65000],
      ['i16', GgufType.INT16, -30000],
      ['u32', GgufType.UINT32, 4_000_000_000],
      ['i32', GgufType.INT32, -2_000_000_000],
      ['f32', GgufType.FLOAT32, 1.5],
      ['bool', GgufType.BOOL, 1],
      ['str', GgufType.STRING, 'héllo ✓ 😀'],
      ['u64', GgufType.UINT64, 2n ** 63n + 5n],
      ['i64', GgufType.INT64, -(2n ** 40n)],
      ['f64', GgufType.FLOAT64, Math.PI],
      ['strings', GgufType.ARRAY, ['', 'a', '\ufeff\ufeff', 'Ġhello', '中文', '🫩'], GgufType.STRING],
      ['floats', GgufType.ARRAY, [0.5, -2, 3.25], GgufType.FLOAT32],
      ['ints', GgufType.ARRAY, [1, -1, 7], GgufType.INT32],
      ['bools', GgufType.ARRAY, [1, 0, 1], GgufType.BOOL],
      ['u64s', GgufType.ARRAY, [1n, 2n ** 60n], GgufType.UINT64],
      ['nested', GgufType.ARRAY, [[GgufType.UINT8, [1, 2]], [GgufType.STRING, ['x']]], GgufType.ARRAY],
    ]);
    const h = await parseGgufBytes(bytes);
    const m = h.metadata;
    expect(h.version).toBe(3);
    expect([m.get('u8'), m.get('i8'), m.get('u16'), m.get('i16'), m.get('u32'), m.get('i32')]).toEqual([200, -5, 65000, -30000, 4_000_000_000, -2_000_000_000]);
    expect([m.get('f32'), m.get('bool'), m.get('str'), m.get('u64'), m.get('i64'), m.get('f64')]).toEqual([1.5, true, 'héllo ✓ 😀', 2n ** 63n + 5n, -(2n ** 40n), Math.PI]);
    const arr = (k: string) => Array.from((m.get(k) as GgufArray).values as ArrayLike<unknown>);
    expect(arr('strings')).toEqual(['', 'a', '\ufeff\ufeff', 'Ġhello', '中文', '🫩']);
    expect(arr('floats')).toEqual([0.5, -2, 3.25]);
    expect(arr('ints')).toEqual([1, -1, 7]);
    expect(arr('bools')).toEqual([true, false, true]);
    expect(arr('u64s')).toEqual([1n, 2n ** 60n]);
    const nested = arr('nested') as GgufArray[];
    expect(nested.map((a) => Array.from(a.values as ArrayLike<unknown>))).toEqual([[1, 2], ['x']]);
    expect(h.metadataBytes).toBe(bytes.length - 64);
  });

  it('reads version 2 headers too', async () => {
    const h = await parseGgufBytes(gguf([['k', GgufType.STRING, 'v']], { version: 2 }));
    expect(h.metadata.get('k')).toBe('v');
  });

  it.each([
    ['wrong magic', Uint8Array.from([...new TextEncoder().encode('GGML'), 3, 0, 0, 0]), /not a GGUF file/],
    ['version 1', gguf([], { version: 1 }), /unsupported GGUF version 1/],
    ['big-endian', gguf([], { version: 0x03000000 }), /big-endian/],
    ['empty file', new Uint8Array(0), /not a GGUF file/],
    ['truncated', gguf(SMALL_VOCAB).slice(0, 200), /truncated/],
  ])('%s is a one-line KvdiffError', async (_, bytes, message) => {
    const err = await parseGgufBytes(bytes, 'x.gguf').catch((e) => e);
    expect(err).toBeInstanceOf(KvdiffError);
    expect(err.message).toMatch(message);
    expect(err.message).toMatch(/^x\.gguf: /);
  });

  it('reads in growing chunks through readRange and never past the metadata plus one chunk', async () => {
    const bytes = gguf(SMALL_VOCAB);
    const { fs, reads } = memoryFs({ 'm.gguf': bytes });
    const meta = await readGgufMetadata(fs, 'm.gguf');
    expect(meta.get('tokenizer.ggml.pre')).toBe('llama-bpe');
    expect(reads.every((r) => r.offset + r.length <= bytes.length)).toBe(true);
  });

  it('absurd declared lengths fail fast without reading or allocating them', async () => {
    const cases: [string, Uint8Array][] = [];
    const huge = (patch: (w: Writer) => void) => {
      const w = new Writer();
      w.bytes(new TextEncoder().encode('GGUF'));
      w.u32(3);
      w.u64(0);
      patch(w);
      return w.done();
    };
    cases.push(['kv count', huge((w) => w.u64(2n ** 62n))]);
    cases.push(['kv count over limit', huge((w) => w.u64(MAX_KV_COUNT + 1))]);
    cases.push(['key length', huge((w) => (w.u64(1), w.u64(2n ** 63n)))]);
    cases.push(['string length', huge((w) => (w.u64(1), w.str('k'), w.u32(GgufType.STRING), w.u64(MAX_STRING_LENGTH + 1)))]);
    cases.push(['string past end', huge((w) => (w.u64(1), w.str('k'), w.u32(GgufType.STRING), w.u64(1_000_000)))]);
    cases.push(['array length', huge((w) => (w.u64(1), w.str('k'), w.u32(GgufType.ARRAY), w.u32(GgufType.UINT64), w.u64(MAX_ARRAY_LENGTH + 1)))]);
    cases.push(['array past end', huge((w) => (w.u64(1), w.str('k'), w.u32(GgufType.ARRAY), w.u32(GgufType.STRING), w.u64(10_000_000)))]);
    cases.push(['unknown type', huge((w) => (w.u64(1), w.str('k'), w.u32(99)))]);
    cases.push(['deep nesting', huge((w) => {
      w.u64(1);
      w.str('k');
      w.u32(GgufType.ARRAY);
      for (let i = 0; i < 10; i++) (w.u32(GgufType.ARRAY), w.u64(1));
    })]);
    for (const [name, bytes] of cases) {
      const { fs, reads } = memoryFs({ 'h.gguf': bytes });
      const err = await readGgufHeader(fs, 'h.gguf').catch((e) => e);
      expect(err, name).toBeInstanceOf(KvdiffError);
      expect(reads.reduce((n, r) => n + r.length, 0), name).toBeLessThanOrEqual(bytes.length);
    }
  });

  it('a missing file is a KvdiffError', async () => {
    const { fs } = memoryFs({});
    await expect(readGgufHeader(fs, 'nope.gguf')).rejects.toThrow(KvdiffError);
  });
});

// --- properties --------------------------------------------------------------------------------------------------

describe('GGUF reader properties', () => {
  const base = gguf(SMALL_VOCAB);

  it('random bytes give a header or a KvdiffError', async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 512 }), fc.boolean(), async (tail, withMagic) => {
        const bytes = withMagic ? Uint8Array.from([0x47, 0x47, 0x55, 0x46, 3, 0, 0, 0, ...tail]) : tail;
        await resultOrKvdiffError(parseGgufBytes(bytes));
      }),
      { numRuns: RUNS },
    );
  });

  it('truncated, bit-flipped and length-patched headers give a header or a KvdiffError, reading only what exists', async () => {
    const mutation = fc.oneof(
      fc.record({ kind: fc.constant('truncate' as const), at: fc.nat(base.length) }),
      fc.record({ kind: fc.constant('flip' as const), at: fc.nat(base.length - 1), bit: fc.nat(7) }),
      fc.record({
        kind: fc.constant('u64' as const),
        at: fc.nat(base.length - 8),
        value: fc.oneof(fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }), fc.constantFrom(2n ** 32n, 2n ** 53n, 2n ** 63n, 2n ** 64n - 1n)),
      }),
    );
    await fc.assert(
      fc.asyncProperty(fc.array(mutation, { minLength: 1, maxLength: 4 }), async (mutations) => {
        let bytes = base.slice();
        for (const m of mutations) {
          if (m.kind === 'truncate') bytes = bytes.slice(0, m.at);
          else if (m.kind === 'flip' && m.at < bytes.length) bytes[m.at] ^= 1 << m.bit;
          else if (m.kind === 'u64' && m.at + 8 <= bytes.length) new DataView(bytes.buffer).setBigUint64(m.at, m.value, true);
        }
        const { fs, reads } = memoryFs({ 'm.gguf': bytes });
        const header = await resultOrKvdiffError(readGgufHeader(fs, 'm.gguf'));
        expect(reads.every((r) => r.offset + r.length <= bytes.length)).toBe(true);
        // A header that parses also goes through the model loader without any other kind of error.
        if (!(header instanceof KvdiffError)) await resultOrKvdiffError(Promise.resolve().then(() => ggufModelFromMetadata(header.metadata, 'm.gguf')));
      }),
      { numRuns: RUNS },
    );
  });

  it('the loader maps wrong value types to KvdiffError', async () => {
    const typeFor = fc.constantFrom(GgufType.UINT8, GgufType.INT32, GgufType.FLOAT32, GgufType.BOOL, GgufType.STRING, GgufType.UINT64);
    await fc.assert(
      fc.asyncProperty(fc.nat(SMALL_VOCAB.length - 1), typeFor, async (i, type) => {
        const entries = SMALL_VOCAB.map((e) => [...e] as Entry);
        entries[i] = [entries[i][0], type, type === GgufType.STRING ? 'x' : type === GgufType.UINT64 ? 3n : 1];
        const header = await parseGgufBytes(gguf(entries));
        await resultOrKvdiffError(Promise.resolve().then(() => ggufModelFromMetadata(header.metadata, 'm.gguf')));
      }),
      { numRuns: RUNS },
    );
  });
});

describe.skipIf(!haveModels)('GGUF reader on the tiny models (needs ../shared/models)', () => {
  it('reads each header, printing how long header + tokenizer take (informational, not asserted)', async () => {
    for (const file of ['tiny-qwen3.gguf', 'tiny-llama3.1.gguf', 'tiny-gemma3.gguf']) {
      const t0 = performance.now();
      const info = await loadGgufModel(nodeFs, MODELS + file);
      const ms = performance.now() - t0;
      console.log(`${file}: header + tokenizer in ${ms.toFixed(0)} ms`);
      expect(info.chatTemplate.length).toBeGreaterThan(100);
    }
  });

  it('mutated real headers give a header or a KvdiffError', async () => {
    const { metadataBytes } = await readGgufHeader(nodeFs, MODELS + 'tiny-qwen3.gguf');
    const full = await nodeFs.readRange(MODELS + 'tiny-qwen3.gguf', 0, metadataBytes);
    await fc.assert(
      fc.asyncProperty(fc.nat(metadataBytes), fc.nat(metadataBytes - 8), fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }), async (cut, at, value) => {
        const bytes = full.slice(0, Math.max(cut, at + 8));
        new DataView(bytes.buffer).setBigUint64(at, value, true);
        await resultOrKvdiffError(parseGgufBytes(bytes.slice(0, cut)));
        await resultOrKvdiffError(parseGgufBytes(bytes));
      }),
      { numRuns: 40 },
    );
  }, 60_000);
});

