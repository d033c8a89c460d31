/**
 * Which requests `kvdiff record` captures, what dialect each speaks, and what in a body tells conversations apart.
 * Pure functions over the parsed body: no sockets, no files.
 */

/** The request dialects llama-server accepts for generation (../shared/docs/llama-server-dialects.md §1). */
export type Dialect = 'chat' | 'anthropic' | 'responses' | 'completion';

/** Generation routes by path (the query string is ignored, as llama-server's router ignores it). */
const GENERATION_ROUTES: Record<string, Dialect> = {
  '/v1/chat/completions': 'chat',
  '/chat/completions': 'chat',
  '/v1/messages': 'anthropic',
  '/v1/responses': 'responses',
  '/completion': 'completion',
  '/completions': 'completion',
  '/v1/completions': 'completion',
};

/** The dialect of a generation request, or null for any other route (forwarded, never captured). */
export function generationDialect(method: string | undefined, url: string | undefined): Dialect | null {
  if (method !== 'POST' || !url) return null;
  const q = url.indexOf('?');
  const path = (q < 0 ? url : url.slice(0, q)).replace(/\/+$/, '');
  // own keys only: a request for `/constructor` or `toString` is not a generation route (the fuzzer found both)
  return Object.hasOwn(GENERATION_ROUTES, path) ? GENERATION_ROUTES[path] : null;
}

/** The header a client sets to name its session explicitly. */
export const SESSION_HEADER = 'x-kvdiff-session';

/** Characters of a raw `/completion` prompt compared as one unit when routing by prefix. */
const PROMPT_CHUNK_CHARS = 256;

type Obj = Record<string, unknown>;

function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * The session a client names in its body, when it does: chat `user`, Anthropic `metadata.user_id` (Claude Code
 * puts its session id there), Responses `prompt_cache_key` (Codex sends its conversation id) or `user`.
 */
export function clientSessionKey(dialect: Dialect, body: unknown): string | null {
  if (!isObj(body)) return null;
  const str = (v: unknown) => (typeof v === 'string' && v !== '' ? v : null);
  if (dialect === 'anthropic') return isObj(body.metadata) ? str(body.metadata.user_id) : null;
  if (dialect === 'responses') return str(body.prompt_cache_key) ?? str(body.user);
  if (dialect === 'chat') return str(body.prompt_cache_key) ?? str(body.user);
  return null;
}

/**
 * A conversation as comparable units (JSON text of each), split where every conversation of one agent looks alike:
 * the preamble (tools, system prompt, instructions) and the turns (each message or input item after it).
 */
export interface Conversation {
  preamble: string[];
  turns: string[];
}

/** The conversation units of a body (see `Conversation`). */
export function conversationOf(dialect: Dialect, body: unknown): Conversation {
  if (!isObj(body)) return { preamble: [], turns: [] };
  const j = (v: unknown) => JSON.stringify(v ?? null);
  const list = (v: unknown) => (Array.isArray(v) ? v.map(j) : v === undefined ? [] : [j(v)]);
  const split = (head: unknown, items: unknown): Conversation => {
    const all = list(items);
    let n = 0;
    while (Array.isArray(items) && n < items.length && isObj(items[n]) && (items[n].role === 'system' || items[n].role === 'developer')) n++;
    return { preamble: [j(head), ...all.slice(0, n)], turns: all.slice(n) };
  };
  switch (dialect) {
    case 'chat':
      return split(body.tools, body.messages);
    case 'anthropic':
      return split([body.system, body.tools], body.messages);
    case 'responses':
      return split([body.instructions, body.tools], body.input);
    case 'completion': {
      const prompt = body.prompt;
      if (typeof prompt !== 'string') return { preamble: [], turns: list(prompt) };
      const turns: string[] = [];
      for (let i = 0; i < prompt.length; i += PROMPT_CHUNK_CHARS) turns.push(prompt.slice(i, i + PROMPT_CHUNK_CHARS));
      return { preamble: [], turns };
    }
  }
}

/** Whether the body asks for a streamed response. */
export function isStreamed(body: unknown): boolean {
  return isObj(body) && body.stream === true;
}
