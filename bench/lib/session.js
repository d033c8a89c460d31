// Generated agent sessions for the benchmarks: a system prompt, tool definitions, user tasks, assistant turns with
// reasoning and tool calls, and tool outputs mixing code, JSON, logs, CJK text and emoji. Seeded, so every run
// measures the same bytes. `agentSession(tokens)` grows turns until the body holds about that many Qwen3 tokens
// (estimated at 3.7 characters per token; the benchmark prints the real count).

function rng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const WORDS = 'the a module function returns value when config request server cache token prompt user file test error build path index async await export import type interface class const let'.split(' ');
const CJK = ['日本語のテキストを解析します。', '缓存命中率下降了', '서버가 요청을 처리합니다', '函数返回了错误的值。'];
const EMOJI = ['✅', '🚀', '⚠️', '🔥', '👍🏽', '🧪'];
const TOOLS = [
  ['read_file', 'Read a file from the workspace.', { path: { type: 'string', description: 'Path relative to the root' }, offset: { type: 'integer' }, limit: { type: 'integer' } }],
  ['run_shell', 'Run a shell command and return its output.', { command: { type: 'string' }, timeout_ms: { type: 'integer', minimum: 1 } }],
  ['edit_file', 'Replace text in a file.', { path: { type: 'string' }, old_string: { type: 'string' }, new_string: { type: 'string' } }],
  ['search', 'Search the code base with a regular expression.', { pattern: { type: 'string' }, glob: { type: 'string' } }],
  ['http_get', 'Fetch a URL.', { url: { type: 'string', format: 'uri' }, headers: { type: 'object', additionalProperties: { type: 'string' } } }],
];

export function agentSession(targetTokens, seed = 1) {
  const r = rng(seed);
  const pick = (xs) => xs[Math.floor(r() * xs.length)];
  const int = (n) => Math.floor(r() * n);
  const words = (n) => Array.from({ length: n }, () => pick(WORDS)).join(' ');
  const code = (i) =>
    Array.from({ length: 6 + int(20) }, (_, k) =>
      pick([
        `export function ${pick(WORDS)}${i}_${k}(x: number): number {\n  return x * ${int(1000)} + ${k};\n}`,
        `def ${pick(WORDS)}_${i}_${k}(self, value):\n    if value is None:\n        raise ValueError("${words(4)}")\n    return value`,
        `  const ${pick(WORDS)}${k} = await fetch(\`/api/v1/${pick(WORDS)}/\${id}\`, { method: 'POST' });`,
        `// ${words(8)} ${pick(CJK)}`,
      ]),
    ).join('\n');
  const json = (i) => JSON.stringify({ id: i, status: pick(['ok', 'error', 'pending']), items: Array.from({ length: 3 + int(6) }, (_, k) => ({ k, name: words(2), score: r().toFixed(4), tags: [pick(WORDS), pick(EMOJI)] })) }, null, 2);
  const logs = (i) =>
    Array.from({ length: 5 + int(15) }, (_, k) => `2026-11-27T10:${String(k % 60).padStart(2, '0')}:${String(int(60)).padStart(2, '0')}.${int(999)}Z ${pick(['INFO', 'WARN', 'ERROR'])} [worker-${int(8)}] ${words(6)} ${pick(EMOJI)} id=${i}-${k} latency=${int(900)}ms`).join('\n');
  const body = {
    model: 'qwen3',
    messages: [{ role: 'system', content: `You are a coding agent working in /srv/app.\n${words(60)}\nRules:\n${Array.from({ length: 12 }, (_, k) => `${k + 1}. ${words(12)}`).join('\n')}` }],
    tools: TOOLS.map(([name, description, properties]) => ({ type: 'function', function: { name, description, parameters: { type: 'object', properties, required: Object.keys(properties).slice(0, 1) } } })),
  };
  let chars = JSON.stringify(body).length;
  for (let t = 0; chars / 3.7 < targetTokens; t++) {
    const turn = [];
    if (t % 6 === 0) turn.push({ role: 'user', content: `${words(10 + int(30))} ${pick(CJK)} ${pick(EMOJI)}` });
    const [name] = pick(TOOLS);
    const id = `call_${t}_${int(1e6).toString(36)}`;
    turn.push({ role: 'assistant', content: t % 4 === 0 ? words(15) : '', reasoning_content: `${words(20 + int(40))}.`, tool_calls: [{ id, type: 'function', function: { name, arguments: JSON.stringify({ path: `src/${pick(WORDS)}/${t}.ts`, limit: 200 }) } }] });
    turn.push({ role: 'tool', tool_call_id: id, content: pick([code, json, logs, code])(t) });
    for (const m of turn) chars += JSON.stringify(m).length;
    body.messages.push(...turn);
  }
  return body;
}

/** The next request of the same session: one more assistant turn, and `differences` changes to A's messages, each
 * of which changes the render on its own (the first assistant reply and then tool outputs given a trailing newline,
 * as a client that re-serialises its history does), so attribution renders and tokenizes a variant for each. */
export function nextRequest(a, { differences = 1 } = {}) {
  const b = structuredClone(a);
  const first = b.messages.find((m) => m.role === 'assistant' && m.content);
  let left = differences;
  if (first && left > 0) (first.content += '\n\n'), left--;
  for (const m of b.messages) if (left > 0 && m.role === 'tool') (m.content += '\n'), left--;
  b.messages.push({ role: 'assistant', content: 'Done: the test passes now. ✅' }, { role: 'user', content: 'Thanks. Next task.' });
  return b;
}

/** A session of `requests` requests (fewer when the session has fewer turns) growing to about `targetTokens`: the
 * agent session above cut after a tool output or user message at evenly spaced points, so each request is the one
 * before with the turns since appended (what an agent sends every turn). The last request holds the whole session. */
export function growingSession(requests, targetTokens, seed = 1) {
  const full = agentSession(targetTokens, seed);
  const cuts = [];
  full.messages.forEach((m, i) => {
    if (i > 0 && (m.role === 'tool' || m.role === 'user') && full.messages[i + 1]?.role !== 'tool') cuts.push(i + 1);
  });
  if (cuts[cuts.length - 1] !== full.messages.length) cuts.push(full.messages.length);
  const n = Math.min(requests, cuts.length);
  return Array.from({ length: n }, (_, k) => {
    const end = cuts[Math.round(((k + 1) * cuts.length) / n) - 1];
    return { ...full, messages: full.messages.slice(0, end) };
  });
}
