import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempFiles } from './tmp.js';
import { Engine } from '../src/engine.js';
import { bodyFromObject } from '../src/payload/body.js';
import { runCli } from './cli-harness.js';
import { diffRequests } from '../src/index.js';
import { fixtureModel } from './fixture-models.js';
import { HAVE_SHARED, NO_SHARED_REASON, loadFixtures } from './shared.js';

// A stand-in llama-server on 127.0.0.1. For the recorded request bodies it answers with the recordings
// (rendered_*, tokens_*, pieces_*, the image refusal). Attribution also sends what-if variants the recordings do
// not hold; for those only, the stand-in renders with kvdiff's own llama.cpp backend, so these tests check the
// protocol and the prediction on recorded bodies, not kvdiff against itself.
const fixtures = loadFixtures().filter((f) => f.model === 'tiny-qwen3.gguf' && f.request_b && !f.steps);
const { write } = tempFiles('server');

describe.skipIf(!HAVE_SHARED)(`--server against a stand-in llama-server (${HAVE_SHARED ? '' : NO_SHARED_REASON})`, () => {
  let server: Server;
  let url: string;
  let mode: 'ok' | 'garbage' = 'ok';
  const recorded = new Map<string, { prompt?: string; error?: string }>();
  const tokenized = new Map<string, { ids: number[]; pieces: string[] }>();

  beforeAll(async () => {
    const model = await fixtureModel('tiny-qwen3.gguf');
    const engine = new Engine({ model, backend: 'llama.cpp', now: new Date(Date.UTC(2026, 10, 27)) });
    for (const f of fixtures) {
      recorded.set(JSON.stringify(f.request_a), { prompt: f.rendered_a });
      if (f.error_b) recorded.set(JSON.stringify(f.request_b), { error: 'image input is not supported - hint: if this is unexpected, you may need to provide the mmproj' });
      else recorded.set(JSON.stringify(f.request_b), { prompt: f.rendered_b });
      if (f.pieces_a) tokenized.set(f.rendered_a!, { ids: f.tokens_a!, pieces: f.pieces_a as string[] });
      if (f.pieces_b) tokenized.set(f.rendered_b!, { ids: f.tokens_b!, pieces: f.pieces_b as string[] });
    }
    server = createServer((req, res) => {
      let body = '';
      req.on('data', (c) => (body += c));
      req.on('end', () => {
        const send = (status: number, json: unknown) => {
          res.writeHead(status, { 'content-type': 'application/json' });
          res.end(JSON.stringify(json));
        };
        if (mode === 'garbage') {
          res.writeHead(200, { 'content-type': 'text/html' });
          return res.end('<html>hello</html>');
        }
        if (req.url === '/props') return send(200, { chat_template: model.chatTemplate, bos_token: model.bosToken, eos_token: model.eosToken, model_path: 'tiny-qwen3.gguf' });
        if (req.url === '/apply-template') {
          const key = JSON.stringify(JSON.parse(body));
          const hit = recorded.get(key);
          if (hit?.error) return send(500, { error: { code: 500, message: hit.error, type: 'server_error' } });
          if (hit) return send(200, { prompt: hit.prompt });
          try {
            return send(200, { prompt: engine.render(bodyFromObject(JSON.parse(body), 'variant'), 'variant') });
          } catch (err) {
            return send(400, { error: { code: 400, message: (err as Error).message } });
          }
        }
        if (req.url === '/tokenize') {
          const { content } = JSON.parse(body) as { content: string };
          const hit = tokenized.get(content) ?? (() => {
            const t = engine.tokenize(content);
            return { ids: t.ids, pieces: t.ids.map((id) => engine.piece(id)) };
          })();
          return send(200, { tokens: hit.ids.map((id, i) => ({ id, piece: hit.pieces[i] })) });
        }
        send(404, { error: { code: 404, message: 'File Not Found' } });
      });
    });
    await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((ok) => server.close(() => ok())));


  for (const f of fixtures.filter((x) => !x.error_b)) {
    it(`${f.case}: n_past ${f.n_past_logged} through the server`, async () => {
      const extra = f.server_args.includes('--cache-reuse') ? ['--cache-reuse', f.server_args[f.server_args.indexOf('--cache-reuse') + 1]] : [];
      const r = await runCli([write(`${f.case}-a.json`, f.request_a), write(`${f.case}-b.json`, f.request_b), '--server', url, '--json', ...extra]);
      expect(r.stderr).toBe('');
      const j = JSON.parse(r.stdout);
      expect(j.nPast).toBe(f.n_past_logged);
      expect(j.tokens).toEqual({ a: f.tokens_a!.length, b: f.tokens_b!.length });
      expect(j.model.kind).toBe('server');
    });
  }
  it('the library takes a server too', async () => {
    const f = fixtures.find((x) => x.case === 'qwen3_system_timestamp_changed')!;
    const r = await diffRequests(f.request_a as Record<string, unknown>, f.request_b as Record<string, unknown>, { server: url });
    expect(r.nPast).toBe(f.n_past_logged);
    expect(r.model.kind).toBe('server');
  });
  it('render prints exactly what the server rendered', async () => {
    const f = fixtures[0];
    const r = await runCli(['render', write('render.json', f.request_a), '--server', url]);
    expect(r.stdout).toBe(f.rendered_a);
  });
  it("a body the server refuses is reported with the server's message, exit 2", async () => {
    const f = fixtures.find((x) => x.error_b)!;
    const r = await runCli([write('img-a.json', f.request_a), write('img-b.json', f.request_b), '--server', url]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/refused B .*image input is not supported/);
  });
  it('a server that answers garbage is one clear line, exit 2', async () => {
    mode = 'garbage';
    try {
      const r = await runCli(['render', 'samples/system-timestamp/a.json', '--server', url]);
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(/^error: llama-server at .* answered \/props with HTTP 200 and no JSON/);
    } finally {
      mode = 'ok';
    }
  });
  it('a server that is not there is one clear line, exit 2', async () => {
    const closed = createServer();
    await new Promise<void>((ok) => closed.listen(0, '127.0.0.1', ok));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((ok) => closed.close(() => ok()));
    const r = await runCli(['render', 'samples/system-timestamp/a.json', '--server', `http://127.0.0.1:${port}`]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/could not reach llama-server .*ECONNREFUSED/);
  });
});
