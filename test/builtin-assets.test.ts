/**
 * The embedded model's files (assets/qwen3/): the bytes kvdiff ships are the ones its README names, and the
 * built-in model reads them from there (no dependency holds them).
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { loadBuiltinModel } from '../src/model/builtin.ts';
import { nodeFs } from '../src/node/fs.ts';
import { QWEN3_ASSETS, QWEN3_CONFIG_BYTES, QWEN3_TOKENIZER_BYTES } from './qwen3-files.ts';

const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

describe('assets/qwen3', () => {
  it('inflates to the tokenizer.json and tokenizer_config.json whose hashes its README lists', () => {
    const readme = readFileSync(`${QWEN3_ASSETS}README.md`, 'utf8');
    const listed = (file: string) => new RegExp(`\\| \`${file.replace('.', '\\.')}\` \\|[^|]*\\| \`([0-9a-f]{64})\` \\|`).exec(readme)?.[1];
    expect(listed('tokenizer.json')).toBe(sha(QWEN3_TOKENIZER_BYTES));
    expect(listed('tokenizer_config.json')).toBe(sha(QWEN3_CONFIG_BYTES));
  });

  it('carries the licence of the files beside them', () => {
    expect(readFileSync(`${QWEN3_ASSETS}LICENSE`, 'utf8')).toMatch(/Apache License\s+Version 2\.0/);
  });

  it('is what the built-in model loads: its template and its tokenizer', async () => {
    const config = JSON.parse(QWEN3_CONFIG_BYTES.toString('utf8')) as { chat_template: string };
    const plain = await loadBuiltinModel(nodeFs, 'qwen3');
    expect(plain.chatTemplate).toBe(config.chat_template);
    expect(plain.source.tokenizerFile).toBe('kvdiff:assets/qwen3/tokenizer.json.gz');
    const original = JSON.parse(QWEN3_TOKENIZER_BYTES.toString('utf8')) as { model: { vocab: Record<string, number> } };
    expect((plain.tokenizer.json.model as { vocab: Record<string, number> }).vocab['Hello']).toBe(original.model.vocab['Hello']);
    expect(Object.keys((plain.tokenizer.json.model as { vocab: object }).vocab).length).toBe(Object.keys(original.model.vocab).length);
  });
});
