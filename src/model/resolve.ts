import { dirname, join } from 'node:path';
import { KvdiffError } from '../errors.js';
import { loadBuiltinModel, BUILTIN_MODELS } from './builtin.js';
import type { ModelFs } from './fs.js';
import { loadGgufModel } from './gguf/model.js';
import { loadHfFolder } from './hf/folder.js';
import { readSpecialTokens } from './hf/special.js';
import { chooseTemplate, templatesFromValue } from './hf/template.js';
import { resolveHubModel } from './hf/hub.js';
import type { ModelInfo } from './types.js';
import { readJsonFile, readTextFile, sha256 } from './files.js';

/** The model-source options every command takes. At most one of model/gguf/hf. */
export interface ModelOptions {
  /** `qwen3` (built in) or a Hub id `org/name[@revision]`. */
  model?: string;
  gguf?: string;
  hf?: string;
  /** Overrides the chat template: a `.jinja` file, or a JSON file with `chat_template`. */
  template?: string;
  /** Overrides the tokenizer: a `tokenizer.json` file or a folder holding one. */
  tokenizer?: string;
  templateName?: string;
}

/** What resolving a Hub id needs from the outside world (passed in by the CLI). */
export interface ResolveContext {
  fs: ModelFs;
  env: Record<string, string | undefined>;
  homeDir: string;
  fetch: typeof fetch;
  onProgress?: (message: string) => void;
  /** Folder for prepared tokenizers (model/prepared.ts); undefined = no cache. */
  cacheDir?: string;
}

export const DEFAULT_MODEL = 'qwen3';

/** Picks the model source from the options, then applies --template / --tokenizer overrides. */
export async function resolveModel(opts: ModelOptions, ctx: ResolveContext): Promise<ModelInfo> {
  const chosen = [opts.model && '--model', opts.gguf && '--gguf', opts.hf && '--hf'].filter(Boolean);
  if (chosen.length > 1) throw new KvdiffError(`${chosen.join(' and ')} both name a model: pass only one`);
  const { fs } = ctx;
  let model: ModelInfo;
  if (opts.gguf) {
    model = await loadGgufModel(fs, opts.gguf, { templateName: opts.templateName });
  } else if (opts.hf) {
    model = await loadHfFolder(fs, opts.hf, { templateName: opts.templateName });
  } else {
    const name = opts.model ?? DEFAULT_MODEL;
    if ((BUILTIN_MODELS as readonly string[]).includes(name) || !name.includes('/')) {
      model = await loadBuiltinModel(fs, name, { cache: ctx.cacheDir ? { fs, dir: ctx.cacheDir } : undefined });
    } else {
      model = await resolveHubModel(fs, name, {
        env: ctx.env,
        fetch: ctx.fetch,
        homeDir: ctx.homeDir,
        onProgress: ctx.onProgress,
        templateName: opts.templateName,
      });
    }
  }
  if (opts.tokenizer) model = await withTokenizer(fs, model, opts.tokenizer);
  if (opts.template) model = await withTemplate(fs, model, opts.template, opts.templateName);
  return model;
}

async function withTemplate(fs: ModelFs, model: ModelInfo, file: string, name?: string): Promise<ModelInfo> {
  let text: string;
  let templateName: string | undefined;
  if (file.endsWith('.json')) {
    const json = await readJsonFile(fs, file, 'chat template');
    const chosen = chooseTemplate(templatesFromValue(json.chat_template, file), file, name);
    text = chosen.text;
    templateName = chosen.name;
  } else {
    text = await readTextFile(fs, file, 'chat template');
  }
  return {
    ...model,
    chatTemplate: text,
    source: { ...model.source, templateFile: file, templateSha256: sha256(text), templateName, name: `${model.source.name} + ${file}` },
  };
}

async function withTokenizer(fs: ModelFs, model: ModelInfo, path: string): Promise<ModelInfo> {
  const isDir = await fs.isDirectory(path);
  const file = isDir ? join(path, 'tokenizer.json') : path;
  const json = await readJsonFile(fs, file, 'tokenizer');
  const configFile = join(isDir ? path : dirname(path), 'tokenizer_config.json');
  const config = (await fs.size(configFile)) !== null ? await readJsonFile(fs, configFile, 'tokenizer config') : {};
  const special = readSpecialTokens(config, json);
  return {
    ...model,
    tokenizer: { json, config },
    bosToken: special.bosToken || model.bosToken,
    eosToken: special.eosToken || model.eosToken,
    addBos: special.addBos,
    addEos: special.addEos,
    source: { ...model.source, tokenizerFile: file },
  };
}
