import { describe, expect, it } from 'vitest';
import { KvdiffError } from '../src/errors.js';
import { chatBody, convert, detectApi, readClientBody, rawPrompt } from '../src/dialect/index.js';
import { normalizeBillingHeader } from '../src/dialect/anthropic.js';
import { dumpCompact } from '../src/dialect/nlohmann.js';
import { parseJson, toPlain } from '../src/payload/json.js';

// The hermetic layer: each rule of llama-server's conversions (tools/server/server-chat.cpp), with expected values
// from ../shared/docs/llama-server-dialects.md, whose author compiled the two conversion functions against
// nlohmann 3.12 and ran these bodies through them ("verified"), and from the source itself.

// a value RAW_1E15 stands for the number written as 1e15 (JSON.stringify would print it as an integer)
const body = (v: unknown, api?: 'messages' | 'responses') => readClientBody(JSON.stringify(v).replace('"RAW_1E15"', '1e15'), 'B', api);
const conv = (v: unknown, api?: 'messages' | 'responses') => toPlain(convert(body(v, api), { billingHeader: true })!.root) as Record<string, any>;
const refusal = (f: () => unknown): string => {
  try {
    f();
  } catch (err) {
    expect(err).toBeInstanceOf(KvdiffError);
    return (err as Error).message;
  }
  throw new Error('expected a refusal');
};

describe('nlohmann dump() of a tool_use input', () => {
  const dump = (text: string) => dumpCompact(parseJson(text, 't'));
  it('compact, client key order, raw UTF-8, lowercase \\u escapes, / not escaped', () =>
    expect(dump('{"z":1,"command":"ls -la","f":1.50,"u":"é\\n/\\u0001","big":1e15}')).toBe('{"z":1,"command":"ls -la","f":1.5,"u":"é\\n/\\u0001","big":1e+15}'));
  it('floats as nlohmann prints them', () => {
    expect(dump('[1E2, 1e-05, 1e16, 0.0001, 1e14, -0.0, 2.5e-7, 123456789.125]')).toBe('[100.0,1e-05,1e+16,0.0001,100000000000000.0,-0.0,2.5e-07,123456789.125]');
  });
  it('integers beyond uint64 become doubles; -0 is the integer 0', () => {
    expect(dump('[18446744073709551615, 18446744073709551616, -9223372036854775809, -0]')).toBe('[18446744073709551615,1.8446744073709552e+19,-9.223372036854776e+18,0]');
  });
  it('DEL and non-ASCII pass through; tab, quote and backslash are short escapes', () => expect(dump('"\\u007f\\t\\"\\\\\\u001fx"')).toBe('"\u007f\\t\\"\\\\\\u001fx"'));
});

describe('the Claude Code billing header (normalize_anthropic_billing_header)', () => {
  const H = 'x-anthropic-billing-header: cc_version=2.1.101.e51; cc_entrypoint=cli; ';
  it('the five characters after cch= become fffff when a ; follows', () => expect(normalizeBillingHeader(`${H}cch=a5145;You are`)).toBe(`${H}cch=fffff;You are`));
  it('unchanged without the ; (end of text, or a 6-character stamp)', () => {
    expect(normalizeBillingHeader(`${H}cch=12345`)).toBeNull();
    expect(normalizeBillingHeader(`${H}cch=123456;`)).toBeNull();
  });
  it('only when the text starts with the header', () => expect(normalizeBillingHeader(`You are. ${H}cch=a5145;`)).toBeNull());
  it('applied to each system block before they are joined with no separator', () => {
    const c = conv({ system: [{ type: 'text', text: `${H}cch=a5145;` }, { type: 'text', text: `${H}cch=b5145;` }, { type: 'image' }], messages: [] });
    expect(c.messages[0]).toEqual({ role: 'system', content: `${H}cch=fffff;${H}cch=fffff;` });
  });
  it('and to a string system prompt', () => expect(conv({ system: `${H}cch=a5145;X`, messages: [] }).messages[0].content).toBe(`${H}cch=fffff;X`));
  it('other servers keep the stamp', () => {
    const c = convert(body({ system: `${H}cch=a5145;X`, messages: [] }), { billingHeader: false })!;
    expect((toPlain(c.root) as any).messages[0].content).toBe(`${H}cch=a5145;X`);
  });
});

describe('/v1/messages → chat completions (server_chat_convert_anthropic_to_oai)', () => {
  it('system "", [] or a number give an empty system message; null gives none', () => {
    for (const system of ['', [], 5]) expect(conv({ system, messages: [] }, 'messages').messages).toEqual([{ role: 'system', content: '' }]);
    expect(conv({ system: null, messages: [] }, 'messages').messages).toEqual([]);
  });
  it('the verified Claude-Code-like example', () => {
    const c = conv({
      system: [{ type: 'text', text: 'x-anthropic-billing-header: cc_version=2.1.101.e51; cc_entrypoint=cli; cch=a5145;You are Claude Code, …' }, { type: 'text', text: '\nMore system.' }],
      messages: [
        { role: 'user', content: [{ type: 'text', text: '<system-reminder>ctx</system-reminder>' }, { type: 'text', text: 'hello', cache_control: { type: 'ephemeral' } }] },
        {
          role: 'assistant',
          content: [
            { type: 'thinking', thinking: 'hmm', signature: 's' },
            { type: 'redacted_thinking', data: 'x' },
            { type: 'text', text: 'Let me look.' },
            { type: 'tool_use', id: 'toolu_01', name: 'Bash', input: { z: 1, command: 'ls -la', f: 1.5, u: 'é\n/\u0001', big: 'RAW_1E15' } },
          ],
        },
        { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'toolu_01', is_error: true, content: [{ type: 'text', text: 'a' }, { type: 'text', text: 'b' }] }, { type: 'text', text: '<system-reminder>r</system-reminder>' }] },
        { role: 'assistant', content: [{ type: 'tool_use', id: 'toolu_02', name: 'Read' }] },
        { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'toolu_02' }] },
        { role: 'assistant', content: [{ type: 'redacted_thinking', data: 'x' }] },
        { role: 'assistant' },
        { role: 'assistant', content: '{' },
      ],
    });
    expect(c.messages).toEqual([
      { role: 'system', content: 'x-anthropic-billing-header: cc_version=2.1.101.e51; cc_entrypoint=cli; cch=fffff;You are Claude Code, …\nMore system.' },
      { role: 'user', content: [{ type: 'text', text: '<system-reminder>ctx</system-reminder>' }, { type: 'text', text: 'hello', cache_control: { type: 'ephemeral' } }] },
      {
        role: 'assistant',
        content: [{ type: 'text', text: 'Let me look.' }],
        tool_calls: [{ id: 'toolu_01', type: 'function', function: { name: 'Bash', arguments: '{"z":1,"command":"ls -la","f":1.5,"u":"é\\n/\\u0001","big":1e+15}' } }],
        reasoning_content: 'hmm',
      },
      { role: 'user', content: [{ type: 'text', text: '<system-reminder>r</system-reminder>' }] },
      { role: 'tool', tool_call_id: 'toolu_01', content: 'ab' },
      { role: 'assistant', content: '', tool_calls: [{ id: 'toolu_02', type: 'function', function: { name: 'Read', arguments: '{}' } }] },
      { role: 'tool', tool_call_id: 'toolu_02', content: '' },
      { role: 'assistant', content: '{' },
    ]);
    expect(Object.keys(c)).toEqual(['messages', 'max_tokens']);
    expect(c.max_tokens).toBe(4096);
  });
  it('tools: every tool becomes a function, server tools included; input_schema kept in order', () => {
    const c = conv({ messages: [], tools: [{ type: 'web_search_20250305', name: 'web_search' }, { name: 'Read', description: 'd', input_schema: { type: 'object', properties: { b: {}, a: {} } }, cache_control: {} }] });
    expect(c.tools).toEqual([
      { type: 'function', function: { name: 'web_search', description: '', parameters: {} } },
      { type: 'function', function: { name: 'Read', description: 'd', parameters: { type: 'object', properties: { b: {}, a: {} } } } },
    ]);
    expect(Object.keys(c.tools[1].function.parameters.properties)).toEqual(['b', 'a']);
  });
  it('only a fixed set of keys survives, in the server order', () => {
    const c = conv({
      metadata: { user_id: 'u1' },
      thinking: { type: 'enabled', budget_tokens: 2048 },
      stream: true,
      top_k: 3,
      temperature: 0.5,
      max_tokens: 10,
      stop_sequences: ['x'],
      tool_choice: { type: 'tool', name: 'Read' },
      chat_template_kwargs: { enable_thinking: false },
      cache_prompt: false,
      add_generation_prompt: false,
      system: 's',
      messages: [],
    });
    expect(Object.keys(c)).toEqual(['messages', 'tool_choice', 'stop', 'max_tokens', 'temperature', 'top_k', 'stream', 'chat_template_kwargs', 'thinking_budget_tokens', '__metadata_user_id']);
    expect(c.tool_choice).toBe('required');
    expect(c.thinking_budget_tokens).toBe(2048);
    expect(conv({ thinking: { type: 'enabled' }, messages: [] }).thinking_budget_tokens).toBe(10000);
    expect(conv({ tool_choice: { type: 'none' }, system: '', messages: [] }).tool_choice).toBeUndefined();
    expect(conv({ tool_choice: { type: 'auto' }, system: '', messages: [] }).tool_choice).toBe('auto');
  });
  it('tool_result with an image keeps parts; images are refused without a projector, as the server does', () => {
    const b = body({ system: '', messages: [{ role: 'user', content: [{ type: 'tool_result', tool_use_id: 't', content: [{ type: 'text', text: 'a' }, { type: 'image', source: { type: 'url', url: 'http://x/i.png' } }] }] }] });
    const c = toPlain(convert(b, { billingHeader: true })!.root) as any;
    expect(c.messages[1]).toEqual({ role: 'tool', tool_call_id: 't', content: [{ type: 'text', text: 'a' }, { type: 'image_url', image_url: { url: 'http://x/i.png' } }] });
    const img = toPlain(convert(body({ system: '', messages: [{ role: 'user', content: [{ type: 'image', source: { type: 'base64', data: 'QQ==' } }] }] }), { billingHeader: true })!.root) as any;
    expect(img.messages[1].content).toEqual([{ type: 'image_url', image_url: { url: 'data:image/jpeg;base64,QQ==' } }]);
  });
  it('no messages: the server fails the request', () => expect(refusal(() => convert(body({ system: 'x', max_tokens: 1 }, 'messages'), { billingHeader: true }))).toContain("'messages' is required"));
});

describe('/v1/responses → chat completions (server_chat_convert_responses_to_chatcmpl)', () => {
  it('the verified Codex-like example: consecutive assistant items collapse, the last reasoning wins', () => {
    const c = conv({
      model: 'm',
      instructions: 'sys',
      input: [
        { type: 'message', role: 'developer', content: [{ type: 'input_text', text: 'dev' }] },
        { type: 'message', role: 'user', content: 'hi' },
        { type: 'reasoning', summary: [], content: [{ type: 'reasoning_text', text: 'R1' }] },
        { type: 'function_call', name: 'shell', arguments: '{"command": ["ls"]}', call_id: 'call_1', id: 'fc_1' },
        { type: 'function_call_output', call_id: 'call_1', output: 'out' },
        { type: 'reasoning', summary: [], content: [{ type: 'reasoning_text', text: 'R2' }] },
        { type: 'message', role: 'assistant', content: [{ type: 'output_text', text: 'Done.' }] },
        { type: 'reasoning', summary: [{ type: 'summary_text', text: 's' }], encrypted_content: 'e', content: [{ type: 'reasoning_text', text: 'R3' }] },
      ],
      tools: [{ type: 'web_search' }, { type: 'function', name: 'shell', parameters: { type: 'object' } }, { type: 'custom', name: 'apply_patch' }],
      max_output_tokens: 5,
      reasoning: { effort: 'high' },
    });
    expect(c.messages).toEqual([
      { role: 'system', content: 'sys' },
      { role: 'developer', content: [{ text: 'dev', type: 'text' }] },
      { role: 'user', content: [{ text: 'hi', type: 'text' }] },
      { role: 'assistant', content: [], reasoning_content: 'R1', tool_calls: [{ function: { arguments: '{"command": ["ls"]}', name: 'shell' }, id: 'call_1', type: 'function' }] },
      { content: 'out', role: 'tool', tool_call_id: 'call_1' },
      { role: 'assistant', content: [{ text: 'Done.', type: 'text' }], reasoning_content: 'R3' },
    ]);
    expect(c.tools).toEqual([{ type: 'function', function: { name: 'shell', parameters: { type: 'object' }, strict: true } }]);
    expect(Object.keys(c)).toEqual(['model', 'reasoning', 'messages', 'tools', 'max_tokens']);
  });
  it('input as a string; instructions null still gives a system message', () => {
    expect(conv({ instructions: null, input: 'hi' }).messages).toEqual([{ role: 'system', content: '' }, { role: 'user', content: 'hi' }]);
  });
  it('tool outputs as input_text parts stay an array with type text', () =>
    expect(conv({ input: [{ type: 'function_call_output', call_id: 'c', output: [{ type: 'input_text', text: 'a' }] }] }).messages[0].content).toEqual([{ type: 'text', text: 'a' }]));
  it('no tools left: the key goes', () => expect(conv({ input: 'x', tools: [{ type: 'web_search' }] }).tools).toBeUndefined());
  const refused: [string, unknown, string][] = [
    ['previous_response_id', { previous_response_id: 'resp_1', input: [] }, "llama.cpp does not support 'previous_response_id'."],
    ['no input', { model: 'm', instructions: 'x' }, "'input' is required"],
    ['reasoning without content (summary or encrypted only)', { input: [{ type: 'reasoning', summary: [], encrypted_content: 'e' }] }, "item['content'] is not an array"],
    ['reasoning with empty content', { input: [{ type: 'reasoning', summary: [], content: [] }] }, "item['content'] is empty"],
    ['an assistant message without type "message"', { input: [{ role: 'assistant', content: 'hi' }] }, "Cannot determine type of 'item'"],
    ['Codex custom tool calls', { input: [{ type: 'custom_tool_call', name: 'apply_patch', input: 'x', call_id: 'c' }] }, "Cannot determine type of 'item'"],
    ['an input_file part', { input: [{ role: 'user', content: [{ type: 'input_file', file_id: 'f' }] }] }, "'input_file' is not supported by llamacpp at this moment"],
    ['an unknown part type', { input: [{ role: 'user', content: [{ type: 'output_text', text: 'x' }] }] }, "'type' must be one of 'input_text', 'input_image', or 'input_file'"],
    ['a tool output part that is not input_text', { input: [{ type: 'function_call_output', call_id: 'c', output: [{ type: 'input_image', image_url: 'x' }] }] }, "Output of tool call should be 'Input text'"],
    ['function_call arguments that are not a string', { input: [{ type: 'function_call', name: 'f', arguments: {}, call_id: 'c' }] }, "Cannot determine type of 'item'"],
    ['tools not an array', { input: 'x', tools: {} }, "'tools' must be an array of objects"],
  ];
  for (const [what, b, reason] of refused) {
    it(`refused (400): ${what}`, () => {
      const msg = refusal(() => convert(body(b, 'responses'), { billingHeader: true }));
      expect(msg).toContain('llama-server would refuse B');
      expect(msg).toContain(reason);
    });
  }
  it('a refusal part passes the conversion (the chat parser refuses it later)', () =>
    expect(toPlain(chatBody(body({ input: [{ type: 'message', role: 'assistant', content: [{ type: 'refusal', refusal: 'no' }] }] }), { billingHeader: true }).root)).toMatchObject({
      messages: [{ role: 'assistant', content: [{ refusal: 'no', type: 'refusal' }] }],
    }));
});

describe('dialect by shape', () => {
  const api = (v: unknown) => detectApi(parseJson(JSON.stringify(v), 't'));
  it('chat completions', () => expect(api({ messages: [{ role: 'user', content: 'hi' }], tools: [{ type: 'function', function: { name: 'f' } }] })).toBe('chat'));
  it('Anthropic: system, stop_sequences, thinking, tool blocks, input_schema tools', () => {
    expect(api({ system: 's', messages: [] })).toBe('messages');
    expect(api({ messages: [{ role: 'user', content: [{ type: 'tool_result', tool_use_id: 't' }] }] })).toBe('messages');
    expect(api({ messages: [], tools: [{ name: 'f', input_schema: {} }] })).toBe('messages');
  });
  it('Responses and completion', () => {
    expect(api({ input: 'hi' })).toBe('responses');
    expect(api({ prompt: [1, 2] })).toBe('completion');
  });
  it('--api overrides the shape', () => expect(readClientBody('{"messages":[{"role":"user","content":"x"}]}', 'a.json', 'messages').api).toBe('messages'));
  it('.txt is a rendered prompt', () => expect(readClientBody('<|im_start|>user', 'p/1700000000000.txt').api).toBe('prompt'));
});

describe('raw completion prompts (tokenize_input_prompts)', () => {
  const pieces = (prompt: unknown) => rawPrompt(readClientBody(JSON.stringify({ prompt }), 'B'));
  it('a string: add_special and parse_special', () => expect(pieces('a')).toEqual([{ text: 'a', addSpecial: true }]));
  it('ids verbatim; in a mixed array only a leading string gets add_special', () => {
    expect(pieces([1, 2])).toEqual([{ ids: [1] }, { ids: [2] }]);
    expect(pieces(['a', 1, 'b'])).toEqual([{ text: 'a', addSpecial: true }, { ids: [1] }, { text: 'b', addSpecial: false }]);
    expect(pieces([1, 'b'])).toEqual([{ ids: [1] }, { text: 'b', addSpecial: false }]);
  });
  it('several prompts are separate tasks: refused with the reason', () => expect(refusal(() => pieces(['a', 'b']))).toContain('separate tasks'));
  it('a single-element array is that prompt', () => expect(pieces(['a'])).toEqual([{ text: 'a', addSpecial: true }]));
});
