/**
 * Byte-level BPE tokenizers (Qwen, Llama-3, GGUF `gpt2`) built fast from compact arrays, with exactly the ids of
 * `new Tokenizer(json, config)` from `@huggingface/tokenizers`.
 *
 * That constructor spends most of its time on the vocabulary and merges: a Map from `Object.entries` of the vocab
 * object, and a rank Map keyed by `JSON.stringify([left, right])` of every merge. Here the Tokenizer is built with an
 * empty vocabulary (normalizer, pre-tokenizer, decoder and added tokens are cheap), then its BPE model gets the
 * vocabulary Map from a plain array and a rank table keyed by the two token ids of a merge (`PairRanks`). That holds
 * when every merge's sides and result are tokens (then every symbol the loop builds is a token, or a starting
 * character no merge names): `bpeArrays` checks it and returns null otherwise, and callers use the plain way.
 *
 * Encoding then runs kvdiff's own byte-level encoder (byte-bpe.ts) on that Tokenizer's normalizer and compiled
 * pre-tokenizer regexes, the id table and `PairRanks`. For the tokenizer.json features byte-bpe.ts does not
 * reproduce, the Tokenizer encodes itself: its own merge loop, with only the rank lookup (`add_node`) replaced by one
 * that gives the same rank for every pair it can meet. Decoding (display text of a token) is always the Tokenizer's.
 */
import { Tokenizer } from '@huggingface/tokenizers';
import { byteBpeEncoder } from './byte-bpe.js';
import { HASH_BASE, HashTable, hashOf } from './hash.js';
import type { TokenEncoder, TokenizerFiles } from '../model/types.js';

/** The vocabulary and merges of a BPE tokenizer.json in compact form. */
export interface BpeArrays {
  /** Token texts by id (holes are ids without a vocabulary text). */
  tokens: (string | undefined)[];
  /** Merges in rank order as token-id pairs: left0, right0, left1, right1, ... */
  merges: Int32Array;
  /** A pair listed twice keeps its first rank (llama.cpp) instead of its last (tokenizer.json). */
  firstWins?: boolean;
  /** The token each merge makes (the id of both sides' texts joined), by rank; looked up when absent. */
  results?: Int32Array;
}

interface AddedToken {
  id: number;
  content: string;
  lstrip?: boolean;
  rstrip?: boolean;
}

/** The fields of @huggingface/tokenizers' BPE model that are replaced here. */
interface BpeModelFields {
  tokens_to_ids: Map<string, number>;
  vocab: (string | undefined)[];
  unk_token_id: number | undefined;
  merges: unknown[];
  bpe_ranks: Map<string, number>;
  add_node(queue: { push(node: unknown): void }, node: BpeNode): void;
}
interface BpeNode {
  token: string;
  bias: number;
  score?: number;
  next: BpeNode;
}

/**
 * Open-addressing table from a (left, right) id pair to its rank. A pair listed twice keeps the last rank, as
 * tokenizer.json's Map does, or with `firstWins` the first, as llama.cpp's `bpe_ranks.emplace` does. Each slot's
 * left id, right id and rank sit side by side (one cache line per probe); left = -1 marks an empty slot.
 */
export class PairRanks {
  private readonly table: Int32Array;
  private readonly mask: number;
  /** Number of merges (ranks run from 0 to size - 1). */
  readonly size: number;

  constructor(merges: Int32Array, firstWins = false) {
    const n = merges.length >> 1;
    this.size = n;
    // a power of two at least 1.5 × the merges: at most 2/3 full, short probes
    let size = 16;
    while (size < n * 1.5) size *= 2;
    const t = (this.table = new Int32Array(size * 4).fill(-1));
    this.mask = size - 1;
    for (let r = 0; r < n; r++) {
      const a = merges[2 * r];
      const b = merges[2 * r + 1];
      let i = this.slot(a, b);
      while (t[4 * i] !== -1 && (t[4 * i] !== a || t[4 * i + 1] !== b)) i = (i + 1) & this.mask;
      if (firstWins && t[4 * i] !== -1) continue;
      t[4 * i] = a;
      t[4 * i + 1] = b;
      t[4 * i + 2] = r;
    }
  }

  private slot(a: number, b: number): number {
    const h = Math.imul(a, 0x9e3779b1) ^ Math.imul(b + 0x7f4a7c15, 0x85ebca77);
    return (h ^ (h >>> 15)) & this.mask;
  }

  /** The rank, or -1 when the pair is no merge. */
  get(a: number, b: number): number {
    const t = this.table;
    for (let i = this.slot(a, b); t[4 * i] !== -1; i = (i + 1) & this.mask) {
      if (t[4 * i] === a && t[4 * i + 1] === b) return t[4 * i + 2];
    }
    return -1;
  }
}

/** Token text → id for an id-indexed array (later ids win, as a tokenizer.json object would). */
function vocabMap(tokens: readonly (string | undefined)[]): Map<string, number> {
  const map = new Map<string, number>();
  for (let id = 0; id < tokens.length; id++) {
    const t = tokens[id];
    if (t !== undefined) map.set(t, id);
  }
  return map;
}

/** Whether a tokenizer.json is a BPE this module reproduces exactly (no suffixes, dropout or byte fallback). */
function plainBpe(json: Record<string, unknown>): boolean {
  const m = json.model as Record<string, unknown> | undefined;
  return (
    !!m && m.type === 'BPE' && !m.dropout && !m.byte_fallback && !m.end_of_word_suffix && !m.continuing_subword_suffix &&
    typeof m.vocab === 'object' && m.vocab !== null && Array.isArray(m.merges)
  );
}

/**
 * The compact form of a BPE tokenizer.json's vocabulary and merges, or null when the fast path would not be exact
 * (not a plain BPE, a merge side or result that is no token, duplicate texts, an added token that clashes).
 * `given` replaces `json.model`'s vocab and merges (a GGUF's token list without duplicate texts, and its merges).
 */
export function bpeArrays(
  json: Record<string, unknown>,
  given?: { tokens: readonly string[]; merges: readonly (string | [string, string])[] },
): (BpeArrays & { map: Map<string, number> }) | null {
  if (!plainBpe(json)) return null;
  const model = json.model as { vocab: Record<string, number>; merges: (string | [string, string])[] };
  let tokens: (string | undefined)[] = [];
  let count = 0;
  if (given) {
    tokens = given.tokens as string[];
    count = tokens.length;
  } else {
    for (const text in model.vocab) {
      const id = model.vocab[text];
      if (!Number.isInteger(id) || id < 0 || id > 0x7fffffff || tokens[id] !== undefined) return null;
      tokens[id] = text;
      count++;
    }
  }
  const map = vocabMap(tokens);
  if (map.size !== count) return null;
  if (!addedTokensFit(json, tokens, map)) return null;
  const raw = given ? given.merges : model.merges;
  const merges = new Int32Array(raw.length * 2);
  const results = new Int32Array(raw.length);
  for (let r = 0; r < raw.length; r++) {
    const m = raw[r];
    // @huggingface/tokenizers splits "a b" with split(' ', 2)
    const [a, b] = typeof m === 'string' ? m.split(' ', 2) : m;
    const ia = map.get(a);
    const ib = map.get(b);
    const joined = b === undefined ? undefined : map.get(a + b);
    if (ia === undefined || ib === undefined || joined === undefined) return null;
    merges[2 * r] = ia;
    merges[2 * r + 1] = ib;
    results[r] = joined;
  }
  return { tokens, merges, results, map };
}

/** Added tokens must not give a text a second id, nor an id a second text (the rank table keys on ids). */
function addedTokensFit(json: Record<string, unknown>, tokens: readonly (string | undefined)[], map: Map<string, number>): boolean {
  for (const t of (json.added_tokens as AddedToken[] | undefined) ?? []) {
    const known = map.get(t.content);
    if (known !== undefined && known !== t.id) return false;
    if (tokens[t.id] !== undefined && tokens[t.id] !== t.content) return false;
  }
  return true;
}

/** tokenizer.json with an empty vocabulary and no merges: the part that is cheap to build and to store. */
export function bpeSkeleton(json: Record<string, unknown>): Record<string, unknown> {
  return { ...json, model: { ...(json.model as Record<string, unknown>), vocab: {}, merges: [] } };
}

/** The full tokenizer.json again, for callers that want it (tests, `--tokenizer` comparisons). */
export function bpeJson(skeleton: Record<string, unknown>, arrays: BpeArrays): Record<string, unknown> {
  const vocab: Record<string, number> = {};
  arrays.tokens.forEach((t, id) => {
    if (t !== undefined) vocab[t] = id;
  });
  const merges: [string, string][] = [];
  for (let r = 0; r < arrays.merges.length; r += 2) merges.push([arrays.tokens[arrays.merges[r]]!, arrays.tokens[arrays.merges[r + 1]]!]);
  return { ...skeleton, model: { ...(skeleton.model as Record<string, unknown>), vocab, merges } };
}

/**
 * `new Tokenizer(json, config)` for a BPE whose vocabulary and merges are given as arrays (`skeleton` is the rest of
 * tokenizer.json). `map` is the text → id Map of `arrays.tokens` when the caller has it already; otherwise it is
 * built on first use (kvdiff's encoder needs none: a cached run skips building a 151,000-entry Map).
 */
export function fastBpeTokenizer(
  skeleton: Record<string, unknown>,
  config: Record<string, unknown>,
  arrays: BpeArrays,
  map?: Map<string, number>,
  ranks: PairRanks = new PairRanks(arrays.merges, arrays.firstWins),
): Tokenizer {
  const tok = new Tokenizer(bpeSkeleton(skeleton), config);
  const model = tok.model as unknown as BpeModelFields;
  const vocab = arrays.tokens.slice();
  const added = (skeleton.added_tokens as AddedToken[] | undefined) ?? [];
  // what the Tokenizer constructor did to the empty model's fields
  for (const t of added) vocab[t.id] = t.content;
  let full: Map<string, number> | undefined;
  const ids = (): Map<string, number> => {
    if (!full) {
      full = map ?? vocabMap(arrays.tokens);
      for (const t of added) full.set(t.content, t.id);
    }
    return full;
  };
  const unk = (skeleton.model as { unk_token?: string | null }).unk_token;
  Object.defineProperty(model, 'tokens_to_ids', { get: ids, configurable: true });
  Object.defineProperty(model, 'unk_token_id', { get: () => (unk == null ? undefined : ids().get(unk)), configurable: true });
  model.vocab = vocab;
  model.add_node = (queue, node) => {
    const a = ids().get(node.token);
    if (a === undefined) return;
    const b = ids().get(node.next.token);
    if (b === undefined) return;
    const rank = ranks.get(a, b);
    if (rank < 0) return;
    node.score = rank + node.bias;
    queue.push(node);
  };
  return tok;
}

/**
 * The encoder for a BPE given as arrays: kvdiff's own byte-level encoder (byte-bpe.ts) over the fast Tokenizer's
 * parts when it reproduces that tokenizer.json, else the fast Tokenizer itself.
 */
export function fastBpeEncoder(
  skeleton: Record<string, unknown>,
  config: Record<string, unknown>,
  arrays: BpeArrays,
  map?: Map<string, number>,
): TokenEncoder {
  const ranks = new PairRanks(arrays.merges, arrays.firstWins);
  const tok = fastBpeTokenizer(skeleton, config, arrays, map, ranks);
  const lib = hfEncoder(tok, skeleton);
  return byteBpeEncoder(tok, config, ranks, arrays.results, lib) ?? lib;
}

/** A `TokenEncoder` over a @huggingface/tokenizers Tokenizer (however it was built). */
export function hfEncoder(tok: Tokenizer, json: Record<string, unknown>): TokenEncoder {
  const model = tok.model as unknown as BpeModelFields | null;
  const specials = ((json.added_tokens as AddedToken[] | undefined) ?? [])
    .filter((t) => t.content.length > 0)
    .map(({ id, content, lstrip, rstrip }) => ({ id, content, ...(lstrip ? { lstrip: true } : {}), ...(rstrip ? { rstrip: true } : {}) }));
  return {
    encode: (text) => tok.encode(text, { add_special_tokens: false }).ids,
    token: (id) => model?.vocab[id],
    id: (text) => model?.tokens_to_ids.get(text),
    decode: (id) => tok.decode([id], { skip_special_tokens: false, clean_up_tokenization_spaces: false }),
    specials,
    textForm: JSON.stringify(json.decoder ?? json.pre_tokenizer ?? '').includes('ByteLevel') ? 'byte-level' : 'spm',
    engine: '@huggingface/tokenizers',
  };
}

/**
 * `TokenizerFiles` whose encoder is built the fast way; `json` is reassembled only when read. `skeleton` and
 * `arrays` come from `bpeArrays` / `bpeSkeleton` (or a prepared cache entry).
 */
export function fastBpeFiles(
  skeleton: Record<string, unknown>,
  config: Record<string, unknown>,
  arrays: BpeArrays,
  map?: Map<string, number>,
  full?: Record<string, unknown>,
): TokenizerFiles {
  let json = full;
  return {
    get json() {
      return (json ??= bpeJson(skeleton, arrays));
    },
    config,
    encoder: () => fastBpeEncoder(skeleton, config, arrays, map),
  };
}

/**
 * The encoder for a tokenizer.json: built the fast way when `bpeArrays` allows it, else by `new Tokenizer`.
 * `given` as for `bpeArrays`.
 */
export function bpeEncoder(
  json: Record<string, unknown>,
  config: Record<string, unknown>,
  given?: { tokens: readonly string[]; merges: readonly (string | [string, string])[] },
): TokenEncoder {
  const arrays = bpeArrays(json, given);
  return arrays ? fastBpeEncoder(bpeSkeleton(json), config, arrays, arrays.map) : hfEncoder(new Tokenizer(json, config), json);
}

/**
 * A GGUF `gpt2` vocabulary's merges ("a b", cut at the first space after the first character as llama.cpp does) as
 * id pairs, found without cutting strings: the token texts are indexed by a polynomial hash and each side of a
 * merge is hashed and compared in place. Null when some merge has a side or a result that is no token, or the
 * vocabulary has a text twice (then the Hugging Face form is the exact one).
 */
export function ggufMergeArrays(tokens: readonly string[], rawMerges: readonly string[]): BpeArrays | null {
  const index = new HashTable(tokens.length);
  for (let id = 0; id < tokens.length; id++) index.add(hashOf(tokens[id]), id);
  const merges = new Int32Array(rawMerges.length * 2);
  const results = new Int32Array(rawMerges.length);
  let s = '';
  let from = 0;
  let to = 0;
  const region = (id: number) => tokens[id].length === to - from && s.startsWith(tokens[id], from);
  let cut = 0;
  const joined = (id: number) => {
    const t = tokens[id];
    if (t.length !== s.length - 1) return false;
    for (let j = 0; j < cut; j++) if (t.charCodeAt(j) !== s.charCodeAt(j)) return false;
    for (let j = cut; j < t.length; j++) if (t.charCodeAt(j) !== s.charCodeAt(j + 1)) return false;
    return true;
  };
  for (let r = 0; r < rawMerges.length; r++) {
    s = rawMerges[r];
    cut = s.indexOf(' ', 1);
    if (cut <= 0) return null;
    let hl = 0;
    for (let j = 0; j < cut; j++) hl = (Math.imul(hl, HASH_BASE) + s.charCodeAt(j)) | 0;
    let hr = 0;
    let power = 1;
    for (let j = cut + 1; j < s.length; j++) {
      hr = (Math.imul(hr, HASH_BASE) + s.charCodeAt(j)) | 0;
      power = Math.imul(power, HASH_BASE);
    }
    from = 0;
    to = cut;
    const a = index.get(hl, region);
    from = cut + 1;
    to = s.length;
    const b = index.get(hr, region);
    const ab = index.get((Math.imul(hl, power) + hr) | 0, joined);
    if (a < 0 || b < 0 || ab < 0) return null;
    merges[2 * r] = a;
    merges[2 * r + 1] = b;
    results[r] = ab;
  }
  return { tokens, merges, results, firstWins: true } as BpeArrays;
}

/**
 * The encoder of a GGUF `gpt2` vocabulary: the fast Tokenizer when `ggufMergeArrays` allows it, else
 * `new Tokenizer(json(), config)`. `skeleton` is the tokenizer.json without vocabulary and merges, `map` the
 * vocabulary's text → id Map.
 */
export function ggufBpeEncoder(
  skeleton: Record<string, unknown>,
  config: Record<string, unknown>,
  vocab: { tokens: readonly string[]; map: Map<string, number>; rawMerges: readonly string[]; duplicates: boolean },
  json: () => Record<string, unknown>,
): TokenEncoder {
  const arrays = vocab.duplicates ? null : ggufMergeArrays(vocab.tokens, vocab.rawMerges);
  const fast = arrays && addedTokensFit(skeleton, vocab.tokens, vocab.map);
  return fast ? fastBpeEncoder(skeleton, config, arrays, vocab.map) : hfEncoder(new Tokenizer(json(), config), skeleton);
}
