import { describe, expect, it } from 'vitest';
import { DEFAULT_CACHE_CONFIG, checkpointsFor, predictReuse, type CacheConfig } from '../src/cache.js';
import { HAVE_SHARED, NO_SHARED_REASON, loadFixtures, type Fixture } from './shared.js';

// The cache rules run on the recorded token ids, so these tests check the rules alone against what the server
// logged (n_past_logged), independent of templates and tokenizers.
const fixtures = loadFixtures();

function serverConfig(f: Fixture, nSwa: number): CacheConfig {
  const arg = (name: string) => {
    const i = f.server_args.indexOf(name);
    return i >= 0 ? Number(f.server_args[i + 1]) : undefined;
  };
  return {
    ...DEFAULT_CACHE_CONFIG,
    nSwa,
    cacheReuse: arg('--cache-reuse') ?? 0,
    nBatch: arg('-b') ?? DEFAULT_CACHE_CONFIG.nBatch,
    nUbatch: arg('-ub') ?? DEFAULT_CACHE_CONFIG.nUbatch,
  };
}

/** Gemma-3 user turns start with <start_of_turn> followed by the piece "user". */
function gemmaUserStarts(f: Fixture): number[] {
  const pieces = f.pieces_a as string[];
  return pieces.flatMap((p, i) => (p === '<start_of_turn>' && pieces[i + 1] === 'user' ? [i] : []));
}

describe.skipIf(!HAVE_SHARED)(`cache rules on recorded tokens (${HAVE_SHARED ? '' : NO_SHARED_REASON})`, () => {
  const recorded = fixtures.filter((f) => f.tokens_a && f.tokens_b && f.n_past_logged !== undefined && !f.case.includes('generated_tokens'));
  for (const f of recorded) {
    const nSwa = f.model === 'tiny-gemma3.gguf' ? 64 : 0;
    it(`${f.case}: n_past ${f.n_past_logged}`, () => {
      const starts = nSwa ? gemmaUserStarts(f) : [];
      const { nPast } = predictReuse(f.tokens_a!, f.tokens_b!, serverConfig(f, nSwa), starts);
      expect(nPast).toBe(f.n_past_logged);
    });
  }
  it("checkpoints land where the server logged them (gemma3, -ub 32 -b 32, 410 tokens)", () => {
    const f = fixtures.find((x) => x.case === 'gemma3_swa_append_turn')!;
    const logged = (f.log_a as string[]).flatMap((l) => {
      const m = /created context checkpoint \d+ of \d+ \(pos_min = (\d+), pos_max = (\d+), n_tokens = (\d+)/.exec(l);
      return m ? [{ posMin: +m[1], posMax: +m[2], nTokens: +m[3] }] : [];
    });
    expect(logged.length).toBe(4);
    expect(checkpointsFor(f.tokens_a!.length, gemmaUserStarts(f), serverConfig(f, 64))).toEqual(logged);
  });
});

describe('cache rules (synthetic)', () => {
  const seq = (n: number, from = 0) => Array.from({ length: n }, (_, i) => from + i);
  it('vLLM reuses whole blocks and recomputes the last token', () => {
    const cfg = { ...DEFAULT_CACHE_CONFIG, server: 'vllm' as const, blockSize: 16 };
    expect(predictReuse(seq(100), [...seq(40), 999], cfg).nPast).toBe(32);
    expect(predictReuse(seq(32), seq(32), cfg).nPast).toBe(16);
  });
  it('SGLang with page size 1 reuses the prefix but the last token', () => {
    const cfg = { ...DEFAULT_CACHE_CONFIG, server: 'sglang' as const, blockSize: 1 };
    expect(predictReuse(seq(10), seq(10), cfg).nPast).toBe(9);
  });
  it('--cache-reuse only shifts chunks that B has at its head', () => {
    const cfg = { ...DEFAULT_CACHE_CONFIG, cacheReuse: 4 };
    // A = 0..9, 50..54, 100..109; B drops the 50..54 block and adds one new token at the end
    const cache = [...seq(10), ...seq(5, 50), ...seq(10, 100)];
    const b = [...seq(10), ...seq(10, 100), 999];
    expect(predictReuse(cache, b, cfg).nPast).toBe(20);
    expect(predictReuse(cache, b, { ...cfg, cacheReuse: 11 }).nPast).toBe(10); // the chunk is shorter than 11
    // a same-length substitution gains nothing: the scan never advances in B
    expect(predictReuse(cache, [...seq(10), 7, 7, 7, 7, 7, ...seq(10, 100)], cfg).nPast).toBe(10);
  });
  it('recurrent memory without a usable checkpoint re-processes everything', () => {
    const cfg = { ...DEFAULT_CACHE_CONFIG, recurrent: true, ctxCheckpoints: 0 };
    expect(predictReuse(seq(100), [...seq(50), 7], cfg).nPast).toBe(0);
  });
});
