import { beforeAll, describe, expect, it } from 'vitest';
import { Engine } from '../src/engine.js';
import { KvdiffError } from '../src/errors.js';
import { loadBuiltinModel } from '../src/model/builtin.js';
import type { ModelInfo } from '../src/model/types.js';
import { nodeFs } from '../src/node/fs.js';
import { bodyFromObject } from '../src/payload/body.js';
import { prepare } from '../src/normalize.js';

// One llama.cpp normalisation rule per test, each on a tiny body. Expected values come from
// ../shared/docs/llama-server-behaviour.md (sections a and b, [verified] against llama-server) or from the recorded
// renders in ../shared/fixtures/, never from kvdiff's own output.

const NOW = new Date(Date.UTC(2026, 10, 27));
let qwen3: ModelInfo;
beforeAll(async () => {
  qwen3 = await loadBuiltinModel(nodeFs, 'qwen3');
});

/** An engine for the built-in Qwen3 template, or for a tiny template written for one rule. */
const engine = (template?: string) =>
  new Engine({ model: template === undefined ? qwen3 : { ...qwen3, chatTemplate: template }, backend: 'llama.cpp', now: NOW });
const render = (e: Engine, body: unknown) => e.render(bodyFromObject(body, 'test'), 'test');
const user = (content: unknown) => ({ role: 'user', content });

const TOOL_CALL_BODY = (args: unknown, extra: Record<string, unknown> = {}) => ({
  messages: [
    user('weather?'),
    { role: 'assistant', content: null, tool_calls: [{ id: 'c1', type: 'function', function: { name: 'get_weather', arguments: args }, ...extra }] },
    { role: 'tool', tool_call_id: 'c1', content: 'rain' },
  ],
});

describe('llama.cpp normalisation (one rule each)', () => {
  it('drops message fields it does not read (a.2: reasoning, thinking, refusal, id, timestamp; call_id inside tool_calls)', () => {
    const e = engine();
    const plain = render(e, { messages: [user('hi'), { role: 'assistant', content: 'ok' }, user('next')] });
    const extra = render(e, {
      messages: [user('hi'), { role: 'assistant', content: 'ok', reasoning: 'r', thinking: 't', refusal: null, id: 'm1', timestamp: 5 }, user('next')],
    });
    expect(extra).toBe(plain);
    const args = '{"city": "Bern"}';
    expect(render(e, TOOL_CALL_BODY(args, { call_id: 'x', response_item_id: 'y', index: 0 }))).toBe(render(e, TOOL_CALL_BODY(args)));
  });

  it("folds tool results into the assistant turn for pre-official Gemma-4 templates (a.7, convert_tool_responses_gemma4)", () => {
    // a template that shows which message fields it sees; the marker string makes llama.cpp treat it as old Gemma-4
    const t = "{# '<|tool_call>call:' #}{% for m in messages %}[{{ m.role }}|{{ m.tool_responses | tojson if m.tool_responses is defined else '-' }}|{{ m.content if m.content is defined else 'none' }}]{% endfor %}";
    const [ask, call] = TOOL_CALL_BODY('{"city": "Bern"}').messages;
    const result = { role: 'tool', tool_call_id: 'c1', content: '{"forecast": "rain"}' };
    const body = { messages: [ask, call, result, { role: 'assistant', content: 'It rains.' }, user('thanks')] };
    expect(render(engine(t), body)).toBe('[user|-|weather?][assistant|[{"name": "get_weather", "response": {"forecast": "rain"}}]|It rains.][user|-|thanks]');
    // the official template (with its marker) is left alone
    const official = t.replace("{# '<|tool_call>call:' #}", "{# '<|tool_call>call:' #}{#- OpenAI Chat Completions: #}");
    expect(render(engine(official), body)).toBe('[user|-|weather?][assistant|-|][tool|-|{"forecast": "rain"}][assistant|-|It rains.][user|-|thanks]');
  });

  it('refuses what common_chat_msgs_parse_oaicompat cannot read (a.2): null string fields, tool calls without type or arguments', () => {
    const e = engine();
    const refused = (body: unknown) => () => render(e, body);
    expect(refused({ messages: [user('hi'), { role: 'assistant', content: 'ok', reasoning_content: null }] })).toThrow(/type must be string, but is null \("reasoning_content"\)/);
    expect(refused({ messages: [user('hi'), { role: 'assistant', content: 'ok', name: null }] })).toThrow(/type must be string, but is null/);
    expect(refused({ messages: [user('hi'), { role: 'tool', content: 'x', tool_call_id: 7 }] })).toThrow(/type must be string, but is number/);
    const call = (c: Record<string, unknown>) => ({ messages: [user('hi'), { role: 'assistant', content: null, tool_calls: [c] }] });
    expect(refused(call({ function: { name: 'f', arguments: '{}' } }))).toThrow(/Missing tool call type/);
    expect(refused(call({ type: 'function', function: { name: 'f' } }))).toThrow(/function\.arguments is missing/);
    expect(refused(call({ type: 'function', id: null, function: { name: 'f', arguments: '{}' } }))).toThrow(/type must be string, but is null \("id"\)/);
    // absent fields are fine, and so is tool_calls: null (iterating a JSON null is empty)
    expect(render(e, { messages: [user('hi'), { role: 'assistant', content: 'ok', tool_calls: null }] })).toBe(render(e, { messages: [user('hi'), { role: 'assistant', content: 'ok' }] }));
  });

  it('renders content null exactly like "" (a.3)', () => {
    const e = engine();
    const body = (content: unknown) => ({ messages: [user('hi'), { role: 'assistant', content }, user('next')] });
    expect(render(e, body(null))).toBe(render(e, body('')));
  });

  it('maps developer to system (a.7)', () => {
    const e = engine();
    expect(render(e, { messages: [{ role: 'developer', content: 'Be brief.' }, user('hi')] }))
      .toBe(render(e, { messages: [{ role: 'system', content: 'Be brief.' }, user('hi')] }));
  });

  it('joins text parts with "\\n" for string-content templates; one part equals the plain string (a.3)', () => {
    const e = engine();
    const parts = [{ type: 'text', text: 'Here:' }, { type: 'text', text: 'print(1)' }];
    expect(render(e, { messages: [user(parts)] })).toBe(render(e, { messages: [user('Here:\nprint(1)')] }));
    expect(render(e, { messages: [user([{ type: 'text', text: 'one' }])] })).toBe(render(e, { messages: [user('one')] }));
  });

  it('rebuilds tools as {type, function: {name, description, parameters}} and drops other keys (a.5)', () => {
    const e = engine();
    const parameters = { type: 'object', properties: { q: { type: 'string' }, n: { type: 'integer' } } };
    const body = { messages: [user('hi')], tools: [{ type: 'function', function: { parameters, strict: true, description: 'Search.', name: 'search' } }] };
    const vars = prepare(bodyFromObject(body, 'test'), { backend: 'llama.cpp', model: qwen3, caps: e.caps, now: NOW }).vars;
    // key order inside the tool is canonical, key order inside parameters is the client's
    expect(JSON.stringify(vars.tools)).toBe(JSON.stringify([{ type: 'function', function: { name: 'search', description: 'Search.', parameters } }]));
  });

  it('parses tool-call arguments to ordered JSON when the template uses them as objects (a.4: spacing vanishes, key order stays, \\u00e9 ≡ é, 1.0 ≡ 1, 3.14159265 → 3.14159)', () => {
    const e = engine();
    expect(e.caps.objectArguments).toBe(true); // Qwen3 does `tool_call.arguments | tojson` (doc a.4)
    const out = render(e, TOOL_CALL_BODY('{ "b" :1.0,\n  "a": "h\\u00e9llo", "pi": 3.14159265 }'));
    expect(out).toContain('"arguments": {"b": 1, "a": "héllo", "pi": 3.14159}');
    // the same arguments sent as an object render identically
    expect(render(e, TOOL_CALL_BODY({ b: 1, a: 'héllo', pi: 3.14159 }))).toBe(out);
    // key order is not normalised
    expect(render(e, TOOL_CALL_BODY('{"a": "héllo", "b": 1, "pi": 3.14159}'))).not.toBe(out);
  });

  it('refuses arguments that are not JSON when they must be parsed (a.4)', () => {
    expect(() => render(engine(), TOOL_CALL_BODY('{not json'))).toThrow(/Failed to parse tool call arguments as JSON/);
  });

  it('trims ASCII whitespace only (a.6: NBSP and U+3000 survive | trim)', () => {
    const e = engine('{{ messages[0].content | trim }}|{{ messages[0].content.strip() }}');
    expect(render(e, { messages: [user('\u00a0 x \u3000\n ')] })).toBe('\u00a0 x \u3000|\u00a0 x \u3000');
  });

  // llama.cpp's engine prints booleans as Python does (tests/test-jinja.cpp: `{{ true }}` is `True`)
  it('always defines enable_thinking: true for a template with a thinking mode, false otherwise, the request wins (b)', () => {
    // thinking off closes an empty <think></think> after the generation prompt: llama.cpp's analysis finds a
    // thinking mode (the long constant part anchors its comparison of the two renders)
    const thinking = engine('{{ enable_thinking }}|{{ "x" * 70 }}{% if add_generation_prompt %}<|a|>{% if not enable_thinking %}<think></think>{% endif %}{% endif %}');
    const plain = engine('{{ enable_thinking is defined }}:{{ enable_thinking }}');
    expect(render(thinking, { messages: [user('hi')] })).toMatch(/^True\|/);
    expect(render(plain, { messages: [user('hi')] })).toBe('True:False'); // Apertus-8B: default_enable_thinking false
    expect(render(thinking, { messages: [user('hi')], chat_template_kwargs: { enable_thinking: false } })).toMatch(/^False\|/);
    expect(render(thinking, { messages: [user('hi')], reasoning_effort: 'none' })).toMatch(/^False\|/);
  });

  it('passes add_generation_prompt only when true (b)', () => {
    const e = engine('{{ add_generation_prompt is defined }}');
    expect(render(e, { messages: [user('hi')] })).toBe('True');
    expect(render(e, { messages: [user('hi')], add_generation_prompt: false })).toBe('False');
  });

  it('passes date_string ("%d %b %Y") and datetime ("%b %d %Y") from the clock (b)', () => {
    expect(render(engine('{{ date_string }}|{{ datetime }}'), { messages: [user('hi')] })).toBe('27 Nov 2026|Nov 27 2026');
  });

  it('makes every chat_template_kwargs key a top-level variable, over the defaults (b)', () => {
    const e = engine('{{ foo }}|{{ date_string }}');
    expect(render(e, { messages: [user('hi')], chat_template_kwargs: { foo: 'bar', date_string: 'today' } })).toBe('bar|today');
  });

  it('refuses an image part without a vision projector with the server\'s message (a.1)', () => {
    const body = { messages: [user([{ type: 'image_url', image_url: { url: 'data:image/png;base64,AAAA' } }])] };
    let err: unknown;
    try {
      render(engine(), body);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(KvdiffError);
    expect((err as Error).message).toContain('image input is not supported - hint: if this is unexpected, you may need to provide the mmproj');
  });

  it('continues a trailing assistant message: no generation prompt, its turn left open (a.1, a.7)', () => {
    const e = engine('{% for m in messages %}<{{ m.role }}>{{ m.content }}</{{ m.role }}>{% endfor %}{% if add_generation_prompt %}<assistant>{% endif %}');
    expect(render(e, { messages: [user('Q'), { role: 'assistant', content: 'The answer is' }] })).toBe('<user>Q</user><assistant>The answer is');
  });

  it('refuses two assistant messages at the end of a continued conversation (server-common.cpp)', () => {
    const body = { messages: [user('Q'), { role: 'assistant', content: 'a' }, { role: 'assistant', content: 'b' }] };
    expect(() => render(engine(), body)).toThrow(/Cannot have 2 or more assistant messages at the end of the list/);
  });

  it("prints floats in tojson with 6 significant digits and raw non-ASCII (b: llama.cpp's tojson)", () => {
    const e = engine('{{ {"x": 123456789.5, "y": 0.00001234, "s": "é/\\"", "l": [1, 2.5]} | tojson }}');
    expect(render(e, { messages: [user('hi')] })).toBe('{"x": 1.23457e+08, "y": 1.234e-05, "s": "é/\\"", "l": [1, 2.5]}');
  });

  it('reads a CRLF template with one trailing newline as llama.cpp\'s lexer does (common/jinja/lexer.cpp)', () => {
    expect(render(engine('a\r\nb\rc\r\n'), { messages: [user('hi')] })).toBe('a\nb\nc');
  });
});
