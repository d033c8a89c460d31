import { Tokenizer } from '@huggingface/tokenizers';
import { describe, expect, it } from 'vitest';
import { PromptTokenizer } from '../src/tokenize/prompt.js';
import { loadBuiltinModel } from '../src/model/builtin.js';
import { nodeFs } from '../src/node/fs.js';
import { tinyModel } from './tiny-tokenizer.js';

describe('tokenizing a rendered prompt (hermetic tiny BPE)', () => {
  const tok = new PromptTokenizer(tinyModel());
  it('splits on special tokens and merges inside pieces (byte tokens have id = byte value)', () => {
    expect(tok.encode('<|sep|>hello world').ids).toEqual([301, 259, 260, ...[...'orld'].map((c) => c.charCodeAt(0))]);
  });
  it('adds BOS only where the model adds it, and only with addSpecial', () => {
    const withBos = new PromptTokenizer(tinyModel({ addBos: true }));
    expect(withBos.encode('hi').ids[0]).toBe(300);
    expect(withBos.encode('hi', false).ids[0]).not.toBe(300);
    expect(tok.encode('hi').ids[0]).not.toBe(300);
  });
  // token → character offsets: every pointer in a report depends on this table
  it.each([
    ['hello', [0]],
    ['hello world', [0, 5, 7, 8, 9, 10]],
    ['<|sep|>hi<|sep|>', [0, 7, 8, 9]],
    ['a\n\nb', [0, 1, 2, 3]], // the pre-tokenizer isolates each newline here
    ['é!', [0, 0, 1]], // é is two bytes, two tokens: the first covers nothing, the second completes it
    ['x😀y', [0, 1, 1, 1, 1, 3]], // a 4-byte emoji in four byte tokens: the last one carries both UTF-16 units
  ])('starts of %j', (text, starts) => {
    const t = tok.encode(text);
    expect(t.starts).toEqual(starts);
    expect(t.ids.length).toBe(starts.length);
  });
  it('a repeated piece comes from the cache and gives the same ids', () => {
    const a = tok.encode('hello<|sep|>hello');
    expect(a.ids.slice(0, 1)).toEqual(a.ids.slice(2, 3));
  });
});

describe('piece-wise encoding equals one encode of the whole text (Qwen3)', async () => {
  const model = await loadBuiltinModel(nodeFs, 'qwen3');
  const ours = new PromptTokenizer(model);
  const whole = new Tokenizer(model.tokenizer.json, model.tokenizer.config);
  const texts = [
    '<|im_start|>system\nYou are helpful.<|im_end|>\n<|im_start|>user\nhello   world\n\n\n<|im_end|>\n<|im_start|>assistant\n',
    '<think>\n\n</think>\n\n{"name": "read_file", "arguments": {"path": "src/ä.ts"}}<|im_end|>',
    '日本語のテキスト 😀👍🏽 e\u0301 ١٢٣ 12345678 \t\t x<|endoftext|>y<tool_call>z</tool_call>',
    '  leading and trailing  ',
    '<|im_start|><|im_start|>',
  ];
  it.each(texts)('%j', (text) => {
    expect(ours.encode(text).ids).toEqual(whole.encode(text, { add_special_tokens: true }).ids);
  });
});
