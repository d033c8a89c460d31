import { backendProfile, type Backend } from './backends.js';
import { KvdiffError } from './errors.js';
import type { ModelInfo } from './model/types.js';
import { bodyPlain, type RequestBody } from './payload/body.js';
import { strftime } from './clock.js';
import { adjustForChatFormat, continuationFor, detectChatFormat, supportsThinking, type Continuation } from './chat-formats.js';
import type { ReasoningMarkers } from './jinja/reasoning.js';
import { JsonNumber, parseJsonNumbers } from './json-numbers.js';

/** What the backend hands to the template: every top-level variable, already decided. */
export interface RenderInput {
  vars: Record<string, unknown>;
  /** Which Jinja engine's behaviour to reproduce (the backend's `BackendProfile.jinja`; absent: plain @huggingface/jinja). */
  jinja?: 'llama.cpp' | 'hf';
  /**
   * Continue the last (assistant) message instead of starting a new turn: llama-server does this when the
   * conversation ends with an assistant message (prefill, on by default).
   */
  continueFinal?: boolean;
  /** For a continued message, what llama.cpp appends to the render of the earlier messages (chat-formats.ts). */
  continuation?: Continuation;
  /** What the chat format's handler appends to a render with the generation prompt (chat-formats.ts). */
  afterGenerationPrompt?: (prompt: string) => string;
}

/** What a backend learns about a template before rendering (llama.cpp's `common/jinja/caps.cpp`). */
export interface TemplateCaps {
  /** Template prints `tool_call.arguments` as an object (`| tojson`, `.items()`, `arguments.key`). */
  objectArguments: boolean;
  /** Template renders plain-string content (false: it only reads typed parts). */
  stringContent: boolean;
  /** gpt-oss style templates (`<|channel|>`) keep the `developer` role. */
  keepsDeveloperRole: boolean;
  /** The template uses a system message's content (caps.cpp `supports_system_role`). Absent: assumed true. */
  systemRole?: boolean;
  /** caps.cpp `supports_tools`, `supports_tool_calls`, `supports_parallel_tool_calls`: what the probes found. */
  tools?: boolean;
  toolCalls?: boolean;
  parallelToolCalls?: boolean;
  /** caps.cpp `supports_typed_content`: the template reads content as a list of parts. */
  typedContent?: boolean;
}

export interface PrepareOptions {
  /** Whose handling of a request to reproduce (its `BackendProfile.messages`). */
  backend: Backend;
  model: ModelInfo;
  caps: TemplateCaps;
  /** The clock templates see (`strftime_now`, `date_string`). */
  now: Date;
  /**
   * The reasoning markers llama.cpp's analysis finds in the template (jinja/reasoning.ts), asked for when a message
   * is continued on llama.cpp's generic path and for the default of `enable_thinking`. Absent: none.
   */
  reasoning?: () => ReasoningMarkers;
}

/** Turns a request body into the template's variables, as the chosen backend would. */
export function prepare(body: RequestBody, opts: PrepareOptions): RenderInput {
  const plain = bodyPlain(body);
  const profile = backendProfile(opts.backend);
  const input = profile.messages === 'hf' ? prepareRaw(plain, opts) : prepareLlamaCpp(plain, opts, body.label);
  return { ...input, jinja: profile.jinja };
}

/** What the backend does to the rendered text before tokenizing (llama.cpp strips a leading BOS string). */
export function finishRender(text: string, opts: PrepareOptions): string {
  if (!backendProfile(opts.backend).stripsSpecialText) return text;
  const { bosToken, eosToken, addBos, addEos } = opts.model;
  let out = text;
  if (addBos && bosToken && out.startsWith(bosToken)) out = out.slice(bosToken.length);
  if (addEos && eosToken && out.endsWith(eosToken)) out = out.slice(0, -eosToken.length);
  return out;
}

function kwargsOf(plain: Record<string, unknown>): Record<string, unknown> {
  const k = plain.chat_template_kwargs;
  return k && typeof k === 'object' && !Array.isArray(k) ? (k as Record<string, unknown>) : {};
}

/** Hugging Face transformers' `apply_chat_template(messages, tools=..., **chat_template_kwargs)`. */
function prepareRaw(plain: Record<string, unknown>, { model }: PrepareOptions): RenderInput {
  const vars: Record<string, unknown> = { messages: plain.messages };
  if (Array.isArray(plain.tools) && plain.tools.length) vars.tools = plain.tools;
  vars.add_generation_prompt = plain.add_generation_prompt ?? true;
  vars.bos_token = model.bosToken;
  vars.eos_token = model.eosToken;
  Object.assign(vars, kwargsOf(plain));
  return { vars };
}

// ---- llama.cpp (tools/server/server-common.cpp, common/chat.cpp at 34af94cd) ----

/** Server-side refusal: llama-server answers the request with an error instead of a completion. */
function refuse(label: string, message: string): never {
  throw new KvdiffError(`llama-server would refuse ${label}: ${message}`);
}

function prepareLlamaCpp(plain: Record<string, unknown>, opts: PrepareOptions, label: string): RenderInput {
  const { model, caps, now } = opts;
  let messages = (plain.messages as Record<string, unknown>[]).map((m, i) => llamaMessage(m, i, caps, label));
  // server-common.cpp: a trailing assistant message of the request is continued (prefill) and replaces the
  // generation prompt; decided on the request's messages, before any format folds them
  const continueFinal = messages.length > 0 && messages[messages.length - 1].role === 'assistant';
  if (continueFinal && messages.length >= 2 && messages[messages.length - 2].role === 'assistant') {
    refuse(label, 'Cannot have 2 or more assistant messages at the end of the list.');
  }
  // chat.cpp `common_chat_templates_apply_jinja`: the continued message is taken off before the system-role
  // polyfill and the format's adjustments, so neither folds it into an earlier message (Gemma 4's tool-response
  // folding would otherwise take it as the final answer of a tool-call turn); the render drops it again
  const continued = continueFinal ? messages[messages.length - 1] : undefined;
  if (continued) messages = messages.slice(0, -1);
  if (caps.systemRole === false) messages = mergeUnsupportedSystem(messages, label);
  messages = adjustForChatFormat(model.chatTemplate, messages);
  if (continued) messages = [...messages, continued];
  const vars: Record<string, unknown> = { messages };
  if (Array.isArray(plain.tools) && plain.tools.length) vars.tools = plain.tools.map((t, i) => llamaTool(t, i, label));
  if ((plain.add_generation_prompt ?? true) && !continueFinal) vars.add_generation_prompt = true;
  vars.bos_token = model.bosToken;
  vars.eos_token = model.eosToken;
  const kwargs = { ...kwargsOf(plain) };
  // server-context.cpp: the default is on only for templates with a thinking mode (--reasoning auto)
  let enableThinking: boolean | undefined;
  const effort = plain.reasoning_effort;
  if (effort === 'none') enableThinking = false;
  else if (typeof effort === 'string') kwargs.reasoning_effort ??= effort;
  if ('enable_thinking' in kwargs) {
    if (typeof kwargs.enable_thinking !== 'boolean') refuse(label, 'chat_template_kwargs.enable_thinking must be a boolean');
    enableThinking = kwargs.enable_thinking;
  }
  vars.enable_thinking = enableThinking ?? supportsThinking(model.chatTemplate, opts.reasoning ?? noMarkers);
  vars.datetime = strftime(now, '%b %d %Y');
  vars.date_string = strftime(now, '%d %b %Y');
  // chat.cpp + caps.cpp `caps_apply_preserve_reasoning` / `caps_apply_reasoning_effort`: a boolean preserve_reasoning
  // sets the variables templates read under other names (keeping reasoning = not clearing, truncating or dropping
  // it), a non-empty string effort sets reasoning_strength too; a variable the request sets itself wins
  if (typeof kwargs.preserve_reasoning === 'boolean') {
    const keep = kwargs.preserve_reasoning;
    kwargs.preserve_thinking ??= keep;
    for (const k of ['clear_thinking', 'truncate_history_thinking', 'drop_thinking']) kwargs[k] ??= !keep;
  }
  if (typeof kwargs.reasoning_effort === 'string' && kwargs.reasoning_effort) kwargs.reasoning_strength ??= kwargs.reasoning_effort;
  Object.assign(vars, kwargs);
  const rawLast = (plain.messages as Record<string, unknown>[]).at(-1);
  const continuation = continueFinal && rawLast ? continuationFor(model.chatTemplate, rawLast, opts.reasoning ?? noMarkers) : undefined;
  const after = vars.add_generation_prompt ? detectChatFormat(model.chatTemplate)?.afterGenerationPrompt : undefined;
  return { vars, continueFinal, ...(continuation ? { continuation } : {}), ...(after ? { afterGenerationPrompt: after } : {}) };
}

const noMarkers = (): ReasoningMarkers => ({ mode: 'none', start: '', end: '' });

/**
 * chat.cpp `workaround::system_message_not_supported`, applied when the template does not support the system role:
 * a leading system message is prepended to the next message's content with a newline, or dropped when it is the
 * only message. Only the first message is looked at; a later system message reaches the template as it is.
 */
function mergeUnsupportedSystem(messages: Record<string, unknown>[], label: string): Record<string, unknown>[] {
  if (messages[0]?.role !== 'system') return messages;
  if (messages.length === 1) return [];
  const [system, next, ...rest] = messages;
  for (const c of [system.content, next.content]) {
    if (typeof c !== 'string') refuse(label, `[json.exception.type_error.302] type must be string, but is ${jsonTypeName(c)}`);
  }
  return [{ ...next, content: `${system.content as string}\n${next.content as string}` }, ...rest];
}

/** nlohmann's type names, as its `type must be string, but is …` error prints them. */
function jsonTypeName(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  return typeof v === 'object' ? 'object' : typeof v;
}

/** A field llama-server copies into a `std::string`: present and not a string is a refused request. */
function stringField(obj: Record<string, unknown>, key: string, label: string): void {
  if (key in obj && typeof obj[key] !== 'string') {
    refuse(label, `Failed to parse messages: [json.exception.type_error.302] type must be string, but is ${jsonTypeName(obj[key])} ("${key}")`);
  }
}

function nonEmptyString(v: unknown): v is string {
  return typeof v === 'string' && v.length > 0;
}

/** `common_chat_msgs_parse_oaicompat` + `to_json_oaicompat`: only known fields survive, in a fixed order. */
function llamaMessage(m: Record<string, unknown>, i: number, caps: TemplateCaps, label: string): Record<string, unknown> {
  const role = m.role as string;
  const out: Record<string, unknown> = { role: role === 'developer' && !caps.keepsDeveloperRole ? 'system' : role };
  if (!('content' in m) && !(role === 'assistant' && Array.isArray(m.tool_calls))) {
    refuse(label, `messages[${i}] has no "content"`);
  }
  out.content = llamaContent(m.content, i, caps, label);
  // these are read into std::string when present: a null or a number makes the server refuse the request
  for (const key of ['reasoning_content', 'name', 'tool_call_id'] as const) stringField(m, key, label);
  if (nonEmptyString(m.reasoning_content)) out.reasoning_content = m.reasoning_content;
  if (nonEmptyString(m.name)) out.name = m.name;
  if (nonEmptyString(m.tool_call_id)) out.tool_call_id = m.tool_call_id;
  if (Array.isArray(m.tool_calls) && m.tool_calls.length) {
    out.tool_calls = m.tool_calls.map((tc, k) => llamaToolCall(tc, i, k, caps, label));
  }
  return out;
}

function llamaContent(content: unknown, i: number, caps: TemplateCaps, label: string): unknown {
  if (content === null || content === undefined) return '';
  if (typeof content === 'string') return caps.stringContent ? content : [{ type: 'text', text: content }];
  const parts = content as Record<string, unknown>[];
  const kept: { type: string; text: string }[] = [];
  for (const [k, part] of parts.entries()) {
    const type = part?.type;
    if (type === 'text') {
      if (typeof part.text !== 'string') refuse(label, `messages[${i}].content[${k}] has no "text"`);
      kept.push({ type: 'text', text: part.text });
    } else if (type === 'image_url' || type === 'input_audio' || type === 'input_video') {
      const what = type === 'image_url' ? 'image' : type === 'input_audio' ? 'audio' : 'video';
      refuse(label, `${what} input is not supported - hint: if this is unexpected, you may need to provide the mmproj`);
    } else {
      refuse(label, `unsupported content[].type ${JSON.stringify(type)} in messages[${i}]`);
    }
  }
  // chat.cpp `messages_inp_normalizer`: only a template that reads string content and not typed content gets the
  // parts joined; one that reads both (Gemma 3 iterates the parts) gets the array as it is
  if (!caps.stringContent || caps.typedContent) return kept;
  return kept.map((p) => p.text).join('\n');
}

function llamaToolCall(tc: unknown, i: number, k: number, caps: TemplateCaps, label: string): Record<string, unknown> {
  // nlohmann's contains() is false on a number, string, boolean or array: llama-server says the type is missing
  const call = (tc && typeof tc === 'object' && !Array.isArray(tc) ? tc : {}) as Record<string, unknown>;
  const where = `messages[${i}].tool_calls[${k}]`;
  if (!('type' in call)) refuse(label, `${where}: Missing tool call type`);
  if (call.type !== 'function') refuse(label, `${where}: Unsupported tool call type ${JSON.stringify(call.type)}`);
  if (!call.function || typeof call.function !== 'object') refuse(label, `${where}: Missing tool call function`);
  const fn = call.function as Record<string, unknown>;
  if (!('name' in fn)) refuse(label, `${where}: Missing tool call name`);
  stringField(fn, 'name', label);
  if (!('arguments' in fn)) refuse(label, `${where}: function.arguments is missing`);
  stringField(call, 'id', label);
  const rawArgs = typeof fn.arguments === 'string' ? fn.arguments : JSON.stringify(fn.arguments);
  let args: unknown = rawArgs;
  if (caps.objectArguments) {
    try {
      args = roundFloats(parseJsonNumbers(rawArgs));
    } catch {
      refuse(label, `${where}: Failed to parse tool call arguments as JSON`);
    }
  }
  const out: Record<string, unknown> = { type: 'function', function: { name: fn.name, arguments: args } };
  if (nonEmptyString(call.id)) out.id = call.id;
  return out;
}

/** llama.cpp's `tojson` prints doubles with `std::ostream` defaults: 6 significant digits. */
function roundFloats(v: unknown): unknown {
  if (v instanceof JsonNumber) return v;
  if (typeof v === 'number') return Number.isInteger(v) ? v : Number(v.toPrecision(6));
  if (Array.isArray(v)) return v.map(roundFloats);
  if (v && typeof v === 'object') {
    const o: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) Object.defineProperty(o, k, { value: roundFloats(x), enumerable: true, writable: true, configurable: true });
    return o;
  }
  return v;
}

/** `common_chat_tools_parse_oaicompat` + `common_chat_tools_to_json_oaicompat`: tools are rebuilt. */
function llamaTool(t: unknown, i: number, label: string): Record<string, unknown> {
  const tool = (t ?? {}) as Record<string, unknown>;
  if (tool.type !== 'function') refuse(label, `tools[${i}]: only tools of type "function" are supported`);
  const fn = (tool.function ?? {}) as Record<string, unknown>;
  if (typeof fn.name !== 'string') refuse(label, `tools[${i}]: missing function.name`);
  return {
    type: 'function',
    function: { name: fn.name, description: fn.description ?? '', parameters: fn.parameters ?? {} },
  };
}

// ---- what the message handling does with a difference that leaves the render unchanged ----

/** Keys llama-server keeps from a message (`common_chat_msgs_parse_oaicompat`); everything else is dropped. */
export const LLAMA_MESSAGE_KEYS: ReadonlySet<string> = new Set(['role', 'content', 'tool_calls', 'reasoning_content', 'name', 'tool_call_id']);
/** Keys llama-server keeps from a tool call. */
export const LLAMA_TOOL_CALL_KEYS: ReadonlySet<string> = new Set(['type', 'function', 'id']);

/** Why a difference leaves the backend's rendered prompt byte-identical. */
export type IgnoredReason =
  | 'DROPPED_BY_SERVER' // llama-server drops the key before templating
  | 'NULL_CONTENT_EMPTIED' // llama-server turns null content into ""
  | 'TEXT_PARTS_JOINED' // llama-server joins text parts with "\n" for a template that reads string content
  | 'ARGUMENTS_RESERIALISED' // llama-server parses tool-call arguments and writes them out again
  | 'MESSAGES_REBUILT' // llama-server rebuilds messages before templating, so the prompt is the same
  | 'NOT_PRINTED'; // the template does not print it

/** Whether llama-server drops the key at `path` (a message key or a tool-call key) before templating. */
export function droppedByLlamaServer(path: readonly (string | number)[]): boolean {
  if (path[0] !== 'messages') return false;
  if (path.length === 3) return !LLAMA_MESSAGE_KEYS.has(String(path[2]));
  if (path.length === 5 && path[2] === 'tool_calls') return !LLAMA_TOOL_CALL_KEYS.has(String(path[4]));
  return false;
}

/**
 * What the backend's message handling did with an ignored difference (`code` at `path`, values `a`/`b`),
 * given whether the other handling's render changes with it (then the template does read it, and the backend
 * rewrote it before templating).
 */
export function ignoredReason(
  backend: Backend,
  d: { code: string; path: readonly (string | number)[]; a?: string; b?: string },
  changesElsewhere: boolean | undefined,
): IgnoredReason {
  if (backendProfile(backend).messages !== 'llama.cpp') return 'NOT_PRINTED';
  if ((d.code === 'EXTRA_FIELD' || d.code === 'MISSING_FIELD') && droppedByLlamaServer(d.path)) return 'DROPPED_BY_SERVER';
  const contentShape = d.code === 'TYPE_CHANGED' && d.path[d.path.length - 1] === 'content';
  if (contentShape && (d.a === 'null' || d.b === 'null')) return 'NULL_CONTENT_EMPTIED';
  if (contentShape && (d.a?.startsWith('[') || d.b?.startsWith('['))) return 'TEXT_PARTS_JOINED';
  if (changesElsewhere === true && d.code === 'JSON_REFORMATTED') return 'ARGUMENTS_RESERIALISED';
  if (changesElsewhere === true) return 'MESSAGES_REBUILT';
  return 'NOT_PRINTED';
}
