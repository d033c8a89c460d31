// The issue-13 targets, each as a ratio against a baseline measured in the same run, with peak memory per row.
// Build first (`npx tsc -p .`), then `node bench/targets.js [--sizes 10000,100000[,400000]] [--runs N] [--json]`;
// `--only logs` (or `help`, `pairs`: the --help row; the pair, attribution and check rows of each size) runs only those.
// Every row runs in fresh processes (what one CLI run pays); ratios pair rows measured in the same process where
// the issue asks for it (warm library diff vs llama.cpp's tokenizer; attribution with 50 vs 1 difference).
// Rows:
// - `kvdiff --help` vs `node -e 0`;
// - cold `kvdiff A.json B.json --json` (prepared tokenizer cache filled by an earlier run, as on a user's second
//   run) vs the naive script: a fresh @huggingface/tokenizers load, @huggingface/jinja render and encode of both;
// - warm library diff (`analyze` with an engine already built) vs llama.cpp's tokenizer (node-llama-cpp, vocab
//   only, ../shared/models/tiny-qwen3.gguf) on B's rendered prompt, in one process; skipped with a note when absent;
// - kvdiff's order-keeping JSON parser vs JSON.parse on the same body, in one process;
// - rendering alone: kvdiff's render of A vs @huggingface/jinja's Template.render of the same body, in one process;
// - attribution: `analyze` of a pair with 50 JSON differences vs the same pair with 1, in one process;
// - `kvdiff check` of a session of up to 200 requests growing to the size (`growingSession`) vs the cold pair of that
//   size, alternating; at 100K the target is ≤ 3× with a peak RSS under 300 MB;
// - `kvdiff logs` on a generated llama-server log (`--log-mb`, default 200) in each output mode (human, `--json`,
//   and `cat log | kvdiff logs -`, a pipe read as it arrives) vs a plain readline pass over the same file: the
//   throughput ratio (≥ 0.5× is the target) and peak RSS, beside the peak on a log a tenth the size (flat memory:
//   within FLAT_MB of it).
import { spawnSync } from 'node:child_process';
import { createReadStream, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { cpus, tmpdir, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { agentSession, growingSession, nextRequest } from './lib/session.js';
import { generateLog } from './lib/log.js';
import { qwen3Folder } from './lib/qwen3.js';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..');
const self = fileURLToPath(import.meta.url);
const GGUF = process.env.KVDIFF_BENCH_GGUF ?? join(root, '..', 'shared', 'models', 'tiny-qwen3.gguf');
const QWEN3 = qwen3Folder();
const NOW = new Date(Date.UTC(2026, 10, 27));

const ms = (t0) => performance.now() - t0;
const peakMb = () => process.resourceUsage().maxRSS / 1024;

// ---- jobs: each runs in its own process and prints one JSON line ----
const jobs = {
  /** The logs baseline: node:readline splitting the file into lines and nothing else. */
  async readline(path) {
    const t0 = performance.now();
    let lines = 0;
    for await (const _ of createInterface({ input: createReadStream(path), crlfDelay: Infinity })) lines++;
    return { ms: ms(t0), lines };
  },
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
  /**
   * Rendering alone, in one process: kvdiff's render of A (normalize, value conversion, its llama.cpp interpreter)
   * against @huggingface/jinja's own `Template.render` of the same body with the same chat template; medians of 9
   * after 3 warm-up renders each, alternating.
   */
  async render(a) {
    const [{ Engine }, { loadBuiltinModel }, { nodeFs }, { bodyFromObject }, { Template }] = await Promise.all([
      import('../dist/engine.js'),
      import('../dist/model/builtin.js'),
      import('../dist/node/fs.js'),
      import('../dist/payload/body.js'),
      import('@huggingface/jinja'),
    ]);
    const model = await loadBuiltinModel(nodeFs, 'qwen3');
    const engine = new Engine({ model, backend: 'llama.cpp', now: NOW });
    const json = JSON.parse(readFileSync(a, 'utf8'));
    const body = bodyFromObject(json, 'A');
    const tpl = new Template(model.chatTemplate);
    const naive = () => tpl.render({ ...json, add_generation_prompt: true, bos_token: '', eos_token: '<|im_end|>' });
    const ours = [];
    const theirs = [];
    let chars = 0;
    for (let i = 0; i < 12; i++) {
      let t0 = performance.now();
      chars = engine.render(body, 'A').length;
      if (i >= 3) ours.push(ms(t0));
      t0 = performance.now();
      naive();
      if (i >= 3) theirs.push(ms(t0));
    }
    const med = (xs) => xs.sort((x, y) => x - y)[xs.length >> 1];
    return { ms: med(ours), baseline: med(theirs), chars };
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
/** `--only logs` (or `help`, `pairs`, comma-separated): run only those groups of rows. */
const ONLY = flag('--only', 'help,pairs,logs').split(',');
const LOG_MB = Number(flag('--log-mb', 200));
/** Most a peak RSS may grow from a log a tenth the size to the full one and still count as flat. */
const FLAT_MB = 32;
/** Requests of the check session (fewer when a small session has fewer turns). */
const CHECK_REQUESTS = 200;
const RUNS = Number(flag('--runs', 5));
const JSON_OUT = argv.includes('--json');
const median = (xs) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)];
const work = mkdtempSync(join(tmpdir(), 'kvdiff-bench-targets-'));
const env = { ...process.env, KVDIFF_CACHE_DIR: join(work, 'cache'), NO_COLOR: '1' };

/** Wall time of a fresh process and its peak RSS (read back through a preload that prints it at exit). */
const hook = join(work, 'rss.mjs');
writeFileSync(hook, "process.on('exit', () => process.stderr.write(`\\nKVDIFF_BENCH_MAXRSS ${process.resourceUsage().maxRSS}\\n`));\n");
function fresh(args, okStatus = [0], { discard = false } = {}) {
  const t0 = performance.now();
  const r = spawnSync(process.execPath, ['--import', hook, ...args], { env, encoding: 'utf8', maxBuffer: 1 << 28, stdio: ['ignore', discard ? 'ignore' : 'pipe', 'pipe'] });
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
  const met = target === undefined ? undefined : ratio <= target && (extra.maxPeakMb === undefined || value.peakMb < extra.maxPeakMb);
  rows.push({ name, ms: value.ms, baselineMs: baseline.ms, ratio, target, met, peakMb: value.peakMb, baselinePeakMb: baseline.peakMb, ...extra });
};
/** A throughput row: ratio = baseline time / kvdiff time (kvdiff's MB/s over the baseline's), higher is better. */
const throughputRow = (name, value, baseline, target, bytes, extra = {}) => {
  const ratio = baseline.ms / value.ms;
  const mbps = (t) => bytes / 2 ** 20 / (t / 1000);
  const flat = extra.smallPeakMb === undefined ? undefined : value.peakMb - extra.smallPeakMb <= FLAT_MB;
  rows.push({ name, kind: 'throughput', ms: value.ms, baselineMs: baseline.ms, mbPerS: mbps(value.ms), baselineMbPerS: mbps(baseline.ms), ratio, target, met: ratio >= target && flat !== false, flat, peakMb: value.peakMb, baselinePeakMb: baseline.peakMb, ...extra });
};

try {
  const bin = join(root, 'bin', 'kvdiff.js');
  if (ONLY.includes('help')) {
    const [help, node0] = paired(() => fresh([bin, '--help']), () => fresh(['-e', '0']), Math.max(RUNS, 9));
    row('kvdiff --help vs node -e 0', help, node0, 2);
  }

  for (const size of ONLY.includes('pairs') ? SIZES : []) {
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

    const rendered = job('render', files.a);
    row(`render of A (${label}, ${(rendered.chars / 1000).toFixed(0)}K characters) vs @huggingface/jinja's Template.render, warm`, { ms: rendered.ms, peakMb: rendered.peakMb }, { ms: rendered.baseline, peakMb: rendered.peakMb });

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

    // a session growing to this size, one request file per turn, as kvdiff record writes them
    const bodies = growingSession(CHECK_REQUESTS, size);
    const dir = join(work, `session${size}`);
    mkdirSync(dir);
    bodies.forEach((body, i) => writeFileSync(join(dir, `${String(i + 1).padStart(4, '0')}.json`), JSON.stringify(body)));
    const [check, pair] = paired(() => fresh([bin, 'check', dir, '--json'], [0, 1]), () => fresh([bin, files.a, files.b, '--json'], [1]));
    const steps = JSON.parse(check.last.stdout).steps;
    row(`check, ${bodies.length}-request session growing to ${label} vs cold ${label} pair`, check, pair, size === 100000 ? 3 : undefined, {
      ...(size === 100000 ? { maxPeakMb: 300 } : {}),
      requests: bodies.length,
      tokens: steps[steps.length - 1].tokens.b,
      breaks: steps.filter((x) => !x.ok).length,
    });
    rmSync(dir, { recursive: true, force: true });
  }

  // logs: one big generated log and one a tenth its size, each output mode against readline on the same file
  if (ONLY.includes('logs')) {
    const log = join(work, 'server.log');
    const small = join(work, 'small.log');
    await generateLog(log, LOG_MB);
    await generateLog(small, LOG_MB / 10);
    const bytes = statSync(log).size;
    const readline = (file) => () => {
      const r = job('readline', file);
      return { ms: r.wall, peakMb: r.peakMb };
    };
    const piped = (file, ...args) => {
      const t0 = performance.now();
      const quote = (x) => `'${x.replace(/'/g, `'\\''`)}'`;
      const r = spawnSync('sh', ['-c', `cat ${quote(file)} | ${[process.execPath, '--import', hook, bin, 'logs', '-', ...args].map(quote).join(' ')} > /dev/null`], { env, encoding: 'utf8' });
      // 1 = a request in the log lost its cache (the generated log has breaks); only 2 is a failure
      if (r.status !== 0 && r.status !== 1) throw new Error(`cat | kvdiff logs - exited ${r.status}: ${r.stderr}`);
      return { ms: ms(t0), peakMb: Number(/KVDIFF_BENCH_MAXRSS (\d+)/.exec(r.stderr)?.[1] ?? NaN) / 1024 };
    };
    const modes = [
      ['kvdiff logs FILE', (file) => fresh([bin, 'logs', file, '--no-color'], [0, 1], { discard: true })],
      ['kvdiff logs FILE --json', (file) => fresh([bin, 'logs', file, '--json'], [0, 1], { discard: true })],
      ['cat FILE | kvdiff logs -', (file) => piped(file)],
    ];
    const mb = `${Math.round(bytes / 2 ** 20)} MB`;
    for (const [name, run] of modes) {
      const smallPeakMb = run(small).peakMb;
      const [kv, base] = paired(() => run(log), readline(log));
      throughputRow(`${name} (${mb} log) vs readline`, kv, base, 0.5, bytes, { smallPeakMb, logMb: bytes / 2 ** 20 });
    }
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
    if (r.kind === 'throughput') {
      const flat = r.flat === undefined ? '' : `, ${r.smallPeakMb.toFixed(0)} MB on a log a tenth the size (${r.flat ? 'flat' : 'NOT flat'})`;
      console.log(`${r.name}: ${r.mbPerS.toFixed(0)} MB/s vs ${r.baselineMbPerS.toFixed(0)} MB/s = ${r.ratio.toFixed(2)}× (target ≥ ${r.target}× with flat memory: ${r.met ? 'met' : 'NOT met'}); peak ${r.peakMb.toFixed(0)} MB vs ${r.baselinePeakMb.toFixed(0)} MB${flat}`);
      continue;
    }
    const memory = r.maxPeakMb === undefined ? '' : ` and peak < ${r.maxPeakMb} MB`;
    const target = r.target === undefined ? '' : ` (target ≤ ${r.target}×${memory}: ${r.met ? 'met' : 'NOT met'})`;
    console.log(`${r.name}: ${r.ms.toFixed(0)} ms vs ${r.baselineMs.toFixed(0)} ms = ${r.ratio.toFixed(2)}×${target}; peak ${r.peakMb.toFixed(0)} MB vs ${r.baselinePeakMb.toFixed(0)} MB`);
  }
}
