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
import type { GgufVocab } from './gguf-vocab.js';

const SURROGATE = /[\ud800-\udfff]/;

/** The merges, best first. */
export function spmMerges(v: GgufVocab): [string, string][] {
  const { tokens, ids, scores } = v;
  const order: number[] = [];
  for (let id = 0; id < tokens.length; id++) {
    // One entry per distinct text (the id llama.cpp's text_to_token returns); single characters never merge into.
    if (ids[tokens[id]] === id && tokens[id].length > 1) order.push(id);
  }
  order.sort((a, b) => scores[b] - scores[a] || a - b);
  const isSymbol = (s: string) => ids[s] !== undefined || s.length === 1 || (s.length === 2 && SURROGATE.test(s) && [...s].length === 1);
  const merges: [string, string][] = [];
  for (const id of order) {
    const t = tokens[id];
    if (SURROGATE.test(t)) {
      const cps = Array.from(t);
      for (let k = 1; k < cps.length; k++) {
        const l = cps.slice(0, k).join('');
        const r = cps.slice(k).join('');
        if (isSymbol(l) && isSymbol(r)) merges.push([l, r]);
      }
    } else {
      for (let k = 1; k < t.length; k++) {
        const l = t.slice(0, k);
        const r = t.slice(k);
        if (isSymbol(l) && isSymbol(r)) merges.push([l, r]);
      }
    }
  }
  return merges;
}
