// Benchmark for `kvdiff logs`: throughput and memory of the streaming log parser on a ~100 MB
// synthetic llama-server log. Build first (`npx tsc -p .`), then `node --expose-gc bench/logs.js [MB]`.
//
// Throughput is reported as a ratio against a baseline measured in the same process on the same file
// (node:readline splitting the file into lines and doing nothing else), so the number means the same
// on a slow laptop and a fast server. Memory: RSS and heap are sampled while parsing; flat memory means
// the heap at 100 % of the file is about what it was at 10 %.
import { createReadStream, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { LogParser } from '../dist/logs/parse.js';
import { Explainer, SummaryBuilder } from '../dist/logs/explain.js';
import { generateLog } from './lib/log.js';

const TARGET_MB = Number(process.argv[2] ?? 100);
const SLOTS = 4;

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
  const generated = await generateLog(path, TARGET_MB, SLOTS);
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
