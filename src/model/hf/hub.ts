/**
 * `--model ORG/NAME[@REVISION]`: a Hugging Face Hub model. The local Hugging Face cache is tried first (so
 * files Python users already downloaded work offline); otherwise only the tokenizer and template files are
 * downloaded into that same cache, every file complete before anything is written, and the ref written last.
 */
import { join } from 'node:path';
import { KvdiffError } from '../../errors.js';
import type { ModelFs } from '../fs.js';
import type { ModelInfo } from '../types.js';
import { loadHfFolder, HF_REQUIRED_FILES, HF_TOKENIZER_CONFIG_FILE, HF_TOKENIZER_FILE, HF_WANTED_FILES } from './folder.js';
import { findCachedSnapshot, hubCacheDir, isCommitHash, parseHubId, repoCacheDir } from './cache.js';
import { hubGet, HUB_REQUEST_TIMEOUT_MS, type HubResponse } from './http.js';
import { bpeEncoder } from '../../tokenize/bpe.js';
import { buildTokenizer, checkTokenizerJson } from '../tokenizer-check.js';

export { parseHubId, hubCacheDir } from './cache.js';
export { HUB_REQUEST_TIMEOUT_MS, HUB_MAX_FILE_BYTES } from './http.js';

export const HUB_DEFAULT_ENDPOINT = 'https://huggingface.co';
const TRUE_VALUES = new Set(['1', 'true', 'yes', 'on']);

export interface HubOptions {
  env: Record<string, string | undefined>;
  fetch: typeof fetch;
  /** One line per step (the CLI prints these on stderr). */
  onProgress?: (msg: string) => void;
  homeDir: string;
  /** Named chat template, as for `--hf`. */
  templateName?: string;
  /** Per-request deadline; HUB_REQUEST_TIMEOUT_MS when not given. */
  timeoutMs?: number;
}

const JSON_FILES = new Set<string>(HF_WANTED_FILES.filter((f) => f.endsWith('.json')));
const REQUIRED = new Set<string>(HF_REQUIRED_FILES);

function formatBytes(n: number): string {
  return n >= 1024 * 1024 ? `${(n / 1024 / 1024).toFixed(1)} MB` : `${Math.max(1, Math.round(n / 1024))} kB`;
}

/** A downloaded JSON file must be a JSON object: an HTML page or a truncated body means a wrong endpoint. */
function checkJson(url: string, body: Uint8Array): void {
  const text = new TextDecoder().decode(body);
  let ok = false;
  try {
    const v: unknown = JSON.parse(text);
    ok = typeof v === 'object' && v !== null && !Array.isArray(v);
  } catch {
    ok = false;
  }
  if (!ok) {
    const start = JSON.stringify(text.slice(0, 40));
    throw new KvdiffError(`${url} did not return a JSON object (starts ${start}); is HF_ENDPOINT a Hugging Face endpoint?`);
  }
}

function refusal(repo: string, revision: string, file: string, res: HubResponse, endpoint: string, hasToken: boolean): KvdiffError {
  const tokenHint = hasToken ? 'check that HF_TOKEN has access to it' : 'set HF_TOKEN if it is private or gated';
  if (res.errorCode === 'RevisionNotFound') {
    return new KvdiffError(`revision "${revision}" of ${repo} not found on ${endpoint}`);
  }
  if (res.errorCode === 'EntryNotFound' || (res.status === 404 && file !== HF_TOKENIZER_CONFIG_FILE && !res.errorCode)) {
    return new KvdiffError(
      `${repo}@${revision} has no ${file}; kvdiff needs a Hugging Face fast tokenizer (tokenizer.json + tokenizer_config.json)`,
      'pass --gguf FILE with a converted model instead',
    );
  }
  if (res.status === 401 || res.status === 404 || res.errorCode === 'RepoNotFound') {
    return new KvdiffError(`Hub model ${repo} not found on ${endpoint} (HTTP ${res.status})`, tokenHint);
  }
  if (res.status === 403) {
    return new KvdiffError(`access to ${repo} on ${endpoint} was refused (HTTP 403)`, tokenHint);
  }
  return new KvdiffError(`${endpoint} answered HTTP ${res.status} for ${repo}/${file}`);
}

async function writeAll(fs: ModelFs, files: [string, Uint8Array | string][]): Promise<void> {
  for (const [path, data] of files) {
    try {
      await fs.writeFileAtomic(path, data);
    } catch (err) {
      const code = (err as { code?: string }).code ?? (err as Error).message;
      throw new KvdiffError(`could not write ${path} (${code})`);
    }
  }
}

export async function resolveHubModel(fs: ModelFs, id: string, opts: HubOptions): Promise<ModelInfo> {
  const { repo, revision } = parseHubId(id);
  const cacheDir = hubCacheDir(opts.env, opts.homeDir);
  const repoDir = repoCacheDir(cacheDir, repo);
  const load = async (dir: string): Promise<ModelInfo> => {
    const info = await loadHfFolder(fs, dir, { templateName: opts.templateName });
    return { ...info, source: { ...info.source, kind: 'hub', name: id } };
  };

  const cached = await findCachedSnapshot(fs, repoDir, revision);
  if (cached !== null) return load(cached);

  const endpoint = (opts.env.HF_ENDPOINT || HUB_DEFAULT_ENDPOINT).replace(/\/+$/, '');
  const fallback = `kvdiff looked in ${repoDir} first — download the files there or pass --hf DIR`;
  if (TRUE_VALUES.has((opts.env.HF_HUB_OFFLINE ?? '').toLowerCase())) {
    throw new KvdiffError(`${repo}@${revision} is not in the Hugging Face cache and HF_HUB_OFFLINE is set; ${fallback}`);
  }
  const token = opts.env.HF_TOKEN || opts.env.HUGGING_FACE_HUB_TOKEN || undefined;
  const get = (rev: string, file: string) =>
    hubGet(`${endpoint}/${repo}/resolve/${encodeURIComponent(rev)}/${file}`, {
      fetch: opts.fetch,
      token,
      timeoutMs: opts.timeoutMs ?? HUB_REQUEST_TIMEOUT_MS,
      unreachableHint: fallback,
    });

  // tokenizer_config.json first: it tells whether the repo exists and which commit the revision names;
  // the other files are then asked for at that commit, so they all come from one snapshot.
  opts.onProgress?.(`downloading ${repo}@${revision} tokenizer files from ${endpoint} into ${repoDir}`);
  const bodies = new Map<string, Uint8Array>();
  const absent: string[] = [];
  let commit: string | null = isCommitHash(revision) ? revision : null;
  for (const file of HF_WANTED_FILES) {
    const res = await get(commit ?? revision, file);
    if (file === HF_TOKENIZER_CONFIG_FILE) {
      commit = commit ?? res.commit;
      if (res.body !== null && (commit === null || !isCommitHash(commit))) {
        throw new KvdiffError(
          `${endpoint} sent no valid X-Repo-Commit header for ${repo}; is HF_ENDPOINT a Hugging Face endpoint?`,
        );
      }
    }
    if (res.body === null) {
      if (res.status === 404 && !REQUIRED.has(file)) {
        absent.push(file);
        continue;
      }
      throw refusal(repo, revision, file, res, endpoint, token !== undefined);
    }
    if (JSON_FILES.has(file)) checkJson(`${endpoint}/${repo}/resolve/${commit}/${file}`, res.body);
    bodies.set(file, res.body);
    opts.onProgress?.(`  ${file} (${formatBytes(res.body.byteLength)})`);
  }

  // a tokenizer kvdiff cannot use is refused before anything is cached, so later runs do not load it again
  const url = `${endpoint}/${repo}/resolve/${commit}/${HF_TOKENIZER_FILE}`;
  const parse = (f: string) => JSON.parse(new TextDecoder().decode(bodies.get(f)!)) as Record<string, unknown>;
  const tokenizerJson = parse(HF_TOKENIZER_FILE);
  checkTokenizerJson(tokenizerJson, url);
  buildTokenizer(url, () => bpeEncoder(tokenizerJson, parse(HF_TOKENIZER_CONFIG_FILE)));

  // Optional files first, the required ones next, the ref last: an interrupted run leaves no ref pointing
  // at an incomplete snapshot, and each file is complete or absent (writeFileAtomic).
  const snapshot = join(repoDir, 'snapshots', commit!);
  const order = [...bodies.keys()].sort((a, b) => Number(REQUIRED.has(a)) - Number(REQUIRED.has(b)));
  await writeAll(fs, [
    ...absent.map((f): [string, string] => [join(repoDir, '.no_exist', commit!, f), '']),
    ...order.map((f): [string, Uint8Array] => [join(snapshot, f), bodies.get(f)!]),
    ...(revision === commit ? [] : [[join(repoDir, 'refs', revision), commit!] as [string, string]]),
  ]);
  return load(snapshot);
}
