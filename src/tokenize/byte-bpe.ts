/**
 * kvdiff's own byte-level BPE encoder (Qwen, Llama-3, GGUF `gpt2`): the ids of `@huggingface/tokenizers`' full
 * `Tokenizer.encode(piece, {add_special_tokens: false})` for a text piece without special tokens, computed on ids.
 *
 * One piece goes through the same stages as in that library, with its own parts where they define the result and
 * kvdiff's code where it only spends time:
 * - normalizer: the library's own (built from tokenizer.json: NFC, Replace, ...; GGUF sources carry one that turns
 *   lone surrogates into U+FFFD as llama.cpp's UTF-8 input does), so the text is the same;
 * - pre-tokenizer: the regexes the library compiled for the tokenizer.json's Split and ByteLevel steps (for a GGUF
 *   source these are llama.cpp's regexes, tokenize/pretokenizers.ts), run with the library's split semantics (a
 *   Split keeps the text between matches as pieces of their own; `invert` and a ByteLevel regex keep only the
 *   matches; an empty match advances one code point, as `matchAll` does);
 * - byte-level mapping: each pre-token is UTF-8 encoded (a lone surrogate as U+FFFD, as TextEncoder does) and each
 *   byte becomes the id of its GPT-2 byte character through a 256-entry table;
 * - merges: the adjacent pair with the lowest rank merges first, the leftmost of equal ranks (what the library's
 *   queue does with `rank + position / length` scores, and what llama.cpp's `llm_bigram_bpe` queue does); ranks come
 *   from `PairRanks` by id pair (a pair listed twice keeps its last rank for tokenizer.json, its first for GGUF, as
 *   the caller built them), a merge's result is the token whose text is both sides' texts (given by rank with the
 *   arrays, else looked up once per rank). Short pre-tokens scan for the lowest rank; long ones (whitespace runs,
 *   long CJK words) use a linked list and a binary heap;
 * - `ignore_merges` (Llama-3): a pre-token whose byte-level text is a token is that token;
 * - a byte whose character is no token becomes `unk_token` (or nothing), as the library's model does.
 * Results are cached per pre-token (bounded), like the library's LRU cache. Nothing here needs the vocabulary's
 * text → id Map (151,000 entries for Qwen3) unless `ignore_merges` or a missing merge result asks for a lookup.
 * The library's Tokenizer still decodes (display text of a token) and encodes what is handed back to it.
 *
 * `byteBpeEncoder` returns null, and the caller keeps the library's own encoder (tokenize/bpe.ts), for any
 * tokenizer.json feature reproduced here only through that library: a pre-tokenizer other than Split steps followed
 * by one ByteLevel (Metaspace, Digits, Punctuation, Whitespace, ByteLevel before a Split), a Split with `Removed`
 * behaviour, BPE options (dropout, byte fallback, word suffixes, an `unk_token` that is no token), a post-processor
 * other than TemplateProcessing or ByteLevel, `remove_space` / `do_lowercase_and_remove_accent` in
 * tokenizer_config.json, or a normalized added token whose normalized text is another token. A piece in which the
 * normalizer produces the text of a normalized added token is handed to the library's `encode` for that piece.
 */
import * as hf from '@huggingface/tokenizers';
import type { PairRanks } from './bpe.js';
import type { TokenEncoder } from '../model/types.js';

// The library exports these component classes, but its type declarations do not resolve them under NodeNext.
type Class = abstract new (...args: never[]) => unknown;
const { ByteLevelPostProcessor, ByteLevelPreTokenizer, SequencePreTokenizer, SplitPreTokenizer, TemplateProcessingPostProcessor } =
  hf as unknown as Record<string, Class>;

/** GPT-2's byte → printable-character table, as byte-level vocabularies write bytes. */
export const BYTE_TO_CHAR: readonly string[] = (() => {
  const printable = (b: number) => (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff);
  const out: string[] = [];
  let n = 0;
  for (let b = 0; b < 256; b++) out[b] = String.fromCharCode(printable(b) ? b : 256 + n++);
  return out;
})();

/** Most pre-tokens whose ids are remembered; the cache starts over when full. */
export const WORD_CACHE_LIMIT = 100_000;
/** Longest pre-token (in UTF-16 units) whose ids are remembered: longer ones rarely repeat. */
const WORD_CACHE_MAX_CHARS = 256;
/** Pre-tokens up to this many bytes merge by scanning for the lowest rank; longer ones use the heap. */
const SCAN_MAX_BYTES = 48;
/** Bytes of the scratch arrays an encoder keeps (a longer pre-token, e.g. a whitespace run, allocates its own). */
const SCRATCH_BYTES = 1 << 16;

/**
 * One pre-tokenizer step: split each piece with `regex` (null: pass it on whole). `isolated` keeps the text between
 * matches as pieces too (Split), `matches` keeps only the non-empty matches (Split with `invert`), `all-matches`
 * every match, empty ones included (ByteLevel's `text.match`).
 */
interface Step {
  regex: RegExp | null;
  mode: 'isolated' | 'matches' | 'all-matches';
  /** ByteLevel `add_prefix_space`: a piece that does not start with a space gets one first. */
  prefixSpace: boolean;
}

/** The parts of the library's Tokenizer read here (its fields are not in its type declarations). */
interface LibTokenizer {
  normalizer: ((text: string) => string) | null;
  pre_tokenizer: unknown;
  post_processor: unknown;
  model: {
    tokens_to_ids: Map<string, number>;
    vocab: (string | undefined)[];
    unk_token?: string | null;
    ignore_merges?: boolean;
    byte_fallback?: boolean;
    end_of_word_suffix?: string | null;
    continuing_subword_suffix?: string | null;
    config: Record<string, unknown>;
  };
  added_tokens: { id: number; content: string; normalized: boolean }[];
  added_tokens_map: Map<string, { id: number }>;
  splitter_normalized: { split(text: string): string[] };
  remove_space?: unknown;
  do_lowercase_and_remove_accent?: unknown;
}

/** The library's pre-tokenizer as steps, or null when it is not Split steps followed by one ByteLevel. */
function stepsOf(pre: unknown): Step[] | null {
  const parts = pre instanceof SequencePreTokenizer ? ((pre as unknown as { tokenizers: unknown[] }).tokenizers ?? []) : [pre];
  const steps: Step[] = [];
  for (let i = 0; i < parts.length; i++) {
    const p = parts[i];
    if (p instanceof SplitPreTokenizer) {
      const s = p as unknown as { pattern: RegExp | null; config: { invert?: boolean; behavior?: string } };
      if (!(s.pattern instanceof RegExp) || !s.pattern.global || s.config.behavior?.toLowerCase() === 'removed') return null;
      steps.push({ regex: copy(s.pattern), mode: s.config.invert ? 'matches' : 'isolated', prefixSpace: false });
    } else if (p instanceof ByteLevelPreTokenizer && i === parts.length - 1) {
      const b = p as unknown as { add_prefix_space: boolean; use_regex: boolean; pattern: RegExp };
      steps.push({ regex: b.use_regex ? copy(b.pattern) : null, mode: 'all-matches', prefixSpace: !!b.add_prefix_space });
      return steps;
    } else {
      return null;
    }
  }
  return null; // no ByteLevel: the model would see raw characters, not bytes
}

/** A regex of the library's with its own `lastIndex` (the library's objects stay untouched). */
const copy = (re: RegExp) => new RegExp(re.source, re.flags);

/**
 * kvdiff's encoder for a library Tokenizer whose BPE model holds the whole vocabulary (built by
 * `fastBpeTokenizer`), with `ranks` its merges by id pair and `results` the token each merge makes (by rank, when
 * the source has them); null when this module does not reproduce the tokenizer.json (see above). `base` is the
 * library's own encoder over the same Tokenizer: it decodes, and encodes the pieces handed back to it.
 */
export function byteBpeEncoder(
  tok: hf.Tokenizer,
  config: Record<string, unknown>,
  ranks: PairRanks,
  results: Int32Array | undefined,
  base: TokenEncoder,
): TokenEncoder | null {
  const t = tok as unknown as LibTokenizer;
  const m = t.model;
  if (m.byte_fallback || m.end_of_word_suffix || m.continuing_subword_suffix || m.config.dropout) return null;
  if (t.remove_space === true || t.do_lowercase_and_remove_accent || config.remove_space === true) return null;
  const post = t.post_processor;
  if (post !== null && !(post instanceof TemplateProcessingPostProcessor) && !(post instanceof ByteLevelPostProcessor)) return null;
  const steps = stepsOf(t.pre_tokenizer);
  if (!steps || steps.some((s) => s.regex && !s.regex.unicode)) return null;
  const unk = m.unk_token == null ? undefined : m.tokens_to_ids.get(m.unk_token);
  if (m.unk_token != null && unk === undefined) return null;
  // a normalized added token is looked up by its normalized text too: that text must not be another token
  let normalizedAdded = false;
  if (t.normalizer) {
    for (const a of t.added_tokens) {
      if (!a.normalized) continue;
      normalizedAdded = true;
      const known = m.tokens_to_ids.get(t.normalizer(a.content));
      if (known !== undefined && known !== a.id) return null;
    }
  }
  const bpe = new ByteBpe({
    tokens: m.vocab,
    ids: () => m.tokens_to_ids,
    added: t.added_tokens,
    ranks,
    results,
    steps,
    ignoreMerges: !!m.ignore_merges,
    unk,
  });
  const normalize = t.normalizer;
  const splitter = normalizedAdded ? t.splitter_normalized : null;
  return {
    ...base,
    engine: 'kvdiff',
    encode(piece: string): number[] {
      const text = normalize ? normalize(piece) : piece;
      if (splitter) {
        const sections = splitter.split(text);
        if (sections.length !== 1 || t.added_tokens_map.has(sections[0])) return base.encode(piece);
      }
      return bpe.encode(text);
    },
  };
}

export interface ByteBpeParts {
  /** Token texts by id (GPT-2 byte characters), added tokens included. */
  tokens: readonly (string | undefined)[];
  /** Text → id, added tokens included (called only when a lookup by text is needed: it may build the Map). */
  ids: () => ReadonlyMap<string, number>;
  /** Added tokens in tokenizer.json order (their texts win over the vocabulary's, as in the library's Map). */
  added: readonly { id: number; content: string }[];
  ranks: PairRanks;
  /** Merge results by rank, when the source has them; else looked up by text on first use. */
  results?: Int32Array;
  steps: Step[];
  ignoreMerges: boolean;
  /** Id for a byte whose character is no token; undefined = such a byte gives no id. */
  unk: number | undefined;
}

/** The pre-tokenizer, byte mapping and merge loop (normalised text in, ids out). */
export class ByteBpe {
  private readonly byteIds = new Int32Array(256).fill(-1);
  /** Merge result by rank (-2: not looked up yet, -1: no token). */
  private readonly results: Int32Array;
  private readonly cache = new Map<string, number[]>();
  /** Scratch arrays for pre-tokens up to SCRATCH_BYTES; a longer one gets its own (not kept afterwards). */
  private readonly bytes = new Uint8Array(SCRATCH_BYTES);
  private readonly ids = new Int32Array(SCRATCH_BYTES);
  private readonly pairRanks = new Int32Array(SCAN_MAX_BYTES);

  constructor(private readonly p: ByteBpeParts) {
    // the id of each byte's character, as the text → id Map gives it (later ids win, then added tokens), found
    // without building that Map
    const byChar = new Int32Array(0x200).fill(-1);
    const { tokens } = p;
    for (let id = 0; id < tokens.length; id++) {
      const t = tokens[id];
      if (t !== undefined && t.length === 1 && t.charCodeAt(0) < 0x200) byChar[t.charCodeAt(0)] = id;
    }
    for (const a of p.added) if (a.content.length === 1 && a.content.charCodeAt(0) < 0x200) byChar[a.content.charCodeAt(0)] = a.id;
    for (let b = 0; b < 256; b++) this.byteIds[b] = byChar[BYTE_TO_CHAR[b].charCodeAt(0)];
    this.results = p.results ?? new Int32Array(p.ranks.size).fill(-2);
  }

  encode(text: string): number[] {
    const out: number[] = [];
    // the library drops a section that normalises to nothing
    if (text.length > 0) this.split(text, 0, out);
    return out;
  }

  /** Runs pre-tokenizer step `level` on `text` and encodes what comes out. */
  private split(text: string, level: number, out: number[]): void {
    const steps = this.p.steps;
    if (level === steps.length) {
      this.word(text, out);
      return;
    }
    const step = steps[level];
    if (step.prefixSpace && !text.startsWith(' ')) text = ' ' + text;
    const re = step.regex;
    if (re === null) {
      this.split(text, level + 1, out);
      return;
    }
    re.lastIndex = 0;
    let prev = 0;
    for (let m = re.exec(text); m !== null; m = re.exec(text)) {
      const at = m.index;
      const found = m[0];
      if (step.mode === 'all-matches') {
        this.split(found, level + 1, out);
      } else if (step.mode === 'matches') {
        if (found.length > 0) this.split(found, level + 1, out);
      } else {
        if (prev < at) this.split(text.slice(prev, at), level + 1, out);
        if (found.length > 0) this.split(found, level + 1, out);
      }
      prev = at + found.length;
      // an empty match moves on by one code point, as matchAll does under the `u` flag
      if (found.length === 0) re.lastIndex = at + (isPairAt(text, at) ? 2 : 1);
    }
    if (step.mode === 'isolated' && prev < text.length) this.split(text.slice(prev), level + 1, out);
  }

  /** Ids of one pre-token. */
  private word(w: string, out: number[]): void {
    const n = w.length;
    if (n === 0) {
      // the library's model keeps an empty pre-token only when ignore_merges finds it in the vocabulary
      const id = this.p.ignoreMerges ? this.p.ids().get('') : undefined;
      if (id !== undefined) out.push(id);
      return;
    }
    if (n === 1 && w.charCodeAt(0) < 0x80) {
      this.emit(this.byteIds[w.charCodeAt(0)], out);
      return;
    }
    const cacheable = n <= WORD_CACHE_MAX_CHARS;
    if (cacheable) {
      const hit = this.cache.get(w);
      if (hit !== undefined) {
        for (let k = 0; k < hit.length; k++) out.push(hit[k]);
        return;
      }
    }
    const long = n * 3 > SCRATCH_BYTES;
    const bytes = long ? new Uint8Array(n * 3) : this.bytes;
    const count = utf8(w, bytes);
    const result: number[] = [];
    if (this.p.ignoreMerges) {
      let s = '';
      for (let k = 0; k < count; k++) s += BYTE_TO_CHAR[bytes[k]];
      const id = this.p.ids().get(s);
      if (id !== undefined) result.push(id);
    }
    if (result.length === 0) {
      const ids = long ? new Int32Array(count) : this.ids;
      for (let k = 0; k < count; k++) ids[k] = this.byteIds[bytes[k]];
      if (count <= SCAN_MAX_BYTES) this.mergeByScan(ids, count, result);
      else this.mergeByHeap(ids, count, result);
    }
    if (cacheable) {
      if (this.cache.size >= WORD_CACHE_LIMIT) this.cache.clear();
      this.cache.set(w, result);
    }
    for (let k = 0; k < result.length; k++) out.push(result[k]);
  }

  private emit(id: number, out: number[]): void {
    if (id >= 0) out.push(id);
    else if (this.p.unk !== undefined) out.push(this.p.unk);
  }

  /** The token two symbols merge into (rank `rank`): the token whose text is both texts. */
  private merged(rank: number, a: number, b: number): number {
    let id = this.results[rank];
    if (id === -2) {
      id = this.p.ids().get(this.p.tokens[a]! + this.p.tokens[b]!) ?? -1;
      this.results[rank] = id;
    }
    return id;
  }

  /** Merges `ids[0..count)` by repeatedly scanning for the lowest-ranked, leftmost pair. */
  private mergeByScan(ids: Int32Array, count: number, out: number[]): void {
    const r = this.pairRanks;
    const ranks = this.p.ranks;
    let len = count;
    for (let i = 0; i + 1 < len; i++) r[i] = ranks.get(ids[i], ids[i + 1]);
    for (;;) {
      let best = -1;
      let bestRank = 0x7fffffff;
      for (let i = 0; i + 1 < len; i++) {
        const k = r[i];
        if (k >= 0 && k < bestRank) {
          bestRank = k;
          best = i;
        }
      }
      if (best < 0) break;
      ids[best] = this.merged(bestRank, ids[best], ids[best + 1]);
      for (let i = best + 1; i + 1 < len; i++) {
        ids[i] = ids[i + 1];
        r[i] = r[i + 1];
      }
      len--;
      if (best > 0) r[best - 1] = ranks.get(ids[best - 1], ids[best]);
      if (best + 1 < len) r[best] = ranks.get(ids[best], ids[best + 1]);
    }
    for (let i = 0; i < len; i++) this.emit(ids[i], out);
  }

  /**
   * The same merges for a long pre-token: symbols in a linked list, candidate pairs in a binary heap ordered by
   * (rank, position of the left symbol). A popped pair whose symbols changed since it was queued is skipped (its
   * left symbol is gone, has another right neighbour, or the pair's rank is no longer that rank).
   */
  private mergeByHeap(ids: Int32Array, count: number, out: number[]): void {
    const ranks = this.p.ranks;
    const next = new Int32Array(count);
    const prev = new Int32Array(count);
    const alive = new Uint8Array(count).fill(1);
    const heap = new PairHeap(count);
    for (let i = 0; i < count; i++) {
      prev[i] = i - 1;
      next[i] = i + 1 < count ? i + 1 : -1;
    }
    for (let i = 0; i + 1 < count; i++) {
      const k = ranks.get(ids[i], ids[i + 1]);
      if (k >= 0) heap.push(k, i);
    }
    while (heap.size > 0) {
      const rank = heap.topRank();
      const left = heap.pop();
      const right = next[left];
      if (!alive[left] || right < 0 || ranks.get(ids[left], ids[right]) !== rank) continue;
      ids[left] = this.merged(rank, ids[left], ids[right]);
      alive[right] = 0;
      const after = next[right];
      next[left] = after;
      if (after >= 0) prev[after] = left;
      const before = prev[left];
      if (before >= 0) {
        const k = ranks.get(ids[before], ids[left]);
        if (k >= 0) heap.push(k, before);
      }
      if (after >= 0) {
        const k = ranks.get(ids[left], ids[after]);
        if (k >= 0) heap.push(k, left);
      }
    }
    for (let i = 0; i !== -1; i = next[i]) this.emit(ids[i], out);
  }
}

/** UTF-8 bytes of `w` into `b` (3 × its length at least; lone surrogates as U+FFFD, as TextEncoder writes them); their count. */
function utf8(w: string, b: Uint8Array): number {
  const n = w.length;
  let k = 0;
  for (let i = 0; i < n; i++) {
    const c = w.charCodeAt(i);
    if (c < 0x80) {
      b[k++] = c;
    } else if (c < 0x800) {
      b[k++] = 0xc0 | (c >> 6);
      b[k++] = 0x80 | (c & 0x3f);
    } else if (c >= 0xd800 && c <= 0xdfff) {
      const d = i + 1 < n ? w.charCodeAt(i + 1) : 0;
      if (c <= 0xdbff && d >= 0xdc00 && d <= 0xdfff) {
        const cp = 0x10000 + ((c - 0xd800) << 10) + (d - 0xdc00);
        b[k++] = 0xf0 | (cp >> 18);
        b[k++] = 0x80 | ((cp >> 12) & 0x3f);
        b[k++] = 0x80 | ((cp >> 6) & 0x3f);
        b[k++] = 0x80 | (cp & 0x3f);
        i++;
      } else {
        b[k++] = 0xef;
        b[k++] = 0xbf;
        b[k++] = 0xbd;
      }
    } else {
      b[k++] = 0xe0 | (c >> 12);
      b[k++] = 0x80 | ((c >> 6) & 0x3f);
      b[k++] = 0x80 | (c & 0x3f);
    }
  }
  return k;
}

/** Whether a surrogate pair starts at `i` (one code point of two UTF-16 units). */
function isPairAt(s: string, i: number): boolean {
  const c = s.charCodeAt(i);
  if (c < 0xd800 || c > 0xdbff || i + 1 >= s.length) return false;
  const d = s.charCodeAt(i + 1);
  return d >= 0xdc00 && d <= 0xdfff;
}

/** A binary min-heap of (rank, position) pairs, ordered by rank then position. */
class PairHeap {
  private rank: Int32Array;
  private pos: Int32Array;
  size = 0;

  constructor(capacity: number) {
    this.rank = new Int32Array(Math.max(16, capacity));
    this.pos = new Int32Array(Math.max(16, capacity));
  }

  private less(i: number, j: number): boolean {
    return this.rank[i] < this.rank[j] || (this.rank[i] === this.rank[j] && this.pos[i] < this.pos[j]);
  }

  private swap(i: number, j: number): void {
    const r = this.rank[i];
    this.rank[i] = this.rank[j];
    this.rank[j] = r;
    const p = this.pos[i];
    this.pos[i] = this.pos[j];
    this.pos[j] = p;
  }

  push(rank: number, pos: number): void {
    if (this.size === this.rank.length) {
      const r = new Int32Array(this.size * 2);
      r.set(this.rank);
      this.rank = r;
      const p = new Int32Array(this.size * 2);
      p.set(this.pos);
      this.pos = p;
    }
    let i = this.size++;
    this.rank[i] = rank;
    this.pos[i] = pos;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.less(i, parent)) break;
      this.swap(i, parent);
      i = parent;
    }
  }

  topRank(): number {
    return this.rank[0];
  }

  /** Removes the smallest pair; its position. */
  pop(): number {
    const top = this.pos[0];
    const last = --this.size;
    if (last > 0) {
      this.rank[0] = this.rank[last];
      this.pos[0] = this.pos[last];
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        if (l >= last) break;
        const c = l + 1 < last && this.less(l + 1, l) ? l + 1 : l;
        if (!this.less(c, i)) break;
        this.swap(c, i);
        i = c;
      }
    }
    return top;
  }
}
