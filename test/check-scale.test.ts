/**
 * `checkSequence` on a long session does each request's work once and keeps only summaries: every request is
 * rendered once (a growth step's what-if variant is B itself), B is tokenized from where it parts from A with the
 * same ids as a whole encode, requests given on demand are read once each in order, and the kept findings are data
 * that render nothing more and hold no request alive.
 */
import { describe, expect, it } from 'vitest';
import { analyze } from '../src/analyze.ts';
import { checkSequence, type SessionRequests } from '../src/check.ts';
import { Engine } from '../src/engine.ts';
import { bodyFromObject, type RequestBody } from '../src/payload/body.ts';
import { tinyModel } from './tiny-tokenizer.ts';

const NOW = new Date(Date.UTC(2026, 10, 27));

/** An engine counting its renders: under its own backend (the requests and variants) and under the other one (notes). */
function counted() {
  const engine = new Engine({ model: tinyModel(), backend: 'llama.cpp', now: NOW });
  const calls = { own: 0, other: 0 };
  const renderAs = engine.renderAs.bind(engine);
  engine.renderAs = (...args) => (args[0] === engine.backend ? calls.own++ : calls.other++, renderAs(...args));
  return { engine, calls };
}

type Message = { role: string; content: string; extra?: number };

/** A tool loop growing by a user turn and an answer per request; `edit` changes a request's copy of its history. */
function session(n: number, edit: (i: number, messages: Message[]) => void = () => {}): RequestBody[] {
  const history: Message[] = [{ role: 'system', content: 'You are a helpful agent.' }];
  const out: RequestBody[] = [];
  for (let i = 0; i < n; i++) {
    history.push({ role: 'user', content: `task ${i}: hello world ${'x'.repeat(i)}` });
    const messages = structuredClone(history);
    edit(i, messages);
    out.push(bodyFromObject({ model: 'tiny', messages }, `${String(i + 1).padStart(4, '0')}.json`));
    history.push({ role: 'assistant', content: `done ${i}, hello` });
  }
  return out;
}

describe('checkSequence does each request once', () => {
  it('renders every request of a growing session once, and no variant beside them', async () => {
    const bodies = session(8);
    const { engine, calls } = counted();
    const r = await checkSequence(engine, bodies);
    expect(r.steps.every((s) => s.status === 'ok')).toBe(true);
    expect(calls.own).toBe(bodies.length);
    expect(calls.other).toBe(0);
  });

  it('gives every step the token counts and reuse of a pair analysed on its own (B tokenized from where it parts from A)', async () => {
    // step 4 trims a space earlier in the history (a break), step 6 adds a key the template never prints (ignored)
    const bodies = session(8, (i, messages) => {
      if (i === 3) messages[1].content = messages[1].content.replace('hello world', 'hello  world');
      if (i === 5) messages[2].extra = 1;
    });
    const { engine } = counted();
    const r = await checkSequence(engine, bodies);
    const alone = new Engine({ model: tinyModel(), backend: 'llama.cpp', now: NOW });
    for (const s of r.steps) {
      const pair = analyze(alone, bodies[s.step - 2], bodies[s.step - 1]);
      expect(s.report.comparison).toEqual(pair.comparison);
      expect(s.report.causes.map((f) => [f.code, f.path, f.token, f.breaks])).toEqual(pair.causes.map((f) => [f.code, f.path, f.token, f.breaks]));
      expect(s.report.ignored.map((f) => [f.code, f.path])).toEqual(pair.ignored.map((f) => [f.code, f.path]));
    }
    expect(r.steps.find((s) => s.step === 4)?.status).toBe('break');
    expect(r.steps.find((s) => s.step === 6)?.report.ignored.length).toBeGreaterThan(0);
  });

  it('keeps findings as data: reading or serialising them renders nothing under the other backend', async () => {
    const bodies = session(5, (i, messages) => {
      if (i === 2) messages[1].content += ' ';
      if (i >= 3) messages[2].extra = i;
    });
    const { engine, calls } = counted();
    const r = await checkSequence(engine, bodies);
    const findings = r.steps.flatMap((s) => [...s.report.causes, ...s.report.ignored]);
    expect(findings.length).toBeGreaterThan(0);
    JSON.stringify(r);
    for (const f of findings) for (const d of Object.values(Object.getOwnPropertyDescriptors(f))) expect(d.get).toBeUndefined();
    expect(calls.other).toBe(0);
  });

  it('reads requests given on demand once each, in order, with the same result as the array', async () => {
    const bodies = session(6, (i, messages) => {
      if (i === 4) messages[0].content += '!';
    });
    const reads: number[] = [];
    const lazy: SessionRequests = { labels: bodies.map((b) => b.label), read: async (i) => (reads.push(i), bodies[i]) };
    const fromArray = await checkSequence(counted().engine, bodies, { expectations: { steps: { '0005.json': { allow: ['WHITESPACE'] } } } });
    const onDemand = await checkSequence(counted().engine, lazy, { expectations: { steps: { '0005.json': { allow: ['WHITESPACE'] } } } });
    expect(reads).toEqual([0, 1, 2, 3, 4, 5]);
    expect(JSON.stringify(onDemand)).toBe(JSON.stringify(fromArray));
    expect(onDemand.steps.find((s) => s.step === 5)?.expectation?.key).toBe('0005.json');
  });

  it('names both requests when a session read on demand switches models', async () => {
    const bodies = session(4);
    bodies[2] = bodyFromObject({ model: 'other', messages: [{ role: 'user', content: 'hi' }] }, '0003.json');
    const lazy: SessionRequests = { labels: bodies.map((b) => b.label), read: (i) => bodies[i] };
    await expect(checkSequence(counted().engine, lazy)).rejects.toThrow('mixed models in one session: 0001.json asks for "tiny", 0003.json for "other"');
    await expect(checkSequence(counted().engine, bodies)).rejects.toThrow('mixed models in one session: 0001.json asks for "tiny", 0003.json for "other"');
  });
});
