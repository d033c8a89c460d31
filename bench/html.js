// Benchmark for `--format html`: the page for a ~100K-token pair, its size, and how long headless Chromium takes to
// open it (navigation until the first-difference marker is drawn and scrolled to). Build first (`npx tsc -p .`), then
// `node bench/html.js [tokens]`. Open time is printed against a baseline opened in the same browser: a bare page with
// B's rendered prompt in one <pre> (what any viewer of the prompt must at least load). Needs Debian's chromium (or
// KVDIFF_CHROMIUM); without it, only the size is measured. Also: the cost of --redact against the analysis itself.
import { existsSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { performance } from 'node:perf_hooks';
import { analyze } from '../dist/analyze.js';
import { Engine } from '../dist/engine.js';
import { loadBuiltinModel } from '../dist/model/builtin.js';
import { nodeFs } from '../dist/cli/node-fs.js';
import { bodyFromObject } from '../dist/payload/body.js';
import { htmlDiffPage } from '../dist/report/html/page.js';
import { escText } from '../dist/report/html/escape.js';
import { redactReport } from '../dist/report/redact.js';

const TARGET = Number(process.argv[2] ?? 100_000);
/** The budget: small enough to attach to an issue, quick enough to open. */
const MAX_BYTES = 2 * 1024 * 1024;
const MAX_OPEN_MS = 1000;

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

/** A coding-agent session with prose, reasoning, tool calls and file contents that vary from turn to turn. */
function session(turns) {
  const words = 'cache prefix token render template request session agent module parser value branch commit review latency buffer'.split(' ');
  const prose = (t, n) => Array.from({ length: n }, (_, i) => words[(t * 7 + i * 3) % words.length]).join(' ');
  const messages = [{ role: 'system', content: 'You are a coding agent. Use the tools.\nWorking directory: /srv/app' }];
  for (let t = 0; t < turns; t++) {
    if (t % 8 === 0) messages.push({ role: 'user', content: `Task ${t / 8}: ${prose(t, 30)}.` });
    messages.push({
      role: 'assistant',
      content: '',
      reasoning_content: `Step ${t}: ${prose(t + 1, 40)}.`,
      tool_calls: [{ id: `call_${t}`, type: 'function', function: { name: 'read_file', arguments: JSON.stringify({ path: `src/mod${t}.ts`, limit: 200 }) } }],
    });
    messages.push({ role: 'tool', tool_call_id: `call_${t}`, content: `// ${prose(t + 2, 12)}\nexport function f${t}(x: number): number {\n  return x * ${t} + ${t % 13};\n}\n`.repeat(3) });
  }
  return {
    messages,
    tools: [{ type: 'function', function: { name: 'read_file', description: 'Read a file.', parameters: { type: 'object', properties: { path: { type: 'string' }, limit: { type: 'integer' } }, required: ['path'] } } }],
  };
}

/** A and B: B trims a tool result half-way through the session and appends a turn. */
function pair(turns) {
  const a = session(turns);
  const b = structuredClone(a);
  const mid = b.messages.findIndex((m, i) => i >= b.messages.length / 2 && m.role === 'tool');
  b.messages[mid].content = b.messages[mid].content.trimEnd();
  b.messages.push({ role: 'assistant', content: 'Done.' }, { role: 'user', content: 'Thanks, next.' });
  return [bodyFromObject(a, 'a.json'), bodyFromObject(b, 'b.json')];
}

const engine = new Engine({ model: await loadBuiltinModel(nodeFs, 'qwen3'), backend: 'llama.cpp', now: new Date(Date.UTC(2026, 10, 27)) });
// size the session so B's prompt has about TARGET tokens
let turns = 200;
let [a, b] = pair(turns);
const probe = engine.process(b, 'B').tokens.ids.length;
turns = Math.round((turns * TARGET) / probe);
[a, b] = pair(turns);
const ta = performance.now();
const report = analyze(engine, a, b);
const analyzeMs = performance.now() - ta;
const t0 = performance.now();
const page = htmlDiffPage(report, { a: a.root, b: b.root });
const buildMs = performance.now() - t0;
const dir = mkdtempSync(join(tmpdir(), 'kvdiff-bench-html-'));
const file = join(dir, 'page.html');
writeFileSync(file, page);
const base = join(dir, 'baseline.html');
writeFileSync(base, `<!doctype html><meta charset="utf-8"><title>baseline</title><pre>${escText(report.b.rendered)}</pre>`);
const bytes = statSync(file).size;
const tr = performance.now();
redactReport(report, a, b);
const redactMs = performance.now() - tr;
const cmp = report.comparison;
console.log(`pair: ${turns} tool turns, ${cmp.tokensA.toLocaleString('en-US')} → ${cmp.tokensB.toLocaleString('en-US')} tokens, break at token ${cmp.firstDivergence?.token.toLocaleString('en-US')}`);
console.log(`page: ${(bytes / 1024 / 1024).toFixed(2)} MB (${bytes.toLocaleString('en-US')} bytes; budget ${MAX_BYTES / 1024 / 1024} MB: ${bytes < MAX_BYTES ? 'within' : 'OVER'}), built in ${buildMs.toFixed(0)} ms; baseline page ${(statSync(base).size / 1024 / 1024).toFixed(2)} MB`);

console.log(`--redact: ${redactMs.toFixed(0)} ms = ${(redactMs / analyzeMs).toFixed(2)} × the analysis it redacts (${analyzeMs.toFixed(0)} ms)`);

const chromium = [process.env.KVDIFF_CHROMIUM, '/usr/bin/chromium', '/usr/bin/chromium-browser'].find((p) => p && existsSync(p));
try {
  if (!chromium) {
    console.log('open time: not measured (no Chromium: apt-get install chromium, or set KVDIFF_CHROMIUM)');
  } else {
    const { chromium: driver } = await import('playwright-core');
    const browser = await driver.launch({ executablePath: chromium, args: ['--no-sandbox'] });
    const openMs = async (url, ready) => {
      const runs = [];
      for (let i = 0; i < 6; i++) {
        const p = await browser.newPage({ viewport: { width: 1280, height: 900 } });
        const t = performance.now();
        await p.goto(url, { waitUntil: 'load' });
        await p.waitForSelector(ready, { state: 'visible' });
        runs.push(performance.now() - t);
        await p.close();
      }
      return median(runs.slice(1)); // the first run warms the browser
    };
    const pageMs = await openMs(pathToFileURL(file).href, '#first-b-d-data');
    const baseMs = await openMs(pathToFileURL(base).href, 'pre');
    await browser.close();
    console.log(
      `open in headless Chromium until the first difference is drawn: ${pageMs.toFixed(0)} ms (budget ${MAX_OPEN_MS} ms: ${pageMs < MAX_OPEN_MS ? 'within' : 'OVER'})` +
        ` = ${(pageMs / baseMs).toFixed(2)} × a bare <pre> of B's prompt (${baseMs.toFixed(0)} ms)`,
    );
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
