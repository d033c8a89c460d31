import { describe, expect, it } from 'vitest';
import { adjustForChatFormat, continuationFor, detectChatFormat } from '../src/chat-formats.js';

// What llama.cpp's chat-format handlers (common/chat.cpp `common_chat_try_specialized_template` and
// common/parsers/*.cpp) do, one rule per case; the expected values restate those handlers.

describe('chat format detection (first match, in llama.cpp order)', () => {
  const cases: [string, string | undefined][] = [
    ['{{ "[SYSTEM_PROMPT]" }}[TOOL_CALLS][ARGS]', 'Ministral 3'],
    ['[SYSTEM_PROMPT][TOOL_CALLS][ARGS][CALL_ID]', undefined], // Mistral Small 3.2
    ['<|start|>assistant<|channel|>final<|message|>', 'GPT-OSS'],
    ['<|tool_calls_section_begin|><|tool_call_begin|>', 'Kimi K2'],
    ['<|tool_list_start|>[...]<|tool_list_end|>', 'LFM2'],
    ['List of tools: [', 'LFM2.5'],
    ['{% set dsml_token = "｜DSML｜" %}<{{ dsml_token }}function_calls>', 'DeepSeek V3.2/V4'],
    ["{{ '<|tool_call>call:' }}", 'Gemma 4'],
    ['<tool_call>\n<function=x>\n<parameter=y>', 'Qwen3-Coder'],
    ['<|im_start|>{{ m.content }}', undefined],
  ];
  for (const [src, name] of cases) it(`${JSON.stringify(src)} → ${name ?? 'generic'}`, () => expect(detectChatFormat(src)?.name).toBe(name));
});

describe('message adjustments', () => {
  const call = { type: 'function', id: 'c1', function: { name: 'f', arguments: '{}' } };

  it('GPT-OSS: reasoning_content is copied to thinking; content is dropped beside tool calls', () => {
    const out = adjustForChatFormat('<|channel|>', [
      { role: 'assistant', content: 'answer', reasoning_content: 'why' },
      { role: 'assistant', content: '', reasoning_content: 'plan', tool_calls: [call] },
      { role: 'assistant', content: 'no reasoning', tool_calls: [call] },
    ]);
    expect(out).toEqual([
      { role: 'assistant', content: 'answer', reasoning_content: 'why', thinking: 'why' },
      { role: 'assistant', reasoning_content: 'plan', tool_calls: [call], thinking: 'plan' },
      { role: 'assistant', content: 'no reasoning', tool_calls: [call] },
    ]);
  });

  it('LFM2: reasoning_content is copied to thinking', () => {
    expect(adjustForChatFormat('<|tool_list_start|><|tool_list_end|>', [{ role: 'assistant', content: 'a', reasoning_content: 'r' }]))
      .toEqual([{ role: 'assistant', content: 'a', reasoning_content: 'r', thinking: 'r' }]);
  });

  it('Ministral 3: system and assistant content become blocks, thinking first; reasoning_content is removed', () => {
    const out = adjustForChatFormat('[SYSTEM_PROMPT][TOOL_CALLS][ARGS]', [
      { role: 'system', content: 'sys' },
      { role: 'user', content: 'hi' },
      { role: 'assistant', content: 'ok', reasoning_content: 'think' },
    ]);
    expect(out).toEqual([
      { role: 'system', content: [{ type: 'text', text: 'sys' }] },
      { role: 'user', content: 'hi' },
      { role: 'assistant', content: [{ type: 'thinking', thinking: 'think' }, { type: 'text', text: 'ok' }] },
    ]);
  });

  it('DeepSeek V4: tool results follow the order of the calls; V3.2 keeps them', () => {
    const messages = [
      { role: 'assistant', content: '', tool_calls: [{ ...call, id: 'a' }, { ...call, id: 'b' }] },
      { role: 'tool', tool_call_id: 'b', content: 'B' },
      { role: 'tool', tool_call_id: 'a', content: 'A' },
    ];
    const v4 = '{% set dsml_token = "｜DSML｜" %}tool_calls';
    expect(adjustForChatFormat(v4, messages).map((m) => m.content)).toEqual(['', 'A', 'B']);
    expect(adjustForChatFormat(v4.replace('tool_calls', 'function_calls'), messages).map((m) => m.content)).toEqual(['', 'B', 'A']);
  });

  it('StepFun: content, reasoning and text parts are trimmed', () => {
    const src = 'You have access to the following functions in JSONSchema format';
    expect(adjustForChatFormat(src, [{ role: 'user', content: '  hi \n' }, { role: 'user', content: [{ type: 'text', text: '\tx ' }] }]))
      .toEqual([{ role: 'user', content: 'hi' }, { role: 'user', content: [{ type: 'text', text: 'x' }] }]);
  });

  it('a template llama.cpp does not recognise gets the messages unchanged', () => {
    const messages = [{ role: 'assistant', content: 'a', reasoning_content: 'r' }];
    expect(adjustForChatFormat('{{ messages }}', messages)).toBe(messages);
  });
});

describe('continuation of a trailing assistant message', () => {
  const none = () => ({ mode: 'none' as const, start: '', end: '' });
  const cont = (src: string, last: Record<string, unknown>, prefix = '') => continuationFor(src, last, none)(prefix, () => '<gen>');
  it('GPT-OSS reopens the analysis channel, then the final one', () => {
    expect(cont('<|channel|>', { role: 'assistant', content: 'Hi', reasoning_content: 'r' }))
      .toBe('<|start|>assistant<|channel|>analysis<|message|>r<|end|><|start|>assistant<|channel|>final<|message|>Hi');
  });
  it('reasoning without content leaves the reasoning open', () => {
    expect(cont('<|channel|>', { role: 'assistant', content: '', reasoning_content: 'r' })).toBe('<|start|>assistant<|channel|>analysis<|message|>r');
  });
  it('Ministral 3 writes [THINK]…[/THINK] and the content', () => {
    expect(cont('[SYSTEM_PROMPT][TOOL_CALLS][ARGS]', { role: 'assistant', content: 'No', reasoning_content: '21 = 3 * 7.' })).toBe('[THINK]21 = 3 * 7.[/THINK]No');
  });
  it('Gemma 4 opens a model turn only after a closed turn', () => {
    const src = "'<|tool_call>call:'";
    expect(cont(src, { role: 'assistant', content: 'x' }, '...<turn|>\n')).toBe('<|turn>model\n<|channel>thought\n<channel|>x');
    expect(cont(src, { role: 'assistant', content: 'x' }, '<|turn>model\n')).toBe('<|channel>thought\n<channel|>x');
  });
  it('content parts are joined by a blank line (render_content)', () => {
    expect(cont('>>>all >>>${recipient}', { role: 'assistant', content: [{ type: 'text', text: 'a' }, { type: 'text', text: 'b' }] }))
      .toBe('<|start_header_id|>assistant<|end_header_id|>\n\n>>>all\na\n\nb');
  });
  it('the generic path continues after the generation prompt', () => {
    expect(cont('{{ messages }}', { role: 'assistant', content: 'x', reasoning_content: 'r' })).toBe('<gen>x');
  });
});
