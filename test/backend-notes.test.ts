import { describe, expect, it } from 'vitest';
import { tempFiles } from './tmp.js';
import { runCli } from './cli-harness.js';

// Each difference says what the chosen backend does with it and what the other message handling would: a
// template that prints whole tool-call objects sees `call_id` under a raw render, while llama-server drops the key
// before templating (../shared/docs/llama-server-behaviour.md a.2).
const { write } = tempFiles('notes');
const template = write('dump.jinja', '{% for m in messages %}<{{ m.role }}>{% for tc in m.tool_calls or [] %}{{ tc | tojson }}{% endfor %}{{ m.content }}\n{% endfor %}');
const call = { id: 'c1', type: 'function', function: { name: 'ls', arguments: '{}' } };
const a = write('a.json', { messages: [{ role: 'user', content: 'list' }, { role: 'assistant', content: '', tool_calls: [call] }, { role: 'tool', tool_call_id: 'c1', content: 'x' }] });
const b = write('b.json', { messages: [{ role: 'user', content: 'list' }, { role: 'assistant', content: '', tool_calls: [{ ...call, call_id: 'c1' }] }, { role: 'tool', tool_call_id: 'c1', content: 'x' }] });

describe('what each backend does with a difference', () => {
  it('llama.cpp: call_id is dropped (ignored); under raw the template would print it', async () => {
    const r = await runCli([a, b, '--template', template, '--json']);
    const j = JSON.parse(r.stdout);
    expect(j.reusesAll).toBe(true);
    expect(j.ignored).toEqual([expect.objectContaining({ code: 'EXTRA_FIELD', path: '$.messages[1].tool_calls[0].call_id', elsewhere: { backend: 'raw', changesRender: true } })]);
    const human = await runCli([a, b, '--template', template]);
    expect(human.stdout).toMatch(/llama-server drops "call_id" before templating: harmless there; under --backend raw it changes the prompt/);
  });
  it('raw: call_id breaks the prefix; under llama.cpp it would not', async () => {
    const j = JSON.parse((await runCli([a, b, '--template', template, '--backend', 'raw', '--json'])).stdout);
    expect(j.reusesAll).toBe(false);
    expect(j.causes[0]).toMatchObject({ code: 'EXTRA_FIELD', path: '$.messages[1].tool_calls[0].call_id', elsewhere: { backend: 'llama.cpp', changesRender: false } });
  });
});
