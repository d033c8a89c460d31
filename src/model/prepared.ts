/**
 * The prepared-tokenizer cache: a BPE tokenizer.json in compact binary form (token texts, merges as id pairs, the
 * small rest as JSON), stored in the user's cache folder under the source file's identity (or the sha256 of its bytes). Loading it skips
 * JSON.parse of the whole tokenizer.json (Qwen3: 11 MB) and the Map building of `new Tokenizer`.
 *
 * Entry layout (little-endian): magic `KVDIFFP1`, u32 header length, header JSON (`{count, merges, textBytes,
 * skeleton}`), the token texts as one UTF-16LE blob (decoding it is a copy, UTF-8 would cost 13 ms for Qwen3), u32 UTF-16 length per token (0xffffffff = no token with that id),
 * i32 merge pairs, i32 merge result per merge (the token it makes), then the sha256 of everything before it. Anything that does not check out is ignored (and
 * rebuilt); writing is atomic (`ModelFs.writeFileAtomic`) and a failed write is ignored too.
 */
import { createHash } from 'node:crypto';
import { gunzipSync } from 'node:zlib';
import { KvdiffError } from '../errors.js';
import type { ModelFs } from './fs.js';
import { bpeArrays, bpeSkeleton, fastBpeFiles, type BpeArrays } from '../tokenize/bpe.js';
import type { TokenizerFiles } from './types.js';

/** Where prepared forms live; absent when caching is off. */
export interface PreparedCache {
  fs: ModelFs;
  dir: string;
}

/** Bumped when the entry layout or what goes into it changes (old entries are then simply not found). */
export const PREPARED_FORMAT = 3;
const MAGIC = 'KVDIFFP1';
const NO_TOKEN = 0xffffffff;

/**
 * The cache folder: `KVDIFF_CACHE_DIR`, else `$XDG_CACHE_HOME/kvdiff`, else `~/.cache/kvdiff`; undefined when
 * `KVDIFF_NO_CACHE` is set (to anything but '' or '0').
 */
export function preparedCacheDir(env: Record<string, string | undefined>, homeDir: string): string | undefined {
  const off = env.KVDIFF_NO_CACHE;
  if (off !== undefined && off !== '' && off !== '0') return undefined;
  if (env.KVDIFF_CACHE_DIR) return env.KVDIFF_CACHE_DIR;
  const base = env.XDG_CACHE_HOME || `${homeDir.replace(/[\\/]+$/, '')}/.cache`;
  return `${base.replace(/[\\/]+$/, '')}/kvdiff`;
}

export function sha256Hex(bytes: Uint8Array | string): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** The entry's path for a source whose bytes hash to `key` (`kind` tells sources apart, e.g. `bpe`). */
export function preparedPath(cache: PreparedCache, kind: string, key: string): string {
  return `${cache.dir.replace(/[\\/]+$/, '')}/tokenizers/${kind}-v${PREPARED_FORMAT}-${key}.bin`;
}

export interface PreparedBpe {
  skeleton: Record<string, unknown>;
  arrays: BpeArrays;
}

export function encodePreparedBpe(p: PreparedBpe): Uint8Array {
  const { tokens, merges } = p.arrays;
  const results = p.arrays.results ?? new Int32Array(0);
  const lengths = new Uint32Array(tokens.length);
  const parts: string[] = [];
  for (let id = 0; id < tokens.length; id++) {
    const t = tokens[id];
    lengths[id] = t === undefined ? NO_TOKEN : t.length;
    if (t !== undefined) parts.push(t);
  }
  const joined = parts.join('');
  const text = new Uint8Array(joined.length * 2);
  for (let i = 0; i < joined.length; i++) {
    const c = joined.charCodeAt(i);
    text[2 * i] = c & 0xff;
    text[2 * i + 1] = c >> 8;
  }
  const header = new TextEncoder().encode(
    JSON.stringify({ count: tokens.length, merges: merges.length, results: results.length, textBytes: text.length, skeleton: p.skeleton }),
  );
  const headerEnd = align4(MAGIC.length + 4 + header.length);
  const textEnd = align4(headerEnd + text.length);
  const lengthsEnd = textEnd + lengths.byteLength;
  const mergesEnd = lengthsEnd + merges.byteLength;
  const end = mergesEnd + results.byteLength;
  const out = new Uint8Array(end + 32);
  const dv = new DataView(out.buffer);
  out.set(new TextEncoder().encode(MAGIC), 0);
  dv.setUint32(MAGIC.length, header.length, true);
  out.set(header, MAGIC.length + 4);
  out.set(text, headerEnd);
  for (let i = 0; i < lengths.length; i++) dv.setUint32(textEnd + 4 * i, lengths[i], true);
  for (let i = 0; i < merges.length; i++) dv.setInt32(lengthsEnd + 4 * i, merges[i], true);
  for (let i = 0; i < results.length; i++) dv.setInt32(mergesEnd + 4 * i, results[i], true);
  out.set(createHash('sha256').update(out.subarray(0, end)).digest(), end);
  return out;
}

/** The prepared form in `bytes`, or null when they are not a whole, intact entry. */
export function decodePreparedBpe(bytes: Uint8Array): PreparedBpe | null {
  try {
    if (bytes.length < MAGIC.length + 4 + 32) return null;
    if (new TextDecoder().decode(bytes.subarray(0, MAGIC.length)) !== MAGIC) return null;
    const end = bytes.length - 32;
    const sum = createHash('sha256').update(bytes.subarray(0, end)).digest();
    for (let i = 0; i < 32; i++) if (sum[i] !== bytes[end + i]) return null;
    const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const headerLength = dv.getUint32(MAGIC.length, true);
    const header = JSON.parse(new TextDecoder().decode(bytes.subarray(MAGIC.length + 4, MAGIC.length + 4 + headerLength))) as {
      count: number;
      merges: number;
      results: number;
      textBytes: number;
      skeleton: Record<string, unknown>;
    };
    const headerEnd = align4(MAGIC.length + 4 + headerLength);
    const textEnd = align4(headerEnd + header.textBytes);
    const lengthsEnd = textEnd + 4 * header.count;
    const mergesEnd = lengthsEnd + 4 * header.merges;
    if (header.results !== 0 && header.results !== header.merges / 2) return null;
    if (mergesEnd + 4 * header.results !== end || !header.skeleton || typeof header.skeleton !== 'object') return null;
    // ignoreBOM: a token text may start with U+FEFF
    const text = new TextDecoder('utf-16le', { ignoreBOM: true }).decode(bytes.subarray(headerEnd, headerEnd + header.textBytes));
    const lengths = int32s(bytes, dv, textEnd, header.count);
    const tokens: (string | undefined)[] = new Array(header.count);
    let at = 0;
    for (let id = 0; id < header.count; id++) {
      const n = lengths[id];
      if (n === -1) continue; // NO_TOKEN
      tokens[id] = text.slice(at, at + n);
      at += n;
    }
    if (at !== text.length) return null;
    const merges = int32s(bytes, dv, lengthsEnd, header.merges);
    const results = int32s(bytes, dv, mergesEnd, header.results);
    for (const ids of [merges, results]) {
      for (let i = 0; i < ids.length; i++) {
        const id = ids[i];
        if (id < 0 || id >= header.count || tokens[id] === undefined) return null;
      }
    }
    return { skeleton: header.skeleton, arrays: { tokens, merges, ...(results.length ? { results } : {}) } };
  } catch {
    return null;
  }
}

/** The cached prepared form for `key`, or null (missing, unreadable or corrupt: the caller rebuilds it). */
export async function readPreparedBpe(cache: PreparedCache, key: string): Promise<PreparedBpe | null> {
  let bytes: Uint8Array;
  try {
    bytes = await cache.fs.readFile(preparedPath(cache, 'bpe', key));
  } catch {
    return null;
  }
  return decodePreparedBpe(bytes);
}

/** Stores a prepared form; a failure (read-only folder, full disk) only costs the next run the rebuild. */
export async function writePreparedBpe(cache: PreparedCache, key: string, p: PreparedBpe): Promise<boolean> {
  try {
    await cache.fs.writeFileAtomic(preparedPath(cache, 'bpe', key), encodePreparedBpe(p));
    return true;
  } catch {
    return false;
  }
}

/** Upper bound on a gzipped tokenizer.json's inflated size (the largest real ones are tens of MB). */
export const MAX_TOKENIZER_INFLATED_BYTES = 512 * 1024 * 1024;

/** A tokenizer.json's bytes; a gzipped one (the embedded model's, or a user's `tokenizer.json.gz`) is inflated. */
export async function readTokenizerBytes(fs: ModelFs, file: string): Promise<Uint8Array> {
  let bytes: Uint8Array;
  try {
    bytes = await fs.readFile(file);
  } catch (err) {
    throw new KvdiffError(`cannot read tokenizer ${file}: ${(err as { code?: string }).code ?? (err as Error).message}`);
  }
  if (bytes.length < 2 || bytes[0] !== 0x1f || bytes[1] !== 0x8b) return bytes;
  try {
    return gunzipSync(bytes, { maxOutputLength: MAX_TOKENIZER_INFLATED_BYTES });
  } catch (err) {
    throw new KvdiffError(`tokenizer ${file} is not a readable gzip file: ${(err as Error).message}`);
  }
}

/** A tokenizer.json's bytes parsed as a JSON object, or a KvdiffError naming the file. */
export function parseTokenizerJson(bytes: Uint8Array, file: string): Record<string, unknown> {
  try {
    const value = JSON.parse(new TextDecoder().decode(bytes)) as unknown;
    if (!value || typeof value !== 'object' || Array.isArray(value)) throw new Error('not a JSON object');
    return value as Record<string, unknown>;
  } catch (err) {
    throw new KvdiffError(`tokenizer ${file} is not valid JSON: ${(err as Error).message}`);
  }
}

/**
 * A tokenizer.json file as `TokenizerFiles`, through the cache. The entry is keyed by the file's identity (path,
 * size, modification and change times, inode: `ModelFs.fileIdentity`), so a cached run neither reads nor hashes the
 * 11 MB source; any rewrite of the file changes its change time and so its key. A file system without
 * `fileIdentity` keys by the sha256 of the bytes instead. A miss parses, prepares and stores. `transform` adjusts the
 * parsed tokenizer.json (e.g. drops its normalizer) and must not touch `model.vocab` / `model.merges`; it is applied
 * to the stored form too. Tokenizers the fast path cannot reproduce exactly are returned as parsed, and not stored.
 */
export async function preparedTokenizerFiles(
  cache: PreparedCache,
  file: string,
  config: Record<string, unknown>,
  transform: (json: Record<string, unknown>) => Record<string, unknown> = (j) => j,
): Promise<TokenizerFiles> {
  const identity = await cache.fs.fileIdentity?.(file);
  let key = identity ? sha256Hex(`stat\0${file}\0${identity}`) : undefined;
  if (key) {
    const prepared = await readPreparedBpe(cache, key);
    if (prepared) return fastBpeFiles(transform(prepared.skeleton), config, prepared.arrays);
  }
  const bytes = await readTokenizerBytes(cache.fs, file);
  if (!key) {
    key = sha256Hex(bytes);
    const prepared = await readPreparedBpe(cache, key);
    if (prepared) return fastBpeFiles(transform(prepared.skeleton), config, prepared.arrays);
  }
  const json = parseTokenizerJson(bytes, file);
  const arrays = bpeArrays(json);
  if (!arrays) return { json: transform(json), config };
  await writePreparedBpe(cache, key, { skeleton: bpeSkeleton(json), arrays });
  const full = transform(json);
  return fastBpeFiles(bpeSkeleton(full), config, arrays, arrays.map, full);
}

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** `count` little-endian i32 at `offset` of `bytes`: a copy of the bytes as they are when the machine allows it. */
function int32s(bytes: Uint8Array, dv: DataView, offset: number, count: number): Int32Array {
  const out = new Int32Array(count);
  if (LITTLE_ENDIAN) {
    // (Buffer's slice is a view, so copy through set)
    new Uint8Array(out.buffer).set(bytes.subarray(offset, offset + 4 * count));
    return out;
  }
  for (let i = 0; i < count; i++) out[i] = dv.getInt32(offset + 4 * i, true);
  return out;
}

function align4(n: number): number {
  return (n + 3) & ~3;
}
