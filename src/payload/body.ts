import { KvdiffError } from '../errors.js';
import { formatPath, type JsonPath } from './path.js';
import { parseJson, toPlain, type JsonNode } from './json.js';

/** One captured chat-completions request body. */
export interface RequestBody {
  /** How the user named it (file path, `-`, `A`). */
  label: string;
  /** The ordered tree, as written. */
  root: JsonNode;
}

/** Parses and validates a captured OpenAI chat-completions body (the text, not a file). */
export function parseBody(text: string, label: string): RequestBody {
  const root = parseJson(text.charCodeAt(0) === 0xfeff ? text.slice(1) : text, label);
  validateBody(root, label);
  return { label, root };
}

/** Builds a body from a plain JavaScript object (library use); key order is the object's own. */
export function bodyFromObject(value: unknown, label: string): RequestBody {
  return parseBody(JSON.stringify(value), label);
}

/** @deprecated the old name of `parseBody` (it never read a file). */
export const readBody = parseBody;

function typeName(n: JsonNode | undefined): string {
  if (!n) return 'missing';
  return n.type === 'array' ? 'an array' : n.type === 'object' ? 'an object' : n.type === 'null' ? 'null' : `a ${n.type}`;
}

function get(n: JsonNode, key: string): JsonNode | undefined {
  return n.type === 'object' ? n.entries.find((e) => e.key === key)?.value : undefined;
}

function expect(label: string, path: JsonPath, node: JsonNode | undefined, want: JsonNode['type'][], what: string): void {
  if (node && !want.includes(node.type)) {
    throw new KvdiffError(`${label}: ${formatPath(path)} must be ${what}, found ${typeName(node)}`);
  }
}

function validateBody(root: JsonNode, label: string): void {
  if (root.type !== 'object') {
    throw new KvdiffError(`${label}: the body must be a JSON object with "messages", found ${typeName(root)}`);
  }
  const messages = get(root, 'messages');
  if (!messages) {
    throw new KvdiffError(
      `${label}: no "messages" array: this does not look like a chat-completions request body`,
      'pass the JSON body your client POSTs to /v1/chat/completions',
    );
  }
  expect(label, ['messages'], messages, ['array'], 'an array of messages');
  if (messages.type !== 'array') return;
  messages.items.forEach((m, i) => {
    const path: JsonPath = ['messages', i];
    expect(label, path, m, ['object'], 'a message object');
    const role = get(m, 'role');
    if (!role) throw new KvdiffError(`${label}: ${formatPath(path)} has no "role"`);
    expect(label, [...path, 'role'], role, ['string'], 'a string');
    expect(label, [...path, 'content'], get(m, 'content'), ['string', 'array', 'null'], 'a string, an array of parts or null');
    expect(label, [...path, 'tool_calls'], get(m, 'tool_calls'), ['array', 'null'], 'an array');
  });
  expect(label, ['tools'], get(root, 'tools'), ['array', 'null'], 'an array');
  expect(label, ['chat_template_kwargs'], get(root, 'chat_template_kwargs'), ['object', 'null'], 'an object');
  expect(label, ['add_generation_prompt'], get(root, 'add_generation_prompt'), ['boolean'], 'true or false');
}

/** The body as plain JavaScript (what a template receives under the raw backend). */
export function bodyPlain(body: RequestBody): Record<string, unknown> {
  return toPlain(body.root) as Record<string, unknown>;
}
