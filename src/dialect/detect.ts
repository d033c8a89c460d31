import type { JsonNode } from '../payload/json.js';
import { get, has, stringValue } from './nodes.js';
import type { Api } from './types.js';

/** Content block types only Anthropic Messages bodies carry. */
const ANTHROPIC_BLOCKS = new Set(['tool_use', 'tool_result', 'thinking', 'redacted_thinking', 'image', 'document', 'search_result', 'server_tool_use', 'web_search_tool_result']);
/** Top-level keys only Anthropic Messages bodies carry (chat completions has none of them). */
const ANTHROPIC_KEYS = ['system', 'stop_sequences', 'anthropic_version', 'thinking'];

/**
 * Which endpoint a body was written for, by its shape: `input` (Responses), `prompt` (completion), or
 * `messages` with Anthropic-only keys, blocks or tools (Messages); anything else is chat completions.
 */
export function detectApi(root: JsonNode): Api {
  if (root.type !== 'object') return 'chat';
  const messages = get(root, 'messages');
  if (!messages) {
    if (has(root, 'input')) return 'responses';
    if (has(root, 'prompt')) return 'completion';
    return 'chat';
  }
  if (ANTHROPIC_KEYS.some((k) => has(root, k))) return 'messages';
  if (messages.type === 'array') {
    for (const m of messages.items) {
      const content = get(m, 'content');
      if (content?.type === 'array' && content.items.some((b) => ANTHROPIC_BLOCKS.has(stringValue(b, 'type')))) return 'messages';
    }
  }
  const tools = get(root, 'tools');
  if (tools?.type === 'array' && tools.items.some((t) => has(t, 'input_schema'))) return 'messages';
  return 'chat';
}
