/**
 * A small GGUF header reader: the metadata key/value section only, never tensor infos or tensor data.
 * Format: https://github.com/ggml-org/ggml/blob/master/docs/gguf.md (v2/v3, little-endian).
 *
 * Everything a corrupt or hostile file declares (lengths, counts) is checked against named limits and against the
 * bytes the file actually has before anything is allocated, so a bad header fails fast with one `KvdiffError` line.
 */
import { KvdiffError } from '../errors.js';
import type { ModelFs } from './fs.js';

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
/** Whole metadata section: the largest real ones (big vocabularies + merges) are ~20 MB. */
export const MAX_METADATA_BYTES = 512 * 1024 * 1024;
/** First read; most of a small vocabulary's header fits. Later reads double, up to MAX_CHUNK_BYTES. */
const FIRST_CHUNK_BYTES = 1024 * 1024;
const MAX_CHUNK_BYTES = 32 * 1024 * 1024;

export const GgufType = {
  UINT8: 0,
  INT8: 1,
  UINT16: 2,
  INT16: 3,
  UINT32: 4,
  INT32: 5,
  FLOAT32: 6,
  BOOL: 7,
  STRING: 8,
  ARRAY: 9,
  UINT64: 10,
  INT64: 11,
  FLOAT64: 12,
} as const;
export type GgufType = (typeof GgufType)[keyof typeof GgufType];

/** Byte width of each fixed-size type (strings and arrays are variable). */
const FIXED_SIZE: Record<number, number> = { 0: 1, 1: 1, 2: 2, 3: 2, 4: 4, 5: 4, 6: 4, 7: 1, 10: 8, 11: 8, 12: 8 };

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

/** Reads bytes on demand from a source, in chunks that grow, keeping only the unread tail in memory. */
class ByteSource {
  private buf = new Uint8Array(0);
  private view = new DataView(this.buf.buffer);
  /** File offset of buf[0]. */
  private base = 0;
  /** Read position inside buf. */
  pos = 0;
  private chunk = FIRST_CHUNK_BYTES;

  constructor(
    private readonly fetch: (offset: number, length: number) => Promise<Uint8Array>,
    readonly fileSize: number,
    readonly what: string,
  ) {}

  get offset(): number {
    return this.base + this.pos;
  }

  /** Bytes left in the file from the read position. */
  get remaining(): number {
    return this.fileSize - this.offset;
  }

  truncated(need: string): never {
    throw new KvdiffError(`${this.what}: GGUF header is truncated at byte ${this.offset} (reading ${need})`);
  }

  /** Whether `n` bytes are already buffered at the read position (the fast path: no await). */
  has(n: number): boolean {
    return this.pos + n <= this.buf.length;
  }

  /** Make sure `n` bytes are buffered at the read position. */
  async need(n: number, what: string): Promise<void> {
    if (this.pos + n <= this.buf.length) return;
    if (n > this.remaining) this.truncated(what);
    if (this.offset + n > MAX_METADATA_BYTES) {
      throw new KvdiffError(`${this.what}: GGUF metadata is larger than ${MAX_METADATA_BYTES} bytes (corrupt header?)`);
    }
    const keep = this.buf.subarray(this.pos);
    const start = this.base + this.buf.length;
    let want = Math.max(n - keep.length, this.chunk);
    want = Math.min(want, this.fileSize - start);
    this.chunk = Math.min(this.chunk * 2, MAX_CHUNK_BYTES);
    const got = await this.fetch(start, want);
    if (got.length < Math.min(want, n - keep.length)) this.truncated(what);
    const next = new Uint8Array(keep.length + got.length);
    next.set(keep, 0);
    next.set(got, keep.length);
    this.base += this.pos;
    this.buf = next;
    this.view = new DataView(next.buffer, next.byteOffset, next.byteLength);
    this.pos = 0;
  }

  u8(): number {
    return this.buf[this.pos++];
  }
  u32(): number {
    const v = this.view.getUint32(this.pos, true);
    this.pos += 4;
    return v;
  }
  /** A little-endian uint64 as a number; values past 2^53 come back as Infinity (always beyond our limits). */
  u64n(): number {
    const lo = this.view.getUint32(this.pos, true);
    const hi = this.view.getUint32(this.pos + 4, true);
    this.pos += 8;
    return hi >= 0x200000 ? Infinity : hi * 0x100000000 + lo;
  }
  u64(): bigint {
    const v = this.view.getBigUint64(this.pos, true);
    this.pos += 8;
    return v;
  }
  scalar(type: number): number | bigint | boolean {
    const v = this.view;
    const p = this.pos;
    this.pos += FIXED_SIZE[type];
    switch (type) {
      case GgufType.UINT8:
        return v.getUint8(p);
      case GgufType.INT8:
        return v.getInt8(p);
      case GgufType.UINT16:
        return v.getUint16(p, true);
      case GgufType.INT16:
        return v.getInt16(p, true);
      case GgufType.UINT32:
        return v.getUint32(p, true);
      case GgufType.INT32:
        return v.getInt32(p, true);
      case GgufType.FLOAT32:
        return v.getFloat32(p, true);
      case GgufType.BOOL:
        return v.getUint8(p) !== 0;
      case GgufType.UINT64:
        return v.getBigUint64(p, true);
      case GgufType.INT64:
        return v.getBigInt64(p, true);
      default:
        return v.getFloat64(p, true);
    }
  }
  /** `n` buffered bytes as a copy with its own (aligned) ArrayBuffer. */
  copy(n: number): ArrayBuffer {
    const out = this.buf.slice(this.pos, this.pos + n);
    this.pos += n;
    return out.buffer;
  }
  text(n: number): string {
    const s = decodeUtf8(this.buf, this.pos, n);
    this.pos += n;
    return s;
  }
}

/** ignoreBOM: keep a leading U+FEFF; it is part of some token texts (Gemma has "\ufeff\ufeff"). */
const utf8 = new TextDecoder('utf-8', { ignoreBOM: true });
/** Short strings (almost every token) are decoded here; TextDecoder has a fixed cost per call that dominates them. */
const FAST_DECODE_MAX = 64;
const units: number[] = [];

function decodeUtf8(buf: Uint8Array, at: number, n: number): string {
  return (n <= FAST_DECODE_MAX && decodeShort(buf, at, n)) || utf8.decode(buf.subarray(at, at + n));
}

/** Well-formed UTF-8 to a string, or null (overlong, surrogate, truncated...) to let TextDecoder do its replacements. */
function decodeShort(buf: Uint8Array, at: number, n: number): string | null {
  const end = at + n;
  let j = 0;
  let p = at;
  while (p < end) {
    const b = buf[p];
    if (b < 0x80) {
      units[j++] = b;
      p += 1;
      continue;
    }
    const c1 = buf[p + 1];
    if (b >= 0xc2 && b < 0xe0 && p + 1 < end && (c1 & 0xc0) === 0x80) {
      units[j++] = ((b & 0x1f) << 6) | (c1 & 0x3f);
      p += 2;
      continue;
    }
    const c2 = buf[p + 2];
    if (b >= 0xe0 && b < 0xf0 && p + 2 < end && (c1 & 0xc0) === 0x80 && (c2 & 0xc0) === 0x80) {
      const cp = ((b & 0x0f) << 12) | ((c1 & 0x3f) << 6) | (c2 & 0x3f);
      if (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff)) return null;
      units[j++] = cp;
      p += 3;
      continue;
    }
    const c3 = buf[p + 3];
    if (b >= 0xf0 && b < 0xf5 && p + 3 < end && (c1 & 0xc0) === 0x80 && (c2 & 0xc0) === 0x80 && (c3 & 0xc0) === 0x80) {
      const cp = ((b & 0x07) << 18) | ((c1 & 0x3f) << 12) | ((c2 & 0x3f) << 6) | (c3 & 0x3f);
      if (cp < 0x10000 || cp > 0x10ffff) return null;
      units[j++] = 0xd800 + ((cp - 0x10000) >> 10);
      units[j++] = 0xdc00 + ((cp - 0x10000) & 0x3ff);
      p += 4;
      continue;
    }
    return null;
  }
  units.length = j;
  return String.fromCharCode.apply(null, units);
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

/** Text from the file, quoted for a one-line message: JSON escapes (no raw newlines), long ones cut. */
export function quote(text: string): string {
  const QUOTE_MAX = 80;
  return JSON.stringify(text.length > QUOTE_MAX ? `${text.slice(0, QUOTE_MAX)}…` : text);
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

/** Typed access to metadata values; each returns undefined when the key is absent and throws when it has another type. */
export const meta = {
  string(m: Map<string, GgufValue>, key: string): string | undefined {
    const v = m.get(key);
    if (v === undefined || typeof v === 'string') return v;
    throw wrongType(key, 'a string', v);
  },
  number(m: Map<string, GgufValue>, key: string): number | undefined {
    const v = m.get(key);
    if (v === undefined || typeof v === 'number') return v;
    if (typeof v === 'bigint' && v <= BigInt(Number.MAX_SAFE_INTEGER) && v >= -BigInt(Number.MAX_SAFE_INTEGER)) return Number(v);
    throw wrongType(key, 'a number', v);
  },
  bool(m: Map<string, GgufValue>, key: string): boolean | undefined {
    const v = m.get(key);
    if (v === undefined || typeof v === 'boolean') return v;
    throw wrongType(key, 'a boolean', v);
  },
  strings(m: Map<string, GgufValue>, key: string): readonly string[] | undefined {
    const v = m.get(key);
    if (v === undefined) return v;
    if (typeof v === 'object' && v.elementType === GgufType.STRING) return v.values as readonly string[];
    throw wrongType(key, 'an array of strings', v);
  },
  numbers(m: Map<string, GgufValue>, key: string): ArrayLike<number> | undefined {
    const v = m.get(key);
    if (v === undefined) return v;
    if (typeof v === 'object' && ArrayBuffer.isView(v.values) && !(v.values instanceof BigInt64Array || v.values instanceof BigUint64Array)) {
      return v.values as ArrayLike<number>;
    }
    throw wrongType(key, 'an array of numbers', v);
  },
};

function describe(v: GgufValue): string {
  if (typeof v !== 'object') return typeof v;
  const name = Object.entries(GgufType).find(([, t]) => t === v.elementType)?.[0].toLowerCase() ?? '?';
  return `an array of ${name}`;
}

function wrongType(key: string, want: string, v: GgufValue): KvdiffError {
  return new KvdiffError(`GGUF key ${quote(key)} should be ${want}, but is ${describe(v)}`);
}
