import { promises as fsp } from 'node:fs';
import { homedir } from 'node:os';
import { Command, Option } from 'commander';
import { KvdiffError } from '../errors.js';
import { Engine } from '../engine.js';
import { BACKENDS, type BackendName } from '../normalize.js';
import { resolveModel, type ModelOptions } from '../model/resolve.js';
import { MAX_BODY_BYTES } from '../payload/json.js';
import { readBody, type RequestBody } from '../payload/body.js';
import { parseDate } from '../clock.js';
import type { CliContext } from './context.js';
import { nodeFs } from './node-fs.js';

/** Options shared by every command that renders: where the model comes from, the backend, the clock. */
export interface EngineCliOptions extends ModelOptions {
  backend: BackendName;
  date?: string;
}

export function addEngineOptions(cmd: Command): Command {
  return cmd
    .option('--model <name>', 'built-in model (qwen3) or a Hugging Face Hub id org/name[@revision]')
    .option('--gguf <file>', 'read chat template and tokenizer from a GGUF file (header only)')
    .option('--hf <dir>', 'a local Hugging Face model folder (tokenizer.json, tokenizer_config.json, chat template)')
    .option('--template <file>', 'use this chat template instead (.jinja, or .json with chat_template)')
    .option('--template-name <name>', 'pick a named chat template (tool_use, ...)')
    .option('--tokenizer <file|dir>', 'use this tokenizer.json (or the folder holding it) instead')
    .addOption(new Option('--backend <name>', 'whose request handling to predict').choices([...BACKENDS]).default('llama.cpp'))
    .option('--date <YYYY-MM-DD>', 'the date templates see (strftime_now, date_string); default today');
}

function today(): Date {
  const now = new Date();
  return new Date(Date.UTC(now.getFullYear(), now.getMonth(), now.getDate()));
}

export async function buildEngine(opts: EngineCliOptions, ctx: CliContext): Promise<Engine> {
  const model = await resolveModel(opts, {
    fs: nodeFs,
    env: ctx.env,
    homeDir: homedir(),
    fetch: globalThis.fetch,
    onProgress: (m) => ctx.stderr(`${m}\n`),
  });
  return new Engine({ model, backend: opts.backend, now: opts.date ? parseDate(opts.date) : today() });
}

/** Reads a request body from a file, or from standard input for `-`. */
export async function readBodyArg(path: string, ctx: CliContext): Promise<RequestBody> {
  let text: string;
  if (path === '-') {
    text = await ctx.readStdin();
  } else {
    let size: number;
    try {
      const st = await fsp.stat(path);
      if (st.isDirectory()) throw new KvdiffError(`${path} is a folder, not a request body`);
      size = st.size;
    } catch (err) {
      if (err instanceof KvdiffError) throw err;
      throw new KvdiffError(`cannot read ${path}: ${describeFsError(err)}`);
    }
    if (size > MAX_BODY_BYTES) throw new KvdiffError(`${path} is ${size} bytes, over the ${MAX_BODY_BYTES}-byte limit for a request body`);
    try {
      text = await fsp.readFile(path, 'utf8');
    } catch (err) {
      throw new KvdiffError(`cannot read ${path}: ${describeFsError(err)}`);
    }
  }
  return readBody(text, path === '-' ? 'stdin' : path);
}

function describeFsError(err: unknown): string {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') return 'no such file';
  if (code === 'EACCES') return 'permission denied';
  return code ?? (err as Error).message;
}
