import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { analyze } from '../src/analyze.js';
import { Engine } from '../src/engine.js';
import { loadBuiltinModel } from '../src/model/builtin.js';
import { nodeFs } from '../src/node/fs.js';
import { bodyFromObject } from '../src/payload/body.js';

// Held-out request pairs on other template families (GPT-OSS's harmony, and Qwen3, DeepSeek-V3.2 and Kimi-K2 for
// the same agent loop plus a prefilled answer), recorded from a real llama-server by
// scripts/server-oracle/record-pairs.py (commit, date and flags in each file): turn N and turn N+1 of an agent
// loop sent one after the other to one slot; n_past is the server's own log line for B. The model is tiny-qwen3
// (the embedded qwen3 tokenizer is its vocabulary). Expected values are the server's, never kvdiff's.

interface Pair {
  name: string;
  description: string;
  request_a: unknown;
  request_b: unknown;
  rendered_a: string;
  rendered_b: string;
  n_tokens_a: number;
  n_tokens_b: number;
  n_past: number;
}
interface Recording { recorded: { llama_cpp_commit: string; date: string }; template_source: string; template: string; caps: Record<string, boolean>; pairs: Pair[] }

const DIR = join(dirname(fileURLToPath(import.meta.url)), 'server-oracle', 'pairs');
const FILES = readdirSync(DIR).filter((f) => f.endsWith('.json')).sort();

describe('request pairs predict the n_past llama-server logged', async () => {
  const qwen3 = await loadBuiltinModel(nodeFs, 'qwen3');
  it('has recordings', () => expect(FILES.length).toBeGreaterThan(0));
  for (const file of FILES) {
    const rec = JSON.parse(readFileSync(join(DIR, file), 'utf8')) as Recording;
    const [y, m, d] = rec.recorded.date.split('-').map(Number);
    const engine = new Engine({ model: { ...qwen3, chatTemplate: rec.template }, backend: 'llama.cpp', now: new Date(Date.UTC(y, m - 1, d)) });
    for (const p of rec.pairs) {
      it(`${rec.template_source} ${p.name}: ${p.description}`, () => {
        const withDefaults = (body: unknown) => serverDefaults(body as Record<string, unknown>, rec.caps);
        const r = analyze(engine, bodyFromObject(withDefaults(p.request_a), 'A'), bodyFromObject(withDefaults(p.request_b), 'B'));
        expect(r.a.rendered).toBe(p.rendered_a);
        expect(r.b.rendered).toBe(p.rendered_b);
        expect([r.a.ids.length, r.b.ids.length]).toEqual([p.n_tokens_a, p.n_tokens_b]);
        expect(r.comparison.nPast).toBe(p.n_past);
      });
    }
  }
});

/** This server turns preserve_reasoning on for a template that supports it (the recorded builds did not). */
function serverDefaults(body: Record<string, unknown>, caps: Record<string, boolean>): Record<string, unknown> {
  const kwargs = (body.chat_template_kwargs ?? {}) as Record<string, unknown>;
  if (!caps.supports_preserve_reasoning || 'preserve_reasoning' in kwargs) return body;
  return { ...body, chat_template_kwargs: { preserve_reasoning: true, ...kwargs } };
}
