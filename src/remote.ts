import { createHash } from 'node:crypto';
import type { Backend } from './backends.js';
import { cacheConfigFor, type CacheConfig } from './cache.js';
import type { Processed, Processor } from './processor.js';
import { KvdiffError } from './errors.js';
import type { ModelMemoryInfo, ModelSourceInfo } from './model/types.js';
import type { RequestBody } from './payload/body.js';
import { nodeToJson } from './payload/json.js';
import { nodeAt } from './payload/edit.js';
import { chatBody, rawPrompt } from './dialect/index.js';
import { causeCode, readCapped } from './model/hf/http.js';
import type { Deadline } from './deadline.js';

/** How long one request to llama-server may take before kvdiff gives up on it. */
export const SERVER_TIMEOUT_MS = 30_000;
/**
 * Largest answer read from llama-server: a /tokenize answer with pieces for a 1M-token prompt is about 40 MB and an
 * /apply-template answer is at most the render limit; past this a misbehaving server would exhaust memory.
 */
export const MAX_SERVER_RESPONSE_BYTES = 256 * 1024 * 1024;
/** Requests in flight at once: attribution sends one render per JSON difference. */
export const SERVER_CONCURRENCY = 4;

interface Outcome {
  processed?: Processed;
  error?: string;
}

/**
 * Rendering and tokenizing done by a running llama-server (`--server URL`): `POST /apply-template` for the
 * prompt, `POST /tokenize` (add_special, parse_special, with_pieces) for the ids the chat endpoint would see.
 * Requests are sent ahead (`prefetch`), so the synchronous stages after it read the answers.
 */
export class RemoteEngine implements Processor {
  readonly backend: Backend = 'llama.cpp';
  private readonly outcomes = new Map<string, Outcome>();
  private readonly pieces = new Map<number, string>();

  private constructor(
    readonly url: string,
    private readonly fetchFn: typeof fetch,
    readonly source: ModelSourceInfo,
    readonly now: Date,
    readonly cache: CacheConfig,
    private readonly deadline?: Deadline,
  ) {}

  /** Reads `GET /props` (the server's chat template and special tokens). */
  static async connect(
    url: string,
    fetchFn: typeof fetch,
    opts: {
      now: Date;
      cache?: Partial<CacheConfig>;
      deadline?: Deadline;
      /**
       * The memory layout (sliding window, recurrent) of the model file the server names in `/props` `model_path`,
       * read by the shell when the server runs on this machine: the API does not report it, and a sliding-window
       * model's reuse depends on it (checkpoints).
       */
      memoryOf?: (modelPath: string) => Promise<ModelMemoryInfo | undefined>;
    },
  ): Promise<RemoteEngine> {
    const base = url.replace(/\/+$/, '');
    if (!/^https?:\/\//.test(base)) throw new KvdiffError(`--server ${url} is not an http(s) URL`, 'pass it like http://127.0.0.1:8080');
    const props = await call(fetchFn, base, '/props', undefined, opts.deadline);
    const template = typeof props.chat_template === 'string' ? props.chat_template : '';
    const source: ModelSourceInfo = {
      kind: 'server',
      name: base,
      templateSha256: createHash('sha256').update(template).digest('hex'),
      ...(typeof props.model_path === 'string' ? { tokenizerFile: props.model_path } : {}),
    };
    const memory = typeof props.model_path === 'string' && opts.memoryOf && isLoopback(base) ? await opts.memoryOf(props.model_path) : undefined;
    return new RemoteEngine(base, fetchFn, source, opts.now, cacheConfigFor('llama.cpp', memory, opts.cache), opts.deadline);
  }

  /** Sends every body not yet asked about to the server; refusals are kept and thrown when read. */
  async prefetch(bodies: RequestBody[]): Promise<void> {
    const todo = new Map<string, RequestBody>();
    for (const b of bodies) {
      const req = serverRequest(b);
      if (this.outcomes.has(req.key)) continue;
      if (req.error !== undefined) this.outcomes.set(req.key, { error: req.error });
      else todo.set(req.key, b);
    }
    const queue = [...todo.entries()];
    const worker = async () => {
      for (let item = queue.shift(); item; item = queue.shift()) {
        const [key] = item;
        this.outcomes.set(key, await this.fetchOne(key));
      }
    };
    await Promise.all(Array.from({ length: Math.min(SERVER_CONCURRENCY, queue.length) }, worker));
  }

  private async fetchOne(key: string): Promise<Outcome> {
    // a raw prompt (completion body, prompt file) is tokenized as the completion endpoints do: no template
    if (key.startsWith(RAW_KEY)) return this.tokenizeRaw(key.slice(RAW_KEY.length));
    const bodyJson = key;
    let prompt: string;
    try {
      const t = await call(this.fetchFn, this.url, '/apply-template', bodyJson, this.deadline);
      if (typeof t.prompt !== 'string') throw new KvdiffError(`llama-server at ${this.url} answered /apply-template without a "prompt"`);
      prompt = t.prompt;
    } catch (err) {
      if (err instanceof ServerRefused) return { error: err.message };
      throw err;
    }
    const tok = await call(this.fetchFn, this.url, '/tokenize', JSON.stringify({ content: prompt, add_special: true, parse_special: true, with_pieces: true }), this.deadline);
    if (!Array.isArray(tok.tokens)) throw new KvdiffError(`llama-server at ${this.url} answered /tokenize without "tokens"`);
    const ids: number[] = [];
    const bytes: Uint8Array[] = [];
    for (const t of tok.tokens as { id: number; piece: string | number[] }[]) {
      if (typeof t?.id !== 'number') throw new KvdiffError(`llama-server at ${this.url} answered /tokenize with a token without an id`);
      ids.push(t.id);
      const piece = typeof t.piece === 'string' ? new TextEncoder().encode(t.piece) : Uint8Array.from(t.piece ?? []);
      bytes.push(piece);
      if (!this.pieces.has(t.id)) this.pieces.set(t.id, new TextDecoder().decode(piece));
    }
    return { processed: { rendered: prompt, tokens: { ids, starts: offsets(prompt, bytes) } } };
  }

  /** `/tokenize` with the prompt as `content` (tokenize_mixed: add_special for a leading string only, parse_special). */
  private async tokenizeRaw(promptJson: string): Promise<Outcome> {
    const tok = await call(this.fetchFn, this.url, '/tokenize', `{"content":${promptJson},"add_special":true,"parse_special":true,"with_pieces":true}`, this.deadline);
    if (!Array.isArray(tok.tokens)) throw new KvdiffError(`llama-server at ${this.url} answered /tokenize without "tokens"`);
    let rendered = '';
    const ids: number[] = [];
    const starts: number[] = [];
    for (const t of tok.tokens as { id: number; piece: string | number[] }[]) {
      const piece = typeof t.piece === 'string' ? t.piece : new TextDecoder().decode(Uint8Array.from(t.piece ?? []));
      ids.push(t.id);
      starts.push(rendered.length);
      rendered += piece;
      if (!this.pieces.has(t.id)) this.pieces.set(t.id, piece);
    }
    return { processed: { rendered, tokens: { ids, starts } } };
  }

  private outcome(body: RequestBody, side: string): Processed {
    const o = this.outcomes.get(serverRequest(body).key);
    if (!o) throw new Error(`internal: ${side} was not sent to the server ahead`);
    if (o.error !== undefined) throw new KvdiffError(o.error.startsWith('llama-server would refuse') ? o.error : `llama-server at ${this.url} refused ${side}: ${o.error}`);
    return o.processed!;
  }

  render(body: RequestBody, side: string): string {
    return this.outcome(body, side).rendered;
  }

  process(body: RequestBody, side: string): Processed {
    return this.outcome(body, side);
  }

  piece(id: number): string {
    return this.pieces.get(id) ?? `<${id}>`;
  }

  firstTextToken(p: Processed): number {
    return p.tokens.starts.length > 1 && p.tokens.starts[0] === 0 && p.tokens.starts[1] === 0 ? 1 : 0;
  }
}

const RAW_KEY = 'raw:';

/**
 * What to send for a body: the chat-completions body (other dialects converted as the server converts them, since
 * /apply-template reads chat bodies only), or a raw prompt to tokenize; a refused conversion is the answer itself.
 */
function serverRequest(body: RequestBody): { key: string; error?: string } {
  try {
    if (rawPrompt(body)) {
      const prompt = body.api === 'prompt' ? body.root : nodeAt(body.root, ['prompt'])!;
      return { key: `${RAW_KEY}${nodeToJson(prompt)}` };
    }
    return { key: nodeToJson(chatBody(body, { billingHeader: true }).root) };
  } catch (err) {
    if (err instanceof KvdiffError) return { key: `error:${body.label}:${nodeToJson(body.root)}`, error: err.message };
    throw err;
  }
}

/** The server answered with an error for this body: a refusal to report, not a tool failure. */
class ServerRefused extends Error {}

async function call(fetchFn: typeof fetch, base: string, path: string, body: string | undefined, deadline?: Deadline): Promise<Record<string, unknown>> {
  let res: Response;
  let text: string;
  deadline?.check(`asking llama-server (${path})`);
  const timeoutMs = Math.min(SERVER_TIMEOUT_MS, deadline ? Math.max(1, deadline.remaining()) : SERVER_TIMEOUT_MS);
  const signal = AbortSignal.timeout(timeoutMs);
  try {
    res = await fetchFn(`${base}${path}`, {
      method: body === undefined ? 'GET' : 'POST',
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
      body,
      signal,
    });
    text = new TextDecoder().decode(await readCapped(res, `llama-server at ${base}${path}`, signal, MAX_SERVER_RESPONSE_BYTES));
  } catch (err) {
    if (err instanceof KvdiffError) throw err;
    const e = err as Error;
    const code = causeCode(err);
    if (e.name === 'TimeoutError' && deadline && deadline.remaining() <= 0) throw deadline.error(`waiting for llama-server (${path})`);
    const why =
      e.name === 'TimeoutError' ? `no answer within ${SERVER_TIMEOUT_MS / 1000} s` : code === 'ECONNREFUSED' ? 'connection refused (ECONNREFUSED: nothing listens there)' : code;
    throw new KvdiffError(`could not reach llama-server at ${base}${path}: ${why}`, 'start llama-server, or check the --server URL');
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new KvdiffError(`llama-server at ${base} answered ${path} with HTTP ${res.status} and no JSON: is this a llama-server?`);
  }
  if (!res.ok) {
    const msg = (json as { error?: { message?: string } | string })?.error;
    const text2 = typeof msg === 'string' ? msg : (msg?.message ?? `HTTP ${res.status}`);
    // the server refuses a body with 400 (template raised) or 500 (e.g. an image without a projector);
    // 404 (not a llama-server) and 503 (still loading) are failures of the tool, not answers about the body
    if (path === '/apply-template' && res.status !== 404 && res.status !== 503) throw new ServerRefused(text2);
    throw new KvdiffError(`llama-server at ${base} answered ${path} with HTTP ${res.status}: ${text2}`);
  }
  if (!json || typeof json !== 'object' || Array.isArray(json)) throw new KvdiffError(`llama-server at ${base} answered ${path} with unexpected JSON`);
  return json as Record<string, unknown>;
}

/** UTF-16 start of each token, from its piece's bytes laid along the prompt's bytes (an added BOS takes none). */
function offsets(prompt: string, pieces: Uint8Array[]): number[] {
  const text = new TextEncoder().encode(prompt);
  // byte offset → UTF-16 index
  const toUtf16 = new Uint32Array(text.length + 1);
  let u = 0;
  let bi = 0;
  for (const ch of prompt) {
    const cp = ch.codePointAt(0)!;
    const w = cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
    for (let k = 0; k < w; k++) toUtf16[bi + k] = u;
    bi += w;
    u += ch.length;
  }
  toUtf16[text.length] = prompt.length;
  const starts: number[] = [];
  let at = 0;
  for (const p of pieces) {
    starts.push(toUtf16[Math.min(at, text.length)]);
    const matches = at + p.length <= text.length && p.every((b, k) => text[at + k] === b);
    if (matches) at += p.length;
  }
  return starts;
}

/** A server on this machine, whose `model_path` names a file kvdiff can read too. */
function isLoopback(base: string): boolean {
  const host = new URL(base).hostname.replace(/^\[|\]$/g, '');
  return host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);
}
