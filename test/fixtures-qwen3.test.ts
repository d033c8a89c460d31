import { describe, expect, it } from 'vitest';
import { Engine } from '../src/engine.js';
import { comparePrompts as compare } from '../src/compare.js';
import { loadBuiltinModel } from '../src/model/builtin.js';
import { nodeFs } from '../src/node/fs.js';
import { bodyFromObject } from '../src/payload/body.js';
import { HAVE_SHARED, NO_SHARED_REASON, loadFixtures } from './shared.js';

// Issue 2's reference set: tiny-qwen3 recordings without --cache-reuse where the template saw the client JSON
// unchanged (hf_jinja2_equals_server_a/b), so the embedded model alone must reproduce the server.
const cases = loadFixtures().filter(
  (f) =>
    f.model === 'tiny-qwen3.gguf' &&
    !f.server_args.includes('--cache-reuse') &&
    f.hf_jinja2_equals_server_a === true &&
    f.hf_jinja2_equals_server_b === true &&
    f.rendered_b !== undefined,
);

describe.skipIf(!HAVE_SHARED)(`embedded qwen3 against llama-server recordings (${HAVE_SHARED ? '' : NO_SHARED_REASON})`, async () => {
  const model = HAVE_SHARED ? await loadBuiltinModel(nodeFs, 'qwen3') : undefined;
  it('has cases to check', () => {
    expect(cases.length).toBeGreaterThanOrEqual(15);
  });
  for (const backend of ['llama.cpp', 'raw'] as const) {
    describe(`--backend ${backend}`, () => {
      const engine = model && new Engine({ model, backend, now: new Date(Date.UTC(2026, 10, 27)) });
      for (const f of cases) {
        it(f.case, () => {
          const a = engine!.process(bodyFromObject(f.request_a, 'A'), 'A');
          const b = engine!.process(bodyFromObject(f.request_b, 'B'), 'B');
          expect(a.rendered).toBe(f.rendered_a);
          expect(b.rendered).toBe(f.rendered_b);
          expect(a.tokens.ids).toEqual(f.tokens_a);
          expect(b.tokens.ids).toEqual(f.tokens_b);
          expect(compare(a.rendered, a.tokens, b.rendered, b.tokens).nPast).toBe(f.n_past_logged);
        });
      }
    });
  }
  it('agentic session: each step against the previous gives the logged n_past', () => {
    const f = loadFixtures().find((x) => x.case === 'qwen3_agentic_session_4_steps')!;
    const engine = new Engine({ model: model!, backend: 'llama.cpp', now: new Date() });
    const got: number[] = [];
    let prev: ReturnType<Engine['process']> | null = null;
    for (const step of f.steps!) {
      const cur = engine.process(bodyFromObject(step.request, `step ${step.step}`), `step ${step.step}`);
      expect(cur.rendered).toBe(step.rendered);
      expect(cur.tokens.ids).toEqual(step.tokens);
      got.push(prev ? compare(prev.rendered, prev.tokens, cur.rendered, cur.tokens).nPast : 0);
      prev = cur;
    }
    expect(got).toEqual(f.steps!.map((s) => s.n_past_logged));
  });
});
