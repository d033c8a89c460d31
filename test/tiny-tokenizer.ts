import type { ModelInfo } from '../src/model/types.js';

/** GPT-2's byte ↔ printable-character table (a byte-level vocabulary's first 256 tokens). */
export function bytesToUnicode(): string[] {
  const bs: number[] = [];
  for (let b = 33; b <= 126; b++) bs.push(b);
  for (let b = 161; b <= 172; b++) bs.push(b);
  for (let b = 174; b <= 255; b++) bs.push(b);
  const cs = [...bs];
  let n = 0;
  for (let b = 0; b < 256; b++) {
    if (!bs.includes(b)) {
      bs.push(b);
      cs.push(256 + n++);
    }
  }
  const table: string[] = [];
  bs.forEach((b, i) => (table[b] = String.fromCodePoint(cs[i])));
  return table;
}

/**
 * A hermetic byte-level BPE model built inline: 256 byte tokens, a few merges ("he", "hel", "hell", "hello",
 * "Ġw"), two special tokens. No files, no network.
 */
export function tinyModel(opts: { addBos?: boolean } = {}): ModelInfo {
  const table = bytesToUnicode();
  const vocab: Record<string, number> = {};
  table.forEach((ch, i) => (vocab[ch] = i));
  const merges = [['h', 'e'], ['he', 'l'], ['hel', 'l'], ['hell', 'o'], ['Ġ', 'w']];
  merges.forEach(([x, y], i) => (vocab[x + y] = 256 + i));
  const special = [
    { id: 300, content: '<s>', special: true },
    { id: 301, content: '<|sep|>', special: true },
  ];
  const json = {
    version: '1.0',
    added_tokens: special.map((t) => ({ ...t, single_word: false, lstrip: false, rstrip: false, normalized: false })),
    normalizer: null,
    pre_tokenizer: {
      type: 'Sequence',
      pretokenizers: [
        { type: 'Split', pattern: { Regex: "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+" }, behavior: 'Isolated', invert: false },
        { type: 'ByteLevel', add_prefix_space: false, trim_offsets: false, use_regex: false },
      ],
    },
    post_processor: null,
    decoder: { type: 'ByteLevel', add_prefix_space: false, trim_offsets: false, use_regex: false },
    model: { type: 'BPE', dropout: null, unk_token: null, continuing_subword_prefix: null, end_of_word_suffix: null, fuse_unk: false, byte_fallback: false, ignore_merges: false, vocab, merges },
  };
  return {
    source: { kind: 'files', name: 'tiny', templateSha256: '0' },
    chatTemplate: "{% for m in messages %}<|sep|>{{ m.role }}\n{{ m.content }}{% endfor %}{% if add_generation_prompt %}<|sep|>assistant\n{% endif %}",
    tokenizer: { json, config: {} },
    bosToken: '<s>',
    eosToken: '',
    addBos: opts.addBos ?? false,
    addEos: false,
  };
}
