/**
 * A Hugging Face `tokenizer.json` + `tokenizer_config.json` pair built from a GGUF vocabulary, such that
 * `new Tokenizer(json, config)` from `@huggingface/tokenizers` produces llama.cpp's token ids (what llama-server
 * tokenizes with `parse_special: true`).
 *
 * - BPE (`gpt2`): byte-level BPE with the GGUF merges, split first by llama.cpp's pre-tokenizer regexes for
 *   `tokenizer.ggml.pre` (tokenize/pretokenizers.ts). No normalizer: llama.cpp applies none (no NFC for Qwen).
 * - SentencePiece (`llama`): llama.cpp's SPM merges adjacent symbols by the score of the merged token; the same
 *   result comes from a BPE whose merges are every split of every token, ranked by that score (spm-merges.ts).
 *   Spaces become ▁ (and a ▁ is prepended to each text piece when `add_space_prefix`), byte fallback `<0xNN>`.
 * - Control, user-defined and unknown tokens become `added_tokens`, matched in the raw text first as llama.cpp's
 *   `tokenizer_st_partition` does.
 *
 * Building that with `new Tokenizer(json, config)` is slow (Gemma-3's 514,906 derived merges), so the files also
 * carry a fast `encoder` with the same ids: llama.cpp's SentencePiece algorithm itself (tokenize/spm.ts), or the BPE
 * Tokenizer built from arrays (tokenize/bpe.ts). The SentencePiece `json` is then only built when read.
 */
import { KvdiffError } from '../../errors.js';
import { quote, type GgufValue } from './header.js';
import { preTokenizerFor } from '../../tokenize/pretokenizers.js';
import { spmMerges } from './spm-merges.js';
import { ggufBpeEncoder } from '../../tokenize/bpe.js';
import { SpmEncoder } from '../../tokenize/spm.js';
import { Attr, isSpecial, readVocab, type GgufVocab } from './vocab.js';
import type { TokenEncoder, TokenizerFiles } from '../types.js';

export interface GgufTokenizer {
  tokenizer: TokenizerFiles;
  /** Token pieces as llama-server passes them to the template ('' when the vocabulary has none). */
  bosToken: string;
  eosToken: string;
  bosId: number | null;
  eosId: number | null;
  /** Whether llama.cpp adds BOS / EOS when tokenizing with `add_special`. */
  addBos: boolean;
  addEos: boolean;
}

/** GPT-2's byte ↔ printable-character table, as byte-level vocabularies store bytes. */
const BYTE_TO_CHAR: string[] = (() => {
  const printable = (b: number) => (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff);
  const out: string[] = [];
  let n = 0;
  for (let b = 0; b < 256; b++) out[b] = String.fromCharCode(printable(b) ? b : 256 + n++);
  return out;
})();
const CHAR_TO_BYTE = new Map(BYTE_TO_CHAR.map((c, b) => [c, b]));

/**
 * JavaScript strings may hold lone surrogates; llama.cpp only ever sees UTF-8, where they arrive as U+FFFD
 * (node's string → UTF-8 conversion, or the server's JSON parser). Doing the same first keeps the regex classes
 * and, for SentencePiece, the vocabulary lookup (U+FFFD is a token there) in step. One UTF-16 unit each way.
 */
const LONE_SURROGATE = { type: 'Replace', pattern: { Regex: '[\\u{d800}-\\u{dfff}]' }, content: '\ufffd' };

function addedTokens(v: GgufVocab): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = [];
  for (let id = 0; id < v.tokens.length; id++) {
    if (!isSpecial(v, id)) continue;
    out.push({
      id,
      content: v.tokens[id],
      single_word: false,
      lstrip: (v.attrs[id] & Attr.LSTRIP) !== 0,
      rstrip: (v.attrs[id] & Attr.RSTRIP) !== 0,
      // Matched against the raw text, before any normalizer, like llama.cpp's partition.
      normalized: false,
      special: (v.attrs[id] & Attr.USER_DEFINED) === 0,
    });
  }
  return out;
}

function postProcessor(v: GgufVocab, addBos: boolean, addEos: boolean): Record<string, unknown> | null {
  if (!addBos && !addEos) return null;
  const single: unknown[] = [];
  const special: Record<string, unknown> = {};
  const add = (id: number) => {
    const content = v.tokens[id];
    single.push({ SpecialToken: { id: content, type_id: 0 } });
    special[content] = { id: content, ids: [id], tokens: [content] };
  };
  if (addBos && v.bosId !== null) add(v.bosId);
  single.push({ Sequence: { id: 'A', type_id: 0 } });
  if (addEos && v.eosId !== null) add(v.eosId);
  return { type: 'TemplateProcessing', single, pair: single, special_tokens: special };
}

function bpeJson(v: GgufVocab, file: string, addBos: boolean, addEos: boolean): Record<string, unknown> {
  const pre = preTokenizerFor(v.pre);
  if (!pre) {
    throw new KvdiffError(
      `${file}: pre-tokenizer ${quote(v.pre)} (tokenizer.ggml.pre) is not one kvdiff reproduces`,
      'pass --tokenizer FILE with the model\'s tokenizer.json instead',
    );
  }
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: addedTokens(v),
    normalizer: LONE_SURROGATE,
    pre_tokenizer: {
      type: 'Sequence',
      pretokenizers: [
        ...pre.regexes.map((r) => ({ type: 'Split', pattern: { Regex: r }, behavior: 'Isolated', invert: false })),
        { type: 'ByteLevel', add_prefix_space: false, trim_offsets: false, use_regex: false },
      ],
    },
    post_processor: postProcessor(v, addBos, addEos),
    decoder: { type: 'ByteLevel', add_prefix_space: false, trim_offsets: false, use_regex: false },
    model: {
      type: 'BPE',
      dropout: null,
      unk_token: null,
      continuing_subword_prefix: null,
      end_of_word_suffix: null,
      fuse_unk: false,
      byte_fallback: false,
      ignore_merges: pre.ignoreMerges,
      // filled in by bpeFiles when the Hugging Face form is read
      vocab: {},
      merges: [],
    },
  };
}

function spmJson(v: GgufVocab, addBos: boolean, addEos: boolean): Record<string, unknown> {
  const replace = { type: 'Replace', pattern: { String: ' ' }, content: '▁' };
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: addedTokens(v),
    // llama.cpp prepends a space to every text fragment (there is always a special token or the start before it).
    normalizer: {
      type: 'Sequence',
      normalizers: [LONE_SURROGATE, ...(v.addSpacePrefix ? [{ type: 'Prepend', prepend: ' ' }] : []), replace],
    },
    pre_tokenizer: null,
    post_processor: postProcessor(v, addBos, addEos),
    decoder: {
      type: 'Sequence',
      decoders: [
        { type: 'Replace', pattern: { String: '▁' }, content: ' ' },
        { type: 'ByteFallback' },
        { type: 'Fuse' },
      ],
    },
    model: {
      type: 'BPE',
      dropout: null,
      unk_token: v.map.has('<unk>') ? '<unk>' : null,
      continuing_subword_prefix: null,
      end_of_word_suffix: null,
      fuse_unk: true,
      byte_fallback: true,
      ignore_merges: false,
      vocab: v.ids,
      merges: spmMerges(v),
    },
  };
}

/** The text llama.cpp's `token_to_piece(id, special=true)` gives: what templates see as `bos_token`. */
export function tokenPiece(v: GgufVocab, id: number | null): string {
  if (id === null) return '';
  const text = v.tokens[id];
  const a = v.attrs[id];
  if (a & (Attr.CONTROL | Attr.USER_DEFINED | Attr.UNKNOWN)) return text;
  if (v.kind === 'spm') {
    if (a & Attr.BYTE) return String.fromCharCode(parseInt(text.slice(3, 5), 16));
    return text.replaceAll('▁', ' ');
  }
  const bytes = Uint8Array.from(Array.from(text, (c) => CHAR_TO_BYTE.get(c) ?? 0x3f));
  return new TextDecoder().decode(bytes);
}

/** Builds the tokenizer for a GGUF header's metadata. `file` names the GGUF in error messages. */
export function ggufTokenizer(metadata: Map<string, GgufValue>, file: string): GgufTokenizer {
  const v = readVocab(metadata, file);
  const pre = v.kind === 'bpe' ? preTokenizerFor(v.pre) : null;
  const addBos = v.addBos ?? (v.kind === 'spm' || (pre?.addBosDefault ?? false));
  const addEos = v.addEos ?? false;
  if (addBos && v.bosId === null) throw new KvdiffError(`${file}: tokenizer.ggml.add_bos_token is true, but there is no BOS token`);
  if (addEos && v.eosId === null) throw new KvdiffError(`${file}: tokenizer.ggml.add_eos_token is true, but there is no EOS token`);
  const config: Record<string, unknown> = {
    add_bos_token: addBos,
    add_eos_token: addEos,
    bos_token: v.bosId !== null ? v.tokens[v.bosId] : null,
    eos_token: v.eosId !== null ? v.tokens[v.eosId] : null,
    clean_up_tokenization_spaces: false,
  };
  return {
    tokenizer: v.kind === 'bpe' ? bpeFiles(v, bpeJson(v, file, addBos, addEos), config) : spmFiles(v, addBos, addEos, config),
    bosToken: tokenPiece(v, v.bosId),
    eosToken: tokenPiece(v, v.eosId),
    bosId: v.bosId,
    eosId: v.eosId,
    addBos,
    addEos,
  };
}

/** llama.cpp's partition strips C `isspace` whitespace around LSTRIP/RSTRIP tokens. */
function cIsspace(enc: TokenEncoder): TokenEncoder {
  return Object.assign(enc, { stripSpace: 'ascii' as const });
}

function bpeFiles(v: GgufVocab, skeleton: Record<string, unknown>, config: Record<string, unknown>): TokenizerFiles {
  let json: Record<string, unknown> | undefined;
  const full = () => (json ??= { ...skeleton, model: { ...(skeleton.model as Record<string, unknown>), vocab: v.ids, merges: v.merges } });
  return {
    // the Hugging Face form (text → id object, merges checked for llama.cpp's split) only when something reads it
    get json() {
      return full();
    },
    config,
    encoder: () => cIsspace(ggufBpeEncoder(skeleton, config, v, full)),
  };
}

function spmFiles(v: GgufVocab, addBos: boolean, addEos: boolean, config: Record<string, unknown>): TokenizerFiles {
  let json: Record<string, unknown> | undefined;
  const specials: number[] = [];
  for (let id = 0; id < v.tokens.length; id++) if (isSpecial(v, id)) specials.push(id);
  return {
    // the Hugging Face form costs ~0.5 s for Gemma-3 (its merges); only built when something reads it
    get json() {
      return (json ??= spmJson(v, addBos, addEos));
    },
    config,
    encoder: () => new SpmEncoder({ tokens: v.tokens, ids: v.map, scores: v.scores, specials, attrs: v.attrs, addSpacePrefix: v.addSpacePrefix }),
  };
}
