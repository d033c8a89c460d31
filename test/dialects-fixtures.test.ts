import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { analyze } from '../src/analyze.js';
import { Engine } from '../src/engine.js';
import { KvdiffError } from '../src/errors.js';
import { convert, readClientBody } from '../src/dialect/index.js';
import type { ModelInfo } from '../src/model/types.js';
import { parseJson, type JsonNode } from '../src/payload/json.js';
import { nodeAt } from '../src/payload/edit.js';
import { HAVE_SHARED, NO_SHARED_REASON, SHARED } from './shared.js';
import { fixtureModel } from './fixture-models.js';

// Issue 10's reference: every request pair sent to a real llama-server through /v1/messages and /v1/responses.
// kvdiff's converted body, render, token ids and n_past must equal the server's own (its debug line "converted
// request", /apply-template, /tokenize, the logged n_past); a request the server refused exits 2 with its reason.
const DIR = join(SHARED, 'fixtures', 'llama-server-dialects');
const HAVE = HAVE_SHARED && (() => {
  try {
    return readdirSync(DIR).length > 0;
  } catch {
    return false;
  }
})();

interface Case {
  file: string;
  tree: JsonNode;
  case: string;
  model: string;
  date: string;
  request_a: unknown;
  request_b: unknown;
  rendered_a: string;
  rendered_b: string | null;
  tokens_a: number[];
  tokens_b: number[] | null;
  n_past_logged: number | null;
  status_b: number;
  error_b: { message: string } | null;
}

function loadCases(): Case[] {
  if (!HAVE) return [];
  return readdirSync(DIR)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((f) => {
      const text = readFileSync(join(DIR, f), 'utf8');
      return { ...(JSON.parse(text) as Omit<Case, 'file' | 'tree'>), file: f, tree: parseJson(text, f) };
    });
}

/** The JSON text of a node with key order kept and numbers by value (the server re-prints them). */
function ordered(n: JsonNode): string {
  switch (n.type) {
    case 'object':
      return `{${n.entries.map((e) => `${JSON.stringify(e.key)}:${ordered(e.value)}`).join(',')}}`;
    case 'array':
      return `[${n.items.map(ordered).join(',')}]`;
    case 'number':
      return String(n.value);
    case 'null':
      return 'null';
    default:
      return JSON.stringify(n.value);
  }
}

/** The request exactly as recorded (key order from the file, not from a JavaScript object). */
function request(c: Case, side: 'a' | 'b') {
  const node = nodeAt(c.tree, [`request_${side}`])!;
  return readClientBody(ordered(node), side.toUpperCase());
}

const cases = loadCases();

describe.skipIf(!HAVE)(`every llama-server dialect recording (${HAVE ? '' : NO_SHARED_REASON})`, async () => {
  const models = new Map<string, ModelInfo>();
  for (const c of cases) if (!models.has(c.model)) models.set(c.model, await fixtureModel(c.model));
  const results: { name: string; ok: boolean }[] = [];

  for (const c of cases) {
    it(c.case, () => {
      const [y, m, d] = c.date.split('-').map(Number);
      const engine = new Engine({ model: models.get(c.model)!, backend: 'llama.cpp', now: new Date(Date.UTC(y, m - 1, d)) });
      let ok = false;
      try {
        const a = request(c, 'a');
        expect(a.api).toBe(c.file.includes('_anthropic_') ? 'messages' : 'responses');
        expect(ordered(convert(a, { billingHeader: true })!.root)).toBe(ordered(nodeAt(c.tree, ['converted_a'])!));
        if (c.status_b !== 200) {
          expect(() => engine.process(request(c, 'b'), 'B')).toThrow(KvdiffError);
          expect(() => engine.process(request(c, 'b'), 'B')).toThrow(c.error_b!.message);
          ok = true;
          return;
        }
        const b = request(c, 'b');
        expect(ordered(convert(b, { billingHeader: true })!.root)).toBe(ordered(nodeAt(c.tree, ['converted_b'])!));
        const r = analyze(engine, a, b);
        expect(r.a.rendered).toBe(c.rendered_a);
        expect(r.b.rendered).toBe(c.rendered_b);
        expect(r.a.ids).toEqual(c.tokens_a);
        expect(r.b.ids).toEqual(c.tokens_b);
        expect(r.comparison.nPast).toBe(c.n_past_logged);
        ok = true;
      } finally {
        results.push({ name: c.case, ok });
      }
    });
  }
  it('prints the count', () => {
    const ok = results.filter((r) => r.ok).length;
    console.log(`${ok}/${cases.length} dialect cases match`);
    expect(ok).toBe(cases.length);
  });
});
