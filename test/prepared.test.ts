/**
 * The prepared-tokenizer cache (src/model/prepared.ts): used when present, keyed by the source file's identity (or its
 * bytes), ignored and
 * rebuilt when damaged, never fatal, and the ids are the same with and without it.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Tokenizer } from '@huggingface/tokenizers';
import { afterAll, describe, expect, it } from 'vitest';
import { nodeFs } from '../src/node/fs.ts';
import { loadBuiltinModel } from '../src/model/builtin.ts';
import type { ModelFs } from '../src/model/fs.ts';
import { bpeArrays, bpeSkeleton } from '../src/tokenize/bpe.ts';
import {
  decodePreparedBpe,
  encodePreparedBpe,
  preparedCacheDir,
  preparedPath,
  preparedTokenizerFiles,
  sha256Hex,
} from '../src/model/prepared.ts';
import { resolveModel } from '../src/model/resolve.ts';
import { PromptTokenizer } from '../src/tokenize/prompt.ts';
import { tinyModel } from './tiny-tokenizer.ts';

const roots: string[] = [];
function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'kvdiff-prepared-'));
  roots.push(d);
  return d;
}
afterAll(() => {
  for (const d of roots) rmSync(d, { recursive: true, force: true });
});

/** nodeFs that counts what it reads and writes under the cache folder. */
function recordingFs(dir: string, opts: { failWrites?: boolean; noIdentity?: boolean } = {}) {
  const log = { reads: 0, writes: 0, sources: 0 };
  const fs: ModelFs = {
    ...nodeFs,
    fileIdentity: opts.noIdentity ? undefined : nodeFs.fileIdentity,
    async readFile(path) {
      if (path.startsWith(dir)) log.reads++;
      if (/tokenizer\.json(\.gz)?$/.test(path)) log.sources++;
      return nodeFs.readFile(path);
    },
    async writeFileAtomic(path, data) {
      if (opts.failWrites) throw Object.assign(new Error('read-only file system'), { code: 'EROFS' });
      if (path.startsWith(dir)) log.writes++;
      return nodeFs.writeFileAtomic(path, data);
    },
  };
  return { fs, log };
}

const entries = (dir: string) => {
  try {
    return readdirSync(join(dir, 'tokenizers')).filter((f) => f.endsWith('.bin'));
  } catch {
    return [];
  }
};

const TEXTS = [
  '<|im_start|>system\nYou are helpful.<|im_end|>\n<|im_start|>user\nhello   world\n\n\n<|im_end|>\n<|im_start|>assistant\n',
  '<think>\n\n</think>\n\n{"name": "read_file", "arguments": {"path": "src/ä.ts"}}<|im_end|>',
  '日本語のテキスト 😀👍🏽 e\u0301 ١٢٣ 12345678 \t\t x<|endoftext|>y<tool_call>z</tool_call>',
  '  leading and trailing  \ud800 lone',
];

describe('prepared cache: the embedded Qwen3 tokenizer', async () => {
  const dir = tempDir();
  const { fs, log } = recordingFs(dir);
  const cache = { fs, dir };
  const cold = await loadBuiltinModel(fs, 'qwen3', { cache });
  const writesAfterCold = log.writes;
  const readsBeforeWarm = log.reads;
  const sourcesBeforeWarm = log.sources;
  const warm = await loadBuiltinModel(fs, 'qwen3', { cache });
  const plain = await loadBuiltinModel(nodeFs, 'qwen3');

  it('the first load stores one entry, the second reads it and stores nothing', () => {
    expect(writesAfterCold).toBe(1);
    expect(entries(dir)).toHaveLength(1);
    expect(log.reads).toBe(readsBeforeWarm + 1);
    expect(log.writes).toBe(1);
    expect(warm.tokenizer.encoder).toBeTypeOf('function');
  });

  it('a cached load does not read the tokenizer.json (11 MB, shipped gzipped) at all', () => {
    expect(sourcesBeforeWarm).toBe(1);
    expect(log.sources).toBe(1);
  });

  it('ids, offsets and pieces are identical with the cache, without it, and with new Tokenizer(json)', () => {
    const whole = new Tokenizer(plain.tokenizer.json, plain.tokenizer.config);
    const a = new PromptTokenizer(warm);
    const b = new PromptTokenizer(cold);
    const c = new PromptTokenizer(plain);
    for (const text of TEXTS) {
      const want = whole.encode(text, { add_special_tokens: true }).ids;
      expect(a.encode(text)).toEqual(c.encode(text));
      expect(b.encode(text)).toEqual(c.encode(text));
      expect(a.encode(text).ids).toEqual(want);
    }
    for (const id of [0, 220, 9707, 151643, 151644, 151667]) expect(a.piece(id)).toBe(c.piece(id));
    expect([a.bosId, a.eosId]).toEqual([c.bosId, c.eosId]);
  });

  it('the tokenizer.json rebuilt from the entry is the one the package ships (normalizer dropped as before)', () => {
    const json = warm.tokenizer.json;
    expect(json.normalizer).toBeNull();
    expect(Object.keys((json.model as { vocab: object }).vocab).length).toBe(Object.keys((plain.tokenizer.json.model as { vocab: object }).vocab).length);
    const whole = new Tokenizer(json, warm.tokenizer.config);
    expect(whole.encode(TEXTS[2]).ids).toEqual(new PromptTokenizer(plain).encode(TEXTS[2]).ids);
  });

  it('resolveModel passes the cache folder through to the built-in model', async () => {
    const other = tempDir();
    await resolveModel({}, { fs: nodeFs, env: {}, homeDir: other, fetch: globalThis.fetch, cacheDir: other });
    expect(entries(other)).toHaveLength(1);
  });
});

describe('prepared cache: entries follow the source file', () => {
  function tinyFile(dir: string, merges?: [string, string][]): { file: string; json: Record<string, unknown> } {
    const json = structuredClone(tinyModel().tokenizer.json);
    if (merges) (json.model as { merges: unknown }).merges = merges;
    const file = join(dir, 'tokenizer.json');
    writeFileSync(file, JSON.stringify(json));
    return { file, json };
  }
  const ids = async (cache: { fs: ModelFs; dir: string }, file: string, text: string) => {
    const files = await preparedTokenizerFiles(cache, file, {});
    return new PromptTokenizer({ ...tinyModel(), tokenizer: files }).encode(text).ids;
  };

  it('a changed tokenizer.json gets a new entry and its own ids', async () => {
    const dir = tempDir();
    const { fs, log } = recordingFs(dir);
    const cache = { fs, dir };
    const { file } = tinyFile(dir);
    const before = await ids(cache, file, 'hello world');
    expect(await ids(cache, file, 'hello world')).toEqual(before);
    expect(log.writes).toBe(1);
    tinyFile(dir, [['h', 'e'], ['he', 'l']]); // fewer merges: 'hello' no longer one token
    const after = await ids(cache, file, 'hello world');
    expect(log.writes).toBe(2);
    expect(entries(dir)).toHaveLength(2);
    expect(after).not.toEqual(before);
    const expected = new Tokenizer(JSON.parse(readFileSync(file, 'utf8')), {}).encode('hello world', { add_special_tokens: false }).ids;
    expect(after).toEqual(expected);
  });

  it('a rewrite that keeps size and modification time still misses (the change time moves)', async () => {
    const dir = tempDir();
    const { fs, log } = recordingFs(dir);
    const cache = { fs, dir };
    // two tokenizer.json texts padded with trailing spaces to one length; the second has fewer merges
    const fewer = readFileSync(tinyFile(dir, [['h', 'e'], ['he', 'l']]).file, 'utf8'); // 'hello' not one token
    const { file } = tinyFile(dir);
    const all = readFileSync(file, 'utf8');
    const length = Math.max(Buffer.byteLength(fewer), Buffer.byteLength(all));
    const padded = (text: string) => text + ' '.repeat(length - Buffer.byteLength(text));
    writeFileSync(file, padded(all));
    const before = await ids(cache, file, 'hello world');
    const { atime, mtime, size } = statSync(file);
    await new Promise((r) => setTimeout(r, 20));
    writeFileSync(file, padded(fewer));
    utimesSync(file, atime, mtime);
    expect(statSync(file).size).toBe(size);
    const after = await ids(cache, file, 'hello world');
    expect(log.writes).toBe(2);
    expect(after).not.toEqual(before);
    expect(after).toEqual(new Tokenizer(JSON.parse(readFileSync(file, 'utf8')), {}).encode('hello world', { add_special_tokens: false }).ids);
  });

  it('without fileIdentity the entry is keyed by the sha256 of the bytes', async () => {
    const dir = tempDir();
    const { fs, log } = recordingFs(dir, { noIdentity: true });
    const cache = { fs, dir };
    const { file } = tinyFile(dir);
    const want = await ids(cache, file, 'hello world');
    expect(entries(dir)).toEqual([preparedPath(cache, 'bpe', sha256Hex(readFileSync(file))).split('/').pop()]);
    expect(await ids(cache, file, 'hello world')).toEqual(want);
    expect(log.writes).toBe(1);
  });

  it('a corrupt, truncated or foreign entry is ignored and rewritten', async () => {
    const dir = tempDir();
    const { fs, log } = recordingFs(dir);
    const cache = { fs, dir };
    const { file } = tinyFile(dir);
    const want = await ids(cache, file, 'hello <|sep|> world é😀');
    expect(entries(dir)).toHaveLength(1);
    const path = join(dir, 'tokenizers', entries(dir)[0]);
    const good = readFileSync(path);
    const damaged = [
      Uint8Array.from(good, (b, i) => (i === good.length >> 1 ? b ^ 0x55 : b)),
      good.subarray(0, good.length - 7),
      new TextEncoder().encode('not a prepared tokenizer'),
      new Uint8Array(0),
    ];
    for (const bytes of damaged) {
      writeFileSync(path, bytes);
      const writes = log.writes;
      expect(await ids(cache, file, 'hello <|sep|> world é😀')).toEqual(want);
      expect(log.writes).toBe(writes + 1);
      expect(readFileSync(path)).toEqual(good);
    }
  });

  it('an unwritable cache folder only costs the rebuild', async () => {
    const dir = tempDir();
    const { fs } = recordingFs(dir, { failWrites: true });
    const { file, json } = tinyFile(dir);
    const got = await ids({ fs, dir }, file, 'hello world');
    expect(got).toEqual(new Tokenizer(json, {}).encode('hello world', { add_special_tokens: false }).ids);
    expect(entries(dir)).toEqual([]);
  });

  it('the binary form round-trips the arrays and the rest of tokenizer.json', () => {
    const json = tinyModel().tokenizer.json;
    const arrays = bpeArrays(json)!;
    const back = decodePreparedBpe(encodePreparedBpe({ skeleton: bpeSkeleton(json), arrays }))!;
    expect(back.arrays.tokens).toEqual(arrays.tokens);
    expect(Array.from(back.arrays.merges)).toEqual(Array.from(arrays.merges));
    // each merge's result: the vocabulary id of both sides joined, as tokenizer.json lists them
    const vocab = (json.model as { vocab: Record<string, number>; merges: [string, string][] }).vocab;
    const merges = (json.model as { merges: [string, string][] }).merges;
    expect(Array.from(back.arrays.results!)).toEqual(merges.map(([a, b]) => vocab[a + b]));
    expect(back.skeleton).toEqual(JSON.parse(JSON.stringify(bpeSkeleton(json))));
  });

  it('token texts keep a leading U+FEFF and characters outside the BMP through the binary form', () => {
    const json = tinyModel().tokenizer.json;
    const model = json.model as { vocab: Record<string, number> };
    // the first text of the blob starts with U+FEFF (a decoder that takes it for a byte-order mark would drop it)
    const first = Object.keys(model.vocab).find((t) => model.vocab[t] === 0)!;
    const vocab = { ...model.vocab, [first]: 290, '\ufeffab': 0, '\ufeff': 291, 'x😀': 292 };
    const withOdd = { ...json, model: { ...model, vocab } };
    const arrays = bpeArrays(withOdd)!;
    const back = decodePreparedBpe(encodePreparedBpe({ skeleton: bpeSkeleton(withOdd), arrays }))!;
    expect([back.arrays.tokens[0], ...back.arrays.tokens.slice(290, 293)]).toEqual(['\ufeffab', first, '\ufeff', 'x😀']);
    expect(back.arrays.tokens).toEqual(arrays.tokens);
  });
});

describe('prepared cache folder', () => {
  it('KVDIFF_CACHE_DIR, else $XDG_CACHE_HOME/kvdiff, else ~/.cache/kvdiff; KVDIFF_NO_CACHE=1 turns it off', () => {
    expect(preparedCacheDir({}, '/home/u')).toBe('/home/u/.cache/kvdiff');
    expect(preparedCacheDir({ XDG_CACHE_HOME: '/xdg/' }, '/home/u')).toBe('/xdg/kvdiff');
    expect(preparedCacheDir({ XDG_CACHE_HOME: '/xdg', KVDIFF_CACHE_DIR: '/mine' }, '/home/u')).toBe('/mine');
    expect(preparedCacheDir({ KVDIFF_NO_CACHE: '1', KVDIFF_CACHE_DIR: '/mine' }, '/home/u')).toBeUndefined();
    expect(preparedCacheDir({ KVDIFF_NO_CACHE: '0' }, '/home/u')).toBe('/home/u/.cache/kvdiff');
  });
});
