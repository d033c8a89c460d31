/**
 * The note on what a difference does under the other message handling (`elsewhere`, two renders per difference)
 * is rendered only when a finding's `elsewhere` (or an ignored finding's `reason`) is read, and then says the same
 * as before.
 */
import { describe, expect, it } from 'vitest';
import { analyze } from '../src/analyze.ts';
import { Engine } from '../src/engine.ts';
import { bodyFromObject } from '../src/payload/body.ts';
import { tinyModel } from './tiny-tokenizer.ts';

function counted() {
  const engine = new Engine({ model: tinyModel(), backend: 'llama.cpp', now: new Date(Date.UTC(2026, 10, 27)) });
  const calls = { renderAs: 0 };
  const renderAs = engine.renderAs.bind(engine);
  // render() goes through renderAs with the engine's own backend: count the other backend's renders only
  engine.renderAs = (...args) => (args[0] !== engine.backend && calls.renderAs++, renderAs(...args));
  return { engine, calls };
}

const a = bodyFromObject({ messages: [{ role: 'user', content: 'hello' }, { role: 'assistant', content: 'hi there', extra: 1 }] }, 'A');
const b = bodyFromObject({ messages: [{ role: 'user', content: 'hello  ' }, { role: 'assistant', content: 'hi there', extra: 2 }] }, 'B');

describe('elsewhere notes are lazy', () => {
  it('no render under the other backend until a note is read; the note is then computed once', () => {
    const { engine, calls } = counted();
    const r = analyze(engine, a, b);
    expect(calls.renderAs).toBe(0);
    expect(r.causes.map((c) => c.code)).toContain('WHITESPACE');
    const notes = [...r.causes, ...r.ignored].map((f) => f.elsewhere);
    expect(calls.renderAs).toBeGreaterThan(0);
    const after = calls.renderAs;
    expect([...r.causes, ...r.ignored].map((f) => f.elsewhere)).toEqual(notes);
    expect(calls.renderAs).toBe(after);
    expect(notes.some((n) => n?.backend === 'raw')).toBe(true);
  });

  it('the JSON form of a report carries the notes', () => {
    const { engine } = counted();
    const r = analyze(engine, a, b);
    const json = JSON.parse(JSON.stringify(r)) as { causes: { elsewhere?: unknown }[] };
    expect(json.causes.some((c) => c.elsewhere !== undefined)).toBe(true);
  });
});
