import { promises as fsp } from 'node:fs';
import { basename, dirname, join, relative, resolve } from 'node:path';
import { KvdiffError } from '../errors.js';
import { decodeUtf8, type RequestBody } from '../payload/body.js';
import { MAX_BODY_BYTES } from '../payload/json.js';
import { readClientBody, type Api } from '../dialect/index.js';
import { fsError, readBounded } from '../node/read.js';
import { generationDialect } from '../node/record/routes.js';
import { RESPONSES_DIR } from '../node/record/store.js';
import { countersOf } from '../node/record/counters.js';
import { mergeConfigs, parseExpectations, type ExpectationsFile, type SessionConfig } from '../expectations.js';
import type { SessionRequests } from '../check.js';

/** The expectations file beside recorded requests (never read as a request). */
export const EXPECTATIONS_FILE = 'kvdiff.json';
/** A project-wide config file, beside package.json (or the `kvdiff` key of package.json). */
export const PROJECT_CONFIG_FILE = 'kvdiff.config.json';

/** Where a request came from: the file to point at, and a line when the file is JSON lines. */
export interface RequestSource {
  file: string;
  /** The line of a JSONL record. */
  line?: number;
  /** Whether the file holds this one body (so a JSON path can be found in it by line). */
  whole: boolean;
  /** Where the body sits inside its file, when the file wraps it (a HAR entry's postData.text). */
  at?: (string | number)[];
  /** The reuse the server reported for it, from `kvdiff record`'s responses/ file beside it. */
  logged?: number | null;
}

/** A session's requests, each read when its step comes, and what the recording logged for each (`logged[i]`). */
export interface LoadedSession extends SessionRequests {
  logged: (number | null | undefined)[];
}

/** A session whose bodies are already in memory (a HAR file is one JSON document). */
function inMemory(bodies: RequestBody[], sources: Map<string, RequestSource>): LoadedSession {
  return { labels: bodies.map((b) => b.label), read: (i) => bodies[i], logged: bodies.map((b) => sources.get(b.label)?.logged) };
}

/** One session to check: read on demand, so a long run holds one session's bodies (or fewer) at a time. */
export interface SessionSpec {
  name: string;
  /** The folder whose `kvdiff.json` applies, and the name this session has there (for `sessions[name]`). */
  dir: string;
  /** Declarations found while resolving (a recorded --out folder's kvdiff.json naming this subfolder). */
  inherited: { from: string; config: SessionConfig }[];
  /** Error found while resolving (a missing path): reported as this session's result. */
  error?: KvdiffError;
  /** Lists the session's requests (filling `sources`); the bodies are read as the check reaches them. */
  load(sources: Map<string, RequestSource>): Promise<LoadedSession>;
}

/** A recorded capture file: `kvdiff record` names them 0001.json. */
const CAPTURE = /^\d{4,}\.json$/;

/**
 * The sessions the path arguments stand for: each folder of requests, `.jsonl` or `.har` file is one; a recorded
 * `--out` folder (subfolders of requests) is one per subfolder; a capture file (`0003.json`) stands for its whole
 * session folder (pre-commit passes only the files it matched); other loose files given in a row form one session.
 */
export async function resolveSessions(paths: string[], api?: Api): Promise<SessionSpec[]> {
  const out: SessionSpec[] = [];
  const seen = new Set<string>();
  let loose: string[] = [];
  const flush = () => {
    if (!loose.length) return;
    const files = loose;
    loose = [];
    out.push({ name: files.length === 1 ? files[0] : `${files[0]} … ${files[files.length - 1]}`, dir: dirname(files[0]), inherited: [], load: (src) => readFiles(files, src, api) });
  };
  for (const p of paths) {
    let isDir: boolean;
    try {
      isDir = (await fsp.stat(p)).isDirectory();
    } catch (err) {
      flush();
      out.push({ name: p, dir: dirname(p), inherited: [], error: fsError(err, p, ''), load: async () => empty });
      continue;
    }
    if (!isDir && (CAPTURE.test(basename(p)) || basename(p) === EXPECTATIONS_FILE) && basename(dirname(resolve(p))) !== RESPONSES_DIR) {
      flush();
      const folder = dirname(p);
      if (!seen.has(resolve(folder))) {
        seen.add(resolve(folder));
        out.push(...(await folderSessions(folder, api)));
      }
      continue;
    }
    if (isDir) {
      flush();
      if (!seen.has(resolve(p))) {
        seen.add(resolve(p));
        out.push(...(await folderSessions(p, api)));
      }
    } else if (/\.jsonl$/i.test(p)) {
      flush();
      out.push({ name: p, dir: dirname(p), inherited: [], load: (src) => readJsonl(p, src, api) });
    } else if (/\.har$/i.test(p)) {
      flush();
      out.push({ name: p, dir: dirname(p), inherited: [], load: async (src) => inMemory(await readHar(p, src), src) });
    } else loose.push(p);
  }
  flush();
  return out;
}

async function listDir(path: string): Promise<{ files: string[]; dirs: string[] }> {
  let entries;
  try {
    entries = await fsp.readdir(path, { withFileTypes: true });
  } catch (err) {
    throw fsError(err, path, 'folder');
  }
  const byName = (x: string, y: string) => x.localeCompare(y, 'en', { numeric: true });
  return {
    files: entries.filter((e) => e.isFile()).map((e) => e.name).sort(byName),
    dirs: entries.filter((e) => e.isDirectory() && e.name !== RESPONSES_DIR && !e.name.startsWith('.')).map((e) => e.name).sort(byName),
  };
}

/** Request files of a folder: `.json` bodies (not kvdiff.json), else `.txt` rendered prompts. */
function requestFiles(files: string[]): string[] {
  const json = files.filter((n) => n.endsWith('.json') && n !== EXPECTATIONS_FILE && !n.startsWith('.'));
  return json.length ? json : files.filter((n) => n.endsWith('.txt'));
}

/** A folder of requests is one session; a folder of such folders (kvdiff record --out) one session per subfolder. */
async function folderSessions(path: string, api?: Api): Promise<SessionSpec[]> {
  try {
    const { files, dirs } = await listDir(path);
    const own = requestFiles(files);
    if (own.length) return [{ name: path, dir: path, inherited: [], load: (src) => readFiles(own.map((n) => join(path, n)), src, api) }];
    const parent = files.includes(EXPECTATIONS_FILE) ? await readExpectations(join(path, EXPECTATIONS_FILE)) : undefined;
    const subs: SessionSpec[] = [];
    for (const d of dirs) {
      const sub = join(path, d);
      const inner = requestFiles((await listDir(sub)).files);
      if (!inner.length) continue;
      const inherited = parent?.sessions?.[d] ? [{ from: join(path, EXPECTATIONS_FILE), config: parent.sessions[d] }] : [];
      subs.push({ name: sub, dir: sub, inherited, load: (src) => readFiles(inner.map((n) => join(sub, n)), src, api) });
    }
    if (!subs.length) throw new KvdiffError(`${path} holds no .json request bodies, no .txt rendered prompts and no session folders of them`, 'pass a folder kvdiff record wrote (or one of its session folders)');
    return subs;
  } catch (err) {
    if (!(err instanceof KvdiffError)) throw err;
    return [{ name: path, dir: path, inherited: [], error: err, load: async () => empty }];
  }
}

const empty: LoadedSession = { labels: [], read: () => Promise.reject(new Error('no requests')), logged: [] };

/**
 * Request files, each read and parsed when the check reaches it (a session of hundreds of long requests is never
 * in memory at once; one at a time also keeps a folder of thousands from hitting EMFILE at `ulimit -n 256`).
 */
async function readFiles(files: string[], sources: Map<string, RequestSource>, api?: Api): Promise<LoadedSession> {
  const logged: (number | null)[] = [];
  for (const f of files) {
    const reuse = await recordedReuse(f);
    logged.push(reuse);
    sources.set(f, { file: f, whole: true, logged: reuse });
  }
  return { labels: files, logged, read: async (i) => readClientBody(decodeUtf8(await readBounded(files[i], MAX_BODY_BYTES, ''), files[i]), files[i], api) };
}

/** Largest recorded response file read for its counters. */
const MAX_RESPONSE_FILE_BYTES = 64 * 1024 * 1024;

/** What `kvdiff record` saved about the server's answer to this request (responses/0003.json): the reuse it reported. */
async function recordedReuse(request: string): Promise<number | null> {
  const meta = join(dirname(request), RESPONSES_DIR, basename(request));
  try {
    const root = JSON.parse(decodeUtf8(await readBounded(meta, MAX_RESPONSE_FILE_BYTES, ''), meta)) as { timings?: unknown; usage?: unknown };
    return countersOf(root?.timings, root?.usage).reused;
  } catch {
    return null; // no response recorded (or not readable): the prediction stands alone
  }
}

/** A JSON-lines session: the file is read once, each line parsed when the check reaches it. */
async function readJsonl(path: string, sources: Map<string, RequestSource>, api?: Api): Promise<LoadedSession> {
  const text = decodeUtf8(await readBounded(path, MAX_BODY_BYTES, ''), path);
  const lines: string[] = [];
  const labels: string[] = [];
  text.split('\n').forEach((line, i) => {
    if (line.trim() === '') return;
    const label = `${path}:${i + 1}`;
    lines.push(line);
    labels.push(label);
    sources.set(label, { file: path, line: i + 1, whole: false });
  });
  return { labels, logged: labels.map(() => undefined), read: (i) => readClientBody(lines[i], labels[i], api) };
}

/** Dialect names of the recording routes → the body readers' names. */
const ROUTE_API = { chat: 'chat', anthropic: 'messages', responses: 'responses', completion: 'completion' } as const;

/**
 * A HAR export (browser devtools, mitmproxy, Charles): its POSTs to generation endpoints in order, each body read
 * in the dialect its route says; every other entry (GETs, /tokenize, assets) is skipped.
 */
async function readHar(path: string, sources: Map<string, RequestSource>): Promise<RequestBody[]> {
  return harBodies(decodeUtf8(await readBounded(path, MAX_BODY_BYTES, ''), path), path, sources);
}

/** The generation requests of a HAR file's text (exported for the fuzzing suite: any text gives bodies or one KvdiffError). */
export function harBodies(text: string, path: string, sources: Map<string, RequestSource>): RequestBody[] {
  let har: unknown;
  try {
    har = JSON.parse(text);
  } catch (err) {
    throw new KvdiffError(`${path}: not a HAR file (invalid JSON: ${(err as Error).message})`);
  }
  const entries = (har as { log?: { entries?: unknown } })?.log?.entries;
  if (!Array.isArray(entries)) throw new KvdiffError(`${path}: not a HAR file (no log.entries)`, 'export the network log as HAR ("Save all as HAR" in devtools)');
  const bodies: RequestBody[] = [];
  entries.forEach((e: { request?: { method?: string; url?: string; postData?: { text?: unknown } } }, i) => {
    const req = e?.request;
    let pathname: string | undefined;
    try {
      pathname = req?.url ? new URL(req.url, 'http://host').pathname : undefined;
    } catch {
      pathname = undefined;
    }
    const dialect = generationDialect(req?.method, pathname);
    if (!dialect) return;
    const body = req?.postData?.text;
    const label = `${path}#entries[${i}]`;
    if (typeof body !== 'string') throw new KvdiffError(`${label}: a POST to ${pathname} without postData.text`, 'export the HAR with request bodies (content) included');
    bodies.push(readClientBody(body, label, ROUTE_API[dialect]));
    sources.set(label, { file: path, whole: false, at: ['log', 'entries', i, 'request', 'postData', 'text'] });
  });
  if (!bodies.length) {
    throw new KvdiffError(`${path}: no generation requests (POSTs to /v1/chat/completions, /v1/messages, /v1/responses or /completion) among its ${entries.length} entries`, 'record the agent while it talks to the server, then export that HAR');
  }
  return bodies;
}

async function readJsonFile(path: string): Promise<unknown | undefined> {
  let data: Uint8Array;
  try {
    data = await readBounded(path, MAX_BODY_BYTES, '');
  } catch {
    return undefined;
  }
  try {
    return JSON.parse(decodeUtf8(data, path));
  } catch (err) {
    if (err instanceof KvdiffError) throw err;
    throw new KvdiffError(`${path}: invalid JSON (${(err as Error).message})`);
  }
}

async function readExpectations(path: string): Promise<ExpectationsFile | undefined> {
  const v = await readJsonFile(path);
  return v === undefined ? undefined : parseExpectations(v, path);
}

/** The project config nearest above `dir`: `--config`, else kvdiff.config.json, else package.json's `kvdiff` key. */
export async function findProjectConfig(dir: string, explicit?: string): Promise<{ from: string; base: string; config: ExpectationsFile } | undefined> {
  if (explicit) {
    const v = await readJsonFile(explicit);
    if (v === undefined) throw new KvdiffError(`cannot read the config file ${explicit}`);
    const value = basename(explicit) === 'package.json' ? (v as { kvdiff?: unknown }).kvdiff : v;
    return { from: explicit, base: dirname(resolve(explicit)), config: parseExpectations(value ?? {}, explicit) };
  }
  for (let d = resolve(dir); ; d = dirname(d)) {
    const cfg = join(d, PROJECT_CONFIG_FILE);
    const v = await readJsonFile(cfg);
    if (v !== undefined) return { from: cfg, base: d, config: parseExpectations(v, cfg) };
    const pkg = join(d, 'package.json');
    const p = await readJsonFile(pkg).catch(() => undefined);
    if (p !== undefined) {
      const k = (p as { kvdiff?: unknown }).kvdiff;
      // the nearest package.json is the project: its kvdiff key, or nothing
      return k === undefined ? undefined : { from: `${pkg} ("kvdiff")`, base: d, config: parseExpectations(k, `${pkg} ("kvdiff")`) };
    }
    if (dirname(d) === d) return undefined;
  }
}

/**
 * The declarations for one session, weakest first: the project config (its top level, then `sessions[<path relative
 * to it>]`), a parent folder's kvdiff.json naming this session, the session folder's own kvdiff.json (or, for a
 * file session, the kvdiff.json beside it under `sessions[<file name>]`).
 */
export async function sessionConfig(spec: SessionSpec, explicitConfig?: string): Promise<{ config: SessionConfig; from: string[] }> {
  const from: string[] = [];
  const layers: (SessionConfig | undefined)[] = [];
  const project = await findProjectConfig(spec.dir, explicitConfig);
  if (project) {
    const { sessions, ...top } = project.config;
    const rel = relative(project.base, resolve(spec.name)).split('\\').join('/');
    const file = join(project.base, 'x');
    layers.push(anchored(top, file), anchored(sessions?.[rel], file));
    from.push(project.from);
  }
  for (const i of spec.inherited) {
    layers.push(anchored(i.config, i.from));
    from.push(i.from);
  }
  const own = join(spec.dir, EXPECTATIONS_FILE);
  const file = await readExpectations(own);
  if (file) {
    const { sessions, ...top } = file;
    const isFolder = resolve(spec.dir) === resolve(spec.name);
    layers.push(anchored(isFolder ? top : sessions?.[basename(spec.name)], own));
    from.push(own);
  }
  return { config: mergeConfigs(...layers), from };
}

/** Settings that name files: relative to the file that declares them, as a project config's paths are read. */
const FILE_SETTINGS = ['gguf', 'hf', 'template', 'tokenizer'] as const;

function anchored(c: SessionConfig | undefined, declaredIn: string): SessionConfig | undefined {
  if (!c) return c;
  const out = { ...c };
  for (const k of FILE_SETTINGS) if (out[k] !== undefined) out[k] = resolve(dirname(declaredIn), out[k]!);
  return out;
}
