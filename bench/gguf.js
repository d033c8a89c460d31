// Load times of GGUF models (header + llama.cpp-identical tokenizer) as ratios against baselines measured in the
// same process, so the numbers compare across machines. Run `npm run build` first; then `node bench/gguf.js [FILE...]`
// (default: the tiny models in ../shared/models).
//
// Baselines, per model:
//   read  = fs.readFileSync of as many bytes as the GGUF metadata section has (raw I/O + copy)
//   parse = JSON.parse of the equivalent tokenizer.json text (what loading a Hugging Face folder costs)
// Ratios are median load time / median baseline time over RUNS runs. With `node --expose-gc bench/gguf.js` the
// heap is collected between runs, so one run's garbage does not bill the next.
import { existsSync, openSync, readSync, closeSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Tokenizer } from '@huggingface/tokenizers';
import { nodeFs } from '../dist/cli/node-fs.js';
import { readGgufHeader } from '../dist/model/gguf.js';
import { ggufTokenizer } from '../dist/model/gguf-tokenizer.js';

const RUNS = 5;
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
