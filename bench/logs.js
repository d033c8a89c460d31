// Benchmark for `kvdiff logs`: throughput and memory of the streaming log parser on a ~100 MB
// synthetic llama-server log. Build first (`npx tsc -p .`), then `node --expose-gc bench/logs.js [MB]`.
//
// Throughput is reported as a ratio against a baseline measured in the same process on the same file
// (node:readline splitting the file into lines and doing nothing else), so the number means the same
// on a slow laptop and a fast server. Memory: RSS and heap are sampled while parsing; flat memory means
// the heap at 100 % of the file is about what it was at 10 %.
import { createReadStream, createWriteStream, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { once } from 'node:events';
import { LogParser } from '../dist/logs/parse.js';
import { Explainer, SummaryBuilder } from '../dist/logs/explain.js';

const TARGET_MB = Number(process.argv[2] ?? 100);
const SLOTS = 4;

/** One request's worth of lines, in the current (2026, -lv 4) wording with llama-server's own prefix. */
function requestLines(task, slot, t) {
  const id = `id  ${slot} | task ${task} |`;
  const ts = () => {
    t.ms += 3;
    const s = Math.floor(t.ms / 1000);
    return `${Math.floor(s / 60)}.${String(s % 60).padStart(2, '0')}.${String(t.ms % 1000).padStart(3, '0')}.${String(task % 1000).padStart(3, '0')}`;
  };
  const prompt = 2000 + ((task * 7919) % 30000);
  const cached = task % 5 === 0 ? 0 : Math.floor(prompt * 0.8);
  const out = [
    `${ts()} I srv  params_from_: Chat format: peg-native`,
    `${ts()} I slot get_availabl: id  ${slot} | task -1 |  - checking sim = 0.800 (${cached}/${prompt}) > 0.100`,
    `${ts()} I slot get_availabl: id  ${slot} | task -1 | selected slot by LCP similarity, f_sim_best = 0.800 (> 0.100 thold), f_keep = 0.950`,
    `${ts()} I slot launch_slot_: ${id} processing task, is_child = 0`,
    `${ts()} T slot update_slots: ${id} new prompt, n_ctx_slot = 65536, n_keep = 0, task.n_tokens = ${prompt}`,
  ];
  for (let n = cached; n < prompt; n += 512) {
    out.push(`${ts()} T slot update_slots: ${id} cached n_tokens = ${n}, memory_seq_rm [${n}, end)`);
    if (n % 2048 === 0) out.push(`${ts()} I slot update_slots: ${id} prompt processing, n_tokens = ${n}, progress = 0.50, t = 3.10 s / 660.00 tokens per second`);
  }
  out.push(
    `${ts()} T slot create_check: ${id} created context checkpoint 2 of 32 (pos_min = ${prompt - 600}, pos_max = ${prompt - 5}, n_tokens = ${prompt - 4}, size = 0.040 MiB)`,
    `${ts()} I slot print_timing: ${id} prompt eval time =    1234.56 ms / ${String(prompt - cached).padStart(5)} tokens (    1.37 ms per token,   730.55 tokens per second)`,
    `${ts()} I slot print_timing: ${id}        eval time =    4000.00 ms /   250 tokens (   16.00 ms per token,    62.50 tokens per second)`,
    `${ts()} I slot print_timing: ${id}       total time =    5234.56 ms / ${prompt + 250} tokens`,
    `${ts()} I slot      release: ${id} stop processing: n_tokens = ${prompt + 249}, truncated = 0`,
    `${ts()} I srv  log_server_r: done request: POST /v1/chat/completions 127.0.0.1 200`,
  );
  return out;
}

async function generate(path) {
  const ws = createWriteStream(path);
  const target = TARGET_MB * 1024 * 1024;
  let bytes = 0;
  let task = 1;
  const t = { ms: 0 };
  let requests = 0;
  while (bytes < target) {
    const chunk = `${requestLines(task, task % SLOTS, t).join('\n')}\n`;
    bytes += Buffer.byteLength(chunk);
    task++;
    requests++;
    if (!ws.write(chunk)) await once(ws, 'drain');
  }
  ws.end();
  await once(ws, 'finish');
  return requests;
}

function lines(path) {
  return createInterface({ input: createReadStream(path), crlfDelay: Infinity });
}

async function baseline(path) {
  const t0 = process.hrtime.bigint();
  let n = 0;
  for await (const _ of lines(path)) n++;
  return { seconds: Number(process.hrtime.bigint() - t0) / 1e9, lines: n };
}

async function parse(path, size) {
  global.gc?.();
  const rss0 = process.memoryUsage().rss;
  const heap0 = process.memoryUsage().heapUsed;
  let peakRss = rss0;
  const heapAt = {};
  const parser = new LogParser();
  const explainer = new Explainer();
  const summary = new SummaryBuilder();
  let n = 0;
  let bytes = 0;
  let requests = 0;
  const marks = [0.1, 0.5, 1.0];
  const t0 = process.hrtime.bigint();
  for await (const line of lines(path)) {
    bytes += line.length + 1;
    for (const r of parser.push(line)) {
      summary.add(explainer.explain(r));
      requests++;
    }
    if ((++n & 0x3fff) === 0) {
      const m = process.memoryUsage();
      if (m.rss > peakRss) peakRss = m.rss;
      while (marks.length && bytes >= marks[0] * size) heapAt[`${marks.shift() * 100}%`] = m.heapUsed;
    }
  }
  for (const r of parser.end()) {
    summary.add(explainer.explain(r));
    requests++;
  }
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  const m = process.memoryUsage();
  if (m.rss > peakRss) peakRss = m.rss;
  while (marks.length) heapAt[`${marks.shift() * 100}%`] = m.heapUsed;
  return { seconds, lines: n, requests, peakRssGrowth: peakRss - rss0, heap0, heapAt, summary: summary.result(parser.stats) };
}

const mb = (b) => (b / 1024 / 1024).toFixed(1);

const dir = mkdtempSync(join(tmpdir(), 'kvdiff-bench-logs-'));
const path = join(dir, 'server.log');
try {
  const generated = await generate(path);
  const size = statSync(path).size;
  console.log(`synthetic log: ${mb(size)} MB, ${generated} requests on ${SLOTS} slots (${path})`);
  await baseline(path); // warm the page cache and readline
  const b1 = await baseline(path);
  const p = await parse(path, size);
  const b2 = await baseline(path);
  const base = (b1.seconds + b2.seconds) / 2;
  console.log(`baseline (readline only): ${(size / 1024 / 1024 / base).toFixed(1)} MB/s, ${b1.lines} lines`);
  console.log(`kvdiff logs (parse + explain): ${(size / 1024 / 1024 / p.seconds).toFixed(1)} MB/s, ${p.requests} requests, ${p.summary.recognisedLines} lines recognised`);
  console.log(`throughput ratio vs baseline: ${(base / p.seconds).toFixed(2)} (1.00 = as fast as splitting lines)`);
  console.log(`peak RSS growth while parsing: ${mb(p.peakRssGrowth)} MB for a ${mb(size)} MB log`);
  console.log(
    `heap used: start ${mb(p.heap0)} MB, ${Object.entries(p.heapAt)
      .map(([k, v]) => `at ${k} ${mb(v)} MB`)
      .join(', ')}${global.gc ? '' : ' (run with --expose-gc for a cleaner start figure)'}`,
  );
  if (p.requests !== generated) console.log(`WARNING: expected ${generated} requests, got ${p.requests}`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
