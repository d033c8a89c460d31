// Benchmark for attribution on a long session whose store rewrote every message the same way (a `call_id` added
// to each tool call, one trimmed reply): kvdiff must test each JSON difference. Build first (`npx tsc -p .`), then
// `node bench/attribution.js [turns]`. Printed as ratios against one render + tokenize of A in the same process.
import { performance } from 'node:perf_hooks';
import { analyze } from '../dist/analyze.js';
import { Engine } from '../dist/engine.js';
import { loadBuiltinModel } from '../dist/model/builtin.js';
import { nodeFs } from '../dist/node/fs.js';
import { bodyFromObject } from '../dist/payload/body.js';

const TURNS = Number(process.argv[2] ?? 400);
const messages = [{ role: 'system', content: 'You are a coding agent.' }];
for (let t = 0; t < TURNS; t++) {
  if (t % 10 === 0) messages.push({ role: 'user', content: `Task ${t}: check module ${t}.` });
  messages.push({ role: 'assistant', content: '', reasoning_content: `Step ${t}.`, tool_calls: [{ id: `call_${t}`, type: 'function', function: { name: 'read_file', arguments: JSON.stringify({ path: `src/m${t}.ts` }) } }] });
  messages.push({ role: 'tool', tool_call_id: `call_${t}`, content: `export const x${t} = ${t};\n`.repeat(5) });
}
const a = { messages };
const b = structuredClone(a);
for (const m of b.messages) for (const tc of m.tool_calls ?? []) tc.call_id = tc.id;
b.messages[Math.floor(b.messages.length / 2)].content += '\n\n';

const median = (xs) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)];
const time = (fn, runs = 3) => {
  const out = [];
  let v;
  for (let i = 0; i < runs; i++) {
    const t = performance.now();
    v = fn();
    out.push(performance.now() - t);
  }
  return { ms: median(out), v };
};

const engine = new Engine({ model: await loadBuiltinModel(nodeFs, 'qwen3'), backend: 'llama.cpp', now: new Date(Date.UTC(2026, 10, 27)) });
const bodyA = bodyFromObject(a, 'A');
const bodyB = bodyFromObject(b, 'B');
const base = time(() => engine.process(bodyA, 'A'));
const run = time(() => analyze(engine, bodyA, bodyB));
const r = run.v;
const tested = r.causes.length + r.ignored.length + r.growth.length;
console.log(`session: ${TURNS} tool turns, ${base.v.tokens.ids.length} tokens, ${tested} JSON differences`);
console.log(`baseline: one render + tokenize of A ${base.ms.toFixed(0)} ms`);
console.log(`analyze with attribution: ${run.ms.toFixed(0)} ms = ${(run.ms / base.ms).toFixed(1)} × baseline (${(run.ms / base.ms / tested).toFixed(3)} × per difference)`);
