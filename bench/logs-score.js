#!/usr/bin/env node
/**
 * Fact score of `kvdiff logs --json` on a folder of pasted excerpts with hand-written answer keys
 * (test/logs-corpus, test/logs-heldout): one fact per field a key lists, plus one for a key that
 * expects no request at all. A request the report does not contain scores none of its facts.
 * Usage: npm run build && node bench/logs-score.js test/logs-heldout [--verbose]
 */
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const dir = process.argv[2] ?? 'test/logs-heldout';
const verbose = process.argv.includes('--verbose');
const IDENTITY = ['slot', 'task', 'instance', 'format'];

function matches(r, e) {
  for (const k of IDENTITY) if (k in e && r[k] !== e[k]) return false;
  if (!IDENTITY.some((k) => k in e)) return r.slot === null && r.task === null;
  return true;
}

function got(r, k) {
  if (k === 'restored') return r.checkpoints?.restored;
  if (k === 'checkpointsErased') return r.checkpoints?.erased;
  if (k === 'help0') return r.help?.[0];
  if (k === 'helpIncludes') return undefined;
  return r[k];
}

function same(a, b) {
  if (typeof b === 'number' && !Number.isInteger(b)) return typeof a === 'number' && Math.abs(a - b) < 0.005;
  return JSON.stringify(a) === JSON.stringify(b);
}

let total = 0;
let hit = 0;
for (const f of readdirSync(dir).filter((x) => x.endsWith('.json')).sort()) {
  const key = JSON.parse(readFileSync(join(dir, f), 'utf8'));
  // Exit 1 means a request showed a cache problem; the report is on stdout either way. Only 2 is a failure.
  const run = spawnSync(process.execPath, ['bin/kvdiff.js', 'logs', '--json', join(dir, f.replace(/\.json$/, '.log'))], { encoding: 'utf8' });
  if (run.status !== 0 && run.status !== 1) throw new Error(`kvdiff logs failed on ${f}: ${run.stderr}`);
  const out = run.stdout;
  const doc = JSON.parse(out);
  const misses = [];
  let n = 0;
  let h = 0;
  if (key.requests.length === 0) {
    n++;
    if (doc.requests.length === 0) h++;
    else misses.push(`expected no request, got ${doc.requests.length}`);
  }
  const used = new Set();
  for (const e of key.requests) {
    const r = doc.requests.find((x) => !used.has(x) && matches(x, e));
    const facts = Object.entries(e).filter(([k]) => !IDENTITY.includes(k));
    n += facts.length;
    if (!r) {
      misses.push(`no request like ${JSON.stringify(Object.fromEntries(Object.entries(e).filter(([k]) => IDENTITY.includes(k))))}`);
      continue;
    }
    used.add(r);
    for (const [k, v] of facts) {
      const g = k === 'helpIncludes' ? r.help?.includes(v) : got(r, k);
      if (k === 'helpIncludes' ? g === true : same(g, v)) h++;
      else misses.push(`task ${e.task ?? '-'} ${k}: want ${JSON.stringify(v)} got ${JSON.stringify(g)}`);
    }
  }
  total += n;
  hit += h;
  console.log(`${h === n ? 'ok  ' : 'MISS'} ${String(h).padStart(2)}/${String(n).padEnd(2)} ${f}`);
  if (verbose) for (const m of misses) console.log(`       - ${m}`);
}
console.log(`\n${hit}/${total} facts (${((100 * hit) / total).toFixed(1)} %)`);
