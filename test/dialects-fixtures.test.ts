import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { analyze } from '../src/analyze.js';
import { Engine } from '../src/engine.js';
import { KvdiffError } from '../src/errors.js';
import { convert, readClientBody } from '../src/dialect/index.js';
import type { ModelInfo } from '../src/model/types.js';
import { parseJson, type JsonNode } from '../src/payload/json.js';
import { nodeAt } from '../src/payload/edit.js';
import { HAVE_SHARED, NO_SHARED_REASON, SHARED } from './shared.js';
import { fixtureModel } from './fixture-models.js';

// Issue 10's reference: every request pair sent to a real llama-server through /v1/messages and /v1/responses.
// kvdiff's converted body, render, token ids and n_past must equal the server's own (its debug line "converted
// request", /apply-template, /tokenize, the logged n_past); a request the server refused exits 2 with its reason.
const DIR = join(SHARED, 'fixtures', 'llama-server-dialects');
const HAVE = HAVE_SHARED && (() => {
  try {
    return readdirSync(DIR).length > 0;
  } catch {
    return false;
  }
})();

interface Case {
  file: string;
  tree: JsonNode;
  case: string;
  model: string;
  date: string;
  request_a: unknown;
  request_b: unknown;
  rendered_a: string;
  rendered_b: string | null;
  tokens_a: number[];
  tokens_b: number[] | null;
  n_past_logged: number | null;
  status_b: number;
  error_b: { message: string } | null;
}

function loadCases(): Case[] {
  if (!HAVE) return [];
  return readdirSync(DIR)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((f) => {
      const text = readFileSync(join(DIR, f), 'utf8');
      return { ...(JSON.parse(text) as Omit<Case, 'file' | 'tree'>), file: f, tree: parseJson(text, f) };
    });
}

/** The JSON text of a node with key order kept and numbers by value (the server re-prints them). */
function ordered(n: JsonNode): string {
  switch (n.type) {
    case 'object':
      return `{${n.entries.map((e) => `${JSON.stringify(e.key)}:${ordered(e.value)}`).join(',')}}`;
    case 'array':
      return `[${n.items.map(ordered).join(',')}]`;
    case 'number':
      return String(n.value);
    case 'null':
      return 'null';
    default:
      return JSON.stringify(n.value);
  }
}

/** The request exactly as recorded (key order from the file, not from a JavaScript object). */
function request(c: Case, side: 'a' | 'b') {
  const node = nodeAt(c.tree, [`request_${side}`])!;
  return readClientBody(ordered(node), side.toUpperCase());
}

const cases = loadCases();

describe.skipIf(!HAVE)(`every llama-server dialect recording (${HAVE ? '' : NO_SHARED_REASON})`, async () => {
  const models = new Map<string, ModelInfo>();
  for (const c of cases) if (!models.has(c.model)) models.set(c.model, await fixtureModel(c.model));
  const results: { name: string; ok: boolean }[] = [];

  for (const c of cases) {
    it(c.case, () => {
      const [y, m, d] = c.date.split('-').map(Number);
      const engine = new Engine({ model: models.get(c.model)!, backend: 'llama.cpp', now: new Date(Date.UTC(y, m - 1, d)) });
      let ok = false;
      try {
        const a = request(c, 'a');
        expect(a.api).toBe(c.file.includes('_anthropic_') ? 'messages' : 'responses');
        expect(ordered(convert(a, { billingHeader: true })!.root)).toBe(ordered(nodeAt(c.tree, ['converted_a'])!));
        if (c.status_b !== 200) {
          expect(() => engine.process(request(c, 'b'), 'B')).toThrow(KvdiffError);
          expect(() => engine.process(request(c, 'b'), 'B')).toThrow(c.error_b!.message);
          ok = true;
          return;
        }
        const b = request(c, 'b');
        expect(ordered(convert(b, { billingHeader: true })!.root)).toBe(ordered(nodeAt(c.tree, ['converted_b'])!));
        const r = analyze(engine, a, b);
        expect(r.a.rendered).toBe(c.rendered_a);
        expect(r.b.rendered).toBe(c.rendered_b);
        expect(r.a.ids).toEqual(c.tokens_a);
        expect(r.b.ids).toEqual(c.tokens_b);
        expect(r.comparison.nPast).toBe(c.n_past_logged);
        ok = true;
      } finally {
        results.push({ name: c.case, ok });
      }
    });
  }
  it('prints the count', () => {
    const ok = results.filter((r) => r.ok).length;
    console.log(`${ok}/${cases.length} dialect cases match`);
    expect(ok).toBe(cases.length);
  });
});

const byName = (name: string) => cases.find((c) => c.case === name)!;

describe.skipIf(!HAVE)('findings on dialect bodies name the client path and say whether llama-server ignores the difference', async () => {
  const qwen = HAVE ? await fixtureModel('tiny-qwen3.gguf') : undefined;
  const run = (name: string) => {
    const c = byName(name);
    const engine = new Engine({ model: qwen!, backend: 'llama.cpp', now: new Date(Date.UTC(2026, 11, 1)) });
    return { c, r: analyze(engine, request(c, 'a'), request(c, 'b')) };
  };
  const fmt = (p: readonly (string | number)[]) => p.map((s) => (typeof s === 'number' ? `[${s}]` : `.${s}`)).join('');

  it('billing header: ignored at $.system[0].text, the cch= rewrite, and where it breaks elsewhere', () => {
    const { c, r } = run('qwen3_anthropic_billing_header_cch_changes');
    expect(r.comparison.nPast).toBe(c.n_past_logged);
    expect(r.causes).toEqual([]);
    const f = r.ignored.find((x) => fmt(x.path) === '.system[0].text')!;
    expect(f.code).toBe('VALUE_CHANGED');
    expect(f.dialect).toMatchObject({ api: 'messages', reason: 'BILLING_CCH', converted: [['messages', 0, 'content']] });
    // without the rewrite the stamp sits inside the system prompt, before the end of A's prompt
    expect(f.dialect!.tokenElsewhere).toBeGreaterThan(0);
    expect(f.dialect!.tokenElsewhere).toBeLessThan(r.a.ids.length);
  });
  it('tool_use key order: the cause at $.messages[1].content[2].input, read as the converted arguments', () => {
    const { c, r } = run('qwen3_anthropic_tool_use_input_key_order');
    expect(r.comparison.nPast).toBe(c.n_past_logged);
    expect(r.causes.map((f) => [f.code, fmt(f.path), f.token])).toEqual([['KEY_ORDER', '.messages[1].content[2].input', c.n_past_logged]]);
    expect(r.causes[0].dialect?.converted).toEqual([['messages', 2, 'tool_calls', 0, 'function', 'arguments']]);
  });
  it('thinking block dropped: the removed block at $.messages[1].content[0], ignored', () => {
    const { c, r } = run('qwen3_anthropic_thinking_block_dropped');
    expect(r.comparison.nPast).toBe(c.n_past_logged);
    expect(r.causes).toEqual([]);
    const f = r.ignored.find((x) => x.code === 'ITEM_REMOVED')!;
    expect(fmt(f.path)).toBe('.messages[1].content[0]');
    expect(f.side).toBe('a');
    expect(f.dialect?.converted).toEqual([['messages', 2, 'reasoning_content']]);
  });
  it('tool_result string vs blocks: ignored at $.messages[2].content[0].content, both convert alike', () => {
    const { c, r } = run('qwen3_anthropic_tool_result_string_vs_blocks');
    expect(r.comparison.nPast).toBe(c.n_past_logged);
    expect(r.causes).toEqual([]);
    const f = r.ignored.find((x) => x.code === 'TYPE_CHANGED')!;
    expect(fmt(f.path)).toBe('.messages[2].content[0].content');
    expect(f.dialect).toMatchObject({ reason: 'SAME_CONVERSION', converted: [['messages', 3, 'content']] });
  });
  it('Responses: a dropped reasoning item is one ITEM_REMOVED at $.input[2]; appended items are growth', () => {
    const { r } = run('qwen3_responses_reasoning_item_dropped');
    expect(r.ignored.map((f) => [f.code, fmt(f.path)])).toEqual([['ITEM_REMOVED', '.input[2]']]);
    expect(r.growth.map((f) => [f.code, fmt(f.path)])).toEqual([['MESSAGES_APPENDED', '.input[6]']]);
  });
  it('Responses: a timestamp in instructions is the cause at $.instructions', () => {
    const { c, r } = run('qwen3_responses_instructions_timestamp');
    expect(r.comparison.nPast).toBe(c.n_past_logged);
    expect(r.causes[0]).toMatchObject({ code: 'VALUE_CHANGED', path: ['instructions'], token: c.n_past_logged });
    expect(r.causes[0].dialect?.converted).toEqual([['messages', 0, 'content']]);
  });
  it('a new user turn after a turn with reasoning: Qwen3 rewrites history, named at the client item', () => {
    // the recorded B ends with tool results after a function call; reply and ask again
    for (const [name, key, reply, user] of [
      ['qwen3_anthropic_thinking_enabled_in_b', 'messages', { role: 'assistant', content: [{ type: 'text', text: 'Fixed.' }] }, { role: 'user', content: [{ type: 'text', text: 'thanks' }] }],
      ['qwen3_responses_append_tool_round', 'input', { type: 'message', role: 'assistant', content: [{ type: 'output_text', text: 'Fixed.' }] }, { type: 'message', role: 'user', content: [{ type: 'input_text', text: 'thanks' }] }],
    ] as const) {
      const c = byName(name);
      const a = request(c, 'b');
      const plain = JSON.parse(ordered(a.root));
      // put reasoning on the last assistant turn, as a client that keeps it would send it
      const items = plain[key] as Record<string, unknown>[];
      if (key === 'messages') {
        const last = [...items].reverse().find((m) => m.role === 'assistant') as { content: unknown[] };
        last.content.unshift({ type: 'thinking', thinking: 'Read the file, then fix it.', signature: 's' });
      } else {
        const k = items.map((it) => it.type).lastIndexOf('function_call');
        items.splice(k, 0, { type: 'reasoning', summary: [], content: [{ type: 'reasoning_text', text: 'Read the file, then fix it.' }] });
      }
      const withReasoning = readClientBody(JSON.stringify(plain), 'A');
      const next = readClientBody(JSON.stringify({ ...plain, [key]: [...items, reply, user] }), 'B');
      const engine = new Engine({ model: qwen!, backend: 'llama.cpp', now: new Date(Date.UTC(2026, 11, 1)) });
      const r = analyze(engine, withReasoning, next);
      expect(r.causes.map((f) => f.code)).toEqual(['TEMPLATE_REWRITES_HISTORY']);
      const path = r.causes[0].path;
      expect(path[0]).toBe(key);
      // the client item that carries the reasoning (or starts the assistant turn holding it)
      const item = items[path[1] as number] as Record<string, unknown>;
      expect(key === 'messages' ? item.role : ['reasoning', 'function_call', 'message'].includes(item.type as string)).toBe(key === 'messages' ? 'assistant' : true);
    }
  });
  it('why each ignored field is harmless: dropped by the conversion, by the chat parser, or a request option', () => {
    const reasons = (name: string) => Object.fromEntries(run(name).r.ignored.map((f) => [fmt(f.path), f.dialect?.reason]));
    expect(reasons('qwen3_anthropic_tool_result_is_error_added')).toMatchObject({ '.messages[2].content[0].is_error': 'DROPPED', '.messages[4].content[0].cache_control': 'CHAT_PARSE_DROPS' });
    expect(reasons('qwen3_anthropic_thinking_signature_changes')).toMatchObject({ '.messages[1].content[0].signature': 'DROPPED' });
    expect(reasons('qwen3_anthropic_metadata_added')).toMatchObject({ '.metadata': 'REQUEST_OPTION', '.stop_sequences': 'REQUEST_OPTION' });
    expect(reasons('qwen3_responses_reasoning_encrypted_content_added')).toMatchObject({ '.input[2].encrypted_content': 'DROPPED' });
  });
  it('a refusal part is refused by the chat parser, as llama-server does', () => {
    const engine = new Engine({ model: qwen!, backend: 'llama.cpp', now: new Date(Date.UTC(2026, 11, 1)) });
    const b = readClientBody(JSON.stringify({ input: [{ type: 'message', role: 'user', content: 'hi' }, { type: 'message', role: 'assistant', content: [{ type: 'refusal', refusal: 'no' }] }] }), 'B');
    expect(() => engine.process(b, 'B')).toThrow(/unsupported content\[\]\.type "refusal"/);
  });
});

describe.skipIf(!HAVE)('rendered prompts and raw completion bodies, against the recorded tokens', async () => {
  const models = new Map<string, ModelInfo>();
  if (HAVE) for (const m of ['tiny-qwen3.gguf', 'tiny-llama3.1.gguf']) models.set(m, await fixtureModel(m));
  const engineFor = (c: Case) => new Engine({ model: models.get(c.model)!, backend: 'llama.cpp', now: new Date(Date.UTC(2026, 11, 1)) });
  for (const name of ['llama31_anthropic_tool_use_input_key_order', 'qwen3_responses_instructions_timestamp', 'llama31_anthropic_tools_reordered']) {
    it(`${name}: the two prompts as .txt files give the server's tokens and n_past`, () => {
      const c = byName(name);
      const r = analyze(engineFor(c), readClientBody(c.rendered_a, 'a.txt'), readClientBody(c.rendered_b!, 'b.txt'));
      expect(r.a.ids).toEqual(c.tokens_a);
      expect(r.b.ids).toEqual(c.tokens_b);
      expect(r.comparison.nPast).toBe(c.n_past_logged);
      expect(r.causes).toEqual([]);
    });
  }
  it('a completion prompt string, a token array and a mixed array tokenize as the server did', () => {
    const c = byName('llama31_anthropic_tool_use_input_key_order');
    const engine = engineFor(c);
    const ids = (prompt: unknown) => engine.process(readClientBody(JSON.stringify({ prompt }), 'B'), 'B').tokens.ids;
    expect(c.tokens_a[0]).toBe(128000); // the BOS llama-server added
    expect(ids(c.rendered_a)).toEqual(c.tokens_a);
    expect(ids(c.tokens_a)).toEqual(c.tokens_a);
    expect(ids([c.tokens_a[0], c.rendered_a])).toEqual(c.tokens_a);
    // a leading string gets the BOS; a later one does not
    expect(ids([c.rendered_a, 13])).toEqual([...c.tokens_a, 13]);
    expect(ids([13, c.rendered_a])).toEqual([13, ...c.tokens_a.slice(1)]);
  });
});
