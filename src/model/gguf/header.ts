/**
 * A small GGUF header reader: the metadata key/value section only, never tensor infos or tensor data.
 * Format: https://github.com/ggml-org/ggml/blob/master/docs/gguf.md (v2/v3, little-endian).
 *
 * Everything a corrupt or hostile file declares (lengths, counts) is checked against named limits and against the
 * bytes the file actually has before anything is allocated, so a bad header fails fast with one `KvdiffError` line.
 */
import { KvdiffError } from '../../errors.js';
import type { ModelFs } from '../fs.js';
import { ByteSource, FIXED_SIZE, GgufType, MAX_METADATA_BYTES, quote } from './bytes.js';

export { GgufType, MAX_METADATA_BYTES, quote };
export { meta } from './meta.js';

/** "GGUF" read as a little-endian uint32. */
const GGUF_MAGIC = 0x46554747;
/** v1 used 32-bit lengths and is long gone; v2 and v3 share the layout we read (v3 added big-endian files). */
const SUPPORTED_VERSIONS = [2, 3];
/** More keys than any real model has (they have ~30-60); beyond this the count is corrupt. */
export const MAX_KV_COUNT = 65_536;
/** The spec caps keys at 65,535 bytes. */
export const MAX_KEY_LENGTH = 65_535;
/** Largest single string value: chat templates are tens of KB; 64 MiB means the length field is garbage. */
export const MAX_STRING_LENGTH = 64 * 1024 * 1024;
/** Largest array: vocabularies and merge lists are ≤ ~1M entries; 16M elements means the count is garbage. */
export const MAX_ARRAY_LENGTH = 16 * 1024 * 1024;
/** GGUF allows arrays of arrays; no model nests them, so a deep nesting is corruption, not data. */
export const MAX_ARRAY_DEPTH = 4;

export type GgufNumberArray =
  | Uint8Array
  | Int8Array
  | Uint16Array
  | Int16Array
  | Uint32Array
  | Int32Array
  | Float32Array
  | Float64Array
  | BigUint64Array
  | BigInt64Array;

/** An array value: numbers in a typed array of the stored type, strings and bools as plain arrays. */
export interface GgufArray {
  readonly kind: 'array';
  readonly elementType: GgufType;
  readonly values: GgufNumberArray | readonly string[] | readonly boolean[] | readonly GgufArray[];
}

/** 64-bit integers come back as `bigint`; all other numbers as `number`. */
export type GgufValue = number | bigint | boolean | string | GgufArray;

export interface GgufHeader {
  version: number;
  tensorCount: bigint;
  metadata: Map<string, GgufValue>;
  /** Bytes from the start of the file to the end of the metadata section. */
  metadataBytes: number;
}

const IS_LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

function typedArray(type: number, bytes: ArrayBuffer): GgufNumberArray {
  switch (type) {
    case GgufType.UINT8:
      return new Uint8Array(bytes);
    case GgufType.INT8:
      return new Int8Array(bytes);
    case GgufType.UINT16:
      return new Uint16Array(bytes);
    case GgufType.INT16:
      return new Int16Array(bytes);
    case GgufType.UINT32:
      return new Uint32Array(bytes);
    case GgufType.INT32:
      return new Int32Array(bytes);
    case GgufType.FLOAT32:
      return new Float32Array(bytes);
    case GgufType.UINT64:
      return new BigUint64Array(bytes);
    case GgufType.INT64:
      return new BigInt64Array(bytes);
    default:
      return new Float64Array(bytes);
  }
}

/** A 64-bit length as a number, or a clear error when it is beyond `limit`. */
function length(raw: number, limit: number, src: ByteSource, what: string): number {
  if (raw > limit) {
    const shown = raw === Infinity ? 'more than 2^53' : String(raw);
    throw new KvdiffError(`${src.what}: GGUF ${what} declares ${shown}, more than the limit of ${limit} (corrupt header?)`);
  }
  return raw;
}

async function readString(src: ByteSource, limit: number, what: string): Promise<string> {
  if (!src.has(8)) await src.need(8, what);
  const n = length(src.u64n(), limit, src, `${what} length`);
  if (!src.has(n)) {
    if (n > src.remaining) src.truncated(what);
    await src.need(n, what);
  }
  return src.text(n);
}

function checkType(type: number, src: ByteSource, key: string): void {
  if (!(type in FIXED_SIZE) && type !== GgufType.STRING && type !== GgufType.ARRAY) {
    throw new KvdiffError(`${src.what}: GGUF key ${key} has unknown value type ${type}`);
  }
}

async function readArray(src: ByteSource, key: string, depth: number): Promise<GgufArray> {
  if (depth > MAX_ARRAY_DEPTH) {
    throw new KvdiffError(`${src.what}: GGUF key ${key} nests arrays deeper than ${MAX_ARRAY_DEPTH}`);
  }
  await src.need(12, `array header of ${key}`);
  const elementType = src.u32() as GgufType;
  checkType(elementType, src, key);
  const n = length(src.u64n(), MAX_ARRAY_LENGTH, src, `array ${key} length`);
  const size = FIXED_SIZE[elementType];
  if (size !== undefined) {
    // Every element takes `size` bytes: check the file has them before allocating anything.
    if (n * size > src.remaining) src.truncated(`array ${key}`);
    await src.need(n * size, `array ${key}`);
    if (elementType === GgufType.BOOL) {
      const values: boolean[] = new Array(n);
      for (let i = 0; i < n; i++) values[i] = src.u8() !== 0;
      return { kind: 'array', elementType, values };
    }
    if (IS_LITTLE_ENDIAN || size === 1) {
      return { kind: 'array', elementType, values: typedArray(elementType, src.copy(n * size)) };
    }
    const values = typedArray(elementType, new ArrayBuffer(n * size));
    for (let i = 0; i < n; i++) (values as unknown as (number | bigint)[])[i] = src.scalar(elementType) as number | bigint;
    return { kind: 'array', elementType, values };
  }
  // Strings (8-byte length each) and arrays (12-byte header each): at least that much per element must exist.
  const minSize = elementType === GgufType.STRING ? 8 : 12;
  if (n * minSize > src.remaining) src.truncated(`array ${key}`);
  if (elementType === GgufType.STRING) {
    const values: string[] = new Array(n);
    for (let i = 0; i < n; i++) {
      // Inlined fast path of readString: no await while the bytes are buffered (300k+ strings per vocabulary).
      if (src.has(8)) {
        const len = src.u64n();
        if (len <= MAX_STRING_LENGTH && src.has(len)) {
          values[i] = src.text(len);
          continue;
        }
        src.pos -= 8;
      }
      values[i] = await readString(src, MAX_STRING_LENGTH, `element ${i} of ${key}`);
    }
    return { kind: 'array', elementType, values };
  }
  const values: GgufArray[] = new Array(n);
  for (let i = 0; i < n; i++) values[i] = await readArray(src, key, depth + 1);
  return { kind: 'array', elementType, values };
}

async function readValue(src: ByteSource, type: number, key: string): Promise<GgufValue> {
  if (type === GgufType.STRING) return readString(src, MAX_STRING_LENGTH, `value of ${key}`);
  if (type === GgufType.ARRAY) return readArray(src, key, 1);
  await src.need(FIXED_SIZE[type], `value of ${key}`);
  return src.scalar(type);
}

/**
 * Parses the GGUF header through `fetch(offset, length)` (which may return fewer bytes at end of file).
 * `what` names the file in error messages.
 */
export async function parseGgufHeader(
  fetch: (offset: number, length: number) => Promise<Uint8Array>,
  fileSize: number,
  what: string,
): Promise<GgufHeader> {
  const src = new ByteSource(fetch, fileSize, what);
  if (fileSize < 4) throw new KvdiffError(`${what}: not a GGUF file (${fileSize} bytes)`);
  await src.need(4, 'magic');
  const magic = src.u32();
  if (magic !== GGUF_MAGIC) throw new KvdiffError(`${what}: not a GGUF file (no "GGUF" magic at the start)`);
  await src.need(20, 'header');
  const version = src.u32();
  if (!SUPPORTED_VERSIONS.includes(version)) {
    // A big-endian file has its version bytes swapped: 3 reads as 0x03000000.
    const hint = version >= 0x01000000 && (version & 0xffff) === 0 ? ' (big-endian GGUF is not supported)' : '';
    throw new KvdiffError(`${what}: unsupported GGUF version ${version}${hint}; kvdiff reads versions 2 and 3`);
  }
  const tensorCount = src.u64();
  const kvCount = length(src.u64n(), MAX_KV_COUNT, src, 'metadata key count');
  const metadata = new Map<string, GgufValue>();
  for (let i = 0; i < kvCount; i++) {
    const key = await readString(src, MAX_KEY_LENGTH, `key ${i}`);
    const label = quote(key);
    await src.need(4, `type of ${label}`);
    const type = src.u32();
    checkType(type, src, label);
    metadata.set(key, await readValue(src, type, label));
  }
  return { version, tensorCount, metadata, metadataBytes: src.offset };
}

/** Reads the metadata of the GGUF file at `path` through `fs.readRange`, never touching tensor data. */
export async function readGgufHeader(fs: ModelFs, path: string): Promise<GgufHeader> {
  const size = await fs.size(path);
  if (size === null) throw new KvdiffError(`${path}: no such file`);
  return parseGgufHeader((offset, len) => fs.readRange(path, offset, len), size, path);
}

/** Metadata only, as a Map from key to value. */
export async function readGgufMetadata(fs: ModelFs, path: string): Promise<Map<string, GgufValue>> {
  return (await readGgufHeader(fs, path)).metadata;
}

/** Parses a header held in memory (tests, or bytes already read). */
export function parseGgufBytes(bytes: Uint8Array, what = 'GGUF'): Promise<GgufHeader> {
  return parseGgufHeader(async (offset, len) => bytes.subarray(offset, offset + len), bytes.length, what);
}
