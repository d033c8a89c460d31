/**
 * `--hf DIR`: a local Hugging Face model folder (`tokenizer.json`, `tokenizer_config.json`, and optionally
 * `chat_template.jinja`, `additional_chat_templates/*.jinja`, `chat_template.json`, `special_tokens_map.json`).
 */
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { KvdiffError } from '../../errors.js';
import type { ModelFs } from '../fs.js';
import type { ModelInfo } from '../types.js';
import { readSpecialTokens } from './special.js';
import { chooseTemplate, templatesFromValue, DEFAULT_TEMPLATE_NAME, type TemplateSet } from './template.js';

export const HF_TOKENIZER_FILE = 'tokenizer.json';
export const HF_TOKENIZER_CONFIG_FILE = 'tokenizer_config.json';
export const HF_CHAT_TEMPLATE_JINJA = 'chat_template.jinja';
export const HF_CHAT_TEMPLATE_JSON = 'chat_template.json';
export const HF_CHAT_TEMPLATE_DIR = 'additional_chat_templates';
export const HF_SPECIAL_TOKENS_MAP = 'special_tokens_map.json';

/** Files a folder needs; the rest are optional. */
export const HF_REQUIRED_FILES = [HF_TOKENIZER_FILE, HF_TOKENIZER_CONFIG_FILE] as const;
/** Every file kvdiff reads from a folder (what the Hub source downloads). */
export const HF_WANTED_FILES = [
  HF_TOKENIZER_CONFIG_FILE,
  HF_TOKENIZER_FILE,
  HF_CHAT_TEMPLATE_JINJA,
  HF_CHAT_TEMPLATE_JSON,
  HF_SPECIAL_TOKENS_MAP,
] as const;

type Json = Record<string, unknown>;

export interface HfFolderOptions {
  /** Named template to use (`tokenizer_config.json` list form or `additional_chat_templates/NAME.jinja`). */
  templateName?: string;
}

const decoder = new TextDecoder('utf-8');

async function readText(fs: ModelFs, path: string): Promise<string | null> {
  if ((await fs.size(path)) === null) return null;
  return decoder.decode(await fs.readFile(path));
}

async function readJsonObject(fs: ModelFs, path: string): Promise<Json | null> {
  const text = await readText(fs, path);
  if (text === null) return null;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new KvdiffError(`${path} is not valid JSON (${(err as Error).message})`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new KvdiffError(`${path} is not a JSON object`);
  }
  return value as Json;
}

/** Templates from the separate files, when there are any (they win over tokenizer_config.json). */
async function templatesFromFiles(fs: ModelFs, dir: string): Promise<TemplateSet | null> {
  const set: TemplateSet = new Map();
  const extraDir = join(dir, HF_CHAT_TEMPLATE_DIR);
  for (const entry of (await fs.list(extraDir)).sort()) {
    if (!entry.endsWith('.jinja')) continue;
    const file = join(extraDir, entry);
    const text = await readText(fs, file);
    if (text !== null) set.set(entry.slice(0, -'.jinja'.length), { text, file });
  }
  const jinjaFile = join(dir, HF_CHAT_TEMPLATE_JINJA);
  const jinja = await readText(fs, jinjaFile);
  if (jinja !== null) set.set(DEFAULT_TEMPLATE_NAME, { text: jinja, file: jinjaFile });
  if (set.size > 0) return set;

  const jsonFile = join(dir, HF_CHAT_TEMPLATE_JSON);
  const json = await readJsonObject(fs, jsonFile);
  if (json === null) return null;
  if (!('chat_template' in json)) throw new KvdiffError(`${jsonFile} has no "chat_template" key`);
  return templatesFromValue(json.chat_template, jsonFile);
}

export async function loadHfFolder(fs: ModelFs, dir: string, opts: HfFolderOptions = {}): Promise<ModelInfo> {
  if (!(await fs.isDirectory(dir))) {
    throw new KvdiffError(`${dir} is not a folder`, 'pass a Hugging Face model folder to --hf, or a .gguf file to --gguf');
  }
  const missing: string[] = [];
  for (const name of HF_REQUIRED_FILES) if ((await fs.size(join(dir, name))) === null) missing.push(name);
  if (missing.length > 0) {
    throw new KvdiffError(
      `${dir} has no ${missing.join(' or ')}; kvdiff needs a Hugging Face fast tokenizer (tokenizer.json + tokenizer_config.json)`,
      'pass --gguf FILE for a GGUF model, or --model ORG/NAME to fetch the files from the Hub',
    );
  }
  const tokenizerFile = join(dir, HF_TOKENIZER_FILE);
  const configFile = join(dir, HF_TOKENIZER_CONFIG_FILE);
  const json = (await readJsonObject(fs, tokenizerFile))!;
  const config = (await readJsonObject(fs, configFile))!;
  const specialMap = (await readJsonObject(fs, join(dir, HF_SPECIAL_TOKENS_MAP))) ?? {};

  let set = await templatesFromFiles(fs, dir);
  if (set === null) {
    const value = config.chat_template;
    if (value === undefined || value === null) {
      throw new KvdiffError(
        `${dir} has no chat template (no ${HF_CHAT_TEMPLATE_JINJA}, no ${HF_CHAT_TEMPLATE_JSON}, no "chat_template" in ${HF_TOKENIZER_CONFIG_FILE})`,
        `add the template as ${join(dir, HF_CHAT_TEMPLATE_JINJA)}`,
      );
    }
    set = templatesFromValue(value, configFile);
  }
  const chosen = chooseTemplate(set, dir, opts.templateName);
  const special = readSpecialTokens(config, json, specialMap);

  return {
    source: {
      kind: 'hf',
      name: dir,
      templateFile: chosen.file,
      tokenizerFile,
      templateSha256: createHash('sha256').update(chosen.text, 'utf8').digest('hex'),
      ...(chosen.name !== undefined ? { templateName: chosen.name } : {}),
    },
    chatTemplate: chosen.text,
    ...(chosen.named ? { namedTemplates: chosen.named } : {}),
    tokenizer: { json, config },
    ...special,
  };
}
