// The encoders on one long rendered prompt, each as a ratio against llama.cpp's own tokenizer in the same process.
// Build first (`npx tsc -p .`), then `node bench/tokenizer.js [--sizes 10000,100000] [--runs 5] [--json]`.
// The text is A's rendered prompt of a generated agent session (bench/lib/session.js; code, JSON, logs, CJK, emoji),
// rendered with the embedded Qwen3 template. Every run builds a fresh encoder and encodes the whole text once
// (nothing cached: what the first request of a `kvdiff A B` run costs); medians of the runs, taken in turn.
// Rows (all with llama.cpp's special-token parsing, no BOM):
// - llama.cpp: node-llama-cpp, vocab only, ../shared/models/tiny-qwen3.gguf (the baseline; skipped when absent);
// - kvdiff, embedded Qwen3 (tokenizer.json): PromptTokenizer over kvdiff's byte-level BPE (src/tokenize/byte-bpe.ts);
// - kvdiff, GGUF: the same over tiny-qwen3.gguf's vocabulary (llama.cpp's pre-tokenizer regexes);
// - kvdiff before its own encoder: the same Qwen3 arrays through @huggingface/tokenizers' merge loop (bpe.ts's
//   fastBpeTokenizer, what kvdiff ran before);
// - @huggingface/tokenizers: `new Tokenizer(json, config).encode` (a plain use of that library; build not timed).
// Each row also says whether its ids equal llama.cpp's (the process exits 1 when one does not).
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Tokenizer } from '@huggingface/tokenizers';
import { Engine } from '../dist/engine.js';
import { loadBuiltinModel } from '../dist/model/builtin.js';
import { loadGgufModel } from '../dist/model/gguf/model.js';
import { nodeFs } from '../dist/node/fs.js';
import { bodyFromObject } from '../dist/payload/body.js';
import { PromptTokenizer } from '../dist/tokenize/prompt.js';
import { bpeArrays, bpeSkeleton, fastBpeTokenizer, hfEncoder } from '../dist/tokenize/bpe.js';
import { agentSession } from './lib/session.js';

const here = dirname(fileURLToPath(import.meta.url));
const GGUF = process.env.KVDIFF_BENCH_GGUF ?? join(here, '..', '..', 'shared', 'models', 'tiny-qwen3.gguf');
const argv = process.argv.slice(2);
const flag = (name, dflt) => (argv.includes(name) ? argv[argv.indexOf(name) + 1] : dflt);
const SIZES = flag('--sizes', '10000,100000').split(',').map(Number);
const RUNS = Number(flag('--runs', 5));
const JSON_OUT = argv.includes('--json');
const median = (xs) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)];

const qwen3 = await loadBuiltinModel(nodeFs, 'qwen3');
const { json, config } = qwen3.tokenizer;
const arrays = bpeArrays(json);
const gguf = existsSync(GGUF) ? await loadGgufModel(nodeFs, GGUF) : null;
let llama = null;
let llamaSkipped = existsSync(GGUF) ? '' : `${GGUF} is absent`;
if (gguf) {
  try {
    const { getLlama, LlamaLogLevel } = await import('node-llama-cpp');
    const lib = await getLlama({ gpu: false, build: 'never', logLevel: LlamaLogLevel.error });
    llama = await lib.loadModel({ modelPath: GGUF, vocabOnly: true });
  } catch (err) {
    llamaSkipped = `node-llama-cpp is not usable here: ${err.message.split('\n')[0]}`;
  }
}

// A model whose encoder is the library's merge loop over kvdiff's arrays (kvdiff before byte-bpe.ts).
const before = { ...qwen3, tokenizer: { json, config, encoder: () => hfEncoder(fastBpeTokenizer(bpeSkeleton(json), config, arrays), json) } };
const library = new Tokenizer(json, config);

const encoders = [
  ['kvdiff, embedded Qwen3 (tokenizer.json)', () => new PromptTokenizer(qwen3), (t, text) => t.encode(text, false).ids],
  ...(gguf ? [['kvdiff, tiny-qwen3.gguf', () => new PromptTokenizer(gguf), (t, text) => t.encode(text, false).ids]] : []),
  ['kvdiff before its own encoder (library merge loop)', () => new PromptTokenizer(before), (t, text) => t.encode(text, false).ids],
  // the library caches pre-tokens: clear it so that every run starts cold like the others
  ['@huggingface/tokenizers Tokenizer.encode', () => (library.model.clear_cache(), library), (t, text) => library.encode(text, { add_special_tokens: false }).ids],
];

const rows = [];
let mismatch = false;
for (const size of SIZES) {
  const engine = new Engine({ model: qwen3, backend: 'llama.cpp', now: new Date(Date.UTC(2026, 10, 27)) });
  const text = engine.process(bodyFromObject(agentSession(size), 'A'), 'A').rendered;
  const want = llama ? Array.from(llama.tokenize(text, true)) : null;
  const times = encoders.map(() => []);
  const llamaTimes = [];
  const ids = [];
  for (let run = 0; run < RUNS; run++) {
    if (llama) {
      const t0 = performance.now();
      llama.tokenize(text, true);
      llamaTimes.push(performance.now() - t0);
    }
    encoders.forEach(([, build, encode], k) => {
      const tok = build(); // not timed: each source's build has its own benchmark (core.js, targets.js)
      const t0 = performance.now();
      ids[k] = encode(tok, text);
      times[k].push(performance.now() - t0);
    });
  }
  const base = llama ? median(llamaTimes) : undefined;
  const label = `${Math.round(size / 1000)}K`;
  if (llama) rows.push({ name: `llama.cpp tokenize (${label}: ${text.length} chars, ${want.length} tokens)`, ms: base });
  encoders.forEach(([name], k) => {
    const same = want ? ids[k].length === want.length && ids[k].every((id, i) => id === want[i]) : undefined;
    if (same === false) mismatch = true;
    const ms = median(times[k]);
    rows.push({ name: `${name} (${label})`, ms, ratio: base ? ms / base : undefined, sameIdsAsLlamaCpp: same });
  });
}

if (JSON_OUT) {
  process.stdout.write(`${JSON.stringify({ date: new Date().toISOString(), runs: RUNS, llamaSkipped: llamaSkipped || undefined, rows })}\n`);
} else {
  console.log(`medians of ${RUNS} runs, first encode with a fresh encoder${llamaSkipped ? `; llama.cpp skipped: ${llamaSkipped}` : ''}`);
  for (const r of rows) {
    const ratio = r.ratio === undefined ? '' : ` = ${r.ratio.toFixed(2)}× llama.cpp`;
    const same = r.sameIdsAsLlamaCpp === undefined ? '' : r.sameIdsAsLlamaCpp ? ', same ids' : ', DIFFERENT ids';
    console.log(`${r.name}: ${r.ms.toFixed(1)} ms${ratio}${same}`);
  }
}
if (mismatch) process.exitCode = 1;
await llama?.dispose();
