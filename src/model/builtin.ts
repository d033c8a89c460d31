import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { KvdiffError } from '../errors.js';
import type { ModelFs } from './fs.js';
import type { ModelInfo, TokenizerFiles } from './types.js';
import { tokenText } from './hf/special.js';
import { parseTokenizerJson, preparedTokenizerFiles, readTokenizerBytes, type PreparedCache } from './prepared.js';
import { readJsonFile, sha256 } from './files.js';

/** Models that ship inside kvdiff's dependencies and work offline. */
export const BUILTIN_MODELS = ['qwen3'] as const;

/**
 * The embedded model's files, shipped in kvdiff's package (`assets/qwen3/`: Qwen3's tokenizer.json gzipped, its
 * tokenizer_config.json, their licence). Two folders up from this module, in `src/model/` and `dist/model/` alike.
 */
function qwen3Dir(): string {
  return join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'assets', 'qwen3');
}

export interface BuiltinModelOptions {
  /** The prepared-tokenizer cache (prepared.ts); without it the tokenizer is built from tokenizer.json every time. */
  cache?: PreparedCache;
}

/**
 * The embedded default: Qwen3's tokenizer and chat template (the same template bytes as Qwen3 GGUFs carry), from
 * `assets/qwen3/`. With a cache, the tokenizer's prepared form is read from it (keyed by the file's identity), or
 * built and stored there.
 */
export async function loadBuiltinModel(fs: ModelFs, name: string, options: BuiltinModelOptions = {}): Promise<ModelInfo> {
  if (name !== 'qwen3') {
    throw new KvdiffError(
      `unknown model ${JSON.stringify(name)}`,
      `built-in models: ${BUILTIN_MODELS.join(', ')}; for others pass --gguf FILE, --hf DIR or --model org/name`,
    );
  }
  const dir = qwen3Dir();
  const tokenizerFile = join(dir, 'tokenizer.json.gz');
  const config = await readJsonFile(fs, join(dir, 'tokenizer_config.json'), 'tokenizer config');
  const template = config.chat_template;
  if (typeof template !== 'string') throw new KvdiffError(`the embedded qwen3 tokenizer_config.json has no chat_template`);
  return {
    source: {
      kind: 'builtin',
      name: 'qwen3',
      // package-relative, so reports read the same on every machine
      templateFile: 'kvdiff:assets/qwen3/tokenizer_config.json',
      tokenizerFile: 'kvdiff:assets/qwen3/tokenizer.json.gz',
      templateSha256: sha256(template),
    },
    chatTemplate: template,
    tokenizer: await qwen3Tokenizer(fs, tokenizerFile, config, options.cache),
    // what llama-server passes for Qwen3 GGUFs: bos = <|endoftext|> (id 151643), never added to the prompt
    bosToken: '<|endoftext|>',
    eosToken: tokenText(config.eos_token) || '<|im_end|>',
    addBos: false,
    addEos: false,
    memory: { nSwa: 0, recurrent: false },
  };
}

// llama.cpp's Qwen2/3 vocabulary applies no NFC normalisation (tokenizer.json asks for it); follow the server
const serverForm = (json: Record<string, unknown>) => ({ ...json, normalizer: null });

async function qwen3Tokenizer(fs: ModelFs, file: string, config: Record<string, unknown>, cache?: PreparedCache): Promise<TokenizerFiles> {
  if (!cache) return { json: serverForm(parseTokenizerJson(await readTokenizerBytes(fs, file), file)), config };
  return preparedTokenizerFiles(cache, file, config, serverForm);
}
