import type { JsonNode } from '../payload/json.js';
import type { JsonPath } from '../payload/path.js';
import { arr, clone, get, has, intValue, obj, setKey, str, stringValue, int } from './nodes.js';
import { dumpCompact } from './nlohmann.js';
import type { Conversion, ConvertOptions, Origin } from './types.js';
import { refuse } from './refuse.js';

const BILLING_PREFIX = 'x-anthropic-billing-header:';
const CCH_LENGTH = 5;

/**
 * llama-server's `normalize_anthropic_billing_header` (server-chat.cpp): a system text that starts with the
 * Claude Code billing header gets the 5 characters after its first `cch=` replaced by `fffff`, only when a `;`
 * follows them. Works on UTF-8 bytes, as the server does. Returns null when nothing changes.
 */
export function normalizeBillingHeader(text: string): string | null {
  if (!text.startsWith(BILLING_PREFIX)) return null;
  const bytes = Buffer.from(text, 'utf8');
  const at = bytes.indexOf('cch=', BILLING_PREFIX.length);
  if (at < 0) return null;
  const from = at + 4;
  if (!(from + CCH_LENGTH < bytes.length && bytes[from + CCH_LENGTH] === 0x3b)) return null;
  bytes.fill(0x66, from, from + CCH_LENGTH);
  const out = bytes.toString('utf8');
  return out === text ? null : out;
}

/**
 * `server_chat_convert_anthropic_to_oai` (llama.cpp tools/server/server-chat.cpp): the chat-completions body
 * llama-server builds from a `/v1/messages` body, from scratch, with the client path of every node it made.
 */
export function convertAnthropic(root: JsonNode, label: string, opts: ConvertOptions): Conversion {
  const origins: Origin[] = [];
  const rewrites: Conversion['rewrites'] = [];
  const out = obj();
  const messages: JsonNode[] = [];
  const mark = (to: JsonPath, from: JsonPath, copy: boolean) => origins.push({ to, from, copy });

  const system = get(root, 'system');
  if (system && system.type !== 'null') {
    let content = '';
    const sources: JsonPath[] = [];
    const take = (text: string, from: JsonPath) => {
      const fixed = opts.billingHeader ? normalizeBillingHeader(text) : null;
      if (fixed !== null) rewrites.push({ from, rule: 'BILLING_CCH' });
      content += fixed ?? text;
      sources.push(from);
    };
    if (system.type === 'string') take(system.value, ['system']);
    else if (system.type === 'array') {
      system.items.forEach((block, i) => {
        if (stringValue(block, 'type') === 'text') take(stringValue(block, 'text'), ['system', i, 'text']);
      });
    }
    for (const from of sources) mark(['messages', 0, 'content'], from, false);
    if (!sources.length) mark(['messages', 0], ['system'], false);
    messages.push(obj([['role', str('system')], ['content', str(content)]]));
  }

  const msgs = get(root, 'messages');
  if (!msgs) refuse(label, "'messages' is required");
  if (msgs.type === 'array') {
    msgs.items.forEach((msg, i) => convertMessage(msg, ['messages', i], messages, mark));
  }
  out.entries.push({ key: 'messages', value: arr(messages) });

  const tools = get(root, 'tools');
  if (tools?.type === 'array') {
    out.entries.push({
      key: 'tools',
      value: arr(
        tools.items.map((tool, i) => {
          const schema = get(tool, 'input_schema');
          mark(['tools', i, 'function', 'name'], ['tools', i, 'name'], true);
          mark(['tools', i, 'function', 'description'], ['tools', i, 'description'], true);
          if (schema) mark(['tools', i, 'function', 'parameters'], ['tools', i, 'input_schema'], true);
          return obj([
            ['type', str('function')],
            ['function', obj([['name', str(stringValue(tool, 'name'))], ['description', str(stringValue(tool, 'description'))], ['parameters', schema ? clone(schema) : obj()]])],
          ]);
        }),
      ),
    });
  }
  const choice = get(root, 'tool_choice');
  if (choice?.type === 'object') {
    const type = stringValue(choice, 'type');
    if (type === 'auto') setKey(out.entries, 'tool_choice', str('auto'));
    else if (type === 'any' || type === 'tool') setKey(out.entries, 'tool_choice', str('required'));
  }
  const stop = get(root, 'stop_sequences');
  if (stop) {
    setKey(out.entries, 'stop', clone(stop));
    mark(['stop'], ['stop_sequences'], true);
  }
  const maxTokens = get(root, 'max_tokens');
  setKey(out.entries, 'max_tokens', maxTokens ? clone(maxTokens) : int(4096));
  if (maxTokens) mark(['max_tokens'], ['max_tokens'], true);
  for (const key of ['temperature', 'top_p', 'top_k', 'stream', 'chat_template_kwargs']) {
    const v = get(root, key);
    if (v) {
      setKey(out.entries, key, clone(v));
      mark([key], [key], true);
    }
  }
  if (has(root, 'thinking')) {
    const thinking = get(root, 'thinking')!;
    if (stringValue(thinking, 'type') === 'enabled') {
      setKey(out.entries, 'thinking_budget_tokens', int(intValue(thinking, 'budget_tokens', 10000)));
      mark(['thinking_budget_tokens'], ['thinking'], false);
    }
  }
  const userId = stringValue(get(root, 'metadata'), 'user_id');
  if (userId) {
    setKey(out.entries, '__metadata_user_id', str(userId));
    mark(['__metadata_user_id'], ['metadata', 'user_id'], false);
  }
  return { api: 'messages', root: out, origins, rewrites };
}

function convertMessage(msg: JsonNode, at: JsonPath, messages: JsonNode[], mark: (to: JsonPath, from: JsonPath, copy: boolean) => void): void {
  const role = stringValue(msg, 'role');
  const content = get(msg, 'content');
  // no content: an assistant message is skipped, anything else goes on as sent (the chat parser judges it)
  if (!content && role === 'assistant') return;
  if (!content || content.type !== 'array') {
    mark(['messages', messages.length], at, true);
    messages.push(clone(msg));
    return;
  }
  const index = messages.length;
  const parts: JsonNode[] = [];
  const calls: JsonNode[] = [];
  const results: { node: JsonNode; marks: [JsonPath, JsonPath, boolean][] }[] = [];
  let reasoning = '';
  const reasoningFrom: JsonPath[] = [];
  const partMarks: [JsonPath, JsonPath, boolean][] = [];
  content.items.forEach((block, k) => {
    const from: JsonPath = [...at, 'content', k];
    const type = stringValue(block, 'type');
    if (type === 'text') {
      partMarks.push([['messages', index, 'content', parts.length], from, true]);
      parts.push(clone(block));
    } else if (type === 'thinking') {
      reasoning += stringValue(block, 'thinking');
      reasoningFrom.push([...from, 'thinking']);
    } else if (type === 'image') {
      const url = imageUrl(get(block, 'source'));
      if (url !== null) {
        partMarks.push([['messages', index, 'content', parts.length], [...from, 'source'], false]);
        parts.push(obj([['type', str('image_url')], ['image_url', obj([['url', str(url)]])]]));
      }
    } else if (type === 'tool_use') {
      const input = get(block, 'input');
      const to: JsonPath = ['messages', index, 'tool_calls', calls.length];
      partMarks.push([[...to, 'id'], [...from, 'id'], false], [[...to, 'function', 'name'], [...from, 'name'], false], [[...to, 'function', 'arguments'], [...from, 'input'], false]);
      calls.push(
        obj([
          ['id', str(stringValue(block, 'id'))],
          ['type', str('function')],
          ['function', obj([['name', str(stringValue(block, 'name'))], ['arguments', str(dumpCompact(input && input.type !== 'null' ? input : obj()))]])],
        ]),
      );
    } else if (type === 'tool_result') {
      results.push(toolResult(block, from));
    }
    // redacted_thinking, document, server tool blocks and anything else: dropped
  });
  if (parts.length || calls.length || reasoning) {
    const m = obj([['role', str(role)]]);
    m.entries.push({ key: 'content', value: parts.length ? arr(parts) : str('') });
    if (calls.length) m.entries.push({ key: 'tool_calls', value: arr(calls) });
    if (reasoning) m.entries.push({ key: 'reasoning_content', value: str(reasoning) });
    mark(['messages', index, 'role'], [...at, 'role'], true);
    for (const [to, from, copy] of partMarks) mark(to, from, copy);
    for (const from of reasoningFrom) mark(['messages', index, 'reasoning_content'], from, false);
    messages.push(m);
  }
  for (const r of results) {
    for (const [to, from, copy] of r.marks) mark(['messages', messages.length, ...to], from, copy);
    messages.push(r.node);
  }
}

function imageUrl(source: JsonNode | undefined): string | null {
  const type = stringValue(source, 'type');
  if (type === 'base64') return `data:${stringValue(source, 'media_type', 'image/jpeg')};base64,${stringValue(source, 'data')}`;
  if (type === 'url') return stringValue(source, 'url');
  return null;
}

/** A `tool_result` block becomes its own `role: tool` message (marks are relative to that message). */
function toolResult(block: JsonNode, from: JsonPath): { node: JsonNode; marks: [JsonPath, JsonPath, boolean][] } {
  const id = stringValue(block, 'tool_use_id');
  const content = get(block, 'content');
  const marks: [JsonPath, JsonPath, boolean][] = [[['tool_call_id'], [...from, 'tool_use_id'], false]];
  const msg = (value: JsonNode) => obj([['role', str('tool')], ['tool_call_id', str(id)], ['content', value]]);
  if (content?.type === 'string') {
    marks.push([['content'], [...from, 'content'], false]);
    return { node: msg(str(content.value)), marks };
  }
  if (content?.type === 'array') {
    let text = '';
    const parts: JsonNode[] = [];
    let images = false;
    content.items.forEach((c, k) => {
      const type = stringValue(c, 'type');
      if (type === 'text') {
        const t = stringValue(c, 'text');
        text += t;
        marks.push([['content'], [...from, 'content', k, 'text'], false]);
        parts.push(obj([['type', str('text')], ['text', str(t)]]));
      } else if (type === 'image') {
        images = true;
        const url = imageUrl(get(c, 'source'));
        if (url !== null) parts.push(obj([['type', str('image_url')], ['image_url', obj([['url', str(url)]])]]));
      }
    });
    return { node: msg(images ? arr(parts) : str(text)), marks };
  }
  return { node: msg(str('')), marks };
}
