/**
 * llama.cpp's SentencePiece tokenizer (`llm_tokenizer_spm_session` in src/llama-vocab.cpp), for GGUF vocabularies
 * with `tokenizer.ggml.model == "llama"` (Gemma, Llama-2, Mistral...). Built from the vocabulary and scores alone,
 * in no time: there is nothing to precompute.
 *
 * One raw-text fragment (no special tokens in it) is tokenized as llama.cpp does:
 * - a space is prepended when `add_space_prefix` (llama.cpp does it after every special token and at the start,
 *   i.e. for every fragment), then every space becomes `▁`;
 * - the text is cut into one symbol per character (UTF-8 character = code point);
 * - every adjacent pair whose concatenation is a vocabulary token goes into a priority queue ordered by that token's
 *   score, highest first, ties by the leftmost pair; popping a pair merges it unless one side changed since it was
 *   queued (then its recorded length no longer matches), and queues the new symbol's pairs with its neighbours;
 * - each final symbol is its token, or, when its text is no token (only single characters can be, since every
 *   merge forms a token), the byte tokens `<0xNN>` of its UTF-8 bytes.
 * JavaScript strings can hold lone surrogates, which reach llama.cpp as U+FFFD (UTF-8 conversion): same here.
 */
import type { SpecialToken, TokenEncoder } from '../model/types.js';

export interface SpmVocab {
  /** Token texts by id. */
  tokens: readonly string[];
  /** Text → id; for a text that occurs twice, the id llama.cpp's `token_to_id` keeps (the last). */
  ids: ReadonlyMap<string, number>;
  /** Per-token scores (merge priority). */
  scores: ArrayLike<number>;
  /** Token ids matched in the raw text before tokenizing (control, user-defined, unknown). */
  specials: readonly number[];
  /** llama.cpp's token attribute bits by id (LSTRIP 128, RSTRIP 256 are read); absent, none. */
  attrs?: ArrayLike<number>;
  /** `tokenizer.ggml.add_space_prefix`. */
  addSpacePrefix: boolean;
}

interface Bigram {
  left: number;
  right: number;
  score: number;
  /** UTF-16 length of the merged text when queued; a different sum now means a side changed. */
  size: number;
}

/** Whether `a` pops before `b`: higher score, then leftmost (llama.cpp's `llm_bigram_spm::comparator`). */
const before = (a: Bigram, b: Bigram) => a.score > b.score || (a.score === b.score && a.left < b.left);

/** A binary max-heap of bigrams. */
class Queue {
  private readonly items: Bigram[] = [];
  get size(): number {
    return this.items.length;
  }
  push(b: Bigram): void {
    const h = this.items;
    let i = h.length;
    h.push(b);
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!before(b, h[p])) break;
      h[i] = h[p];
      i = p;
    }
    h[i] = b;
  }
  pop(): Bigram {
    const h = this.items;
    const top = h[0];
    const last = h.pop()!;
    if (h.length > 0) {
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        if (l >= h.length) break;
        const c = l + 1 < h.length && before(h[l + 1], h[l]) ? l + 1 : l;
        if (!before(h[c], last)) break;
        h[i] = h[c];
        i = c;
      }
      h[i] = last;
    }
    return top;
  }
}

const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;
const utf8 = new TextEncoder();
const byteDecoder = new TextDecoder();

export class SpmEncoder implements TokenEncoder {
  readonly textForm = 'spm' as const;
  readonly engine = 'kvdiff' as const;
  readonly specials: readonly SpecialToken[];
  readonly stripSpace = 'ascii' as const;
  private readonly byteIds: (number | undefined)[] = [];
  private readonly unkId: number | undefined;

  constructor(private readonly v: SpmVocab) {
    this.specials = v.specials.map((id) => {
      const a = v.attrs?.[id] ?? 0;
      return { id, content: v.tokens[id], ...(a & 128 ? { lstrip: true } : {}), ...(a & 256 ? { rstrip: true } : {}) };
    });
    this.unkId = this.id('<unk>');
  }

  token(id: number): string | undefined {
    return this.v.tokens[id];
  }

  id(text: string): number | undefined {
    return this.v.ids.get(text);
  }

  /** As the Hugging Face decoder chain `Replace(▁ → ' '), ByteFallback, Fuse` shows one token. */
  decode(id: number): string {
    const t = (this.v.tokens[id] ?? '').replaceAll('\u2581', ' ');
    if (t.length === 6 && t.startsWith('<0x') && t.endsWith('>')) {
      const byte = parseInt(t.slice(3, 5), 16);
      if (!Number.isNaN(byte)) return byteDecoder.decode(Uint8Array.of(byte));
    }
    return t;
  }

  encode(piece: string): number[] {
    const text = (this.v.addSpacePrefix ? ' ' + piece : piece).replace(LONE_SURROGATE, '\ufffd').replaceAll(' ', '\u2581');
    const out: number[] = [];
    if (text.length === 0) return out;
    // symbols: start offset and UTF-16 length (0 once merged into the left neighbour), linked list
    const n = text.length;
    const start = new Int32Array(n);
    const len = new Int32Array(n);
    const prev = new Int32Array(n);
    const next = new Int32Array(n);
    let count = 0;
    for (let at = 0; at < n; ) {
      const w = text.charCodeAt(at) >= 0xd800 && text.charCodeAt(at) <= 0xdbff ? 2 : 1;
      start[count] = at;
      len[count] = w;
      prev[count] = count - 1;
      at += w;
      next[count] = at === n ? -1 : count + 1;
      count++;
    }
    const ids = this.v.ids;
    const scores = this.v.scores;
    const queue = new Queue();
    const tryAdd = (left: number, right: number) => {
      if (left === -1 || right === -1) return;
      const size = len[left] + len[right];
      const id = ids.get(text.slice(start[left], start[left] + size));
      if (id === undefined) return;
      queue.push({ left, right, score: scores[id], size });
    };
    for (let i = 1; i < count; i++) tryAdd(i - 1, i);
    while (queue.size > 0) {
      const b = queue.pop();
      const l = b.left;
      const r = b.right;
      if (len[l] === 0 || len[r] === 0 || len[l] + len[r] !== b.size) continue;
      len[l] += len[r];
      len[r] = 0;
      next[l] = next[r];
      if (next[r] >= 0) prev[next[r]] = l;
      tryAdd(prev[l], l);
      tryAdd(l, next[l]);
    }
    for (let i = 0; i !== -1; i = next[i]) {
      const t = text.slice(start[i], start[i] + len[i]);
      const id = ids.get(t);
      if (id !== undefined) out.push(id);
      else for (const byte of utf8.encode(t)) this.pushByte(byte, out);
    }
    return out;
  }

  /** llama.cpp's `byte_to_token`: `<0xNN>`, else the byte as a one-character token; `<unk>` when neither exists. */
  private pushByte(byte: number, out: number[]): void {
    let id = this.byteIds[byte];
    if (id === undefined) {
      id = this.id(`<0x${byte.toString(16).toUpperCase().padStart(2, '0')}>`) ?? (byte < 0x80 ? this.id(String.fromCharCode(byte)) : undefined);
      this.byteIds[byte] = id;
    }
    id ??= this.unkId;
    if (id !== undefined) out.push(id);
  }
}
