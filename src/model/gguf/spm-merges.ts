/**
 * llama.cpp's SentencePiece tokenizer (`llm_tokenizer_spm_session`) expressed as BPE merges.
 *
 * llama.cpp splits a text fragment into UTF-8 characters, then repeatedly merges the adjacent pair whose
 * concatenation is a vocabulary token with the highest score (ties: leftmost), and finally emits byte tokens
 * `<0xNN>` for symbols that are not tokens. A BPE model reproduces that when it has one merge `(l, r)` for every
 * way a token `l + r` can be cut where both sides can be symbols (one character, or a token), ranked by the
 * score of `l + r`: at every step the lowest-ranked applicable merge is the highest-scored applicable pair, and
 * Hugging Face's BPE breaks rank ties by position as llama.cpp does. (This is also how Hugging Face's own
 * SentencePiece converter derives merges.)
 *
 * Ties between different tokens with equal scores are ranked by token id; llama.cpp would take the leftmost pair.
 * Vocabularies whose scores come from merge ranks (Gemma) have no such ties among multi-character tokens.
 */
import { HASH_BASE, HashTable, hashOf } from '../../tokenize/hash.js';
import type { GgufVocab } from './vocab.js';

/** Token ids by score, best first, then by id; one id per distinct text (the one llama.cpp's text_to_token finds). */
function mergeOrder(v: GgufVocab): number[] {
  const { tokens, ids, scores, duplicates } = v;
  const order: number[] = [];
  let integral = tokens.length < 2 ** 21;
  for (let id = 0; id < tokens.length; id++) {
    if (tokens[id].length > 1 && (!duplicates || ids[tokens[id]] === id)) {
      order.push(id);
      const s = scores[id];
      if (!Number.isInteger(s) || Math.abs(s) >= 2 ** 31) integral = false;
    }
  }
  if (!integral) return order.sort((a, b) => scores[b] - scores[a] || a - b);
  // Integer scores (Gemma's are negated merge ranks): sort exact float64 keys natively instead of a comparator.
  const keys = new Float64Array(order.length);
  for (let i = 0; i < order.length; i++) keys[i] = -scores[order[i]] * 2 ** 21 + order[i];
  keys.sort();
  for (let i = 0; i < keys.length; i++) order[i] = ((keys[i] % 2 ** 21) + 2 ** 21) % 2 ** 21;
  return order;
}

const isHigh = (u: number) => u >= 0xd800 && u <= 0xdbff;
const isLow = (u: number) => u >= 0xdc00 && u <= 0xdfff;

/** The merges, best first. */
export function spmMerges(v: GgufVocab): [string, string][] {
  const { tokens } = v;
  // Only used to skip cuts whose sides are not tokens. A hash collision adds a merge (l, r) with a side that is no
  // token and no single character: that can never be a symbol, so the merge never applies. No false negatives.
  const known = new HashTable(tokens.length);
  let longest = 0;
  for (const t of tokens) {
    known.add(hashOf(t), 0);
    longest = Math.max(longest, t.length);
  }
  const merges: [string, string][] = [];
  const prefix = new Int32Array(longest + 1);
  for (const id of mergeOrder(v)) {
    const t = tokens[id];
    const n = t.length;
    // prefix[k] = hash of t[0, k); the suffix hash t[k, n) is built right to left with its power of B.
    let h = 0;
    for (let k = 0; k < n; k++) {
      prefix[k] = h;
      h = (Math.imul(h, HASH_BASE) + t.charCodeAt(k)) | 0;
    }
    let suffix = 0;
    let power = 1;
    for (let k = n - 1; k >= 1; k--) {
      suffix = (Math.imul(t.charCodeAt(k), power) + suffix) | 0;
      power = Math.imul(power, HASH_BASE);
      // Cut only between code points.
      if (isLow(t.charCodeAt(k)) && isHigh(t.charCodeAt(k - 1))) continue;
      const rightOneChar = k === n - 1 || (k === n - 2 && isHigh(t.charCodeAt(k)));
      const leftOneChar = k === 1 || (k === 2 && isHigh(t.charCodeAt(0)));
      if ((leftOneChar || known.has(prefix[k])) && (rightOneChar || known.has(suffix))) {
        merges.push([t.slice(0, k), t.slice(k)]);
      }
    }
  }
  // Within one token the cuts were visited right to left; their relative order does not matter (same score).
  return merges;
}
