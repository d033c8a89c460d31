import { rng } from './rng.js';

/**
 * Random chat-completions bodies that exercise what chat templates branch on: tools, tool calls with string and
 * object arguments, parallel calls, reasoning, several and mid-conversation system messages, content parts, empty
 * and null content, names, unicode, chat_template_kwargs and add_generation_prompt. Deterministic per seed.
 */
export function generateBody(seed: number): Record<string, unknown> {
  const r = rng(seed);
  const chance = (p: number) => r() < p;
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)];
  const text = () => pick(TEXTS);
  const content = (): unknown => {
    const k = r();
    if (k < 0.15) return [{ type: 'text', text: text() }, ...(chance(0.5) ? [{ type: 'text', text: text() }] : [])];
    if (k < 0.2) return '';
    return text();
  };
  const args = () => {
    const obj: Record<string, unknown> = pick(ARGUMENTS);
    return chance(0.5) ? JSON.stringify(obj) : obj;
  };
  const messages: Record<string, unknown>[] = [];
  if (chance(0.7)) messages.push({ role: chance(0.15) ? 'developer' : 'system', content: chance(0.1) ? '' : content() });
  const turns = 1 + Math.floor(r() * 4);
  let callId = 0;
  for (let t = 0; t < turns; t++) {
    if (t > 0 && chance(0.15)) messages.push({ role: 'system', content: text() });
    messages.push({ role: 'user', content: content(), ...(chance(0.15) ? { name: pick(NAMES) } : {}) });
    const last = t === turns - 1;
    if (last && chance(0.5)) break; // ends with the user: a new assistant turn follows
    const assistant: Record<string, unknown> = { role: 'assistant' };
    if (chance(0.3)) assistant.reasoning_content = text();
    const calls = chance(0.4) ? 1 + Math.floor(r() * 2) : 0;
    assistant.content = calls && chance(0.5) ? (chance(0.5) ? null : '') : content();
    if (calls) {
      assistant.tool_calls = Array.from({ length: calls }, () => ({
        id: chance(0.5) ? `call${String(++callId).padStart(5, '0')}` : `a${String(++callId).padStart(8, '0')}`,
        type: 'function',
        function: { name: pick(TOOL_NAMES), arguments: args() },
      }));
    }
    messages.push(assistant);
    if (calls) {
      for (const call of assistant.tool_calls as { id: string; function: { name: string } }[]) {
        const result: Record<string, unknown> = { role: 'tool', tool_call_id: call.id, content: chance(0.2) ? [{ type: 'text', text: text() }] : chance(0.1) ? '' : text() };
        if (chance(0.3)) result.name = call.function.name;
        messages.push(result);
      }
      if (last && chance(0.5)) break; // an in-progress tool loop
      messages.push({ role: 'assistant', content: text() });
    }
  }
  const body: Record<string, unknown> = { messages };
  if (chance(0.5)) body.tools = TOOLS.slice(0, 1 + Math.floor(r() * TOOLS.length));
  if (chance(0.4)) body.chat_template_kwargs = { enable_thinking: chance(0.5) };
  if (chance(0.3)) body.add_generation_prompt = chance(0.5);
  return body;
}

const TEXTS = [
  'Hello', '  leading spaces', 'trailing newlines\n\n', 'Zürich, 東京 and 🙂 emoji', 'quotes "double" and \'single\'',
  'a\nmulti-line\nmessage', 'JSON-looking {"a": 1}', '<think>inline tags</think> kept', 'tabs\tand\\backslashes', '1.5',
  '   ', '{{ not a template }} {% neither %}', 'ends with a backslash \\', 'True', 'None',
] as const;
const NAMES = ['alice', 'bob_2', 'Ünïcode'] as const;
const TOOL_NAMES = ['get_weather', 'search'] as const;
const ARGUMENTS: Record<string, unknown>[] = [
  { location: { city: 'Zürich', country: 'CH' }, days: 3, units: 'metric' },
  { query: 'a "quoted" term', limit: 1.5, strict: true },
  {},
  { list: [1, 'two', null], nested: { deep: { deeper: 'x' } } },
  { big: 12345678901, neg: -0.25, tiny: 0.000001, flag: false, text: "it's\n\"here\"" },
  { empty_list: [], empty_obj: {}, unicode: '日本語 ✓', numbers: [1.5, 2, 3.25] },
];
const TOOLS = [
  {
    type: 'function',
    function: {
      name: 'get_weather',
      description: 'Weather for a place',
      parameters: { type: 'object', properties: { location: { type: 'object', properties: { city: { type: 'string' } } }, days: { type: 'integer' }, units: { type: 'string', enum: ['metric', 'imperial'] } }, required: ['location'] },
    },
  },
  {
    type: 'function',
    function: { name: 'search', description: 'Search the web', parameters: { type: 'object', properties: { query: { type: 'string', description: 'terms' }, items: { type: 'array', items: { type: 'string' } } } } },
  },
  {
    type: 'function',
    function: {
      name: 'schedule',
      description: 'Book a slot.\nSecond line with "quotes".',
      parameters: {
        type: 'object',
        properties: {
          when: { anyOf: [{ type: 'string', format: 'date-time' }, { type: 'null' }], default: null },
          length: { type: 'number', minimum: 0.5, maximum: 8 },
          attendees: { type: 'array', items: { type: 'object', properties: { name: { type: 'string' }, optional: { type: 'boolean', default: false } } } },
          kind: { type: 'string', enum: ['call', 'meeting'], description: 'kind of slot' },
        },
        required: ['when', 'kind'],
      },
    },
  },
  { type: 'function', function: { name: 'no_params', description: '' } },
];
