import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from './cli-harness.js';
import { diffRequests } from '../src/index.js';
import { tempFiles } from './tmp.js';
import { HAVE_SHARED, NO_SHARED_REASON, SHARED } from './shared.js';

// The CLI on recorded /v1/messages and /v1/responses requests: every subcommand takes every dialect.
const DIR = join(SHARED, 'fixtures', 'llama-server-dialects');
const HAVE = HAVE_SHARED && (() => {
  try {
    return readdirSync(DIR).length > 0;
  } catch {
    return false;
  }
})();
const load = (name: string) => JSON.parse(readFileSync(join(DIR, `${name}.json`), 'utf8'));
const { dir, write } = tempFiles('dialects');

describe.skipIf(!HAVE)(`kvdiff on dialect bodies (${HAVE ? '' : NO_SHARED_REASON})`, () => {
  const QWEN = ['--gguf', join(SHARED, 'models', 'tiny-qwen3.gguf'), '--date', '2026-12-01'];

  it('a request llama-server refused exits 2 with its reason', async () => {
    const c = load('qwen3_responses_previous_response_id');
    const r = await runCli([write('prev-a.json', c.request_a), write('prev-b.json', c.request_b), ...QWEN]);
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split('\n')[0]).toBe(`error: llama-server would refuse ${join(dir, 'prev-b.json')}: ${c.error_b.message}`);
  });
  it('diff --json: the break, its client path and the converted field', async () => {
    const c = load('qwen3_anthropic_tool_use_input_key_order');
    const r = await runCli([write('ko-a.json', c.request_a), write('ko-b.json', c.request_b), ...QWEN, '--json']);
    expect(r.code).toBe(1);
    const j = JSON.parse(r.stdout);
    expect(j.nPast).toBe(c.n_past_logged);
    expect(j.causes[0]).toMatchObject({ code: 'KEY_ORDER', path: '$.messages[1].content[2].input', dialect: { api: 'messages', converted: ['$.messages[2].tool_calls[0].function.arguments'] } });
  });
  it('render --converted prints the body the server built; render prints its prompt; tokens its ids', async () => {
    const c = load('qwen3_responses_append_tool_round');
    const file = write('conv-b.json', c.request_b);
    const conv = await runCli(['render', '--converted', file]);
    expect(conv.code).toBe(0);
    expect(JSON.parse(conv.stdout)).toEqual(c.converted_b);
    expect(Object.keys(JSON.parse(conv.stdout))).toEqual(Object.keys(c.converted_b));
    const rendered = await runCli(['render', file, ...QWEN]);
    expect(rendered.stdout).toBe(c.rendered_b);
    const tokens = await runCli(['tokens', '--json', file, ...QWEN]);
    expect(JSON.parse(tokens.stdout).ids).toEqual(c.tokens_b);
  });
  it('--api names the endpoint when the shape does not', async () => {
    const body = { max_tokens: 1, messages: [{ role: 'user', content: [{ type: 'text', text: 'hi' }] }] };
    const file = write('plain.json', body);
    const asMessages = await runCli(['render', '--converted', '--api', 'messages', file]);
    expect(JSON.parse(asMessages.stdout)).toEqual({ messages: [{ role: 'user', content: [{ type: 'text', text: 'hi' }] }], max_tokens: 1 });
    const asCompletion = await runCli(['render', '--converted', '--api', 'completion', file]);
    expect(asCompletion.code).toBe(2);
  });
  it('check on a --log-prompts-dir folder of rendered prompts, in file-name order', async () => {
    const c = load('qwen3_anthropic_tools_reordered');
    const { dir: logs, write: put } = tempFiles('prompts');
    put('1764547200123.txt', c.rendered_a);
    put('1764547200999.txt', c.rendered_b);
    const r = await runCli(['check', logs, ...QWEN, '--json']);
    expect(r.code).toBe(1);
    const j = JSON.parse(r.stdout);
    expect(j.steps[0]).toMatchObject({ a: join(logs, '1764547200123.txt'), nPast: c.n_past_logged, ok: false });
    const ok = load('qwen3_anthropic_append_tool_round');
    const { dir: logs2, write: put2 } = tempFiles('prompts');
    put2('9.txt', ok.rendered_a);
    put2('10.txt', ok.rendered_b);
    const r2 = await runCli(['check', logs2, ...QWEN]);
    expect(r2.code).toBe(0);
  });
  it('kvdiff A.txt B.txt: the divergence, no attribution', async () => {
    const c = load('qwen3_responses_instructions_timestamp');
    const r = await runCli([write('a.txt', c.rendered_a), write('b.txt', c.rendered_b), ...QWEN, '--json']);
    expect(r.code).toBe(1);
    const j = JSON.parse(r.stdout);
    expect(j.nPast).toBe(c.n_past_logged);
    expect(j.causes).toEqual([]);
  });
  it('the library takes dialect bodies as objects', async () => {
    const c = load('llama31_responses_instructions_timestamp');
    const r = await diffRequests(c.request_a, c.request_b, { gguf: join(SHARED, 'models', 'tiny-llama3.1.gguf'), date: '2026-12-01' });
    expect(r.nPast).toBe(c.n_past_logged);
    expect(r.causes[0]).toMatchObject({ code: 'VALUE_CHANGED', path: '$.instructions', dialect: { api: 'responses', converted: ['$.messages[0].content'] } });
  });
});
