import { backendProfile, type Backend } from '../backends.js';
import { KvdiffError } from '../errors.js';
import { parseJson } from '../payload/json.js';
import { validateBody, type RequestBody } from '../payload/body.js';
import type { JsonPath } from '../payload/path.js';
import { nodeAt } from '../payload/edit.js';
import { convertAnthropic } from './anthropic.js';
import { convertResponses } from './responses.js';
import { completionPrompt, type PromptPiece } from './completion.js';
import { detectApi } from './detect.js';
import type { Api, Conversion, ConvertOptions, Origin } from './types.js';

export type { Api, Conversion, ConvertOptions, Origin } from './types.js';
export { API_CHOICES } from './types.js';
export { detectApi } from './detect.js';
export { tokenizePieces, type PromptPiece, type PieceTokenizer } from './completion.js';

/** A body's dialect; bodies read before dialects existed are chat completions. */
export function apiOf(body: RequestBody): Api {
  return body.api ?? 'chat';
}

/**
 * Reads a client body in any dialect: `.txt` files (and `--api prompt`) are rendered prompts; JSON is detected
 * by shape unless `api` says which endpoint it was sent to. Chat-completions bodies are validated as before.
 */
export function readClientBody(text: string, label: string, api?: Api): RequestBody {
  const clean = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  if (api === 'prompt' || (api === undefined && /\.txt$/i.test(label))) {
    return { label, root: { type: 'string', value: clean }, api: 'prompt' };
  }
  const root = parseJson(clean, label);
  const found = api ?? detectApi(root);
  if (found === 'chat') {
    validateBody(root, label);
    return { label, root };
  }
  if (root.type !== 'object') throw new KvdiffError(`${label}: the body must be a JSON object`);
  return { label, root, api: found };
}

/** The chat-completions body llama-server builds from a Messages or Responses body; null for other dialects. */
export function convert(body: RequestBody, opts: ConvertOptions): Conversion | null {
  const api = apiOf(body);
  if (api === 'messages') return convertAnthropic(body.root, body.label, opts);
  if (api === 'responses') return convertResponses(body.root, body.label);
  return null;
}

/** What the template stage gets: the body itself (chat) or its conversion, checked like any chat body. */
export function chatBody(body: RequestBody, opts: ConvertOptions): RequestBody {
  const api = apiOf(body);
  if (api === 'completion' || api === 'prompt') {
    throw new KvdiffError(`${body.label} is a raw prompt: it has no chat-completions form`, 'drop --converted, or pass a chat, /v1/messages or /v1/responses body');
  }
  const c = convert(body, opts);
  if (!c) return body;
  const label = `${body.label} (as converted from ${api === 'messages' ? '/v1/messages' : '/v1/responses'})`;
  try {
    validateBody(c.root, label);
  } catch (err) {
    if (err instanceof KvdiffError) throw new KvdiffError(`llama-server would refuse ${body.label}: ${err.message}`);
    throw err;
  }
  return { label: body.label, root: c.root };
}

/** The chat-completions body `backend` templates: other dialects converted as llama-server converts them. */
export function toChat(body: RequestBody, backend: Backend): RequestBody {
  return chatBody(body, { billingHeader: backendProfile(backend).rewritesBillingHeader });
}

/** A raw prompt's pieces (completion bodies and prompt files); null for chat dialects. */
export function rawPrompt(body: RequestBody): PromptPiece[] | null {
  const api = apiOf(body);
  if (api === 'prompt') return [{ text: body.root.type === 'string' ? body.root.value : '', addSpecial: true }];
  if (api === 'completion') return completionPrompt(body.root, body.label);
  return null;
}

function startsWith(path: JsonPath, prefix: JsonPath): boolean {
  return prefix.length <= path.length && prefix.every((s, i) => path[i] === s);
}

/**
 * Where a client path lands in the converted body: the nodes made from it or from inside it, else the node it
 * was copied or written into. Empty when the server's conversion drops it.
 */
export function convertedPaths(c: Conversion, path: JsonPath): JsonPath[] {
  const inside = c.origins.filter((o) => startsWith(o.from, path));
  if (inside.length) return collapse(unique(inside.map((o) => o.to)));
  let best: (typeof c.origins)[number] | undefined;
  for (const o of c.origins) if (startsWith(path, o.from) && (!best || o.from.length > best.from.length)) best = o;
  if (!best) return [];
  if (!best.copy) return [best.to];
  const to = [...best.to, ...path.slice(best.from.length)];
  return nodeAt(c.root, to) ? [to] : [];
}

/** Several converted nodes under one message (or tool call) are named by that message. */
function collapse(paths: JsonPath[]): JsonPath[] {
  if (paths.length < 2) return paths;
  let n = 0;
  while (paths.every((p) => n < p.length && p[n] === paths[0][n])) n++;
  return n >= 2 || (n === 1 && paths.length > 2) ? [paths[0].slice(0, n)] : paths;
}

function unique(paths: JsonPath[]): JsonPath[] {
  const seen = new Set<string>();
  return paths.filter((p) => {
    const k = JSON.stringify(p);
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}

/**
 * The client path a converted path came from (for findings located in the converted body): the source of the node
 * or of the node it lies in; for a node built from several (a message merged from Responses items), the first
 * source, cut to the same depth (`$.messages[4]` → `$.input[3]`).
 */
export function clientPath(c: Conversion, to: JsonPath): JsonPath | null {
  let best: Origin | undefined;
  for (const o of c.origins) if (startsWith(to, o.to) && (!best || o.to.length > best.to.length)) best = o;
  if (best) return best.copy ? [...best.from, ...to.slice(best.to.length)] : best.from;
  const inside = c.origins.filter((o) => startsWith(o.to, to)).sort((x, y) => comparePaths(x.from, y.from));
  return inside.length ? inside[0].from.slice(0, Math.max(1, to.length)) : null;
}

function comparePaths(x: JsonPath, y: JsonPath): number {
  for (let i = 0; i < Math.min(x.length, y.length); i++) {
    if (x[i] === y[i]) continue;
    return typeof x[i] === 'number' && typeof y[i] === 'number' ? (x[i] as number) - (y[i] as number) : String(x[i]) < String(y[i]) ? -1 : 1;
  }
  return x.length - y.length;
}

