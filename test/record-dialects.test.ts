import { readdirSync, readFileSync } from 'node:fs';
import { capturingContext } from './cli-harness.js';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildEngine } from '../src/cli/shared.js';
import type { RecordLine } from '../src/node/record/analysis.js';
import { InlineAnalyzer } from '../src/node/record/analyzer.js';
import { send, standIn, startRecorder } from './record-harness.js';
import { HAVE_SHARED, NO_SHARED_REASON, SHARED, SHARED_MODELS } from './shared.js';

// Requests that Claude Code (/v1/messages) and Codex (/v1/responses) sent to a real llama-server, A then B
// (../shared/fixtures/llama-server-dialects): recorded through `kvdiff record`, B's line must predict the n_past
// the server logged. The stand-in upstream answers with the usage the server returned.
interface DialectCase {
  case: string;
  endpoint: string;
  model: string;
  request_a: unknown;
  request_b: unknown;
  status_a: number;
  status_b: number;
  usage_b: unknown;
  n_past_logged: number;
  date: string;
}

const DIR = join(SHARED, 'fixtures', 'llama-server-dialects');
const cases: DialectCase[] = HAVE_SHARED
  ? readdirSync(DIR)
      .filter((f) => f.startsWith('qwen3_') && f.endsWith('.json'))
      .map((f) => JSON.parse(readFileSync(join(DIR, f), 'utf8')) as DialectCase)
      .filter((c) => c.status_a === 200 && c.status_b === 200)
  : [];
const ctx = capturingContext();

describe.skipIf(!HAVE_SHARED)(`kvdiff record on /v1/messages and /v1/responses sessions (${HAVE_SHARED ? "the server's recorded n_past" : NO_SHARED_REASON})`, () => {
  it('the recordings are there, of both endpoints', () => {
    expect(new Set(cases.map((c) => c.endpoint))).toEqual(new Set(['/v1/messages', '/v1/responses']));
  });
  for (const c of cases) {
    it(`${c.case}: B's line predicts the logged n_past (${c.n_past_logged})`, async () => {
      const up = await standIn(() => ({ chunks: [JSON.stringify({ usage: c.usage_b })] }));
      const lines: RecordLine[] = [];
      const engine = buildEngine({ backend: 'llama.cpp', date: c.date, gguf: `${SHARED_MODELS}tiny-qwen3.gguf` }, ctx);
      const rec = await startRecorder(up.url, { analyzer: (onLine, onError) => new InlineAnalyzer(engine, onLine, onError), onLine: (l) => lines.push(l) });
      for (const body of [c.request_a, c.request_b]) {
        expect((await send(rec.port, 'POST', c.endpoint, JSON.stringify(body), { 'x-kvdiff-session': c.case })).status).toBe(200);
      }
      await rec.recorder.close(60_000);
      lines.sort((x, y) => x.seq - y.seq);
      expect(lines).toHaveLength(2);
      expect(lines[1].note ?? null).toBeNull();
      expect(lines[1].predicted).toBe(c.n_past_logged);
      if (lines[1].reported !== null) expect(lines[1].agrees).toBe(true);
      await up.close();
    });
  }
});
