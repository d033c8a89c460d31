import { describe, it, expect, beforeAll, afterAll, afterEach } from 'vitest';
import { createServer, type IncomingMessage, type ServerResponse, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtemp, mkdir, writeFile, readFile, readdir, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { resolveHubModel, parseHubId, hubCacheDir, type HubOptions } from '../src/model/hf/hub.ts';
import type { ModelFs } from '../src/model/fs.ts';
import { nodeFs } from '../src/node/fs.ts';
import { KvdiffError } from '../src/errors.ts';
import { kvError } from './expect-error.js';
import { QWEN3_CONFIG_BYTES, QWEN3_TOKENIZER_BYTES } from './qwen3-files.ts';

const COMMIT = 'a'.repeat(40);
const COMMIT_V1 = 'b1'.repeat(20);
const REPO = 'Qwen/Qwen3-0.6B';

let qwenTokenizer: Buffer;
let qwenConfig: Buffer;
let root: string;
beforeAll(async () => {
  qwenTokenizer = QWEN3_TOKENIZER_BYTES;
  qwenConfig = QWEN3_CONFIG_BYTES;
  root = await mkdtemp(join(tmpdir(), 'kvdiff-hub-'));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

// ---- the stand-in Hub -------------------------------------------------------------------------------------

type Handler = (req: IncomingMessage, res: ServerResponse, file: string, rev: string) => void;
interface StandIn {
  url: string;
  requests: { path: string; auth?: string }[];
  close(): Promise<void>;
}
const servers: StandIn[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

async function standIn(handler: Handler): Promise<StandIn> {
  const requests: StandIn['requests'] = [];
  const server: Server = createServer((req, res) => {
    requests.push({ path: req.url ?? '', auth: req.headers.authorization });
    const m = /^\/([^/]+\/[^/]+)\/resolve\/([^/]+)\/(.+)$/.exec(req.url ?? '');
    if (!m) {
      res.writeHead(404).end();
      return;
    }
    handler(req, res, m[3], decodeURIComponent(m[2]));
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  const s: StandIn = {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests,
    close: () =>
      new Promise<void>((ok) => {
        server.closeAllConnections();
        server.close(() => ok());
      }),
  };
  servers.push(s);
  return s;
}

/** A Hub with Qwen3's files on `main` (and `v1`), no optional files, commit header as the real Hub sends it. */
const hubFiles =
  (extra: Record<string, string | Buffer> = {}): Handler =>
  (_req, res, file, rev) => {
    const commit = rev === 'v1' || rev === COMMIT_V1 ? COMMIT_V1 : COMMIT;
    if (rev !== 'main' && rev !== 'v1' && rev !== COMMIT && rev !== COMMIT_V1) {
      res.writeHead(404, { 'x-error-code': 'RevisionNotFound' }).end('Revision Not Found');
      return;
    }
    const files: Record<string, string | Buffer> = {
      'tokenizer.json': qwenTokenizer,
      'tokenizer_config.json': qwenConfig,
      ...extra,
    };
    const body = files[file];
    if (body === undefined) {
      res.writeHead(404, { 'x-error-code': 'EntryNotFound', 'x-repo-commit': commit }).end('Entry not found');
      return;
    }
    res.writeHead(200, { 'x-repo-commit': commit, 'content-length': Buffer.byteLength(body) }).end(body);
  };

// ---- helpers ----------------------------------------------------------------------------------------------

let n = 0;
function freshCache(): string {
  return join(root, `cache${n++}`);
}
function opts(cache: string, server: StandIn | null, more: Partial<HubOptions> = {}): HubOptions {
  return {
    env: { HF_HUB_CACHE: cache, ...(server ? { HF_ENDPOINT: server.url } : {}) },
    fetch,
    homeDir: join(root, 'home'),
    timeoutMs: 2_000,
    ...more,
  };
}
const noNetwork: typeof fetch = async () => {
  throw new Error('the test tried to use the network');
};


/** Every file under `dir`, relative, sorted; [] when it does not exist. */
async function tree(dir: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (d: string, rel: string) => {
    let entries;
    try {
      entries = await readdir(d, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      if (e.isDirectory()) await walk(join(d, e.name), `${rel}${e.name}/`);
      else out.push(`${rel}${e.name}`);
    }
  };
  await walk(dir, '');
  return out.sort();
}

const repoDir = (cache: string) => join(cache, 'models--Qwen--Qwen3-0.6B');

// ---- tests ------------------------------------------------------------------------------------------------

describe('download into the huggingface_hub cache layout', () => {
  it('fetches only the tokenizer and template files, writes refs/ and snapshots/<commit>/, then loads', async () => {
    const hub = await standIn(hubFiles({ 'chat_template.jinja': 'TEMPLATE {{ messages }}' }));
    const cache = freshCache();
    const progress: string[] = [];
    const info = await resolveHubModel(nodeFs, REPO, opts(cache, hub, { onProgress: (m) => progress.push(m) }));

    expect(info.source.kind).toBe('hub');
    expect(info.source.name).toBe(REPO);
    expect(info.chatTemplate).toBe('TEMPLATE {{ messages }}');
    expect(info.source.templateFile).toBe(join(repoDir(cache), 'snapshots', COMMIT, 'chat_template.jinja'));
    expect(info.source.tokenizerFile).toBe(join(repoDir(cache), 'snapshots', COMMIT, 'tokenizer.json'));
    expect(info.eosToken).toBe('<|im_end|>');

    expect(await tree(repoDir(cache))).toEqual([
      `.no_exist/${COMMIT}/chat_template.json`,
      `.no_exist/${COMMIT}/special_tokens_map.json`,
      'refs/main',
      `snapshots/${COMMIT}/chat_template.jinja`,
      `snapshots/${COMMIT}/tokenizer.json`,
      `snapshots/${COMMIT}/tokenizer_config.json`,
    ]);
    expect(await readFile(join(repoDir(cache), 'refs', 'main'), 'utf8')).toBe(COMMIT);
    expect((await readFile(join(repoDir(cache), 'snapshots', COMMIT, 'tokenizer.json'))).equals(qwenTokenizer)).toBe(
      true,
    );

    // first request names the revision, the rest ask for the commit it resolved to
    expect(hub.requests[0].path).toBe(`/${REPO}/resolve/main/tokenizer_config.json`);
    expect(hub.requests.slice(1).every((r) => r.path.startsWith(`/${REPO}/resolve/${COMMIT}/`))).toBe(true);
    expect(hub.requests.map((r) => r.path.split('/').pop()).sort()).toEqual([
      'chat_template.jinja',
      'chat_template.json',
      'special_tokens_map.json',
      'tokenizer.json',
      'tokenizer_config.json',
    ]);
    expect(progress[0]).toContain(REPO);
    expect(progress.some((m) => m.includes('tokenizer.json') && m.includes('MB'))).toBe(true);
  });

  it('uses the cache with the stand-in server down (offline)', async () => {
    const hub = await standIn(hubFiles());
    const cache = freshCache();
    const first = await resolveHubModel(nodeFs, REPO, opts(cache, hub));
    await hub.close();
    const again = await resolveHubModel(nodeFs, REPO, opts(cache, hub, { fetch: noNetwork }));
    expect(again).toEqual(first);
    expect(again.chatTemplate).toBe(JSON.parse(qwenConfig.toString()).chat_template);
  });

  it('uses files a Python user already downloaded (blobs + symlinked snapshot), with no network', async () => {
    const cache = freshCache();
    const dir = repoDir(cache);
    await mkdir(join(dir, 'blobs'), { recursive: true });
    await mkdir(join(dir, 'refs'), { recursive: true });
    await mkdir(join(dir, 'snapshots', COMMIT), { recursive: true });
    await writeFile(join(dir, 'refs', 'main'), COMMIT);
    for (const [f, body, blob] of [
      ['tokenizer.json', qwenTokenizer, 'e1'],
      ['tokenizer_config.json', qwenConfig, 'e2'],
    ] as const) {
      await writeFile(join(dir, 'blobs', blob), body);
      await symlink(join('..', '..', 'blobs', blob), join(dir, 'snapshots', COMMIT, f));
    }
    const progress: string[] = [];
    const info = await resolveHubModel(nodeFs, REPO, opts(cache, null, { fetch: noNetwork, onProgress: (m) => progress.push(m) }));
    expect(info.source.kind).toBe('hub');
    expect(info.eosToken).toBe('<|im_end|>');
    expect(progress).toEqual([]);
  });

  it('sends HF_TOKEN as a bearer token, and none when it is unset', async () => {
    const hub = await standIn(hubFiles());
    await resolveHubModel(nodeFs, REPO, opts(freshCache(), hub, { env: { HF_HUB_CACHE: freshCache(), HF_ENDPOINT: hub.url, HF_TOKEN: 'hf_secret' } }));
    expect(hub.requests.length).toBeGreaterThan(0);
    expect(hub.requests.every((r) => r.auth === 'Bearer hf_secret')).toBe(true);
    hub.requests.length = 0;
    await resolveHubModel(nodeFs, REPO, opts(freshCache(), hub));
    expect(hub.requests.every((r) => r.auth === undefined)).toBe(true);
  });

  it('honours HF_ENDPOINT, defaulting to https://huggingface.co', async () => {
    const seen: string[] = [];
    const spy: typeof fetch = async (input) => {
      seen.push(String(input));
      throw Object.assign(new TypeError('fetch failed'), { cause: { code: 'ENOTFOUND' } });
    };
    const err = await kvError(resolveHubModel(nodeFs, REPO, { env: { HF_HUB_CACHE: freshCache() }, fetch: spy, homeDir: root }));
    expect(seen[0]).toBe(`https://huggingface.co/${REPO}/resolve/main/tokenizer_config.json`);
    expect(err.message).toContain('(ENOTFOUND)');
    seen.length = 0;
    await kvError(resolveHubModel(nodeFs, REPO, { env: { HF_HUB_CACHE: freshCache(), HF_ENDPOINT: 'https://hf-mirror.example/' }, fetch: spy, homeDir: root }));
    expect(seen[0]).toBe(`https://hf-mirror.example/${REPO}/resolve/main/tokenizer_config.json`);
  });

  it('a named revision gets its own ref; a commit-hash revision writes no ref', async () => {
    const hub = await standIn(hubFiles());
    const cache = freshCache();
    const v1 = await resolveHubModel(nodeFs, `${REPO}@v1`, opts(cache, hub));
    expect(v1.source.name).toBe(`${REPO}@v1`);
    expect(hub.requests[0].path).toBe(`/${REPO}/resolve/v1/tokenizer_config.json`);
    expect(await readFile(join(repoDir(cache), 'refs', 'v1'), 'utf8')).toBe(COMMIT_V1);

    const cache2 = freshCache();
    await resolveHubModel(nodeFs, `${REPO}@${COMMIT}`, opts(cache2, hub));
    expect(await tree(join(repoDir(cache2), 'refs'))).toEqual([]);
    expect(await tree(join(repoDir(cache2), 'snapshots'))).toContain(`${COMMIT}/tokenizer.json`);
    // and a commit-hash revision is found offline without a ref
    await hub.close();
    await resolveHubModel(nodeFs, `${REPO}@${COMMIT}`, opts(cache2, hub, { fetch: noNetwork }));

    const err = await kvError(resolveHubModel(nodeFs, `${REPO}@v1`, opts(cache2, hub, { fetch: noNetwork })));
    expect(err.message).toContain(repoDir(cache2));
  });

  it('a revision the Hub does not know', async () => {
    const hub = await standIn(hubFiles());
    const err = await kvError(resolveHubModel(nodeFs, `${REPO}@nope`, opts(freshCache(), hub)));
    expect(err.message).toContain('revision "nope"');
  });

  it('follows a redirect to a CDN for large files, keeping the commit from the Hub answer', async () => {
    const hub = await standIn((req, res, file, rev) => {
      if (file === 'tokenizer.json' && rev !== 'cdn') {
        res.writeHead(302, { location: `/${REPO}/resolve/cdn/tokenizer.json`, 'x-repo-commit': COMMIT }).end();
        return;
      }
      hubFiles()(req, res, file, rev === 'cdn' ? 'main' : rev);
    });
    const info = await resolveHubModel(nodeFs, REPO, opts(freshCache(), hub));
    expect((info.tokenizer.json.model as { type: string }).type).toBe('BPE');
  });

  it('does not send HF_TOKEN to the other origin a redirect points at', async () => {
    const cdn = await standIn(hubFiles());
    const hub = await standIn((req, res, file, rev) => {
      if (file === 'tokenizer.json') {
        res.writeHead(302, { location: `${cdn.url}/${REPO}/resolve/main/tokenizer.json`, 'x-repo-commit': COMMIT }).end();
        return;
      }
      hubFiles()(req, res, file, rev);
    });
    const cache = freshCache();
    await resolveHubModel(nodeFs, REPO, opts(cache, hub, { env: { HF_HUB_CACHE: cache, HF_ENDPOINT: hub.url, HF_TOKEN: 't' } }));
    expect(hub.requests.every((r) => r.auth === 'Bearer t')).toBe(true);
    expect(cdn.requests.map((r) => r.auth)).toEqual([undefined]);
  });
});

describe('failures: one clear line, nothing half-written in the cache', () => {
  async function failsCleanly(handler: Handler, spec = REPO, more: Partial<HubOptions> = {}): Promise<KvdiffError> {
    const hub = await standIn(handler);
    const cache = freshCache();
    const err = await kvError(resolveHubModel(nodeFs, spec, opts(cache, hub, more)));
    expect(await tree(cache)).toEqual([]);
    return err;
  }

  it('a Hub id that does not exist (404 RepoNotFound, and 401 as the Hub answers anonymous callers)', async () => {
    const e404 = await failsCleanly((_q, res) => res.writeHead(404, { 'x-error-code': 'RepoNotFound' }).end());
    expect(e404.message).toContain(`Hub model ${REPO} not found`);
    const e401 = await failsCleanly((_q, res) => res.writeHead(401, { 'x-error-code': 'RepoNotFound' }).end());
    expect(e401.message).toContain('HTTP 401');
    expect(e401.hint).toContain('HF_TOKEN');
  });

  it('a gated model (403)', async () => {
    const err = await failsCleanly((_q, res) => res.writeHead(403, { 'x-error-code': 'GatedRepo' }).end());
    expect(err.message).toContain('refused (HTTP 403)');
  });

  it('a repo without tokenizer.json', async () => {
    const err = await failsCleanly((req, res, file, rev) =>
      file === 'tokenizer.json'
        ? res.writeHead(404, { 'x-error-code': 'EntryNotFound' }).end()
        : hubFiles()(req, res, file, rev),
    );
    expect(err.message).toContain('has no tokenizer.json');
  });

  it('a server error', async () => {
    const err = await failsCleanly((_q, res) => res.writeHead(503).end('busy'));
    expect(err.message).toContain('HTTP 503');
  });

  it('garbage: an HTML page, a truncated tokenizer.json, no commit header', async () => {
    const html = await failsCleanly((_q, res) => res.writeHead(200, { 'x-repo-commit': COMMIT }).end('<!doctype html><p>hi'));
    expect(html.message).toContain('did not return a JSON object');
    const cut = await failsCleanly(hubFiles({ 'tokenizer.json': qwenTokenizer.subarray(0, 1000) }));
    expect(cut.message).toContain('tokenizer.json did not return a JSON object');
    const noCommit = await failsCleanly((_q, res) => res.writeHead(200).end('{}'));
    expect(noCommit.message).toContain('X-Repo-Commit');
  });

  it('a malformed tokenizer.json is refused before anything is cached, so later runs do not trip on it', async () => {
    const hostile = join(fileURLToPath(new URL('./hostile/tokenizer/', import.meta.url)));
    for (const name of ['merges-string', 'unknown-pre-tokenizer', 'empty-vocab']) {
      const err = await failsCleanly(hubFiles({ 'tokenizer.json': await readFile(join(hostile, `${name}.json`)) }));
      expect(err.message).toMatch(/^tokenizer http:.*tokenizer\.json/);
    }
  });

  it('no network: connection refused names the URL, the code and the cache looked in', async () => {
    const hub = await standIn(hubFiles());
    await hub.close();
    const cache = freshCache();
    const err = await kvError(resolveHubModel(nodeFs, REPO, opts(cache, hub)));
    expect(err.message).toBe(
      `could not reach ${hub.url}/${REPO}/resolve/main/tokenizer_config.json (ECONNREFUSED); ` +
        `kvdiff looked in ${repoDir(cache)} first — download the files there or pass --hf DIR`,
    );
    expect(await tree(cache)).toEqual([]);
  });

  it('a server that never answers, and one that stalls mid-body, time out', async () => {
    const silent = await failsCleanly(() => {}, REPO, { timeoutMs: 300 });
    expect(silent.message).toContain('did not answer within 0.3 s');
    const stall = await failsCleanly(
      (req, res, file, rev) => {
        if (file !== 'tokenizer.json') return hubFiles()(req, res, file, rev);
        res.writeHead(200, { 'x-repo-commit': COMMIT, 'content-length': qwenTokenizer.length });
        res.write(qwenTokenizer.subarray(0, 4096));
      },
      REPO,
      { timeoutMs: 300 },
    );
    expect(stall.message).toContain('tokenizer.json did not answer within 0.3 s');
  });

  it('a write that fails part-way leaves no ref and no partial file', async () => {
    const hub = await standIn(hubFiles({ 'chat_template.jinja': 'T' }));
    const cache = freshCache();
    const failing: ModelFs = {
      ...nodeFs,
      async writeFileAtomic(path, data) {
        if (path.endsWith('tokenizer.json')) throw Object.assign(new Error('no space left'), { code: 'ENOSPC' });
        return nodeFs.writeFileAtomic(path, data);
      },
    };
    const err = await kvError(resolveHubModel(failing, REPO, opts(cache, hub)));
    expect(err.message).toContain('(ENOSPC)');
    const files = await tree(repoDir(cache));
    expect(files).not.toContain('refs/main');
    expect(files.filter((f) => f.endsWith('.tmp') || f.endsWith('tokenizer.json'))).toEqual([]);
    // the next run downloads again and succeeds
    const ok = await resolveHubModel(nodeFs, REPO, opts(cache, hub));
    expect(ok.chatTemplate).toBe('T');
  });

  it('HF_HUB_OFFLINE with nothing cached does not touch the network', async () => {
    const err = await kvError(
      resolveHubModel(nodeFs, REPO, { env: { HF_HUB_CACHE: freshCache(), HF_HUB_OFFLINE: '1' }, fetch: noNetwork, homeDir: root }),
    );
    expect(err.message).toContain('HF_HUB_OFFLINE');
  });
});

describe('ids and cache location', () => {
  it.each(['qwen3', 'a/b/c', '../x', 'org/', '/name', 'org/na me', 'org/name@', 'org--x/name', 'org/name@../../etc'])(
    'rejects %j',
    async (id) => {
      const err = await kvError(resolveHubModel(nodeFs, id, { env: {}, fetch: noNetwork, homeDir: root }));
      expect(err.message).toContain('is not a Hugging Face model id');
    },
  );

  it('parses org/name[@revision]', () => {
    expect(parseHubId('Qwen/Qwen3-8B')).toEqual({ repo: 'Qwen/Qwen3-8B', revision: 'main' });
    expect(parseHubId('meta-llama/Llama-3.1-8B-Instruct@refs/pr/12')).toEqual({
      repo: 'meta-llama/Llama-3.1-8B-Instruct',
      revision: 'refs/pr/12',
    });
  });

  it('cache folder: HF_HUB_CACHE, else HF_HOME/hub, else ~/.cache/huggingface/hub', () => {
    expect(hubCacheDir({ HF_HUB_CACHE: '/c', HF_HOME: '/h' }, '/home/u')).toBe('/c');
    expect(hubCacheDir({ HF_HOME: '/h' }, '/home/u')).toBe('/h/hub');
    expect(hubCacheDir({ HF_HOME: '~/hf' }, '/home/u')).toBe('/home/u/hf/hub');
    expect(hubCacheDir({ XDG_CACHE_HOME: '/x' }, '/home/u')).toBe('/x/huggingface/hub');
    expect(hubCacheDir({}, '/home/u')).toBe('/home/u/.cache/huggingface/hub');
  });
});
