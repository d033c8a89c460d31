// Benchmark for `kvdiff record`: the latency the proxy adds per request, against a direct connection to the same
// stand-in upstream measured in the same run (requests alternate direct / proxied, one at a time, so both see the
// same machine load). Build first (`npx tsc -p .`), then `node bench/record.js [requests per mode]`.
//
// The upstream is a separate process (a stand-in llama-server on loopback answering at once, streamed or not);
// the proxy is the real command (`bin/kvdiff.js record`) in its own process, capturing every request and analysing
// it with the built-in model in its low-priority analysis process, as a user would run it. The body is an agent conversation that
// grows by one turn per request. Reported: p50 and p99 of the time to the last byte, direct and proxied, and their
// difference (what the proxy adds).
import { spawn } from 'node:child_process';
import http from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const N = Number(process.argv[2] ?? 200);
const WARMUP = 20;
const STREAM_CHUNKS = 20;
const here = dirname(fileURLToPath(import.meta.url));

const UPSTREAM = `
import http from 'node:http';
const s = http.createServer((req, res) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', async () => {
    const body = JSON.parse(Buffer.concat(chunks).toString());
    if (!body.stream) {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ choices: [{ message: { role: 'assistant', content: 'ok' }, finish_reason: 'stop' }], timings: { cache_n: 0, prompt_n: 1 } }));
      return;
    }
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    for (let i = 0; i < ${STREAM_CHUNKS}; i++) {
      res.write('data: ' + JSON.stringify({ choices: [{ delta: { content: 'tok' + i + ' ' } }] }) + '\\n\\n');
      await new Promise((r) => setImmediate(r));
    }
    res.end('data: ' + JSON.stringify({ choices: [{ delta: {}, finish_reason: 'stop' }], timings: { cache_n: 0, prompt_n: 1 } }) + '\\n\\ndata: [DONE]\\n\\n');
  });
});
s.listen(0, '127.0.0.1', () => console.log(s.address().port));
`;

function started(child, pattern) {
  return new Promise((resolve, reject) => {
    let text = '';
    const onData = (c) => {
      text += c;
      const m = pattern.exec(text);
      if (m) resolve(Number(m[1]));
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.once('exit', (code) => reject(new Error(`exited (${code}): ${text}`)));
  });
}

const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
function request(port, body) {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const req = http.request({ host: '127.0.0.1', port, method: 'POST', path: '/v1/chat/completions', agent, headers: { 'content-type': 'application/json' } }, (res) => {
      res.on('data', () => {});
      res.on('end', () => resolve(performance.now() - t0));
    });
    req.on('error', reject);
    req.end(body);
  });
}

function conversation(turns, stream) {
  const messages = [{ role: 'system', content: 'You are a coding agent. Be concise. Use the tools to inspect and edit files.' }];
  for (let i = 0; i < turns; i++) {
    messages.push({ role: 'user', content: `step ${i}: look at src/file${i}.ts and tell me what the function on line ${i * 7} does.` });
    messages.push({ role: 'assistant', content: `It reads the configuration, checks ${i} conditions and returns the merged result.` });
  }
  messages.push({ role: 'user', content: 'go on' });
  return JSON.stringify({ model: 'bench', stream, messages });
}

const pct = (xs, p) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
};
const ms = (x) => `${x.toFixed(2)} ms`;

const out = mkdtempSync(join(tmpdir(), 'kvdiff-bench-record-'));
const upstream = spawn(process.execPath, ['--input-type=module', '-e', UPSTREAM], { stdio: ['ignore', 'pipe', 'pipe'] });
const upPort = await started(upstream, /^(\d+)$/m);
const proxy = spawn(process.execPath, [join(here, '..', 'bin', 'kvdiff.js'), 'record', '--upstream', `http://127.0.0.1:${upPort}`, '--listen', '127.0.0.1:0', '--out', out, '--json'], {
  stdio: ['ignore', 'pipe', 'pipe'],
});
let lines = 0;
proxy.stdout.on('data', (c) => (lines += String(c).split('\n').length - 1));
const proxyPort = await started(proxy, /http:\/\/127\.0\.0\.1:(\d+) →/);

try {
  console.log(`kvdiff record: ${N} requests per mode, alternating direct and proxied, one at a time; the body grows by one turn per request`);
  for (const stream of [false, true]) {
    const direct = [];
    const proxied = [];
    for (let i = 0; i < WARMUP + N; i++) {
      // each conversation runs 40 turns, then a new one starts (as an agent's sessions do)
      const body = conversation(i % 40, stream);
      const d = await request(upPort, body);
      const p = await request(proxyPort, body);
      if (i >= WARMUP) {
        direct.push(d);
        proxied.push(p);
      }
    }
    const added = proxied.map((p, i) => p - direct[i]);
    console.log(
      `${stream ? 'streamed (20 chunks)' : 'not streamed'}: direct p50 ${ms(pct(direct, 50))} p99 ${ms(pct(direct, 99))}; ` +
        `proxied p50 ${ms(pct(proxied, 50))} p99 ${ms(pct(proxied, 99))}; added p50 ${ms(pct(added, 50))} p99 ${ms(pct(added, 99))} ` +
        `(proxied/direct at p50 ${(pct(proxied, 50) / pct(direct, 50)).toFixed(2)}x)`,
    );
  }
} finally {
  proxy.kill('SIGINT');
  await new Promise((r) => proxy.once('exit', r));
  upstream.kill();
  console.log(`analysis lines printed while the benchmark ran: ${lines} of ${2 * (WARMUP + N)} requests (the rest were still queued at Ctrl-C)`);
  rmSync(out, { recursive: true, force: true });
}
