/**
 * The local Hugging Face Hub cache, in huggingface_hub's own layout so both tools share it:
 * `<cache>/models--ORG--NAME/refs/<revision>` holds a commit hash, `snapshots/<commit>/<file>` the files,
 * `.no_exist/<commit>/<file>` marks files the Hub does not have.
 */
import { join } from 'node:path';
import { KvdiffError } from '../../errors.js';
import type { ModelFs } from '../fs.js';
import { HF_REQUIRED_FILES } from './folder.js';

export const HUB_DEFAULT_REVISION = 'main';
const COMMIT_RE = /^[0-9a-f]{40}$/;
/** huggingface_hub's repo-id rule: `org/name`, word characters, `-` and `.`, no `--` or `..`, at most 96 characters. */
const REPO_PART_RE = /^[A-Za-z0-9][\w.-]*$/;
const MAX_REPO_ID_LENGTH = 96;

export interface HubId {
  /** `org/name`. */
  repo: string;
  /** Branch, tag or commit hash; `main` when not given. */
  revision: string;
}

export function isCommitHash(s: string): boolean {
  return COMMIT_RE.test(s);
}

/** Parse `org/name[@revision]`; anything else is a KvdiffError. */
export function parseHubId(spec: string): HubId {
  const at = spec.indexOf('@');
  const repo = at < 0 ? spec : spec.slice(0, at);
  const revision = at < 0 ? HUB_DEFAULT_REVISION : spec.slice(at + 1);
  const parts = repo.split('/');
  const ok =
    parts.length === 2 &&
    parts.every((p) => REPO_PART_RE.test(p) && !p.includes('--') && !p.includes('..') && !p.endsWith('.')) &&
    repo.length <= MAX_REPO_ID_LENGTH &&
    revision !== '' &&
    !revision.split('/').some((seg) => seg === '' || seg === '.' || seg === '..') &&
    !/[\s\\]/.test(revision);
  if (!ok) {
    throw new KvdiffError(
      `"${spec}" is not a Hugging Face model id`,
      'use ORG/NAME or ORG/NAME@REVISION (e.g. Qwen/Qwen3-8B@main), or --hf DIR for a local folder',
    );
  }
  return { repo, revision };
}

function expandHome(p: string, homeDir: string): string {
  return p === '~' || p.startsWith('~/') ? join(homeDir, p.slice(1)) : p;
}

/** `$HF_HUB_CACHE`, else `$HF_HOME/hub`, else `$XDG_CACHE_HOME/huggingface/hub`, else `~/.cache/huggingface/hub`. */
export function hubCacheDir(env: Record<string, string | undefined>, homeDir: string): string {
  const direct = env.HF_HUB_CACHE || env.HUGGINGFACE_HUB_CACHE;
  if (direct) return expandHome(direct, homeDir);
  if (env.HF_HOME) return join(expandHome(env.HF_HOME, homeDir), 'hub');
  const xdg = env.XDG_CACHE_HOME ? expandHome(env.XDG_CACHE_HOME, homeDir) : join(homeDir, '.cache');
  return join(xdg, 'huggingface', 'hub');
}

/** `models--ORG--NAME` inside the cache. */
export function repoCacheDir(cacheDir: string, repo: string): string {
  return join(cacheDir, `models--${repo.split('/').join('--')}`);
}

/** The commit a revision points to in the cache, or null. */
export async function cachedCommit(fs: ModelFs, repoDir: string, revision: string): Promise<string | null> {
  if (isCommitHash(revision)) return revision;
  const ref = join(repoDir, 'refs', revision);
  if ((await fs.size(ref)) === null) return null;
  const commit = new TextDecoder().decode(await fs.readFile(ref)).trim();
  return isCommitHash(commit) ? commit : null;
}

/** The snapshot folder for `revision` when it holds the required tokenizer files, else null. */
export async function findCachedSnapshot(fs: ModelFs, repoDir: string, revision: string): Promise<string | null> {
  const commit = await cachedCommit(fs, repoDir, revision);
  if (commit === null) return null;
  const dir = join(repoDir, 'snapshots', commit);
  for (const f of HF_REQUIRED_FILES) if ((await fs.size(join(dir, f))) === null) return null;
  return dir;
}
