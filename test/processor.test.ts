import { describe, expect, it } from 'vitest';
import { analyze, analyzeAhead } from '../src/analyze.js';
import { plan } from '../src/attribute/attribute.js';
import { Engine } from '../src/engine.js';
import { KvdiffError } from '../src/errors.js';
import { bodyFromObject, type RequestBody } from '../src/payload/body.js';
import { readResponse } from '../src/payload/response.js';
import type { Processor } from '../src/processor.js';
import { tinyModel } from './tiny-tokenizer.js';

// The stages after rendering see a Processor, never a class: a peer that offers only the required members (as a
// llama-server behind --server does) goes through analyze, and what it lacks is left out, not guessed.
const NOW = new Date(Date.UTC(2026, 10, 27));
const engine = new Engine({ model: tinyModel(), backend: 'llama.cpp', now: NOW });

/** Only the required members, delegated to the engine: no renderAs, no encodeReply, no prefetch. */
function peerOf(e: Engine): Processor {
  return {
    source: e.source,
    backend: e.backend,
    now: e.now,
    cache: e.cache,
    render: (body, side) => e.render(body, side),
    process: (body, side) => e.process(body, side),
    piece: (id) => e.piece(id),
    firstTextToken: (p) => e.firstTextToken(p),
  };
}

const a = bodyFromObject({ messages: [{ role: 'user', content: 'hello' }] }, 'a.json');
// `ts` is dropped by llama-server and not printed by the template either way; the content change breaks the prefix
const b = bodyFromObject({ messages: [{ role: 'user', content: 'hello world', ts: 1 }] }, 'b.json');
const codes = (fs: { code: string }[]) => fs.map((f) => f.code);

describe('a processor without the optional capabilities', () => {
  it('gives the same comparison and findings, without the other-backend note it cannot render', () => {
    const full = analyze(engine, a, b);
    const peer = analyze(peerOf(engine), a, b);
    expect(peer.comparison).toEqual(full.comparison);
    expect(codes(peer.causes)).toEqual(codes(full.causes));
    expect(codes(peer.ignored)).toEqual(['EXTRA_FIELD']);
    expect(full.ignored[0].elsewhere).toEqual({ backend: 'raw', changesRender: false });
    expect(peer.ignored[0].elsewhere).toBeUndefined();
    // the reason comes from the normalizer's knowledge of the backend, not from the processor
    expect(peer.ignored[0].reason).toBe('DROPPED_BY_SERVER');
  });

  it('refuses --response with a one-line error instead of reaching into an engine', () => {
    const response = readResponse(JSON.stringify({ choices: [{ message: { role: 'assistant', content: 'hi' }, finish_reason: 'stop' }] }), 'r.json');
    expect(() => analyze(peerOf(engine), a, b, { response })).toThrow(KvdiffError);
    expect(() => analyze(peerOf(engine), a, b, { response })).toThrow(/--response needs kvdiff to tokenize/);
    // the engine offers it: "hi" is two byte tokens in the tiny vocabulary (no h+i merge) plus the end of turn,
    // and the slot keeps every sampled token but the last
    expect(analyze(engine, a, b, { response }).slot).toMatchObject({ retokenized: 3, generatedKept: 2 });
  });

  it('is sent A, B and every what-if variant ahead when it prefetches', async () => {
    const seen: RequestBody[] = [];
    const peer: Processor = { ...peerOf(engine), prefetch: async (bodies) => void seen.push(...bodies) };
    await analyzeAhead(peer, a, b);
    const variants = plan(a, b).flatMap((g) => [g.body, ...g.members.map((m) => m.body)]);
    expect(seen).toEqual([a, b, ...variants]);
    expect(variants.length).toBeGreaterThan(0);
  });
});
