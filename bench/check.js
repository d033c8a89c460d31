// Benchmark for `kvdiff check` on a long agent session. Build first (`npx tsc -p .`), then
// `node bench/check.js [requests]` (default 120). Figures are ratios against a baseline in the same process:
// one `kvdiff A B` of the session's last pair (the longest prompts), with the engine already built.
// - before: each step analysed on its own (A and B rendered and tokenized per step, as check did before: every
//   request but the first and last twice);
// - after: checkSequence (each request rendered and tokenized once: step i's B is step i+1's A).
// The engine (model, tokenizer, piece cache) is built once and shared by all three.
import { performance } from 'node:perf_hooks';
import { analyzeAhead } from '../dist/analyze.js';
import { checkSequence } from '../dist/check.js';
import { Engine } from '../dist/engine.js';
import { loadBuiltinModel } from '../dist/model/builtin.js';
import { nodeFs } from '../dist/node/fs.js';
import { bodyFromObject } from '../dist/payload/body.js';

const N = Number(process.argv[2] ?? 120);

/** A growing tool loop: each request adds the assistant's tool call and the tool's answer to the one before. */
function session(n) {
  const tools = ['read_file', 'run_shell', 'write_file'].map((name) => ({
    type: 'function',
    function: { name, description: `The ${name} tool.`, parameters: { type: 'object', properties: { arg: { type: 'string' } }, required: ['arg'] } },
  }));
  const messages = [
    { role: 'system', content: 'You are a coding agent. Use the tools to inspect and edit files.' },
    { role: 'user', content: 'Fix the failing test in this repository.' },
  ];
  const out = [];
  for (let i = 0; i < n; i++) {
    out.push(bodyFromObject({ model: 'qwen3', messages: structuredClone(messages), tools }, `${String(i + 1).padStart(4, '0')}.json`));
    messages.push(
      { role: 'assistant', content: '', tool_calls: [{ type: 'function', function: { name: tools[i % 3].function.name, arguments: { arg: `step ${i}: src/file${i}.ts` } } }] },
      { role: 'tool', content: `line ${i}\n`.repeat(20 + (i % 7)) },
    );
  }
  return out;
}

/** Counts the renders the stages ask the engine for (whole, or tokenized after a base). */
function counting(engine) {
  let calls = 0;
  const proxy = new Proxy(engine, {
    get(t, k) {
      if (k === 'process') return (b, s) => (calls++, t.process(b, s));
      if (k === 'processAfter') return (b, s, base) => (calls++, t.processAfter(b, s, base));
      const v = Reflect.get(t, k, t);
      return typeof v === 'function' ? v.bind(t) : v;
    },
  });
  return { proxy, calls: () => calls };
}

async function median(fn, runs) {
  const xs = [];
  for (let i = 0; i < runs; i++) {
    const t = performance.now();
    await fn();
    xs.push(performance.now() - t);
  }
  return xs.sort((a, b) => a - b)[Math.floor(runs / 2)];
}

const model = await loadBuiltinModel(nodeFs, 'qwen3');
const engine = new Engine({ model, backend: 'llama.cpp', now: new Date(Date.UTC(2026, 0, 1)) });
const bodies = session(N);

const pair = await median(() => analyzeAhead(engine, bodies[N - 2], bodies[N - 1]), 5);

const before = counting(engine);
const tBefore = await median(async () => {
  for (let i = 1; i < bodies.length; i++) await analyzeAhead(before.proxy, bodies[i - 1], bodies[i]);
}, 3);
const after = counting(engine);
const tAfter = await median(() => checkSequence(after.proxy, bodies), 3);
const result = await checkSequence(engine, bodies);
if (result.breaks) throw new Error(`the generated session should be prefix-stable, ${result.breaks} breaks`);

const tokens = result.steps[result.steps.length - 1].report.comparison.tokensB;
console.log(`session of ${N} requests, last prompt ${tokens} tokens; baseline: one pair (kvdiff A B of the last pair) ${pair.toFixed(1)} ms`);
console.log(`renders per run:  before ${before.calls() / 3}, after ${after.calls() / 3} (requests: ${N})`);
console.log(`check, before:    ${(tBefore / pair).toFixed(1)} × one pair`);
console.log(`check, after:     ${(tAfter / pair).toFixed(1)} × one pair  (after/before ${(tAfter / tBefore).toFixed(2)})`);
