// Load times of GGUF models (header + llama.cpp-identical tokenizer) as ratios against baselines measured in the
// same process, so the numbers compare across machines. Run `npm run build` first; then `node bench/gguf.js [FILE...]`
// (default: the tiny models in ../shared/models).
//
// Baselines, per model:
//   read  = fs.readFileSync of as many bytes as the GGUF metadata section has (raw I/O + copy)
//   parse = JSON.parse of the equivalent tokenizer.json text (what loading a Hugging Face folder costs)
// Ratios are median load time / median baseline time over RUNS runs. With `node --expose-gc bench/gguf.js` the
// heap is collected between runs, so one run's garbage does not bill the next.
//
// Second table, start-up in fresh processes (what one CLI run pays): header + vocabulary + encoder build, now and
// as before (`new Tokenizer(json, config)` on the Hugging Face form), against JSON.parse of the equivalent
// tokenizer.json in the same process. GGUF models have no prepared cache: cold = warm (see the README).
import { spawnSync } from 'node:child_process';
import { existsSync, openSync, readSync, closeSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Tokenizer } from '@huggingface/tokenizers';
import { nodeFs } from '../dist/node/fs.js';
import { readGgufHeader } from '../dist/model/gguf/header.js';
import { ggufTokenizer } from '../dist/model/gguf/tokenizer.js';
import { PromptTokenizer } from '../dist/tokenize/prompt.js';

if (process.argv[2] === '--startup-child') {
  const [mode, path] = process.argv.slice(3);
  const t0 = performance.now();
  const h = await readGgufHeader(nodeFs, path);
  const t1 = performance.now();
  const g = ggufTokenizer(h.metadata, path);
  const t2 = performance.now();
  if (mode === 'before') new Tokenizer(g.tokenizer.json, g.tokenizer.config);
  else new PromptTokenizer({ tokenizer: g.tokenizer, bosToken: g.bosToken, eosToken: g.eosToken, addBos: g.addBos, addEos: g.addEos });
  const t3 = performance.now();
  const json = JSON.stringify(g.tokenizer.json);
  const t4 = performance.now();
  JSON.parse(json);
  const t5 = performance.now();
  console.log(JSON.stringify({ header: t1 - t0, vocab: t2 - t1, build: t3 - t2, parse: t5 - t4 }));
  process.exit(0);
}

const RUNS = 5;
const CHILD_RUNS = 5;
const shared = fileURLToPath(new URL('../../shared/models/', import.meta.url));
const files = process.argv.length > 2
  ? process.argv.slice(2)
  : ['tiny-qwen3.gguf', 'tiny-llama3.1.gguf', 'tiny-gemma3.gguf'].map((f) => shared + f).filter((f) => existsSync(f));
if (files.length === 0) {
  console.error('no GGUF files: pass paths, or put the tiny models in ../shared/models');
  process.exit(2);
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
async function time(fn) {
  const t0 = performance.now();
  const value = await fn();
  return [performance.now() - t0, value];
}

function readBytes(path, n) {
  const fd = openSync(path, 'r');
  try {
    const buf = Buffer.allocUnsafe(n);
    readSync(fd, buf, 0, n, 0);
    return buf;
  } finally {
    closeSync(fd);
  }
}

const rows = [];
for (const path of files) {
  const header = [], build = [], read = [], parse = [], hf = [];
  let bytes = 0, json = '', tok;
  for (let run = 0; run < RUNS; run++) {
    globalThis.gc?.();
    const [th, h] = await time(() => readGgufHeader(nodeFs, path));
    const [tb, t] = await time(() => ggufTokenizer(h.metadata, path));
    header.push(th);
    build.push(tb);
    bytes = h.metadataBytes;
    tok = t;
    read.push((await time(() => readBytes(path, bytes)))[0]);
    if (!json) json = JSON.stringify(t.tokenizer.json);
    parse.push((await time(() => JSON.parse(json)))[0]);
    if (run < 2) hf.push((await time(() => new Tokenizer(tok.tokenizer.json, tok.tokenizer.config)))[0]);
  }
  const load = header.map((h, i) => h + build[i]);
  rows.push({
    model: path.split('/').pop(),
    'metadata MB': (bytes / 1e6).toFixed(1),
    'header ms': median(header).toFixed(0),
    'tokenizer ms': median(build).toFixed(0),
    'load ms': median(load).toFixed(0),
    'read baseline ms': median(read).toFixed(1),
    'load/read': (median(load) / median(read)).toFixed(1),
    'parse baseline ms': median(parse).toFixed(0),
    'load/parse': (median(load) / median(parse)).toFixed(2),
    'new Tokenizer ms': median(hf).toFixed(0),
  });
}
console.table(rows);

const fresh = [];
for (const path of files) {
  for (const mode of ['before', 'now']) {
    const runs = [];
    for (let i = 0; i < CHILD_RUNS; i++) {
      const r = spawnSync(process.execPath, [fileURLToPath(import.meta.url), '--startup-child', mode, path], { encoding: 'utf8' });
      if (r.status !== 0) throw new Error(r.stderr);
      runs.push(JSON.parse(r.stdout));
    }
    const m = (f) => median(runs.map(f));
    const total = m((x) => x.header + x.vocab + x.build);
    fresh.push({
      model: path.split('/').pop(),
      'start-up': mode === 'before' ? 'before (new Tokenizer)' : 'now (cold = warm)',
      'header ms': m((x) => x.header).toFixed(0),
      'vocab ms': m((x) => x.vocab).toFixed(0),
      'encoder ms': m((x) => x.build).toFixed(0),
      'total ms': total.toFixed(0),
      'parse baseline ms': m((x) => x.parse).toFixed(0),
      'total/parse': (total / m((x) => x.parse)).toFixed(2),
    });
  }
}
console.log('start-up in fresh processes (header + vocabulary + encoder):');
console.table(fresh);
