import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Engine } from '../src/engine.js';
import { bodyFromObject } from '../src/payload/body.js';
import { runCli } from './cli-harness.js';
import { tempFiles } from './tmp.js';
import { fixtureModel } from './fixture-models.js';
import { HAVE_SHARED, NO_SHARED_REASON, SHARED } from './shared.js';

// --server with /v1/messages and /v1/responses bodies: /apply-template reads chat-completions bodies only, so kvdiff
// must send the body llama-server would have converted. The stand-in records what it received; the recorded
// converted bodies must be among them. It renders with kvdiff's llama.cpp backend (the protocol is under test here;
// the render itself is checked against the recordings in dialects-fixtures.test.ts).
const HAVE = HAVE_SHARED;
const load = (name: string) => JSON.parse(readFileSync(join(SHARED, 'fixtures', 'llama-server-dialects', `${name}.json`), 'utf8'));
const { write } = tempFiles('dialects-server');

describe.skipIf(!HAVE)(`--server with dialect bodies (${HAVE ? '' : NO_SHARED_REASON})`, () => {
  let server: Server;
  let url: string;
  const received: string[] = [];
  const tokenized: unknown[] = [];

  beforeAll(async () => {
    const model = await fixtureModel('tiny-qwen3.gguf');
    const engine = new Engine({ model, backend: 'llama.cpp', now: new Date(Date.UTC(2026, 11, 1)) });
    server = createServer((req, res) => {
      let body = '';
      req.on('data', (c) => (body += c));
      req.on('end', () => {
        const send = (status: number, json: unknown) => {
          res.writeHead(status, { 'content-type': 'application/json' });
          res.end(JSON.stringify(json));
        };
        if (req.url === '/props') return send(200, { chat_template: model.chatTemplate, bos_token: model.bosToken, eos_token: model.eosToken });
        if (req.url === '/apply-template') {
          received.push(JSON.stringify(JSON.parse(body)));
          try {
            return send(200, { prompt: engine.render(bodyFromObject(JSON.parse(body), 'chat'), 'chat') });
          } catch (err) {
            return send(400, { error: { code: 400, message: (err as Error).message } });
          }
        }
        if (req.url === '/tokenize') {
          const { content } = JSON.parse(body) as { content: unknown };
          tokenized.push(content);
          const ids = typeof content === 'string' ? engine.tokenize(content).ids : (content as number[]);
          return send(200, { tokens: ids.map((id) => ({ id, piece: engine.piece(id) })) });
        }
        send(404, { error: { code: 404, message: 'File Not Found' } });
      });
    });
    await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((ok) => server.close(() => ok())));

  for (const name of ['qwen3_anthropic_billing_header_cch_changes', 'qwen3_responses_arguments_spacing']) {
    it(`${name}: the server gets the converted bodies; n_past as logged`, async () => {
      const c = load(name);
      const r = await runCli([write(`${name}-a.json`, c.request_a), write(`${name}-b.json`, c.request_b), '--server', url, '--json']);
      expect(r.stderr).toBe('');
      expect(JSON.parse(r.stdout).nPast).toBe(c.n_past_logged);
      expect(received).toContain(JSON.stringify(c.converted_a));
      expect(received).toContain(JSON.stringify(c.converted_b));
    });
  }
  it('a refused conversion never reaches the server: exit 2 with its reason', async () => {
    const c = load('qwen3_responses_previous_response_id');
    const r = await runCli([write('p-a.json', c.request_a), write('p-b.json', c.request_b), '--server', url]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(c.error_b.message);
  });
  it('a completion body goes to /tokenize as its prompt', async () => {
    const r = await runCli(['tokens', '--json', write('cmpl.json', { prompt: [1, 2, 3] }), '--server', url]);
    expect(JSON.parse(r.stdout).ids).toEqual([1, 2, 3]);
    expect(tokenized).toContainEqual([1, 2, 3]);
  });
});
