/**
 * Byte-level reading for the GGUF header parser: a source that fetches the file in growing chunks and keeps only
 * the unread tail, little-endian scalars, and fast UTF-8 decoding of the many short strings of a vocabulary.
 */
import { KvdiffError } from '../../errors.js';

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
export const FIXED_SIZE: Record<number, number> = { 0: 1, 1: 1, 2: 2, 3: 2, 4: 4, 5: 4, 6: 4, 7: 1, 10: 8, 11: 8, 12: 8 };

/** Reads bytes on demand from a source, in chunks that grow, keeping only the unread tail in memory. */
export class ByteSource {
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

/** Text from the file, quoted for a one-line message: JSON escapes (no raw newlines), long ones cut. */
export function quote(text: string): string {
  const QUOTE_MAX = 80;
  return JSON.stringify(text.length > QUOTE_MAX ? `${text.slice(0, QUOTE_MAX)}…` : text);
}
