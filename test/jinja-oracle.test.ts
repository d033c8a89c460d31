import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadBuiltinModel } from '../src/model/builtin.js';
import { nodeFs } from '../src/cli/node-fs.js';
import { bodyFromObject } from '../src/payload/body.js';
import { prepare } from '../src/normalize.js';
import { ChatTemplate, detectCaps } from '../src/render.js';
import { generateBody } from './body-generator.js';
import { JINJA_CASES } from './jinja-semantics-cases.js';
import { HAVE_SHARED, SHARED } from './shared.js';

// kvdiff's Jinja layer against llama.cpp's own engine, built from the llama.cpp source the node-llama-cpp
// devDependency bundles (scripts/jinja-oracle/build.sh). Skipped unless that oracle is built: CI has no compiler
// budget for it. KVDIFF_JINJA_ORACLE is the build folder (default $TMPDIR/kvdiff-jinja-oracle).
const DIR = process.env.KVDIFF_JINJA_ORACLE ?? join(process.env.TMPDIR ?? '/tmp', 'kvdiff-jinja-oracle');
const BIN = join(DIR, 'jinja-oracle');
const TEMPLATES = join(DIR, 'llama.cpp', 'models', 'templates');
const HAVE = existsSync(BIN) && existsSync(TEMPLATES);
const GENERATED = Number(process.env.KVDIFF_ORACLE_BODIES ?? 30);

type Outcome = { out: string } | { error: string };
const oracle = (cases: { template: string; vars: unknown }[]): Outcome[] =>
  JSON.parse(execFileSync(BIN, { input: JSON.stringify(cases), maxBuffer: 1 << 30 }).toString());

describe.skipIf(!HAVE)(`llama.cpp's Jinja engine as the oracle (${HAVE ? BIN : `not built: run scripts/jinja-oracle/build.sh (looked for ${BIN})`})`, () => {
  it('agrees with every case of the engine-semantics table', () => {
    const got = oracle(JINJA_CASES.map((c) => ({ template: c.template, vars: c.context ?? {} })));
    const disagree = JINJA_CASES.filter((c, i) => (typeof c.expected === 'string' ? !('out' in got[i]) || got[i].out !== c.expected : !('error' in got[i])));
    expect(disagree.map((c) => c.name)).toEqual([]);
  });

  it("renders llama.cpp's models/templates like kvdiff for recorded and generated bodies (same variables to both)", async () => {
    const base = await loadBuiltinModel(nodeFs, 'qwen3');
    const recorded = HAVE_SHARED
      ? ['llama-server-templates', 'llama-server-templates-more'].flatMap((d) => JSON.parse(readFileSync(join(SHARED, 'fixtures', d, 'conversations.json'), 'utf8')).map((c: { request: unknown }) => c.request))
      : [];
    const bodies = [...recorded, ...Array.from({ length: GENERATED }, (_, i) => generateBody(7000 + i))];
    const now = new Date(); // the oracle's strftime_now reads the clock
    const cases: { template: string; vars: unknown }[] = [];
    const ours: { name: string; out: string | null }[] = [];
    for (const file of readdirSync(TEMPLATES).filter((f) => f.endsWith('.jinja')).sort()) {
      const text = readFileSync(join(TEMPLATES, file), 'utf8');
      const template = new ChatTemplate(text, file, now);
      const model = { ...base, chatTemplate: text };
      const caps = detectCaps(template);
      bodies.forEach((body, i) => {
        let vars: Record<string, unknown>;
        try {
          vars = prepare(bodyFromObject(body, 'b'), { backend: 'llama.cpp', model, caps, now }).vars;
        } catch {
          return; // refused before rendering: no template involved
        }
        let out: string | null;
        try {
          out = template.render({ vars, dialect: 'llama.cpp' }, 'b');
        } catch {
          out = null;
        }
        // llama.cpp's template reader drops one trailing newline before its lexer sees the text
        cases.push({ template: text.endsWith('\n') ? text.slice(0, -1) : text, vars });
        ours.push({ name: `${file} body ${i}`, out });
      });
    }
    const theirs = oracle(cases);
    const differ = ours.filter((o, i) => (o.out === null ? !('error' in theirs[i]) : !('out' in theirs[i]) || theirs[i].out !== o.out));
    console.log(`${ours.length - differ.length}/${ours.length} renders identical to llama.cpp's engine`);
    expect(differ.map((d) => d.name)).toEqual([]);
    expect(ours.length).toBeGreaterThan(1000);
  }, 300_000);
});
