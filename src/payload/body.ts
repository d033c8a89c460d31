import { KvdiffError } from '../errors.js';
import { formatPath, type JsonPath } from './path.js';
import { parseJson, toPlain, type JsonNode } from './json.js';

/** One captured chat-completions request body. */
export interface RequestBody {
  /** How the user named it (file path, `-`, `A`). */
  label: string;
  /** The ordered tree, as written. */
  root: JsonNode;
  /** The endpoint it was written for (`src/dialect`); absent: chat completions. */
  api?: Api;
}

/**
 * The endpoint a body was written for: chat completions, Anthropic Messages (`/v1/messages`), OpenAI Responses
 * (`/v1/responses`), a raw completion body (`/completion`, `/v1/completions`), or a rendered prompt as text.
 */
export type Api = 'chat' | 'messages' | 'responses' | 'completion' | 'prompt';

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * The text of a captured body. llama-server's JSON parser (nlohmann::json) refuses ill-formed UTF-8 with HTTP 400,
 * so kvdiff refuses it too, naming the first bad byte, rather than predicting reuse for a request the server rejects.
 */
export function decodeUtf8(bytes: Uint8Array, label: string): string {
  try {
    return strictUtf8.decode(bytes);
  } catch {
    const at = firstInvalidUtf8(bytes);
    throw new KvdiffError(
      `${label}: invalid UTF-8 at byte ${at} (0x${bytes[at].toString(16).padStart(2, '0')}): llama-server refuses the request (ill-formed UTF-8 byte)`,
      'save the body as UTF-8',
    );
  }
}

/** Offset of the first byte that does not start or continue a well-formed UTF-8 sequence. */
function firstInvalidUtf8(b: Uint8Array): number {
  let i = 0;
  while (i < b.length) {
    const c = b[i];
    const n = c < 0x80 ? 0 : c >= 0xc2 && c <= 0xdf ? 1 : c >= 0xe0 && c <= 0xef ? 2 : c >= 0xf0 && c <= 0xf4 ? 3 : -1;
    if (n < 0) return i;
    for (let k = 1; k <= n; k++) {
      const d = b[i + k];
      if (d === undefined || (d & 0xc0) !== 0x80) return i;
      // overlong 3/4-byte forms, UTF-16 surrogates and code points past U+10FFFF
      if (k === 1 && ((c === 0xe0 && d < 0xa0) || (c === 0xed && d > 0x9f) || (c === 0xf0 && d < 0x90) || (c === 0xf4 && d > 0x8f))) return i;
    }
    i += n + 1;
  }
  return Math.max(0, b.length - 1);
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

/** Checks the shape of a chat-completions body (also run on the bodies llama-server converts from other dialects). */
export function validateBody(root: JsonNode, label: string): void {
  if (root.type !== 'object') {
    throw new KvdiffError(`${label}: the body must be a JSON object with "messages", found ${typeName(root)}`);
  }
  const messages = get(root, 'messages');
  if (!messages) {
    throw new KvdiffError(
      `${label}: no "messages" array: this does not look like a chat-completions request body`,
      'pass the JSON body your client POSTs to /v1/chat/completions, /v1/messages, /v1/responses or /completion (--api names the endpoint)',
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
