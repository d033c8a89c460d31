/**
 * The vocabulary part of a GGUF header (`tokenizer.ggml.*`), read the way llama.cpp's `llama_vocab::impl::load`
 * reads it: token texts, scores, token types turned into attributes (including llama.cpp's fix-ups by token text),
 * special-token ids and the add-BOS/EOS flags.
 */
import { KvdiffError } from '../../errors.js';
import { meta, quote, type GgufValue } from './header.js';
import { HashTable, hashOf } from '../../tokenize/hash.js';

/** llama.cpp's `llama_token_type` values as stored in `tokenizer.ggml.token_type`. */
export const TokenType = { UNDEFINED: 0, NORMAL: 1, UNKNOWN: 2, CONTROL: 3, USER_DEFINED: 4, UNUSED: 5, BYTE: 6 } as const;

/** Attribute bits (llama.h `llama_token_attr`) that matter for tokenizing. */
export const Attr = { UNKNOWN: 1, UNUSED: 2, NORMAL: 4, CONTROL: 8, USER_DEFINED: 16, BYTE: 32, LSTRIP: 128, RSTRIP: 256 } as const;

const ATTR_OF_TYPE: Record<number, number> = {
  [TokenType.NORMAL]: Attr.NORMAL,
  [TokenType.UNKNOWN]: Attr.UNKNOWN,
  [TokenType.CONTROL]: Attr.CONTROL,
  [TokenType.USER_DEFINED]: Attr.USER_DEFINED,
  [TokenType.UNUSED]: Attr.UNUSED,
  [TokenType.BYTE]: Attr.BYTE,
};

/** Tokens llama.cpp turns into control tokens by their text when the converter did not (end-of-generation etc.). */
const EOG_TEXTS = ['<|eot_id|>', '<|im_end|>', '<|end|>', '<|return|>', '<|call|>', '<|flush|>', '<|calls|>',
  '<end_of_turn>', '<|endoftext|>', '</s>', '<|eom_id|>', '<EOT>', '_<EOT>', '[EOT]', '[EOS]', '<|end_of_text|>',
  '<end_of_utterance>', '<eos>', '<turn|>', '<|tool_response>', '<｜end▁of▁sentence｜>', '[e~['];
/** Fill-in-the-middle tokens, detected by text only when the GGUF has no `tokenizer.ggml.fim_*_token_id` for them. */
const FIM_TEXTS: Record<string, string[]> = {
  fim_pre: ['<|fim_prefix|>', '<fim-prefix>', '<fim_prefix>', '<｜fim▁begin｜>', '<PRE>', '▁<PRE>', '<|code_prefix|>', '<|prefix|>'],
  fim_suf: ['<|fim_suffix|>', '<fim-suffix>', '<fim_suffix>', '<｜fim▁hole｜>', '<SUF>', '▁<SUF>', '<|code_suffix|>', '<|suffix|>'],
  fim_mid: ['<|fim_middle|>', '<fim-middle>', '<fim_middle>', '<｜fim▁end｜>', '<MID>', '▁<MID>', '<|code_middle|>', '<|middle|>'],
  fim_pad: ['<|fim_pad|>', '<fim-pad>', '<fim_pad>', '<PAD>', '[PAD]'],
  fim_rep: ['<|fim_repo|>', '<|repo_name|>', '<fim-repo>', '<REPO>', '<reponame>'],
  fim_sep: ['<|file_sep|>'],
};
/** gpt-oss tokens llama.cpp always renders (user-defined, so still matched as special text). */
const ALWAYS_USER_DEFINED = ['<|channel|>', '<|message|>', '<|start|>', '<|constrain|>'];

export type VocabKind = 'bpe' | 'spm';

export interface GgufVocab {
  kind: VocabKind;
  /** `tokenizer.ggml.pre` ('' when absent). */
  pre: string;
  tokens: readonly string[];
  /** Text → id; for duplicate texts the last id wins, as in llama.cpp's `token_to_id[word] = i`. */
  map: Map<string, number>;
  /**
   * `map` as a null-prototype object, so it doubles as tokenizer.json's `model.vocab` (built on first read: only the
   * Hugging Face form needs it).
   */
  readonly ids: Record<string, number>;
  /** Whether some token text occurs twice (then only the last id is reachable by text). */
  duplicates: boolean;
  /** Attribute bits per token (see `Attr`). */
  attrs: Uint16Array;
  /** Per-token scores (SPM merge priorities); all 0 when absent. */
  scores: ArrayLike<number>;
  /**
   * BPE merges in tokenizer.json form: the GGUF's "a b" strings as they are when Hugging Face's split agrees with
   * llama.cpp's, else pairs; the first occurrence of a pair wins (llama.cpp's `bpe_ranks.emplace`).
   */
  readonly merges: readonly string[] | [string, string][];
  /** `tokenizer.ggml.merges` as stored ([] for SentencePiece). */
  rawMerges: readonly string[];
  bosId: number | null;
  eosId: number | null;
  addBos: boolean | undefined;
  addEos: boolean | undefined;
  /** `tokenizer.ggml.add_space_prefix` (SPM default true). */
  addSpacePrefix: boolean;
}

/** A token id from the header, or null when absent or out of range (llama.cpp then keeps its default). */
function tokenId(m: Map<string, GgufValue>, key: string, n: number, fallback: number | null): number | null {
  const v = meta.number(m, key);
  if (v === undefined) return fallback !== null && fallback < n ? fallback : null;
  return Number.isInteger(v) && v >= 0 && v < n ? v : fallback !== null && fallback < n ? fallback : null;
}

function mergesFor(raw: readonly string[]): readonly string[] | [string, string][] {
  // Hugging Face splits "a b" with split(' ', 2); llama.cpp at the first space after the first byte. They agree
  // unless a merge has a second space or starts with one; byte-level vocabularies never do (spaces are 'Ġ').
  let plain = true;
  const seen = new HashTable(raw.length);
  for (let i = 0; i < raw.length; i++) {
    const word = raw[i];
    const at = word.indexOf(' ', 1);
    const h = hashOf(word);
    if (at <= 0 || word.indexOf(' ', at + 1) !== -1 || seen.find(h, (j) => raw[j] === word)) {
      plain = false;
      break;
    }
    seen.add(h, i);
  }
  if (plain) return raw;
  const pairs: [string, string][] = [];
  const kept = new Set<string>();
  for (const word of raw) {
    // A merge without such a space becomes ("", "") in llama.cpp.
    const at = word.indexOf(' ', 1);
    const pair: [string, string] = at > 0 ? [word.slice(0, at), word.slice(at + 1)] : ['', ''];
    const key = `${pair[0]} ${pair[1]}`;
    if (kept.has(key)) continue;
    kept.add(key);
    pairs.push(pair);
  }
  return pairs;
}

function markByText(ids: Map<string, number>, attrs: Uint16Array, texts: readonly string[], set: number): void {
  for (const t of texts) {
    const id = ids.get(t);
    if (id !== undefined) attrs[id] |= set;
  }
}

/**
 * llama.cpp's per-model token attributes (the end of `llama_vocab::impl::load`, "set attributes by
 * model/tokenizer/architecture name"; GGUF files do not store them): `general.name` containing "phi-3" or "phi3"
 * (ASCII lower-cased) makes every special token RSTRIP, and `</s>`, but not `<unk>`, `<s>` and `<|endoftext|>`, so
 * the whitespace after `<|end|>` or `<|user|>` never reaches the text tokenizer; a few embedding vocabularies get an
 * LSTRIP mask token. llama.cpp refuses to load a "phi3" vocabulary that lacks one of the named tokens; here a missing
 * one is skipped.
 */
function stripAttributes(m: Map<string, GgufValue>, ids: ReadonlyMap<string, number>, attrs: Uint16Array): void {
  const lower = (s: string | undefined) => (s ?? '').replace(/[A-Z]/g, (c) => c.toLowerCase());
  const name = lower(meta.string(m, 'general.name'));
  const pre = meta.string(m, 'tokenizer.ggml.pre') ?? '';
  const arch = meta.string(m, 'general.architecture') ?? '';
  const set = (text: string, bit: number, on: boolean) => {
    const id = ids.get(text);
    if (id !== undefined) attrs[id] = on ? attrs[id] | bit : attrs[id] & ~bit;
  };
  if (['jina-v2-de', 'jina-v2-es', 'jina-v2-code'].some((p) => pre.includes(p)) || ['nomic-bert-moe', 'jina-bert-v3'].some((a) => arch.includes(a))) {
    set('<mask>', Attr.LSTRIP, true);
  } else if (name.includes('phi-3') || name.includes('phi3')) {
    for (let id = 0; id < attrs.length; id++) if (attrs[id] & (Attr.CONTROL | Attr.USER_DEFINED | Attr.UNKNOWN)) attrs[id] |= Attr.RSTRIP;
    set('</s>', Attr.RSTRIP, true);
    for (const t of ['<unk>', '<s>', '<|endoftext|>']) set(t, Attr.RSTRIP, false);
  } else if (name.includes('modern-bert')) {
    set('[MASK]', Attr.LSTRIP, true);
  }
}

export function readVocab(m: Map<string, GgufValue>, file: string): GgufVocab {
  const model = meta.string(m, 'tokenizer.ggml.model');
  if (model === undefined) throw new KvdiffError(`${file}: GGUF has no tokenizer (tokenizer.ggml.model is missing)`);
  let kind: VocabKind;
  if (model === 'gpt2') kind = 'bpe';
  else if (model === 'llama') kind = 'spm';
  else {
    throw new KvdiffError(
      `${file}: tokenizer model ${quote(model)} is not supported (kvdiff reproduces "gpt2" BPE and "llama" SentencePiece)`,
      'pass --tokenizer FILE with a tokenizer.json for this model',
    );
  }
  const raw = meta.strings(m, 'tokenizer.ggml.tokens');
  if (!raw || raw.length === 0) throw new KvdiffError(`${file}: GGUF has no vocabulary (tokenizer.ggml.tokens)`);
  const n = raw.length;
  // llama.cpp renames empty token texts; copy the list only when there are any.
  const tokens = raw.includes('') ? raw.map((t, i) => (t === '' ? `[EMPTY_${i}]` : t)) : raw;
  const ids = new Map<string, number>();
  for (let i = 0; i < n; i++) ids.set(tokens[i], i);
  const duplicates = ids.size !== n;

  const scores = meta.numbers(m, 'tokenizer.ggml.scores') ?? new Float32Array(n);
  if (scores.length < n) throw new KvdiffError(`${file}: tokenizer.ggml.scores has ${scores.length} entries for ${n} tokens`);
  const types = meta.numbers(m, 'tokenizer.ggml.token_type');
  if (types && types.length < n) throw new KvdiffError(`${file}: tokenizer.ggml.token_type has ${types.length} entries for ${n} tokens`);
  const attrs = new Uint16Array(n);
  for (let i = 0; i < n; i++) attrs[i] = types ? (ATTR_OF_TYPE[types[i]] ?? 0) : Attr.NORMAL;

  // llama.cpp's fix-ups by token text (llama_vocab::impl::load, "auto-detect special tokens by text").
  markByText(ids, attrs, EOG_TEXTS, Attr.CONTROL);
  for (const [name, texts] of Object.entries(FIM_TEXTS)) {
    if (!m.has(`tokenizer.ggml.${name}_token_id`)) markByText(ids, attrs, texts, Attr.CONTROL);
  }
  for (const t of ALWAYS_USER_DEFINED) {
    const id = ids.get(t);
    if (id !== undefined) attrs[id] = Attr.USER_DEFINED;
  }
  // Gemma-4 / PaddleOCR: with <|tool_response> present, </s> is an ordinary token again.
  const s = ids.get('</s>');
  if (s !== undefined && ids.has('<|tool_response>')) attrs[s] = Attr.NORMAL;

  stripAttributes(m, ids, attrs);

  const mergesRaw = meta.strings(m, 'tokenizer.ggml.merges');
  if (kind === 'bpe' && !mergesRaw) throw new KvdiffError(`${file}: BPE vocabulary without tokenizer.ggml.merges`);
  const defaults = kind === 'spm' ? { bos: 1, eos: 2 } : { bos: 11, eos: 11 };
  let object: Record<string, number> | undefined;
  let merges: readonly string[] | [string, string][] | undefined;
  return {
    kind,
    pre: meta.string(m, 'tokenizer.ggml.pre') ?? '',
    tokens,
    map: ids,
    get ids() {
      if (!object) {
        object = Object.create(null) as Record<string, number>;
        for (const [t, id] of ids) object[t] = id;
      }
      return object;
    },
    duplicates,
    attrs,
    scores,
    get merges() {
      return (merges ??= kind === 'bpe' ? mergesFor(mergesRaw ?? []) : []);
    },
    rawMerges: kind === 'bpe' ? (mergesRaw ?? []) : [],
    bosId: tokenId(m, 'tokenizer.ggml.bos_token_id', n, defaults.bos),
    eosId: tokenId(m, 'tokenizer.ggml.eos_token_id', n, defaults.eos),
    addBos: meta.bool(m, 'tokenizer.ggml.add_bos_token'),
    addEos: meta.bool(m, 'tokenizer.ggml.add_eos_token'),
    addSpacePrefix: meta.bool(m, 'tokenizer.ggml.add_space_prefix') ?? kind === 'spm',
  };
}

/** Whether llama.cpp matches this token's text in the input before tokenizing (its `cache_special_tokens`). */
export function isSpecial(v: GgufVocab, id: number): boolean {
  return (v.attrs[id] & (Attr.CONTROL | Attr.USER_DEFINED | Attr.UNKNOWN)) !== 0;
}
