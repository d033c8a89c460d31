/** A small GGUF writer for tests: header, key/value metadata, and a stand-in for tensor data. */
import { GgufType } from '../src/model/gguf/header.ts';
import { bytesToUnicode } from './tiny-tokenizer.ts';

export type Entry = [key: string, type: number, value: unknown, elementType?: number];

export class Writer {
  private parts: number[] = [];
  u8(v: number) {
    this.parts.push(v & 0xff);
  }
  u32(v: number) {
    for (let i = 0; i < 4; i++) this.u8(v >>> (8 * i));
  }
  u64(v: number | bigint) {
    const b = BigInt(v);
    for (let i = 0n; i < 8n; i++) this.u8(Number((b >> (8n * i)) & 0xffn));
  }
  bytes(b: Uint8Array) {
    for (const x of b) this.u8(x);
  }
  str(s: string) {
    const b = new TextEncoder().encode(s);
    this.u64(b.length);
    this.bytes(b);
  }
  scalar(type: number, v: unknown) {
    const dv = new DataView(new ArrayBuffer(8));
    switch (type) {
      case GgufType.UINT8: case GgufType.INT8: case GgufType.BOOL: return this.u8(Number(v));
      case GgufType.UINT16: case GgufType.INT16: dv.setUint16(0, Number(v) & 0xffff, true); return this.bytes(new Uint8Array(dv.buffer, 0, 2));
      case GgufType.UINT32: case GgufType.INT32: return this.u32(Number(v));
      case GgufType.FLOAT32: dv.setFloat32(0, Number(v), true); return this.bytes(new Uint8Array(dv.buffer, 0, 4));
      case GgufType.FLOAT64: dv.setFloat64(0, Number(v), true); return this.bytes(new Uint8Array(dv.buffer, 0, 8));
      case GgufType.UINT64: case GgufType.INT64: return this.u64(BigInt.asUintN(64, BigInt(v as bigint)));
      case GgufType.STRING: return this.str(String(v));
    }
    throw new Error(`writer: type ${type}`);
  }
  value(type: number, v: unknown, elementType?: number) {
    if (type !== GgufType.ARRAY) return this.scalar(type, v);
    const items = v as unknown[];
    this.u32(elementType!);
    this.u64(items.length);
    for (const item of items) {
      if (elementType === GgufType.ARRAY) {
        const [t, inner] = item as [number, unknown[]];
        this.value(GgufType.ARRAY, inner, t);
      } else this.scalar(elementType!, item);
    }
  }
  done(): Uint8Array {
    return Uint8Array.from(this.parts);
  }
}

export function gguf(entries: Entry[], { version = 3, tensors = 0 } = {}): Uint8Array {
  const w = new Writer();
  w.bytes(new TextEncoder().encode('GGUF'));
  w.u32(version);
  w.u64(tensors);
  w.u64(entries.length);
  for (const [key, type, value, elementType] of entries) {
    w.str(key);
    w.u32(type);
    w.value(type, value, elementType);
  }
  // Stand-in for tensor infos and data, which the reader must never need.
  w.bytes(new Uint8Array(64).fill(0xee));
  return w.done();
}



/** Metadata of a tiny byte-level BPE model (a `gpt2` vocabulary, a few merges, two special tokens, a template). */
export function tinyGgufEntries(): Entry[] {
  const tokens = [...bytesToUnicode(), 'he', 'hel', 'hell', 'hello', 'Ġw', '<s>', '<|sep|>'];
  const types = tokens.map((_, i) => (i >= 261 ? 3 : 1));
  return [
    ['general.architecture', GgufType.STRING, 'llama'],
    ['tokenizer.ggml.model', GgufType.STRING, 'gpt2'],
    ['tokenizer.ggml.pre', GgufType.STRING, 'gpt-2'],
    ['tokenizer.ggml.tokens', GgufType.ARRAY, tokens, GgufType.STRING],
    ['tokenizer.ggml.token_type', GgufType.ARRAY, types, GgufType.INT32],
    ['tokenizer.ggml.merges', GgufType.ARRAY, ['h e', 'he l', 'hel l', 'hell o', 'Ġ w'], GgufType.STRING],
    ['tokenizer.ggml.bos_token_id', GgufType.UINT32, 261],
    ['tokenizer.ggml.add_bos_token', GgufType.BOOL, true],
    ['tokenizer.chat_template', GgufType.STRING, '{% for m in messages %}<|sep|>{{ m.role }}\n{{ m.content }}{% endfor %}'],
  ];
}
