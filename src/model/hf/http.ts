/**
 * One GET against the Hub with a deadline, a size cap, and redirects followed by hand so the
 * `X-Repo-Commit` header of the Hub's own answer is kept (the CDN a large file redirects to does not send it)
 * and the token is not sent to another origin.
 */
import { KvdiffError } from '../../errors.js';

/** Whole request, body included; a Hub that stops answering must not hang kvdiff. */
export const HUB_REQUEST_TIMEOUT_MS = 30_000;
/** Largest file accepted (big tokenizer.json files are ~35 MB); guards against an endless or absurd body. */
export const HUB_MAX_FILE_BYTES = 256 * 1024 * 1024;
const MAX_REDIRECTS = 5;

export interface HubResponse {
  status: number;
  /** The Hub's `X-Repo-Commit`, from the first answer that carried one. */
  commit: string | null;
  /** The Hub's `X-Error-Code` (`RepoNotFound`, `RevisionNotFound`, `EntryNotFound`, `GatedRepo`). */
  errorCode: string | null;
  /** Body, only for 2xx. */
  body: Uint8Array | null;
}

export interface HubGetOptions {
  fetch: typeof fetch;
  token?: string;
  timeoutMs: number;
  /** Extra words for the "could not reach" line. */
  unreachableHint: string;
}

/**
 * The errno code behind a failed fetch (`ECONNREFUSED`, `ENOTFOUND`), found through `cause` chains and the
 * AggregateError Node reports when every address of a host refused; undici's own words ("fetch failed") otherwise.
 */
export function causeCode(err: unknown): string {
  let e: unknown = err;
  let words = err instanceof Error ? err.message : String(err);
  for (let i = 0; i < 6 && e; i++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && code !== 'UND_ERR_SOCKET') return code;
    if (e !== err && e instanceof Error && e.message) words = e.message; // "bad port" beats "fetch failed"
    const inner = (e as { errors?: unknown[] }).errors;
    e = Array.isArray(inner) && inner.length ? inner[0] : (e as { cause?: unknown }).cause;
  }
  return words;
}

/** A body read in chunks and refused as soon as it passes `max` bytes (the declared length is checked first). */
export async function readCapped(res: Response, url: string, signal: AbortSignal, max = HUB_MAX_FILE_BYTES): Promise<Uint8Array> {
  const HUB_MAX_FILE_BYTES = max;
  const declared = Number(res.headers.get('content-length') ?? NaN);
  if (declared > HUB_MAX_FILE_BYTES) throw new KvdiffError(`${url} is ${declared} bytes, more than kvdiff accepts`);
  if (!res.body) return new Uint8Array(0);
  const chunks: Uint8Array[] = [];
  let total = 0;
  const reader = res.body.getReader();
  for (;;) {
    if (signal.aborted) throw signal.reason;
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > HUB_MAX_FILE_BYTES) {
      await reader.cancel().catch(() => {});
      throw new KvdiffError(`${url} sent more than ${HUB_MAX_FILE_BYTES} bytes`);
    }
    chunks.push(value);
  }
  const out = new Uint8Array(total);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.byteLength;
  }
  return out;
}

export async function hubGet(url: string, opts: HubGetOptions): Promise<HubResponse> {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(new Error('timeout')), opts.timeoutMs);
  const origin = new URL(url).origin;
  let commit: string | null = null;
  let errorCode: string | null = null;
  let current = url;
  try {
    for (let hop = 0; ; hop++) {
      const sameOrigin = new URL(current).origin === origin;
      const headers: Record<string, string> = { 'user-agent': 'kvdiff' };
      if (opts.token && sameOrigin) headers.authorization = `Bearer ${opts.token}`;
      const res = await opts.fetch(current, { headers, redirect: 'manual', signal: controller.signal });
      commit ??= res.headers.get('x-repo-commit');
      errorCode ??= res.headers.get('x-error-code');
      const location = res.headers.get('location');
      if (res.status >= 300 && res.status < 400 && location) {
        await res.body?.cancel().catch(() => {});
        if (hop >= MAX_REDIRECTS) throw new KvdiffError(`${url} redirected more than ${MAX_REDIRECTS} times`);
        current = new URL(location, current).toString();
        continue;
      }
      if (res.status < 200 || res.status >= 300) {
        await res.body?.cancel().catch(() => {});
        return { status: res.status, commit, errorCode, body: null };
      }
      return { status: res.status, commit, errorCode, body: await readCapped(res, url, controller.signal) };
    }
  } catch (err) {
    if (err instanceof KvdiffError) throw err;
    if (controller.signal.aborted) {
      throw new KvdiffError(`${url} did not answer within ${opts.timeoutMs / 1000} s; ${opts.unreachableHint}`);
    }
    throw new KvdiffError(`could not reach ${url} (${causeCode(err)}); ${opts.unreachableHint}`);
  } finally {
    clearTimeout(timer);
  }
}
