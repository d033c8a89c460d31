import type { JsonNode } from '../payload/json.js';
import type { JsonPath } from '../payload/path.js';
import { arr, clone, eraseKey, get, has, obj, setKey, str, stringValue } from './nodes.js';
import { refuse } from './refuse.js';
import type { Conversion, Origin } from './types.js';

/**
 * `server_chat_convert_responses_to_chatcmpl` (llama.cpp tools/server/server-chat.cpp, as of the recorded commit
 * 1425386f): a copy of the `/v1/responses` body with `input`, `instructions`, `tools` and `max_output_tokens`
 * turned into their chat-completions forms; every other key passes through. Refusals (400) carry the server's
 * own message.
 */
export function convertResponses(root: JsonNode, label: string): Conversion {
  if (!has(root, 'input')) refuse(label, "'input' is required");
  if (stringValue(root, 'previous_response_id')) refuse(label, "llama.cpp does not support 'previous_response_id'.");
  const origins: Origin[] = [];
  const mark = (to: JsonPath, from: JsonPath, copy: boolean) => origins.push({ to, from, copy });
  const out = clone(root) as JsonNode & { type: 'object' };
  for (const e of out.entries) if (e.key !== 'input' && e.key !== 'instructions' && e.key !== 'tools' && e.key !== 'max_output_tokens') mark([e.key], [e.key], true);
  eraseKey(out.entries, 'input');
  const messages: JsonNode[] = [];
  if (has(root, 'instructions')) {
    mark(['messages', 0, 'content'], ['instructions'], false);
    messages.push(obj([['role', str('system')], ['content', str(stringValue(root, 'instructions'))]]));
    eraseKey(out.entries, 'instructions');
  }
  const input = get(root, 'input')!;
  if (input.type === 'string') {
    mark(['messages', messages.length, 'content'], ['input'], false);
    messages.push(obj([['role', str('user')], ['content', str(input.value)]]));
  } else if (input.type === 'array') {
    input.items.forEach((item, i) => convertItem(clone(item), ['input', i], messages, mark, label));
  } else {
    refuse(label, "'input' must be a string or array of objects");
  }
  setKey(out.entries, 'messages', arr(messages));

  const tools = get(root, 'tools');
  if (tools) {
    if (tools.type !== 'array') refuse(label, "'tools' must be an array of objects");
    const kept: JsonNode[] = [];
    tools.items.forEach((tool, i) => {
      if (stringValue(tool, 'type') !== 'function') return; // non-function tools are skipped with a warning
      const fn = clone(tool) as JsonNode & { type: 'object' };
      eraseKey(fn.entries, 'type');
      if (!has(fn, 'strict')) fn.entries.push({ key: 'strict', value: { type: 'boolean', value: true } });
      mark(['tools', kept.length, 'function'], ['tools', i], true);
      kept.push(obj([['type', str('function')], ['function', fn]]));
    });
    eraseKey(out.entries, 'tools');
    if (kept.length) setKey(out.entries, 'tools', arr(kept));
  }
  const maxOutput = get(root, 'max_output_tokens');
  if (maxOutput) {
    eraseKey(out.entries, 'max_output_tokens');
    setKey(out.entries, 'max_tokens', clone(maxOutput));
    mark(['max_tokens'], ['max_output_tokens'], true);
  }
  return { api: 'responses', root: out, origins: settle(origins), rewrites: [] };
}

type Mark = (to: JsonPath, from: JsonPath, copy: boolean) => void;
type Obj = JsonNode & { type: 'object' };

const isString = (n: JsonNode | undefined, key: string) => get(n, key)?.type === 'string';
const isArray = (n: JsonNode | undefined, key: string) => get(n, key)?.type === 'array';

function convertItem(item: JsonNode, at: JsonPath, messages: JsonNode[], mark: Mark, label: string): void {
  const prev = messages[messages.length - 1] as Obj | undefined;
  const mergePrev = prev !== undefined && stringValue(prev, 'role') === 'assistant';
  const role = isString(item, 'role') ? stringValue(item, 'role') : null;
  const type = isString(item, 'type') ? stringValue(item, 'type') : null;
  const entries = item.type === 'object' ? item.entries : [];
  let stringContent = false;
  if (isString(item, 'content')) {
    // a string content is first rewritten to one input_text part
    setKey(entries, 'content', arr([obj([['text', get(item, 'content')!], ['type', str('input_text')]])]));
    stringContent = true;
  }
  const partFrom = (k: number): JsonPath => (stringContent ? [...at, 'content'] : [...at, 'content', k, 'text']);
  /** The item itself becomes the next chat message, `parts` its content; each field remembers where it came from. */
  const pushMessage = (parts: JsonNode[]): void => {
    eraseKey(entries, 'type');
    eraseKey(entries, 'status');
    setKey(entries, 'content', arr(parts));
    const index = messages.length;
    for (const e of entries) if (e.key !== 'content') mark(['messages', index, e.key], [...at, e.key], true);
    parts.forEach((_, k) => mark(['messages', index, 'content', k, 'text'], partFrom(k), true));
    messages.push(item);
  };

  if (isArray(item, 'content') && (role === 'user' || role === 'system' || role === 'developer')) {
    const parts = (get(item, 'content') as JsonNode & { type: 'array' }).items.map((part, k) => {
      const t = stringValue(part, 'type');
      if (t === 'input_text') {
        if (!has(part, 'text')) refuse(label, "'Input text' requires 'text'");
        return obj([['text', get(part, 'text')!], ['type', str('text')]]);
      }
      if (t === 'input_image') {
        if (!has(part, 'image_url')) refuse(label, "'image_url' is required");
        return obj([['image_url', obj([['url', get(part, 'image_url')!]])], ['type', str('image_url')]]);
      }
      if (t === 'input_file') refuse(label, "'input_file' is not supported by llamacpp at this moment");
      return refuse(label, `'type' must be one of 'input_text', 'input_image', or 'input_file' (${at.join('.')}.content[${k}])`);
    });
    pushMessage(parts);
    return;
  }
  if (role === 'assistant' && type === 'message') {
    const content = get(item, 'content');
    const parts = (content?.type === 'array' ? content.items : []).map((part) => {
      const t = stringValue(part, 'type');
      if (t === 'output_text' || t === 'input_text') {
        if (!isString(part, 'text')) refuse(label, "'Output text' requires 'text'");
        return obj([['text', get(part, 'text')!], ['type', str('text')]]);
      }
      if (t === 'refusal') {
        if (!isString(part, 'refusal')) refuse(label, "'Refusal' requires 'refusal'");
        return obj([['refusal', get(part, 'refusal')!], ['type', str('refusal')]]);
      }
      return refuse(label, "'type' must be one of 'output_text' or 'refusal'");
    });
    if (mergePrev) {
      if (!isArray(prev, 'content')) setKey(prev.entries, 'content', arr());
      const target = get(prev, 'content') as JsonNode & { type: 'array' };
      const index = messages.length - 1;
      parts.forEach((p, k) => {
        mark(['messages', index, 'content', target.items.length, 'text'], partFrom(k), true);
        target.items.push(p);
      });
    } else pushMessage(parts);
    return;
  }
  if (isString(item, 'arguments') && isString(item, 'call_id') && isString(item, 'name') && type === 'function_call') {
    const call = obj([
      ['function', obj([['arguments', get(item, 'arguments')!], ['name', get(item, 'name')!]])],
      ['id', get(item, 'call_id')!],
      ['type', str('function')],
    ]);
    let to: JsonPath;
    if (mergePrev) {
      if (!isArray(prev, 'tool_calls')) setKey(prev.entries, 'tool_calls', arr());
      const calls = get(prev, 'tool_calls') as JsonNode & { type: 'array' };
      to = ['messages', messages.length - 1, 'tool_calls', calls.items.length];
      calls.items.push(call);
    } else {
      to = ['messages', messages.length, 'tool_calls', 0];
      messages.push(obj([['role', str('assistant')], ['tool_calls', arr([call])]]));
    }
    mark([...to, 'function', 'arguments'], [...at, 'arguments'], true);
    mark([...to, 'function', 'name'], [...at, 'name'], true);
    mark([...to, 'id'], [...at, 'call_id'], true);
    return;
  }
  const output = get(item, 'output');
  if (isString(item, 'call_id') && (output?.type === 'string' || output?.type === 'array') && type === 'function_call_output') {
    const index = messages.length;
    let content: JsonNode;
    if (output.type === 'string') content = output;
    else {
      content = arr(
        output.items.map((o) => {
          if (stringValue(o, 'type') !== 'input_text' || o.type !== 'object') refuse(label, "Output of tool call should be 'Input text'");
          const copy = clone(o) as Obj;
          setKey(copy.entries, 'type', str('text'));
          return copy;
        }),
      );
    }
    mark(['messages', index, 'content'], [...at, 'output'], true);
    mark(['messages', index, 'tool_call_id'], [...at, 'call_id'], true);
    messages.push(obj([['content', content], ['role', str('tool')], ['tool_call_id', get(item, 'call_id')!]]));
    return;
  }
  if (isArray(item, 'summary') && type === 'reasoning') {
    const content = get(item, 'content');
    if (content?.type !== 'array') refuse(label, "item['content'] is not an array");
    if (content.items.length === 0) refuse(label, "item['content'] is empty");
    if (!isString(content.items[0], 'text')) refuse(label, "item['content']['text'] is not a string");
    const text = get(content.items[0], 'text')!;
    const from: JsonPath = [...at, 'content', 0, 'text'];
    if (mergePrev) {
      setKey(prev.entries, 'reasoning_content', text);
      // a later reasoning item overwrites the earlier one's text: the earlier one no longer lands anywhere
      const index = messages.length - 1;
      dropMarks(mark, index);
      mark(['messages', index, 'reasoning_content'], from, true);
    } else {
      mark(['messages', messages.length, 'reasoning_content'], from, true);
      messages.push(obj([['role', str('assistant')], ['content', arr()], ['reasoning_content', text]]));
    }
    return;
  }
  refuse(label, "Cannot determine type of 'item'");
}

/** Marks an overwrite: an origin with an empty `from` makes `settle` forget the earlier sources of that node. */
function dropMarks(mark: Mark, index: number): void {
  mark(['messages', index, 'reasoning_content'], [], false);
}

function settle(origins: Origin[]): Origin[] {
  const out: Origin[] = [];
  for (const o of origins) {
    if (o.from.length > 0) out.push(o);
    else {
      const key = o.to.join('\u0000');
      for (let i = out.length - 1; i >= 0; i--) if (out[i].to.join('\u0000') === key) out.splice(i, 1);
    }
  }
  return out;
}
