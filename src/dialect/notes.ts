import type { Attribution, Finding } from '../attribute/attribute.js';
import { variants } from '../attribute/attribute.js';
import { commonPrefix } from '../compare.js';
import type { Processor } from '../processor.js';
import { LLAMA_MESSAGE_KEYS } from '../normalize.js';
import { KvdiffError } from '../errors.js';
import type { RequestBody } from '../payload/body.js';
import { nodesEqual } from '../payload/json.js';
import type { JsonPath } from '../payload/path.js';
import { apiOf, clientPath, convert, convertedPaths } from './index.js';
import type { Conversion } from './types.js';

/** Why llama-server ignores a client difference while converting the body. */
export type DialectReason =
  | 'DROPPED' // the conversion does not read the field (signature, is_error, redacted_thinking, cache_control on system, ...)
  | 'SAME_CONVERSION' // both forms convert to the same chat-completions body (tool_result string vs text blocks)
  | 'BILLING_CCH' // the Claude Code billing header's cch= stamp, which llama-server rewrites to fffff
  | 'CHAT_PARSE_DROPS' // converted to a field the chat-completions parser then drops (cache_control on a text part)
  | 'REQUEST_OPTION'; // converted to a request option that never reaches the template (stop, thinking_budget_tokens, ...)

export interface DialectNote {
  api: 'messages' | 'responses';
  /** Where the field lands in the chat-completions body llama-server builds; empty when it drops the field. */
  converted: JsonPath[];
  reason?: DialectReason;
  /**
   * BILLING_CCH: the first token of A's prompt this difference changes on a server that keeps the stamp (vLLM,
   * SGLang: no rewrite); null when it changes nothing there either. Absent when kvdiff could not render it.
   */
  tokenElsewhere?: number | null;
  /** BILLING_CCH on a cause (a backend without the rewrite): llama-server would ignore it. */
  ignoredByLlamaServer?: boolean;
}

/**
 * Adds to each finding on a /v1/messages or /v1/responses body where its field lands in the converted body, and
 * for ignored ones why the conversion makes the difference vanish. Findings keep the client's own paths.
 */
export function annotateDialect(engine: Processor, a: RequestBody, b: RequestBody, att: Attribution): void {
  const conversions = new Map<RequestBody, Conversion | null>();
  const billing = engine.backend === 'llama.cpp';
  const conv = (body: RequestBody, billingHeader = billing): Conversion | null => {
    if (billingHeader !== billing) return tryConvert(body, billingHeader);
    if (!conversions.has(body)) conversions.set(body, tryConvert(body, billingHeader));
    return conversions.get(body)!;
  };
  let planned: ReturnType<typeof variants> | undefined;
  const variantOf = (f: Finding): RequestBody | undefined => {
    planned ??= variants(a, b);
    return planned.find((v) => v.d.code === f.code && v.d.side === f.side && samePath(v.d.path, f.path))?.body;
  };
  const note = (f: Finding, ignored: boolean): void => {
    const body = f.side === 'a' ? a : b;
    const api = apiOf(body);
    if (api !== 'messages' && api !== 'responses') return;
    const c = conv(body);
    if (!c) return;
    if (f.code === 'TEMPLATE_REWRITES_HISTORY') {
      // attribution located the rewritten message in the converted body: name the client's item
      const converted = f.path;
      f.path = clientPath(c, converted) ?? f.path;
      if (f.path[0] === 'messages' && typeof f.path[1] === 'number') f.message = f.path[1];
      f.dialect = { api, converted: [converted] };
      return;
    }
    const out: DialectNote = { api, converted: f.path.length ? convertedPaths(c, f.path) : [] };
    const variant = f.path.length ? variantOf(f) : undefined;
    if (variant) {
      const same = (billingHeader: boolean) => {
        const ca = conv(a, billingHeader);
        const cv = conv(variant, billingHeader);
        return ca && cv ? { equal: nodesEqual(ca.root, cv.root), billing: [...ca.rewrites, ...cv.rewrites].some((r) => related(r.from, f.path)) } : null;
      };
      if (ignored) {
        const s = same(billing);
        if (s?.equal && s.billing) {
          out.reason = 'BILLING_CCH';
          out.tokenElsewhere = tokenWithoutRewrite(engine, a, variant);
        } else if (s?.equal) out.reason = out.converted.length ? 'SAME_CONVERSION' : 'DROPPED';
        else if (!out.converted.length) out.reason = 'DROPPED';
        else if (billing && out.converted.every(droppedByChatParse)) out.reason = 'CHAT_PARSE_DROPS';
        else if (out.converted.every((p) => p.length === 1 && !TEMPLATE_INPUTS.has(String(p[0])))) out.reason = 'REQUEST_OPTION';
      } else if (!billing) {
        const s = same(true);
        if (s?.equal && s.billing) {
          out.reason = 'BILLING_CCH';
          out.ignoredByLlamaServer = true;
        }
      }
    }
    f.dialect = out;
  };
  for (const f of att.causes) note(f, false);
  for (const f of att.growth) note(f, false);
  for (const f of att.ignored) note(f, true);
}

/** Keys `common_chat_msgs_parse_oaicompat` reads from a content part (a message's are the normalizer's); the rest is dropped. */
const PART_KEYS = new Set(['type', 'text', 'image_url']);

/** Top-level keys of a chat-completions body that reach the template (the rest steer sampling or the parser). */
const TEMPLATE_INPUTS = new Set(['messages', 'tools', 'chat_template_kwargs', 'add_generation_prompt', 'continue_final_message', 'reasoning_effort']);

function droppedByChatParse(p: JsonPath): boolean {
  if (p[0] !== 'messages') return false;
  if (p.length === 3) return !LLAMA_MESSAGE_KEYS.has(String(p[2]));
  if (p.length === 5 && p[2] === 'content') return !PART_KEYS.has(String(p[4]));
  return false;
}

function tryConvert(body: RequestBody, billingHeader: boolean): Conversion | null {
  try {
    return convert(body, { billingHeader });
  } catch (err) {
    if (err instanceof KvdiffError) return null;
    throw err;
  }
}

/** One path inside the other (a rewrite of `$.system[0].text` relates to a change at `$.system[0]` and back). */
function related(x: JsonPath, y: JsonPath): boolean {
  const n = Math.min(x.length, y.length);
  for (let i = 0; i < n; i++) if (x[i] !== y[i]) return false;
  return true;
}

function samePath(x: JsonPath, y: JsonPath): boolean {
  return x.length === y.length && related(x, y);
}

/** First token of A that the variant changes when nobody rewrites the billing stamp (null: none). */
function tokenWithoutRewrite(engine: Processor, a: RequestBody, variant: RequestBody): number | null | undefined {
  // only a processor that renders any body itself (not a server, which answers only what was sent ahead)
  if (!engine.renderAs) return undefined;
  const ca = tryConvert(a, false);
  const cv = tryConvert(variant, false);
  if (!ca || !cv) return undefined;
  try {
    const x = engine.process({ label: a.label, root: ca.root }, 'A without the billing rewrite');
    const y = engine.process({ label: a.label, root: cv.root }, 'A with the difference, without the billing rewrite');
    const lcp = commonPrefix(x.tokens.ids, y.tokens.ids);
    return lcp < x.tokens.ids.length ? lcp : null;
  } catch (err) {
    if (err instanceof KvdiffError) return undefined;
    throw err;
  }
}
