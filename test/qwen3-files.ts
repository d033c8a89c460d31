/**
 * The embedded Qwen3 tokenizer's files as the tests need them: kvdiff ships tokenizer.json gzipped in
 * `assets/qwen3/` (see its README); these are the original bytes, inflated once per test file.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';

export const QWEN3_ASSETS = fileURLToPath(new URL('../assets/qwen3/', import.meta.url));

/** Qwen3's tokenizer.json, byte for byte. */
export const QWEN3_TOKENIZER_BYTES: Buffer = gunzipSync(readFileSync(`${QWEN3_ASSETS}tokenizer.json.gz`));
/** Qwen3's tokenizer_config.json (with the chat template), byte for byte. */
export const QWEN3_CONFIG_BYTES: Buffer = readFileSync(`${QWEN3_ASSETS}tokenizer_config.json`);
