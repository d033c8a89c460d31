import { describe, expect, it } from 'vitest';
import { analyze } from '../src/analyze.js';
import { Engine } from '../src/engine.js';
import { KvdiffError } from '../src/errors.js';
import type { CacheConfig } from '../src/cache.js';
import type { ModelInfo } from '../src/model/types.js';
import { bodyFromObject } from '../src/payload/body.js';
import { HAVE_SHARED, NO_SHARED_REASON, loadFixtures, type Fixture } from './shared.js';
import { fixtureModel } from './fixture-models.js';

// Issue 4's reference: every recorded case, on its own model, with the case's server flags passed as kvdiff
// options, must give the server's render, tokens and n_past (the image case: the server's refusal).
const fixtures = loadFixtures();

function cacheFlags(f: Fixture): Partial<CacheConfig> {
  const arg = (name: string) => {
    const i = f.server_args.indexOf(name);
    return i >= 0 ? Number(f.server_args[i + 1]) : undefined;
  };
  const out: Partial<CacheConfig> = {};
  if (arg('--cache-reuse') !== undefined) out.cacheReuse = arg('--cache-reuse');
  if (arg('-b') !== undefined) out.nBatch = arg('-b');
  if (arg('-ub') !== undefined) out.nUbatch = arg('-ub');
  return out;
}

describe.skipIf(!HAVE_SHARED)(`every llama-server recording (${HAVE_SHARED ? '' : NO_SHARED_REASON})`, async () => {
  const models = new Map<string, ModelInfo>();
  for (const f of fixtures) if (!models.has(f.model)) models.set(f.model, await fixtureModel(f.model));
  const results: { name: string; ok: boolean }[] = [];

  for (const f of fixtures) {
    const model = models.get(f.model);
    it(f.case, () => {
      const engine = new Engine({ model: model!, backend: 'llama.cpp', cache: cacheFlags(f), now: new Date(Date.UTC(2026, 10, 27)) });
      let ok = false;
      try {
        if (f.error_b) {
          expect(() => engine.render(bodyFromObject(f.request_b, 'B'), 'B')).toThrow(KvdiffError);
          expect(() => engine.render(bodyFromObject(f.request_b, 'B'), 'B')).toThrow(/image input is not supported/);
          ok = true;
          return;
        }
        const r = analyze(engine, bodyFromObject(f.request_a, 'A'), bodyFromObject(f.request_b, 'B'));
        expect(r.a.rendered).toBe(f.rendered_a);
        expect(r.b.rendered).toBe(f.rendered_b);
        expect(r.a.ids).toEqual(f.tokens_a);
        expect(r.b.ids).toEqual(f.tokens_b);
        expect(r.comparison.nPast).toBe(f.n_past_logged);
        ok = true;
      } finally {
        results.push({ name: f.case, ok });
      }
    });
  }
  it('prints the count', () => {
    const ok = results.filter((r) => r.ok).length;
    console.log(`${ok}/${fixtures.length} cases match`);
    expect(ok).toBe(fixtures.length);
  });
});
