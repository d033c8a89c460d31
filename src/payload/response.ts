import { KvdiffError } from '../errors.js';
import { parseJson, type JsonNode } from './json.js';

/** A's chat-completion response: what the model generated, which llama-server keeps in the slot's cache. */
export interface GeneratedResponse {
  label: string;
  /** The assistant message as returned (`choices[0].message`), ordered. */
  message: JsonNode;
  /** `stop`, `length`, `tool_calls`, ... */
  finishReason: string | null;
  /** Tokens the server sampled (`usage.completion_tokens` or `timings.predicted_n`), when given. */
  completionTokens: number | null;
}

function get(n: JsonNode | undefined, key: string): JsonNode | undefined {
  return n?.type === 'object' ? n.entries.find((e) => e.key === key)?.value : undefined;
}

/** Reads a `/v1/chat/completions` response body (non-streaming). */
export function readResponse(text: string, label: string): GeneratedResponse {
  const root = parseJson(text, label);
  const choices = get(root, 'choices');
  const first = choices?.type === 'array' ? choices.items[0] : undefined;
  const message = get(first, 'message');
  if (!message || message.type !== 'object') {
    throw new KvdiffError(`${label}: no choices[0].message: this does not look like a chat-completion response`, 'pass the JSON the server answered to request A');
  }
  const finish = get(first, 'finish_reason');
  const usage = get(get(root, 'usage'), 'completion_tokens') ?? get(get(root, 'timings'), 'predicted_n');
  return {
    label,
    message,
    finishReason: finish?.type === 'string' ? finish.value : null,
    completionTokens: usage?.type === 'number' ? usage.value : null,
  };
}
