/**
 * The Node.js side of kvdiff, shared by the CLI and the library: the file system, the Hub cache folder, the
 * environment, `fetch` and the clock are read here and handed to the core, which never touches them.
 */
import { homedir } from 'node:os';
import type { Backend } from '../backends.js';
import type { CacheConfig } from '../cache.js';
import { Engine } from '../engine.js';
import { preparedCacheDir } from '../model/prepared.js';
import { resolveModel, type ModelOptions } from '../model/resolve.js';
import { loadGgufModel } from '../model/gguf/model.js';
import type { ModelInfo, ModelMemoryInfo } from '../model/types.js';
import type { Processor } from '../processor.js';
import type { Deadline } from '../deadline.js';
import { RemoteEngine } from '../remote.js';
import { nodeFs } from './fs.js';

/** Where the model comes from and whose handling to predict: every way kvdiff renders and tokenizes. */
export interface OpenOptions extends ModelOptions {
  backend: Backend;
  /** Server cache settings (--cache-reuse, SWA checkpoints, block size). */
  cache?: Partial<CacheConfig>;
  /** The clock templates see. */
  now: Date;
  /** A model already resolved (skips loading). */
  modelInfo?: ModelInfo;
  /** A running llama-server that renders and tokenizes instead (`--server URL`). */
  server?: string;
  /** The command's overall deadline (`--timeout`): every render, tokenization and server request shares it. */
  deadline?: Deadline;
}

export interface NodeHost {
  env: Record<string, string | undefined>;
  /** Progress lines while a model downloads or a tokenizer is prepared. */
  onProgress?: (message: string) => void;
}

/** This process's environment, without progress output (the library's host). */
export function processHost(): NodeHost {
  return { env: process.env };
}

/** Resolves the model on this machine (files, Hub cache, prepared-tokenizer folder). */
export function loadModel(opts: ModelOptions, host: NodeHost): Promise<ModelInfo> {
  return resolveModel(opts, {
    fs: nodeFs,
    env: host.env,
    homeDir: homedir(),
    fetch: globalThis.fetch,
    ...(host.onProgress ? { onProgress: host.onProgress } : {}),
    cacheDir: preparedCacheDir(host.env, homedir()),
  });
}

/** The processor for these options: a connection to `--server`, or kvdiff's own engine on the resolved model. */
export async function openProcessor(opts: OpenOptions, host: NodeHost): Promise<Processor> {
  if (opts.server) {
    return RemoteEngine.connect(opts.server, globalThis.fetch, { now: opts.now, cache: opts.cache, deadline: opts.deadline, memoryOf: ggufMemory });
  }
  const model = opts.modelInfo ?? (await loadModel(opts, host));
  return new Engine({ model, backend: opts.backend, cache: opts.cache, now: opts.now, deadline: opts.deadline });
}

/** The memory layout in a local GGUF file's header; undefined when the path is not a GGUF file kvdiff can read. */
async function ggufMemory(path: string): Promise<ModelMemoryInfo | undefined> {
  if (!/\.gguf$/i.test(path)) return undefined;
  try {
    return (await loadGgufModel(nodeFs, path)).memory;
  } catch {
    return undefined;
  }
}

/** Today's date as midnight UTC (the calendar day of this machine): what templates see unless `--date` says. */
export function todayUtc(): Date {
  const d = new Date();
  return new Date(Date.UTC(d.getFullYear(), d.getMonth(), d.getDate()));
}
