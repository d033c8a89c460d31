import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { Engine } from '../src/engine.js';
import { KvdiffError } from '../src/errors.js';
import { loadBuiltinModel } from '../src/model/builtin.js';
import { nodeFs } from '../src/node/fs.js';
import { bodyFromObject } from '../src/payload/body.js';
import { sha256 } from '../src/model/files.js';
import { HAVE_SHARED, NO_SHARED_REASON, SHARED } from './shared.js';
import { KNOWN_TEMPLATE_MISSES } from './templates-known-misses.js';
import { prepare } from '../src/normalize.js';
import { ChatTemplate, detectCaps } from '../src/render.js';
import { analyzeReasoning } from '../src/jinja/reasoning.js';

// llama-server's own renders of real chat templates: 34 templates × 10 bodies (llama.cpp 34af94cd, 2026-11-27) and
// 31 of them × 6 further bodies (llama.cpp 1425386f, recorded 2026-12-01). A refusal (status 400/500) must come out
// as an error, not a prediction.
interface Result { conversation_id: string; request: unknown; status: number; prompt?: string; error?: unknown }
interface TemplateFixture { template_name: string; template: string; results: Result[]; server_template_source: { kind: string; text?: string }; default_enable_thinking?: boolean }

const SETS = [
  { dir: 'llama-server-templates', now: new Date(Date.UTC(2026, 10, 27)), bodies: 340 },
  { dir: 'llama-server-templates-more', now: new Date(Date.UTC(2026, 11, 1)), bodies: 186 },
];
const load = (dir: string): TemplateFixture[] => {
  const path = join(SHARED, 'fixtures', dir);
  return HAVE_SHARED ? readdirSync(path).filter((f) => f.endsWith('.json') && f !== 'conversations.json').sort().map((f) => JSON.parse(readFileSync(join(path, f), 'utf8'))) : [];
};

/** Where two renders part, with a little context: `at 123: got "…" want "…"`. */
function divergence(got: string, want: string): string {
  let i = 0;
  while (i < got.length && i < want.length && got[i] === want[i]) i++;
  const show = (s: string) => JSON.stringify(s.slice(Math.max(0, i - 20), i + 40));
  return `at ${i}: got ${show(got)} want ${show(want)}`;
}

/**
 * A template's caps and its reasoning markers, as the Engine works them out (without loading a tokenizer), with the
 * recordings' bos/eos tokens (their `props`).
 */
function analysed(source: string) {
  const template = new ChatTemplate(source, 'fixture', SETS[0].now);
  const caps = detectCaps(template);
  return { caps, markers: () => analyzeReasoning((vars) => template.tryRender(vars), source, caps, '<|endoftext|>', '<|im_end|>') };
}

describe.skipIf(!HAVE_SHARED)(`llama.cpp backend renders like llama-server (${HAVE_SHARED ? '' : NO_SHARED_REASON})`, async () => {
  const base = HAVE_SHARED ? await loadBuiltinModel(nodeFs, 'qwen3') : undefined;
  const allMisses = new Set<string>();
  for (const set of SETS) {
    const outcomes: { name: string; ok: boolean; why?: string }[] = [];
    for (const fx of load(set.dir)) {
      const model = { ...base!, chatTemplate: fx.template, source: { ...base!.source, name: fx.template_name, templateSha256: sha256(fx.template) } };
      let engine: Engine | undefined;
      let setupError: string | undefined;
      try {
        engine = new Engine({ model, backend: 'llama.cpp', now: set.now });
      } catch (err) {
        setupError = (err as Error).message;
      }
      for (const r of fx.results) {
        const name = `${fx.template_name} ${r.conversation_id}`;
        let got: string | { error: string };
        try {
          if (!engine) throw new KvdiffError(setupError!);
          got = engine.render(bodyFromObject(r.request, r.conversation_id), r.conversation_id);
        } catch (err) {
          if (!(err instanceof KvdiffError)) throw err;
          got = { error: err.message };
        }
        const ok = r.status === 200 ? got === r.prompt : typeof got === 'object';
        const why = ok ? undefined
          : typeof got === 'object' ? (r.status === 200 ? got.error : undefined)
          : r.status !== 200 ? `server refused (${JSON.stringify(r.error).slice(0, 120)}), kvdiff rendered`
          : `render differs ${divergence(got, r.prompt!)}`;
        outcomes.push({ name, ok, why });
        if (!ok) allMisses.add(name);
      }
    }
    it(`${set.dir}: every body renders as llama-server did, except the known, explained misses`, () => {
      const misses = outcomes.filter((o) => !o.ok);
      const matched = outcomes.length - misses.length;
      console.log(`${set.dir}: ${matched}/${outcomes.length} template renders identical to llama-server (${((100 * matched) / outcomes.length).toFixed(1)} %)`);
      for (const m of misses) console.log(`  miss: ${m.name}: ${m.why}`);
      expect(outcomes.length).toBe(set.bodies);
      expect(misses.map((m) => m.name).filter((n) => !(n in KNOWN_TEMPLATE_MISSES))).toEqual([]);
    });
  }
  it("enable_thinking defaults as llama-server's did for each template (default_enable_thinking)", () => {
    const wrong: string[] = [];
    for (const fx of load(SETS[0].dir)) {
      if (fx.default_enable_thinking === undefined) continue;
      const model = { ...base!, chatTemplate: fx.template };
      const { caps, markers } = analysed(fx.template);
      const body = bodyFromObject({ messages: [{ role: 'user', content: 'x' }] }, 'probe');
      const vars = prepare(body, { backend: 'llama.cpp', model, caps, now: SETS[0].now, reasoning: markers }).vars;
      if (vars.enable_thinking !== fx.default_enable_thinking) wrong.push(`${fx.template_name}: ${String(vars.enable_thinking)}`);
    }
    expect(wrong).toEqual([]);
  });
  it("the template analysis finds the reasoning markers llama-server's analysis logged for each template", () => {
    const logged = JSON.parse(readFileSync(join(dirname(fileURLToPath(import.meta.url)), 'server-oracle', 'markers', 'shared-templates.json'), 'utf8')).markers as Record<string, { mode: string; start: string; end: string } | null>;
    const modes: Record<string, string> = { NONE: 'none', TAG_BASED: 'tags', TOOLS_ONLY: 'tools-only' };
    const wrong: string[] = [];
    let checked = 0;
    for (const fx of load(SETS[0].dir)) {
      const want = logged[fx.template_name];
      if (!want) continue;
      checked++;
      const got = analysed(fx.template).markers();
      if (got.mode !== modes[want.mode] || got.start !== want.start || got.end !== want.end) wrong.push(`${fx.template_name}: ${JSON.stringify(got)} want ${JSON.stringify(want)}`);
    }
    expect(checked).toBeGreaterThan(20);
    expect(wrong).toEqual([]);
  });
  it('the known-misses list stays honest: a pair that now matches must leave it', () => {
    expect(Object.keys(KNOWN_TEMPLATE_MISSES).filter((n) => !allMisses.has(n))).toEqual([]);
  });
});
