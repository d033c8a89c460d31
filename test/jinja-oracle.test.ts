import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadBuiltinModel } from '../src/model/builtin.js';
import { nodeFs } from '../src/node/fs.js';
import { bodyFromObject } from '../src/payload/body.js';
import { prepare } from '../src/normalize.js';
import { ChatTemplate, detectCaps } from '../src/render.js';
import { generateBody } from './body-generator.js';
import { rng } from './rng.js';
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
          out = template.render({ vars, jinja: 'llama.cpp' }, 'b');
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

  // Random expressions: values × filters, tests, operators and methods. Left out are what this llama.cpp snapshot
  // rejects as not implemented but kvdiff keeps computing (string |join, |unique, |sum, |safe on lists, // and **,
  // select/reject with a test on non-dicts, min/max of lists), and unary minus right after and/or, which its parser
  // rejects: newer llama.cpp versions are more lenient there, and none of it was seen in a real template.
  it('agrees on random expressions over every value type', () => {
    const r = rng(Number(process.env.KVDIFF_ORACLE_SEED ?? 1));
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)];
    const cases: { template: string; vars: unknown }[] = [];
    for (let i = 0; i < Number(process.env.KVDIFF_ORACLE_EXPRESSIONS ?? 3000); i++) {
      const k = r();
      const e = k < 0.35 ? `${pick(VALUES)}|${pick(FILTERS)}`
        : k < 0.55 ? `${pick(VALUES)} is ${r() < 0.3 ? 'not ' : ''}${pick(TESTS)}`
          : k < 0.8 ? `${pick(VALUES)} ${pick(OPS)} ${pick(VALUES.filter((v) => !v.startsWith('-') && v !== '0'))}` // no x % 0: C's cast of NaN
            : `${pick(VALUES)}.${pick(METHODS)}`;
      const template = r() < 0.5 ? `{{ ${e} }}` : `{% for x in [${pick(VALUES)}] %}{{ (${e})|string }}|{{ x }}{% endfor %}`;
      cases.push({ template, vars: { s: 'str', n: null, l: [3, 1, 2], d: { x: 'y', a: 1 } } });
    }
    const theirs = oracle(cases);
    const differ = cases.filter((c, i) => {
      let ours: string | null;
      try {
        ours = new ChatTemplate(c.template, 'expr', new Date(0)).render({ vars: c.vars as Record<string, unknown>, jinja: 'llama.cpp' }, 'expr');
      } catch {
        ours = null;
      }
      return ours === null ? !('error' in theirs[i]) : !('out' in theirs[i]) || theirs[i].out !== ours;
    });
    expect(differ.map((c) => c.template)).toEqual([]);
  });
});

const VALUES = [
  'none', 'u', '0', '1', '-3', '2.5', '1.0', 'true', 'false', "''", "'abc'", "'  a b  '", "'A,b,c'", '[]', '[1, 2, 3]',
  "['b', 'a']", '[1, none]', '{}', "{'a': 1, 'b': [2]}", 's', 'n', 'l', 'd', 'd.x', 'l[0]', 'l[9]', '(1, 2)', "{'k': none}",
] as const;
const FILTERS = [
  'length', 'count', 'first', 'last', "join(',')", 'list', 'string', 'tojson', 'trim', 'upper', 'lower', 'title', 'capitalize',
  'items', "default('x')", 'default(1, true)', 'int', 'float', 'abs', 'sort', 'reverse', "map(attribute='a')",
  "selectattr('a')", "rejectattr('a')", 'dictsort', 'wordcount', 'indent(2)', "replace('a', 'b')", 'tojson(indent=2)',
  'trim|length', 'list|length',
] as const;
const TESTS = ['none', 'defined', 'undefined', 'string', 'number', 'integer', 'float', 'mapping', 'iterable', 'sequence', 'boolean', 'true', 'false', 'odd', 'even', 'lower', 'upper', 'callable', 'in([1, 2])', "eq('abc')"] as const;
const OPS = ['+', '-', '*', '/', '%', '~', '==', '!=', '<', '>=', 'in', 'not in', 'and', 'or'] as const;
const METHODS = ['strip()', 'upper()', "split(',')", 'items()', 'keys()', 'values()', "get('a')", "startswith('a')", "endswith('c')", "replace('a', 'z')", 'title()', 'lstrip()'] as const;
