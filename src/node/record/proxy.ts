import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { displayUrl, type Redactor } from './secrets.js';
import { clientSessionKey, conversationOf, generationDialect, isStreamed, SESSION_HEADER, type Dialect } from './routes.js';
import { countersFromBody, MAX_RESPONSE_CHARS, StreamCounters, type ServerCounters } from './counters.js';
import type { SessionRouter } from './sessions.js';

/** Default request-body limit for captures (a bigger body is forwarded, not captured). */
export const DEFAULT_MAX_BODY_BYTES = 32 * 1024 * 1024;

/** Headers that belong to one connection, never forwarded (RFC 9110 §7.6.1), plus the proxy-only session header. */
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-authenticate', 'proxy-authorization', 'proxy-connection', 'te', 'trailer', 'transfer-encoding', 'upgrade', 'host']);

/** Raw headers minus the hop-by-hop ones, those the Connection header names, and any `also` given. */
function endToEnd(raw: readonly string[], connection: string | undefined, ...also: string[]): string[] {
  const listed = new Set([...(connection ?? '').split(',').map((s) => s.trim().toLowerCase()), ...also]);
  const out: string[] = [];
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = raw[i].toLowerCase();
    if (!HOP_BY_HOP.has(name) && !listed.has(name)) out.push(raw[i], raw[i + 1]);
  }
  return out;
}

/** One generation request seen through the proxy: what the capture writer and the analysis receive. */
export interface Exchange {
  id: number;
  dialect: Dialect;
  method: string;
  /** Path and query, credentials in the query redacted. */
  path: string;
  /** Request headers minus secrets; the names of those left out. */
  headers: Record<string, string>;
  redactedHeaders: string[];
  receivedAt: Date;
  /** The whole body, or null when it was over the limit. */
  body: Buffer | null;
  bodyBytes: number;
  streamed: boolean;
  session: string | null;
  seq: number;
  assignedBy: string | null;
}

/** How an exchange ended. */
export interface ExchangeResult {
  status: number | null;
  durationMs: number;
  counters: ServerCounters | null;
  /** Why the exchange did not finish normally (client gone, upstream error). */
  error: string | null;
}

export interface ProxyEvents {
  /** The request body is complete and assigned to a session (not called for a body over the limit). */
  request(ex: Exchange): void;
  /** The response is complete (or failed). Called once per generation request, also for ones not captured. */
  response(ex: Exchange, result: ExchangeResult): void;
}

export interface ProxyOptions {
  upstream: URL;
  maxBodyBytes: number;
  redactor: Redactor;
  router: SessionRouter;
  events: ProxyEvents;
}

/**
 * The forwarding half of `kvdiff record`: every request goes upstream as it came (method, path, query, headers
 * other than hop-by-hop, body streamed), and every response comes back as it was sent, chunk by chunk. Generation
 * requests are also copied aside (up to the body limit) and reported through `events` once complete; nothing
 * here waits for a capture to be written or analysed.
 */
export class RecordProxy {
  readonly server: http.Server;
  private readonly agent: http.Agent;
  private nextId = 0;
  private readonly live = new Map<number, () => void>();
  private readonly settled = new Set<Promise<void>>();

  constructor(private readonly opts: ProxyOptions) {
    const secure = opts.upstream.protocol === 'https:';
    this.agent = secure ? new https.Agent({ keepAlive: true }) : new http.Agent({ keepAlive: true });
    this.server = http.createServer((req, res) => this.handle(req, res));
    // agents hold long generations open: no server-side request timeout
    this.server.requestTimeout = 0;
  }

  listen(port: number, host: string): Promise<AddressInfo> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, host, () => {
        this.server.off('error', reject);
        resolve(this.server.address() as AddressInfo);
      });
    });
  }

  /** Stops accepting; waits up to `ms` for requests in flight, then cuts the rest. */
  async close(ms: number): Promise<void> {
    const closed = new Promise<void>((r) => this.server.close(() => r()));
    this.server.closeIdleConnections();
    const waiting = Promise.all([...this.settled]);
    await Promise.race([waiting, new Promise((r) => setTimeout(r, ms).unref())]);
    for (const abort of this.live.values()) abort();
    await waiting;
    this.server.closeAllConnections();
    await closed;
    this.agent.destroy();
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const dialect = generationDialect(req.method, req.url);
    const started = performance.now();
    const { upstream, redactor } = this.opts;
    const base = upstream.pathname.replace(/\/$/, '');
    const headers = endToEnd(req.rawHeaders, req.headers.connection, SESSION_HEADER);
    const client = upstream.protocol === 'https:' ? https : http;
    const upReq = client.request({
      protocol: upstream.protocol,
      hostname: upstream.hostname,
      port: upstream.port || undefined,
      method: req.method,
      path: base + (req.url ?? '/'),
      headers: [...headers, 'Host', upstream.host] as unknown as http.OutgoingHttpHeaders,
      agent: this.agent,
    });

    let ex: Exchange | null = null;
    let upStatus: number | null = null;
    let finish: (result: ExchangeResult) => void = () => {};
    if (dialect) {
      const { kept, redacted } = redactor.headers(req.rawHeaders);
      const id = ++this.nextId;
      ex = { id, dialect, method: req.method!, path: redactor.path(req.url ?? '/'), headers: kept, redactedHeaders: redacted, receivedAt: new Date(), body: null, bodyBytes: 0, streamed: false, session: null, seq: 0, assignedBy: null };
      const capture = ex;
      let done = false;
      let release!: () => void;
      const settled = new Promise<void>((r) => (release = r));
      this.settled.add(settled);
      finish = (result) => {
        if (done) return;
        done = true;
        this.live.delete(id);
        this.settled.delete(settled);
        release();
        try {
          this.opts.events.response(capture, result);
        } catch {
          // a failing listener never touches the traffic
        }
      };
      this.live.set(id, () => {
        fail(upStatus, 'cut when kvdiff record stopped');
        upReq.destroy();
        res.destroy();
      });
      this.tapRequest(req, capture, String(req.headers[SESSION_HEADER] ?? '') || null);
    }
    const fail = (status: number | null, error: string) => finish({ status, durationMs: performance.now() - started, counters: null, error });

    upReq.on('response', (upRes) => {
      upStatus = upRes.statusCode ?? null;
      const raw = endToEnd(upRes.rawHeaders, upRes.headers.connection);
      res.writeHead(upRes.statusCode ?? 502, upRes.statusMessage, raw);
      res.flushHeaders();
      const sse = /text\/event-stream/i.test(String(upRes.headers['content-type'] ?? ''));
      const stream = ex ? (sse ? new StreamCounters() : null) : null;
      const kept: Buffer[] = [];
      let keptChars = 0;
      if (ex) {
        upRes.on('data', (chunk: Buffer) => {
          if (stream) stream.push(chunk);
          else if (keptChars <= MAX_RESPONSE_CHARS) {
            kept.push(chunk);
            keptChars += chunk.length;
          }
        });
      }
      upRes.pipe(res);
      upRes.on('end', () => {
        const counters = stream ? stream.end() : keptChars <= MAX_RESPONSE_CHARS ? countersFromBody(Buffer.concat(kept).toString('utf8')) : null;
        finish({ status: upRes.statusCode ?? null, durationMs: performance.now() - started, counters, error: null });
      });
      upRes.on('error', (err) => {
        res.destroy();
        fail(upRes.statusCode ?? null, `upstream response cut: ${err.message}`);
      });
      upRes.on('aborted', () => fail(upRes.statusCode ?? null, 'upstream response cut'));
    });

    upReq.on('error', (err: NodeJS.ErrnoException) => {
      if (res.headersSent) {
        res.destroy();
      } else {
        const message = `kvdiff record: upstream ${displayUrl(upstream)} ${err.code === 'ECONNREFUSED' ? 'refused the connection' : `failed: ${err.code ?? err.message}`}`;
        const body = JSON.stringify({ error: { type: 'upstream_unavailable', code: 502, message } });
        res.writeHead(502, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
        res.end(body);
      }
      fail(502, err.code ?? err.message);
    });

    // a client that goes away takes the upstream request with it
    res.on('close', () => {
      if (!res.writableFinished) {
        upReq.destroy();
        fail(upStatus, 'client disconnected');
      }
    });
    req.on('error', () => upReq.destroy());
    req.pipe(upReq);
  }

  /** Copies a generation request's body aside as it streams upstream; assigns its session once complete. */
  private tapRequest(req: IncomingMessage, ex: Exchange, header: string | null): void {
    const chunks: Buffer[] = [];
    let over = false;
    req.on('data', (chunk: Buffer) => {
      ex.bodyBytes += chunk.length;
      if (over) return;
      if (ex.bodyBytes > this.opts.maxBodyBytes) {
        over = true;
        chunks.length = 0;
      } else chunks.push(chunk);
    });
    req.on('end', () => {
      if (over) return;
      ex.body = Buffer.concat(chunks);
      let parsed: unknown = null;
      try {
        parsed = JSON.parse(ex.body.toString('utf8'));
      } catch {
        // not JSON: captured as sent, in a session of its own dialect
      }
      ex.streamed = isStreamed(parsed);
      const a = this.opts.router.assign(ex.dialect, conversationOf(ex.dialect, parsed), header, clientSessionKey(ex.dialect, parsed));
      ex.session = a.session.name;
      ex.seq = a.seq;
      ex.assignedBy = a.by;
      try {
        this.opts.events.request(ex);
      } catch {
        // a failing listener never touches the traffic
      }
    });
  }
}
