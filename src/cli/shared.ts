import { Command, Option } from 'commander';
import { KvdiffError } from '../errors.js';
import type { Processor } from '../processor.js';
import { BACKEND_CHOICES, backendProfile, type Backend } from '../backends.js';
import type { CacheConfig } from '../cache.js';
import type { ModelOptions } from '../model/resolve.js';
import { MAX_BODY_BYTES } from '../payload/json.js';
import { decodeUtf8, type RequestBody } from '../payload/body.js';
import { API_CHOICES, readClientBody, type Api } from '../dialect/index.js';
import { readBounded } from '../node/read.js';
import { safeText } from '../report/format.js';
import { parseDate } from '../clock.js';
import { Deadline, DEFAULT_TIMEOUT_MS } from '../deadline.js';
import type { CliContext } from './context.js';

/** Options shared by every command that renders: where the model comes from, the backend, the clock. */
export interface EngineCliOptions extends ModelOptions {
  server?: string;
  backend: Backend;
  /** Which endpoint the bodies were sent to (default: detected from their shape). */
  api?: Api;
  date?: string;
  cacheReuse?: number;
  swaFull?: boolean;
  ctxCheckpoints?: number;
  checkpointMinStep?: number;
  batchSize?: number;
  ubatchSize?: number;
  blockSize?: number;
  pageSize?: number;
  /** Seconds the whole command may take. */
  timeout?: number;
}

function count(flag: string) {
  return (v: string): number => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < 0) throw new KvdiffError(`${flag} takes a whole number, got ${JSON.stringify(v)}`);
    return n;
  };
}

export function addEngineOptions(cmd: Command): Command {
  return cmd
    .option('--model <name>', 'built-in model (qwen3) or a Hugging Face Hub id org/name[@revision]')
    .option('--gguf <file>', 'read chat template and tokenizer from a GGUF file (header only)')
    .option('--hf <dir>', 'a local Hugging Face model folder (tokenizer.json, tokenizer_config.json, chat template)')
    .option('--server <url>', 'ask a running llama-server for the exact render and tokens (/apply-template, /tokenize)')
    .option('--template <file>', 'use this chat template instead (.jinja, or .json with chat_template)')
    .option('--template-name <name>', 'pick a named chat template (tool_use, ...)')
    .option('--tokenizer <file|dir>', 'use this tokenizer.json (or the folder holding it) instead')
    .addOption(new Option('--backend <name>', 'whose request handling and cache to predict').choices([...BACKEND_CHOICES]).default('llama.cpp'))
    .addOption(new Option('--api <dialect>', 'the endpoint the bodies were sent to (default: detected from their shape; .txt files are rendered prompts)').choices([...API_CHOICES]))
    .option('--date <YYYY-MM-DD>', 'the date templates see (strftime_now, date_string); default today')
    .option('--cache-reuse <n>', 'llama-server --cache-reuse: reuse shifted chunks of at least n tokens', count('--cache-reuse'))
    .option('--swa-full', 'llama-server --swa-full: full-size SWA cache, no checkpoint fallback')
    .option('--ctx-checkpoints <n>', 'llama-server --ctx-checkpoints (default 32)', count('--ctx-checkpoints'))
    .option('--checkpoint-min-step <n>', 'llama-server --checkpoint-min-step (default 8192)', count('--checkpoint-min-step'))
    .option('--batch-size <n>', 'llama-server -b (default 2048)', count('--batch-size'))
    .option('--ubatch-size <n>', 'llama-server -ub (default 512)', count('--ubatch-size'))
    .option('--block-size <n>', 'vLLM --block-size (default 16)', count('--block-size'))
    .option('--page-size <n>', 'SGLang --page-size (default 1)', count('--page-size'))
    .option('--timeout <seconds>', `stop with exit 2 when the whole command takes longer (default ${DEFAULT_TIMEOUT_MS / 1000})`, seconds);
}

function seconds(v: string): number {
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0) throw new KvdiffError(`--timeout takes a number of seconds above 0, got ${JSON.stringify(v)}`);
  return n;
}

export async function buildEngine(opts: EngineCliOptions, ctx: CliContext): Promise<Processor> {
  if (opts.server) checkServerFlags(opts);
  // loaded here, not at start-up: `--help`, usage errors and `logs` never need the engine, model or tokenizer
  const { openProcessor, todayUtc } = await import('../node/open.js');
  const now = opts.date ? parseDate(opts.date) : todayUtc();
  const deadline = new Deadline(opts.timeout === undefined ? DEFAULT_TIMEOUT_MS : opts.timeout * 1000);
  return openProcessor({ ...opts, now, cache: cacheOptions(opts), deadline }, { env: ctx.env, onProgress: (m) => ctx.stderr(`${safeText(m)}\n`) });
}

/** `--server` renders with the server's own template and tokenizer, as llama.cpp. */
function checkServerFlags(opts: EngineCliOptions): void {
  const clash = [opts.model && '--model', opts.gguf && '--gguf', opts.hf && '--hf', opts.template && '--template', opts.tokenizer && '--tokenizer'].filter(Boolean);
  if (clash.length) throw new KvdiffError(`--server uses the server's own template and tokenizer: drop ${clash.join(', ')}`);
  if (opts.backend !== 'llama.cpp') throw new KvdiffError('--server asks llama-server itself: --backend must be llama.cpp');
}

function cacheOptions(opts: EngineCliOptions): Partial<CacheConfig> {
  const cache: Partial<CacheConfig> = {};
  if (opts.cacheReuse !== undefined) cache.cacheReuse = opts.cacheReuse;
  if (opts.swaFull) cache.swaFull = true;
  if (opts.ctxCheckpoints !== undefined) cache.ctxCheckpoints = opts.ctxCheckpoints;
  if (opts.checkpointMinStep !== undefined) cache.checkpointMinStep = opts.checkpointMinStep;
  if (opts.batchSize !== undefined) cache.nBatch = opts.batchSize;
  if (opts.ubatchSize !== undefined) cache.nUbatch = opts.ubatchSize;
  // SGLang calls its unit a page (--page-size), vLLM a block (--block-size)
  const rules = backendProfile(opts.backend).cache;
  const block = rules.rules === 'paged' && rules.unit === 'page' ? opts.pageSize : opts.blockSize;
  if (block !== undefined) {
    if (block < 1) throw new KvdiffError('--block-size and --page-size take a whole number of at least 1');
    cache.blockSize = block;
  }
  return cache;
}

/** Reads a request body (any dialect, or a rendered prompt .txt) from a file, or from standard input for `-`, within MAX_BODY_BYTES. */
export async function readBodyArg(path: string, ctx: CliContext, api?: Api): Promise<RequestBody> {
  const label = path === '-' ? 'stdin' : path;
  const data = path === '-' ? await ctx.readStdin() : await readBounded(path, MAX_BODY_BYTES, '');
  return readClientBody(typeof data === 'string' ? data : decodeUtf8(data, label), label, api);
}
