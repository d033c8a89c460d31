import { bpeEncoder } from './bpe.js';
import type { ModelInfo, TokenEncoder } from '../model/types.js';
import { buildTokenizer, checkTokenizerJson } from '../model/tokenizer-check.js';
import { KvdiffError } from '../errors.js';
import { MAX_RENDER_CHARS } from '../render.js';
import { commonTextPrefix } from '../text.js';

/** Token ids of a rendered prompt, with the UTF-16 offset where each token's text starts. */
export interface Tokens {
  ids: number[];
  /** `starts[i]` = index in the rendered text where token i begins; BOS/EOS added by the tokenizer take the offset of what follows/precedes. */
  starts: number[];
}

/**
 * Longest rendered prompt tokenized, in characters: the render limit itself. Tokenizing costs far more memory per
 * character than rendering (pre-tokenizer pieces, merge ranks), so MAX_RENDER_CHARS is set where both fit a
 * default Node heap; checked here too for text that did not come from a render (library use).
 */
export const MAX_TOKENIZE_CHARS = MAX_RENDER_CHARS;

/** Most distinct text pieces remembered per tokenizer: enough for every message of a long session, twice. */
export const PIECE_CACHE_LIMIT = 50_000;

/**
 * A copy of `s` that holds no reference to a longer string. A piece is a slice of a whole rendered prompt, and V8
 * keeps a slice's parent alive: as a cache key it would keep every prompt of a long `check` run in memory (200
 * prompts of up to 300K characters). V8 copies slices under 13 characters anyway.
 */
function ownString(s: string): string {
  return s.length < 13 ? s : Buffer.from(s, 'utf16le').toString('utf16le');
}

/** C's `isspace` in the "C" locale, what llama.cpp's partition strips around LSTRIP/RSTRIP tokens. */
const isCSpace = (c: number): boolean => c === 0x20 || (c >= 0x09 && c <= 0x0d);
/** JavaScript's `trim` set, what @huggingface/tokenizers strips around lstrip/rstrip added tokens. */
const isJsSpace = (c: number): boolean => /\s/.test(String.fromCharCode(c));

/**
 * Tokenizes rendered prompts the way llama-server does (`add_special=true, parse_special=true`):
 * the text is split on the vocabulary's special/added tokens, each piece in between is encoded on its own, and
 * BOS/EOS are added where the model adds them. Pieces are cached by text, so two prompts that share most
 * messages share most of the work.
 *
 * The encoding itself is the model's `TokenEncoder` when the source provides one (GGUF SentencePiece and BPE, prepared
 * BPE), else one built from the tokenizer.json (bpe.ts): kvdiff's own byte-level BPE (byte-bpe.ts) where it
 * reproduces the file, else @huggingface/tokenizers' `Tokenizer`; all give llama.cpp's ids.
 */
export class PromptTokenizer {
  private readonly enc: TokenEncoder;
  private readonly special: Map<string, number>;
  /** Special token id → its text (the inverse of `special`). */
  private readonly specialText: Map<number, string>;
  private readonly splitter: RegExp | null;
  /** Special tokens that drop the whitespace before (lstrip) / after (rstrip) them, and what counts as whitespace. */
  private readonly lstrip: ReadonlySet<string>;
  private readonly rstrip: ReadonlySet<string>;
  private readonly isSpace: (code: number) => boolean;
  private readonly cache = new Map<string, { ids: number[]; lens: number[] }>();
  private readonly pieceCache = new Map<number, string>();
  /** `byteLength` by token id, as measured (-1: not yet). */
  private byteLengths = new Int32Array(0);
  private readonly byteLevel: boolean;
  /** Length of the longest special token's text: how far a split decision looks ahead. */
  private readonly longestSpecial: number;
  readonly bosId: number | null;
  readonly eosId: number | null;

  /** How errors name the tokenizer (its file). */
  private readonly where: string;

  constructor(private readonly model: ModelInfo) {
    const files = model.tokenizer;
    const where = (this.where = model.source.tokenizerFile ?? model.source.name);
    this.enc = buildTokenizer(where, () => {
      if (files.encoder) return files.encoder();
      checkTokenizerJson(files.json, where);
      return bpeEncoder(files.json, files.config);
    });
    this.special = new Map(this.enc.specials.filter((t) => t.content.length > 0).map((t) => [t.content, t.id]));
    this.specialText = new Map([...this.special].map(([content, id]) => [id, content]));
    this.lstrip = new Set(this.enc.specials.filter((t) => t.lstrip && t.content.length > 0).map((t) => t.content));
    this.rstrip = new Set(this.enc.specials.filter((t) => t.rstrip && t.content.length > 0).map((t) => t.content));
    this.isSpace = this.enc.stripSpace === 'ascii' ? isCSpace : isJsSpace;
    const alternatives = [...this.special.keys()].sort((a, b) => b.length - a.length).map(escapeRegExp);
    this.splitter = alternatives.length ? new RegExp(alternatives.join('|'), 'g') : null;
    this.longestSpecial = Math.max(0, ...[...this.special.keys()].map((k) => k.length));
    this.bosId = model.bosToken ? this.idOf(model.bosToken) : null;
    this.eosId = model.eosToken ? this.idOf(model.eosToken) : null;
    this.byteLevel = this.enc.textForm === 'byte-level';
    // a vocabulary that drops ordinary text would make every prompt look cached: refuse it
    if (buildTokenizer(where, () => this.enc.encode('a b')).length === 0) {
      throw new KvdiffError(`tokenizer ${where} encodes no tokens for ordinary text ("a b"): its vocabulary cannot be what the server uses`, 'pass the tokenizer.json of the served model, or --gguf FILE');
    }
  }

  private idOf(token: string): number | null {
    return this.special.get(token) ?? this.enc.id(token) ?? null;
  }

  /** Ids the server would see for this rendered prompt; `addSpecial` adds BOS/EOS where the model does. */
  encode(text: string, addSpecial = true): Tokens {
    if (text.length > MAX_TOKENIZE_CHARS) {
      throw new KvdiffError(`a rendered prompt of ${text.length} characters is over the ${MAX_TOKENIZE_CHARS}-character limit for tokenizing (MAX_TOKENIZE_CHARS)`);
    }
    const ids: number[] = [];
    const starts: number[] = [];
    if (addSpecial && this.model.addBos && this.bosId !== null) {
      ids.push(this.bosId);
      starts.push(0);
    }
    let last = 0;
    const pushText = (from: number, to: number) => {
      if (to <= from) return;
      const piece = text.slice(from, to);
      const { ids: pieceIds, lens } = this.encodePiece(piece);
      let at = from;
      for (let k = 0; k < pieceIds.length; k++) {
        ids.push(pieceIds[k]);
        starts.push(Math.min(at, to));
        at += lens[k];
      }
    };
    if (this.splitter) {
      const splitter = this.splitter;
      splitter.lastIndex = 0;
      for (let m = splitter.exec(text); m; m = splitter.exec(text)) {
        let end = m.index;
        if (this.lstrip.has(m[0])) while (end > last && this.isSpace(text.charCodeAt(end - 1))) end--;
        pushText(last, end);
        ids.push(this.special.get(m[0])!);
        starts.push(m.index);
        last = m.index + m[0].length;
        if (this.rstrip.has(m[0])) {
          while (last < text.length && this.isSpace(text.charCodeAt(last))) last++;
          splitter.lastIndex = last;
        }
      }
    }
    pushText(last, text.length);
    if (addSpecial && this.model.addEos && this.eosId !== null) {
      ids.push(this.eosId);
      starts.push(text.length);
    }
    return { ids, starts };
  }

  /**
   * `encode(text, addSpecial)` for a text that shares a prefix with one already encoded (`base`): the tokens up to the
   * last special token before the first difference are taken from `base`, the rest is encoded from that special
   * token on. Special tokens split the text into pieces encoded on their own, so nothing before one depends on
   * what follows it; the special token is chosen a whole longest-special-token length before the difference, so
   * where the splitter matched up to it cannot change either. Same ids and offsets as a full `encode`.
   */
  encodeAfter(text: string, base: { text: string; tokens: Tokens }, addSpecial = true): Tokens {
    const splitter = this.splitter;
    const prev = base.tokens;
    if (!splitter || text.length > MAX_TOKENIZE_CHARS) return this.encode(text, addSpecial);
    const old = base.text;
    // (never inside a surrogate pair: one unit earlier at most, which only makes the restart more careful)
    const diff = commonTextPrefix(text, old);
    // the last special token in the common prefix that starts a whole lookahead before the difference, read off
    // `base`'s own tokens (its special ids are where the splitter matched in `old`): the last token that starts
    // early enough by binary search, then back to a special one (a message's worth of tokens at most)
    const from = addSpecial && this.model.addBos && this.bosId !== null ? 1 : 0; // after a BOS the tokenizer added
    const limit = diff - this.longestSpecial;
    let lo = from;
    let hi = prev.ids.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (prev.starts[mid] <= limit) lo = mid + 1;
      else hi = mid;
    }
    let at = -1;
    for (let k = lo - 1; k >= from; k--) {
      const content = this.specialText.get(prev.ids[k]);
      if (content !== undefined && old.startsWith(content, prev.starts[k])) {
        at = k;
        break;
      }
    }
    const restart = at >= 0 ? prev.starts[at] : -1;
    if (at < 0) return this.encode(text, addSpecial);
    const tail = this.encode(text.slice(restart), false);
    const ids = prev.ids.slice(0, at);
    const starts = prev.starts.slice(0, at);
    for (let k = 0; k < tail.ids.length; k++) {
      ids.push(tail.ids[k]);
      starts.push(tail.starts[k] + restart);
    }
    if (addSpecial && this.model.addEos && this.eosId !== null) {
      ids.push(this.eosId);
      starts.push(text.length);
    }
    return { ids, starts };
  }

  /** Ids of one piece without special tokens, and the UTF-16 length each token covers. */
  private encodePiece(piece: string): { ids: number[]; lens: number[] } {
    const cached = this.cache.get(piece);
    if (cached) return cached;
    const ids = buildTokenizer(this.where, () => this.enc.encode(piece));
    const entry = { ids, lens: this.lengths(piece, ids) };
    if (this.cache.size >= PIECE_CACHE_LIMIT) this.cache.clear();
    this.cache.set(ownString(piece), entry);
    return entry;
  }

  /**
   * UTF-16 length of the text behind each token. A token that ends inside a character (byte-level BPE splits
   * emoji) covers nothing of it; the token where the character completes carries it.
   */
  private lengths(piece: string, ids: number[]): number[] {
    const bytes = ids.map((id) => this.byteLength(id));
    let total = 0;
    for (const b of bytes) total += b;
    if (total !== Buffer.byteLength(piece, 'utf8')) {
      // a normalizer changed the text: spread offsets evenly rather than point at the wrong place
      const each = piece.length / Math.max(ids.length, 1);
      return ids.map((_, k) => Math.round(each * (k + 1)) - Math.round(each * k));
    }
    const lens: number[] = [];
    let char = 0; // UTF-16 index of the next character not yet given to a token
    let charByteEnd = 0; // byte offset where that character ends
    let tokenByteEnd = 0;
    for (const b of bytes) {
      tokenByteEnd += b;
      const from = char;
      while (char < piece.length) {
        const cp = piece.codePointAt(char)!;
        const w = cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
        if (charByteEnd + w > tokenByteEnd) break;
        charByteEnd += w;
        char += cp > 0xffff ? 2 : 1;
      }
      lens.push(char - from);
    }
    return lens;
  }

  private byteLength(id: number): number {
    if (id >= this.byteLengths.length) {
      const grown = new Int32Array(Math.max(id + 1, this.byteLengths.length * 2)).fill(-1);
      grown.set(this.byteLengths);
      this.byteLengths = grown;
    }
    let n = this.byteLengths[id];
    if (n < 0) this.byteLengths[id] = n = this.measure(id);
    return n;
  }

  /** UTF-8 length of the input text behind one token. */
  private measure(id: number): number {
    const token = this.enc.token(id);
    if (token === undefined) return Buffer.byteLength(this.piece(id), 'utf8');
    if (this.byteLevel) return [...token].length;
    if (/^<0x[0-9A-Fa-f]{2}>$/.test(token)) return 1;
    return Buffer.byteLength(token.replace(/\u2581/g, ' '), 'utf8');
  }

  /** Display text of one token (special tokens as written; a partial UTF-8 byte shows as U+FFFD). */
  piece(id: number): string {
    const cached = this.pieceCache.get(id);
    if (cached !== undefined) return cached;
    const p = buildTokenizer(this.where, () => this.enc.decode(id));
    this.pieceCache.set(id, p);
    return p;
  }
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
