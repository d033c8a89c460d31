/**
 * `--gguf FILE`: the chat template, tokenizer and attention layout of a GGUF model, from its header alone.
 */
import { createHash } from 'node:crypto';
import { KvdiffError } from '../../errors.js';
import type { ModelFs } from '../fs.js';
import { meta, quote, readGgufHeader, type GgufValue } from './header.js';
import { ggufTokenizer } from './tokenizer.js';
import type { ModelInfo } from '../types.js';

const TEMPLATE_KEY = 'tokenizer.chat_template';
/** What `tokenizer.chat_template` itself is called when named templates are listed. */
export const GGUF_DEFAULT_TEMPLATE_NAME = 'default';

export interface GgufModelOptions {
  /** A named template (`tokenizer.chat_template.<name>`); `default` is `tokenizer.chat_template`. */
  templateName?: string;
}

/** All chat templates in the header: `default` for `tokenizer.chat_template`, plus every named one. */
export function ggufTemplates(m: Map<string, GgufValue>): Record<string, string> {
  const out: Record<string, string> = {};
  const main = meta.string(m, TEMPLATE_KEY);
  if (main !== undefined) out[GGUF_DEFAULT_TEMPLATE_NAME] = main;
  for (const [key, value] of m) {
    if (key.startsWith(`${TEMPLATE_KEY}.`) && typeof value === 'string') out[key.slice(TEMPLATE_KEY.length + 1)] = value;
  }
  return out;
}

/**
 * Architectures whose memory is recurrent or hybrid (llama.cpp's `llm_arch_is_recurrent` / `llm_arch_is_hybrid`):
 * the server cannot keep an arbitrary prefix of their state.
 */
const RECURRENT_ARCHS = new Set([
  'mamba', 'mamba2', 'rwkv6', 'rwkv6qwen2', 'rwkv7', 'arwkv7', 'jamba', 'falcon-h1', 'plamo2', 'granitehybrid',
  'lfm2', 'lfm2moe', 'nemotron_h', 'nemotron_h_moe', 'qwen3next', 'qwen35', 'qwen35moe', 'qwen4exp', 'kimi-linear',
  'kimi-k3', 'bailingmoe3', 'deepseek4', 'minimax-01',
]);

function chooseTemplate(templates: Record<string, string>, name: string | undefined, file: string): [string, string | undefined] {
  const names = Object.keys(templates);
  if (names.length === 0) {
    throw new KvdiffError(`${file}: GGUF has no chat template (${TEMPLATE_KEY})`, 'pass --template FILE with the chat template to use');
  }
  if (name === undefined) {
    const main = templates[GGUF_DEFAULT_TEMPLATE_NAME];
    if (main === undefined) {
      throw new KvdiffError(`${file}: GGUF has no default chat template; named ones: ${names.map(quote).join(', ')}`, 'pick one with --template-name NAME');
    }
    return [main, undefined];
  }
  const text = templates[name];
  if (text === undefined) {
    throw new KvdiffError(`${file}: GGUF has no chat template named ${quote(name)}; available: ${names.map(quote).join(', ')}`);
  }
  return [text, name];
}

/** Everything kvdiff needs from a GGUF file, read from its header (tensor data is never read). */
export async function loadGgufModel(fs: ModelFs, path: string, options: GgufModelOptions = {}): Promise<ModelInfo> {
  const { metadata } = await readGgufHeader(fs, path);
  return ggufModelFromMetadata(metadata, path, options);
}

/** `loadGgufModel` for a header already read. */
export function ggufModelFromMetadata(metadata: Map<string, GgufValue>, path: string, options: GgufModelOptions = {}): ModelInfo {
  const templates = ggufTemplates(metadata);
  const [chatTemplate, templateName] = chooseTemplate(templates, options.templateName, path);
  const tok = ggufTokenizer(metadata, path);
  const arch = meta.string(metadata, 'general.architecture') ?? '';
  // Some architectures store a per-layer list here; only a plain number is a window size.
  const window = arch ? metadata.get(`${arch}.attention.sliding_window`) : undefined;
  return {
    source: {
      kind: 'gguf',
      name: path,
      templateFile: path,
      tokenizerFile: path,
      templateSha256: createHash('sha256').update(chatTemplate, 'utf8').digest('hex'),
      ...(templateName !== undefined ? { templateName } : {}),
    },
    chatTemplate,
    ...(Object.keys(templates).length > 1 ? { namedTemplates: templates } : {}),
    tokenizer: tok.tokenizer,
    bosToken: tok.bosToken,
    eosToken: tok.eosToken,
    addBos: tok.addBos,
    addEos: tok.addEos,
    memory: { nSwa: typeof window === 'number' ? window : 0, recurrent: RECURRENT_ARCHS.has(arch) },
  };
}
