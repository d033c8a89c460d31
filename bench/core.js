// Benchmark for the core `kvdiff A B`: start-up and a long agent session.
// Build first (`npx tsc -p .`), then `node bench/core.js [turns]`. Every figure is printed as a ratio against a
// baseline measured in the same process, so it means the same on any machine:
// - start-up, in fresh processes (what one CLI run pays): loading the embedded Qwen3 model and building its tokenizer
//   as before prepared forms (`new Tokenizer(json, config)`), cold (no prepared cache) and warm (cache filled by an
//   earlier run), each against JSON.parse of its tokenizer.json in the same process;
// - start-up in a long-lived process: loading the model and building the engine, against the same JSON.parse;
// - analyze: render + tokenize both requests, compare, and test every JSON difference by re-rendering, against one
//   plain `Tokenizer.encode` of B's whole rendered prompt (what any tool must do at least once).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';
import { Tokenizer } from '@huggingface/tokenizers';
import { analyze } from '../dist/analyze.js';
import { Engine } from '../dist/engine.js';
import { loadBuiltinModel } from '../dist/model/builtin.js';
import { nodeFs } from '../dist/node/fs.js';
import { bodyFromObject } from '../dist/payload/body.js';
import { PromptTokenizer } from '../dist/tokenize/prompt.js';
import { qwen3Folder } from './lib/qwen3.js';

const tokenizerFile = join(qwen3Folder(), 'tokenizer.json');

if (process.argv[2] === '--startup-child') {
  // one fresh process: model load + tokenizer build, then the baseline (JSON.parse of tokenizer.json) in the same
  // process. Mode `before` builds the tokenizer as kvdiff did before prepared forms: new Tokenizer(json, config).
  const [mode, cacheDir] = process.argv.slice(3);
  const t0 = performance.now();
  const model = await loadBuiltinModel(nodeFs, 'qwen3', mode === 'warm' ? { cache: { fs: nodeFs, dir: cacheDir } } : {});
  const t1 = performance.now();
  if (mode === 'before') new Tokenizer(model.tokenizer.json, model.tokenizer.config);
  else new PromptTokenizer(model);
  const t2 = performance.now();
  const source = readFileSync(tokenizerFile, 'utf8');
  const t3 = performance.now();
  JSON.parse(source);
  const t4 = performance.now();
  console.log(JSON.stringify({ load: t1 - t0, build: t2 - t1, parse: t4 - t3 }));
  process.exit(0);
}

const TURNS = Number(process.argv[2] ?? 400);

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}
function time(fn, runs = 5) {
  const out = [];
  let value;
  for (let i = 0; i < runs; i++) {
    const t = performance.now();
    value = fn();
    out.push(performance.now() - t);
  }
  return { ms: median(out), value };
}
async function timeAsync(fn, runs = 5) {
  const out = [];
  let value;
  for (let i = 0; i < runs; i++) {
    const t = performance.now();
    value = await fn();
    out.push(performance.now() - t);
  }
  return { ms: median(out), value };
}

/** A coding-agent session: user asks, the assistant calls tools with reasoning, tools answer. */
function session(turns) {
  const messages = [{ role: 'system', content: 'You are a coding agent. Use the tools.\nWorking directory: /srv/app' }];
  for (let t = 0; t < turns; t++) {
    if (t % 10 === 0) messages.push({ role: 'user', content: `Task ${t / 10}: fix the failing test in module ${t}.` });
    messages.push({
      role: 'assistant',
      content: '',
      reasoning_content: `Step ${t}: inspect file ${t} before editing.`,
      tool_calls: [{ id: `call_${t}`, type: 'function', function: { name: 'read_file', arguments: JSON.stringify({ path: `src/mod${t}.ts`, limit: 200 }) } }],
    });
    messages.push({ role: 'tool', tool_call_id: `call_${t}`, content: `export function f${t}(x: number): number {\n  return x * ${t} + 1;\n}\n`.repeat(3) });
  }
  return {
    messages,
    tools: [{ type: 'function', function: { name: 'read_file', description: 'Read a file.', parameters: { type: 'object', properties: { path: { type: 'string' }, limit: { type: 'integer' } }, required: ['path'] } } }],
  };
}

function startupRuns(mode, cacheDir = '', runs = 5) {
  const rows = [];
  for (let i = 0; i < runs; i++) {
    const r = spawnSync(process.execPath, [fileURLToPath(import.meta.url), '--startup-child', mode, cacheDir], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(r.stderr);
    rows.push(JSON.parse(r.stdout));
  }
  const m = (k) => median(rows.map((x) => x[k]));
  return { load: m('load'), build: m('build'), total: median(rows.map((x) => x.load + x.build)), parse: m('parse') };
}
const cacheDir = mkdtempSync(join(tmpdir(), 'kvdiff-bench-cache-'));
try {
  const before = startupRuns('before');
  const cold = startupRuns('cold');
  startupRuns('warm', cacheDir, 1); // fills the cache
  const warm = startupRuns('warm', cacheDir);
  for (const [name, r] of [['before: new Tokenizer(json)', before], ['cold, no cache', cold], ['warm, prepared cache', warm]]) {
    console.log(
      `start-up qwen3, fresh process, ${name}: load ${r.load.toFixed(0)} + tokenizer ${r.build.toFixed(0)} = ${r.total.toFixed(0)} ms` +
        ` = ${(r.total / r.parse).toFixed(2)} × JSON.parse of tokenizer.json in that process (${r.parse.toFixed(0)} ms)`,
    );
  }
} finally {
  rmSync(cacheDir, { recursive: true, force: true });
}

const text = readFileSync(tokenizerFile, 'utf8');
const parse = time(() => JSON.parse(text));
let options;
const load = await timeAsync(async () => new Engine((options = { model: await loadBuiltinModel(nodeFs, 'qwen3'), backend: 'llama.cpp', now: new Date(Date.UTC(2026, 10, 27)) })));
const engine = load.value;
console.log(`start-up, long-lived process (no cache): load model + build engine ${load.ms.toFixed(0)} ms = ${(load.ms / parse.ms).toFixed(2)} × JSON.parse of tokenizer.json (${parse.ms.toFixed(0)} ms)`);

const a = session(TURNS);
const b = structuredClone(a);
b.messages[3].content = b.messages[3].content.trimEnd(); // an early whitespace change: a break near the start
b.messages.push({ role: 'assistant', content: 'Done.' }, { role: 'user', content: 'Thanks, next.' });
const bodyA = bodyFromObject(a, 'A');
const bodyB = bodyFromObject(b, 'B');
const probe = engine.process(bodyB, 'B');
const plain = new Tokenizer(options.model.tokenizer.json, options.model.tokenizer.config);
const baseline = time(() => plain.encode(probe.rendered, { add_special_tokens: false }), 3);
const fresh = time(() => analyze(new Engine(options), bodyA, bodyB), 3);
const warm = time(() => analyze(engine, bodyA, bodyB), 3);
const r = warm.value;
console.log(`session: ${TURNS} tool turns, ${r.comparison.tokensA} → ${r.comparison.tokensB} tokens, ${r.causes.length + r.ignored.length + r.growth.length} JSON differences tested`);
console.log(`baseline: one Tokenizer.encode of B's prompt ${baseline.ms.toFixed(0)} ms`);
console.log(`analyze (engine built inside, cold piece cache): ${fresh.ms.toFixed(0)} ms = ${(fresh.ms / baseline.ms).toFixed(2)} × baseline`);
console.log(`analyze (warm piece cache, as in a library loop): ${warm.ms.toFixed(0)} ms = ${(warm.ms / baseline.ms).toFixed(2)} × baseline`);
