import type { Environment } from '@huggingface/jinja';
import type { TemplateCaps } from '../normalize.js';
import type { ChatTemplate } from '../render.js';
import { TemplateLimitError } from './compat.js';
import type { RV } from './values.js';

/**
 * What llama.cpp's `common/jinja/caps.cpp` (`caps_get`) learns about a template, found the same way: by running it
 * on its probe conversations and watching which values the template used (and how: `selectattr`, an index).
 */

/** Probe text: distinctive enough never to appear in a template by itself. */
const PROBE = 'KVDIFF_PROBE_7f3a';

/**
 * What llama.cpp's `common/jinja/caps.cpp` (`caps_get`) learns about a template, found the same way: by running it
 * on probe conversations and watching which values it uses.
 */
export function detectCaps(template: ChatTemplate): TemplateCaps {
  const src = template.source;
  const tryRender = (content: unknown): string => {
    try {
      return template.render({ vars: { messages: [{ role: 'user', content }], add_generation_prompt: true, bos_token: '', eos_token: '' } }, 'a probe');
    } catch (err) {
      if (err instanceof TemplateLimitError) throw err;
      return '';
    }
  };
  const stringOut = tryRender(PROBE);
  const typedOut = stringOut.includes(PROBE) ? '' : tryRender([{ type: 'text', text: PROBE }]);
  return {
    ...detectSingleToolCall(template),
    stringContent: stringOut.includes(PROBE) || !typedOut.includes(PROBE),
    keepsDeveloperRole: src.includes('<|channel|>'),
    systemRole: detectSystemRole(template),
    ...detectToolSupport(template),
    typedContent: detectTypedContent(template),
  };
}

const at = (v: RV, key: string | number): RV =>
  typeof key === 'number' ? (v.value as RV[])[key] : (v.value as Map<string, RV>).get(key)!;
const variable = (env: Environment, name: string): RV => env.lookupVariable(name) as unknown as RV;

/**
 * caps.cpp's typed-content probe: one user message with string content and no tools (`tools` none). The template
 * reads typed content when it ran `selectattr` on the content or indexed it.
 */
function detectTypedContent(template: ChatTemplate): boolean {
  const probe = template.probe(
    { messages: [{ role: 'user', content: 'content' }], tools: null, bos_token: '', eos_token: '', add_generation_prompt: true },
    (env) => [at(at(variable(env, 'messages'), 0), 'content')],
  );
  return probe.ops[0].has('selectattr') || probe.ops[0].has('array_access');
}

/**
 * Tools and parallel calls, probed as the recorded llama-server reports them: `supports_tools` when a render with
 * one user message and one tool used the tool's name or printed it (DeepSeek-V3.1 and firefunction-v2, which
 * ignore `tools`, come out false); `supports_parallel_tool_calls` when a render with two calls in one assistant
 * turn succeeded and used the second call's `function` (Llama-3.2 raises on two calls and comes out false).
 */
function detectToolSupport(template: ChatTemplate): Pick<TemplateCaps, 'tools' | 'parallelToolCalls'> {
  const base = { bos_token: '', eos_token: '', add_generation_prompt: true };
  const tools = template.probe(
    { ...base, messages: [{ role: 'user', content: 'User message' }], tools: [PROBE_TOOL] },
    (env) => [at(at(at(variable(env, 'tools'), 0), 'function'), 'name')],
  );
  const call = (id: string) => ({ id, type: 'function', function: { name: 'tool1', arguments: { arg: 'value' } } });
  const parallel = template.probe({
    ...base,
    messages: [
      { role: 'user', content: 'User message' },
      { role: 'assistant', content: 'Assistant message', tool_calls: [call('call00001'), call('call00002')] },
      { role: 'tool', content: 'Tool response', tool_call_id: 'call00001' },
      { role: 'assistant', content: "The tool response was 'tool response'" },
      { role: 'user', content: 'User message' },
    ],
    tools: [PROBE_TOOL],
  }, (env) => [at(at(at(at(variable(env, 'messages'), 1), 'tool_calls'), 1), 'function')]);
  return {
    tools: tools.ok && (tools.used[0] || tools.output.includes('tool1')),
    parallelToolCalls: parallel.ok && parallel.used[0],
  };
}

/** The one tool caps.cpp's probes declare. */
const PROBE_TOOL = {
  name: 'tool',
  type: 'function',
  function: {
    name: 'tool1',
    description: 'Tool description',
    parameters: { type: 'object', properties: { arg: { type: 'string', description: 'Arg description' } }, required: ['arg'] },
  },
};

/**
 * caps.cpp's system-role probe: a system message and a user message, no tools. The template supports the system
 * role unless it never used the system message's content, whether or not the render succeeded (Gemma-2 raises
 * "System role not supported" before reading it). llama-server then merges the system text into the next message.
 */
function detectSystemRole(template: ChatTemplate): boolean {
  const probe = template.probe({
    messages: [{ role: 'system', content: 'System message' }, { role: 'user', content: 'User message' }],
    tools: [],
    bos_token: '',
    eos_token: '',
    add_generation_prompt: true,
  }, (env) => [((env.lookupVariable('messages') as unknown as RV).value as RV[])[0].value as Map<string, RV>].map((m) => m.get('content')!));
  return probe.used[0];
}

/**
 * caps.cpp's "single tool with object arguments" probe: a tool call whose `arguments` is the object
 * `{"arg": "value"}`, a tool result, an answer and a new user turn, with one tool. The template supports tool
 * calls when that render succeeds and used the tool calls, and object arguments when it also used the `arg` value
 * itself (a member access such as `arguments.arg`, a loop over `arguments.items()` printing the value, or
 * `arguments | tojson`).
 */
function detectSingleToolCall(template: ChatTemplate): Pick<TemplateCaps, 'toolCalls' | 'objectArguments'> {
  const probe = template.probe({
    messages: [
      { role: 'user', content: 'User message' },
      {
        role: 'assistant',
        content: '',
        tool_calls: [{ id: 'call00001', type: 'function', function: { name: 'tool1', arguments: { arg: 'value' } } }],
      },
      { role: 'tool', content: 'Tool response', tool_call_id: 'call00001' },
      { role: 'assistant', content: "The tool response was 'tool response'" },
      { role: 'user', content: 'User message' },
    ],
    tools: [PROBE_TOOL],
    bos_token: '',
    eos_token: '',
    add_generation_prompt: true,
  }, (env) => {
    const toolCalls = at(at(variable(env, 'messages'), 1), 'tool_calls');
    return [toolCalls, at(at(at(at(toolCalls, 0), 'function'), 'arguments'), 'arg')];
  });
  const [callsUsed, argUsed] = probe.used;
  return { toolCalls: probe.ok && callsUsed, objectArguments: probe.ok && callsUsed && argUsed };
}

