/**
 * `PromptTokenizer.encodeAfter` (attribution re-tokenizes each variant from the last special token before its first
 * change) must give exactly the ids and offsets of a full `encode` of the variant: property tests on the embedded
 * Qwen3 vocabulary and on a hermetic tokenizer whose special tokens are prefixes of one another.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { loadBuiltinModel } from '../src/model/builtin.ts';
import { nodeFs } from '../src/node/fs.ts';
import { PromptTokenizer } from '../src/tokenize/prompt.ts';
import { tinyModel } from './tiny-tokenizer.ts';

/** A text of special tokens and ordinary fragments, and an edit of it (insert, delete or replace at one place). */
function textAndEdit(specials: string[]) {
  const fragment = fc.oneof(
    fc.constantFrom(...specials),
    fc.constantFrom(...specials).map((s) => s.slice(0, 1 + (s.length >> 1))), // half a special token
    fc.string({ unit: 'grapheme', maxLength: 12 }),
    fc.constantFrom('\n', '\n\n', '  ', 'hello world', ' 12345', '日本語', '😀👍🏽', '{"a": 1}'),
  );
  return fc
    .tuple(fc.array(fragment, { minLength: 1, maxLength: 30 }), fc.nat(), fc.nat({ max: 8 }), fc.array(fragment, { maxLength: 3 }))
    .map(([parts, at, cut, insert]) => {
      const base = parts.join('');
      const i = base.length ? at % (base.length + 1) : 0;
      return { base, variant: base.slice(0, i) + insert.join('') + base.slice(Math.min(base.length, i + cut)) };
    });
}

function agrees(tok: PromptTokenizer, specials: string[], runs: number) {
  fc.assert(
    fc.property(textAndEdit(specials), fc.boolean(), ({ base, variant }, addSpecial) => {
      const tokens = tok.encode(base, addSpecial);
      expect(tok.encodeAfter(variant, { text: base, tokens }, addSpecial)).toEqual(tok.encode(variant, addSpecial));
    }),
    { numRuns: runs },
  );
}

describe('encodeAfter equals a full encode', () => {
  it('Qwen3 (embedded vocabulary)', async () => {
    const tok = new PromptTokenizer(await loadBuiltinModel(nodeFs, 'qwen3'));
    agrees(tok, ['<|im_start|>', '<|im_end|>', '<think>', '</think>', '<tool_call>', '</tool_call>', '<|endoftext|>'], 1500);
  });

  it('special tokens that are prefixes of one another, with BOS and EOS added', () => {
    const base = tinyModel({ addBos: true });
    const json = structuredClone(base.tokenizer.json) as { added_tokens: object[] };
    for (const [id, content] of [[302, '<|sep|>x'], [303, '<|se'], [304, '|>']] as const) {
      json.added_tokens.push({ id, content, special: true, single_word: false, lstrip: false, rstrip: false, normalized: false });
    }
    const tok = new PromptTokenizer({ ...base, eosToken: '<s>', addEos: true, tokenizer: { json, config: {} } });
    agrees(tok, ['<s>', '<|sep|>', '<|sep|>x', '<|se', '|>'], 3000);
  });

  it('special tokens that drop the whitespace beside them (lstrip / rstrip)', () => {
    const base = tinyModel({ addBos: true });
    const json = structuredClone(base.tokenizer.json) as { added_tokens: object[] };
    for (const [id, content, lstrip, rstrip] of [[302, '<|r|>', false, true], [303, '<|l|>', true, false], [304, '<|lr|>', true, true]] as const) {
      json.added_tokens.push({ id, content, special: true, single_word: false, lstrip, rstrip, normalized: false });
    }
    const tok = new PromptTokenizer({ ...base, tokenizer: { json, config: {} } });
    agrees(tok, ['<s>', '<|r|>', '<|l|>', '<|lr|>', ' \n ', '\t'], 3000);
  });
});
