import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AnalysisJob, RecordLine } from '../src/node/record/analysis.js';
import type { Analyzer } from '../src/node/record/analyzer.js';
import { Recorder, type RecorderOptions } from '../src/node/record/recorder.js';

/** Only ever loopback: the tests never talk to any other address. */
export const LOOPBACK = '127.0.0.1';

/** What the stand-in upstream received. */
export interface Received {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  rawHeaders: string[];
  body: Buffer;
}

/** How the stand-in answers one request: status, headers, and the chunks of its body (with a pause before each). */
export interface Reply {
  status?: number;
  headers?: Record<string, string>;
  chunks: (string | Buffer)[];
  /** Milliseconds between chunks (0: next tick). */
  gapMs?: number;
  /** Keep the response open after the chunks (to test a client that goes away). */
  hold?: boolean;
}

/** A stand-in upstream on loopback: records each request and answers with `reply(received)`. */
export async function standIn(reply: (r: Received) => Reply) {
  const received: Received[] = [];
  const closedEarly: string[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', async () => {
      const r: Received = { method: req.method!, url: req.url!, headers: req.headers, rawHeaders: req.rawHeaders, body: Buffer.concat(chunks) };
      received.push(r);
      const out = reply(r);
      res.on('close', () => {
        if (!res.writableFinished) closedEarly.push(req.url!);
      });
      res.writeHead(out.status ?? 200, out.headers ?? { 'content-type': 'application/json' });
      for (const c of out.chunks) {
        if (out.gapMs) await new Promise((r) => setTimeout(r, out.gapMs));
        else await new Promise((r) => setImmediate(r));
        if (res.destroyed) return;
        res.write(c);
      }
      if (!out.hold) res.end();
    });
  });
  await new Promise<void>((r) => server.listen(0, LOOPBACK, () => r()));
  const port = (server.address() as AddressInfo).port;
  return {
    url: new URL(`http://${LOOPBACK}:${port}`),
    port,
    received,
    closedEarly,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

/** What a client got back: status, headers and the exact body bytes. */
export interface Got {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

const clientAgent = new http.Agent({ keepAlive: true, maxSockets: 64 });

/** Sends one request to loopback `port` and collects the raw response. */
export function send(port: number, method: string, path: string, body: string | Buffer | null, headers: Record<string, string> = {}): Promise<Got> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: LOOPBACK, port, method, path, headers: { 'content-type': 'application/json', ...headers }, agent: clientAgent }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body ?? undefined);
  });
}

/** An analyzer that only collects the jobs (for tests of the proxy and the captures, not of the analysis). */
export class CollectingAnalyzer implements Analyzer {
  readonly jobs: AnalysisJob[] = [];
  submit(job: AnalysisJob): string | null {
    this.jobs.push(job);
    return null;
  }
  async close(): Promise<number> {
    return 0;
  }
}

/** A recorder on a free loopback port, writing into a fresh temporary folder. */
export async function startRecorder(upstream: URL, opts: Partial<RecorderOptions> = {}) {
  const lines: RecordLine[] = [];
  const notes: string[] = [];
  const collecting = new CollectingAnalyzer();
  const out = opts.out ?? mkdtempSync(join(tmpdir(), 'kvdiff-record-'));
  const recorder = new Recorder({
    upstream,
    out,
    maxBodyBytes: 1024 * 1024,
    redact: [],
    analyzer: () => collecting,
    onLine: (l) => lines.push(l),
    onNote: (t) => notes.push(t),
    ...opts,
  });
  const addr = await recorder.listen(0, LOOPBACK);
  return { recorder, port: addr.port, out, lines, notes, jobs: collecting.jobs };
}
