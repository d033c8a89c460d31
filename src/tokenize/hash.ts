/**
 * A cheap 32-bit string hash and an open-addressing table of such hashes, for vocabulary-sized checks where
 * V8's own string hashing and dictionary inserts (hundreds of thousands of fresh strings) would dominate.
 */

/** Multiplier of the polynomial hash (odd, so it is invertible mod 2^32). */
export const HASH_BASE = 0x01000193;

/** Polynomial hash of UTF-16 units: h(s + c) = h(s)·B + c (mod 2^32), so prefixes and suffixes hash incrementally. */
export function hashOf(s: string): number {
  let h = 0;
  for (let i = 0; i < s.length; i++) h = (Math.imul(h, HASH_BASE) + s.charCodeAt(i)) | 0;
  return h;
}

/** Hashes with a payload (e.g. the index of the string), several entries per hash allowed. */
export class HashTable {
  private readonly hashes: Int32Array;
  private readonly values: Int32Array;
  private readonly used: Uint8Array;
  private readonly mask: number;

  constructor(count: number) {
    let size = 16;
    while (size < count * 2) size *= 2;
    this.hashes = new Int32Array(size);
    this.values = new Int32Array(size);
    this.used = new Uint8Array(size);
    this.mask = size - 1;
  }

  private slot(h: number): number {
    return (h ^ (h >>> 15)) & this.mask;
  }

  add(h: number, value: number): void {
    let i = this.slot(h);
    while (this.used[i]) i = (i + 1) & this.mask;
    this.used[i] = 1;
    this.hashes[i] = h;
    this.values[i] = value;
  }

  has(h: number): boolean {
    for (let i = this.slot(h); this.used[i]; i = (i + 1) & this.mask) if (this.hashes[i] === h) return true;
    return false;
  }

  /** The first payload with hash `h` for which `same` is true, or -1. */
  get(h: number, same: (value: number) => boolean): number {
    for (let i = this.slot(h); this.used[i]; i = (i + 1) & this.mask) {
      if (this.hashes[i] === h && same(this.values[i])) return this.values[i];
    }
    return -1;
  }

  /** Whether some entry with hash `h` has a payload for which `same` is true. */
  find(h: number, same: (value: number) => boolean): boolean {
    for (let i = this.slot(h); this.used[i]; i = (i + 1) & this.mask) {
      if (this.hashes[i] === h && same(this.values[i])) return true;
    }
    return false;
  }
}
