import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Engine } from '../src/engine.js';
import { diffRequests } from '../src/index.js';
import { bodyFromObject } from '../src/payload/body.js';
import { fixtureModel } from './fixture-models.js';
import { HAVE_SHARED, NO_SHARED_REASON, SHARED_MODELS, loadFixtures } from './shared.js';

// --server on a sliding-window model: llama-server's API does not report the window, so kvdiff reads it from the
// GGUF file a server on this machine names in /props `model_path`, and asks the server for the renders of A's
// message prefixes (where the checkpoints are). The stand-in server answers the recorded bodies with the
// recordings; the prefix bodies the recordings do not hold are rendered with kvdiff's llama.cpp backend (as in
// server-source.test.ts). The n_past expected is the recorded one (1 where the LCP is 46: checkpoint fallback).
const fixtures = loadFixtures().filter((f) => f.model === 'tiny-gemma3.gguf' && f.request_b);

describe.skipIf(!HAVE_SHARED)(`--server on a sliding-window model (${HAVE_SHARED ? '' : NO_SHARED_REASON})`, () => {
  let server: Server;
  let url: string;
  const recorded = new Map<string, string>();
  const tokenized = new Map<string, number[]>();

  beforeAll(async () => {
    const model = await fixtureModel('tiny-gemma3.gguf');
    const engine = new Engine({ model, backend: 'llama.cpp', now: new Date(Date.UTC(2026, 10, 27)) });
    for (const f of fixtures) {
      recorded.set(JSON.stringify(f.request_a), f.rendered_a!);
      recorded.set(JSON.stringify(f.request_b), f.rendered_b!);
      tokenized.set(f.rendered_a!, f.tokens_a!);
      tokenized.set(f.rendered_b!, f.tokens_b!);
    }
    server = createServer((req, res) => {
      let body = '';
      req.on('data', (c) => (body += c));
      req.on('end', () => {
        const send = (json: unknown) => {
          res.writeHead(200, { 'content-type': 'application/json' });
          res.end(JSON.stringify(json));
        };
        if (req.url === '/props') {
          return send({ chat_template: model.chatTemplate, bos_token: model.bosToken, eos_token: model.eosToken, model_path: `${SHARED_MODELS}tiny-gemma3.gguf` });
        }
        if (req.url === '/apply-template') {
          const prompt = recorded.get(JSON.stringify(JSON.parse(body))) ?? engine.render(bodyFromObject(JSON.parse(body), 'prefix'), 'prefix');
          return send({ prompt });
        }
        if (req.url === '/tokenize') {
          const { content } = JSON.parse(body) as { content: string };
          const ids = tokenized.get(content) ?? engine.tokenize(content).ids;
          return send({ tokens: ids.map((id) => ({ id, piece: engine.piece(id) })) });
        }
        res.writeHead(404);
        res.end();
      });
    });
    await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((ok) => server.close(() => ok())));

  it('has the recorded gemma3 cases', () => expect(fixtures.length).toBeGreaterThan(2));
  for (const f of fixtures) {
    it(`${f.case}: n_past ${f.n_past_logged} through the server`, async () => {
      const r = await diffRequests(f.request_a as Record<string, unknown>, f.request_b as Record<string, unknown>, {
        server: url,
        date: '2026-11-27',
        cache: { nBatch: 32, nUbatch: 32 }, // the recordings' -b 32 -ub 32
      });
      expect(r.nPast).toBe(f.n_past_logged);
    });
  }
});
