/**
 * The chat formats llama.cpp recognises by a template's text (common/chat.cpp `common_chat_try_specialized_template`,
 * checked in its order, first match wins) and what each does to the messages before the template sees them. One
 * entry per format; formats whose handler leaves the messages alone are listed too, so that an earlier entry
 * shadows a later one exactly as in llama.cpp. Nothing here is keyed on a model's name.
 */

import type { ReasoningMarkers } from './jinja/reasoning.js';

type Message = Record<string, unknown>;

export interface ChatFormat {
  name: string;
  /** llama.cpp's detection, on the template text. */
  matches(src: string): boolean;
  /** Its handler's `supports_thinking`, which makes llama-server turn thinking on by default (absent: false). */
  thinking?(src: string): boolean;
  /** What its handler appends to a render with the generation prompt (absent: nothing). */
  afterGenerationPrompt?(prompt: string): string;
  /** The message adjustment its handler makes (absent: the messages reach the template unchanged). */
  adjust?(messages: Message[], src: string): Message[];
  /**
   * What its handler appends to the render of the earlier messages when the conversation ends with an assistant
   * message that is continued (absent: llama.cpp's generic path, see `ChatTemplate.renderContinued`).
   */
  continuation?(last: Continued, prefix: string, src: string): string;
}

/** The continued assistant message as the handlers read it. */
export interface Continued {
  reasoning: string;
  /** `render_content()`: the content, or its text parts joined by a blank line. */
  content: string;
  /** llama.cpp's CONTINUATION_REASONING: reasoning and no content, so the reasoning block stays open. */
  reasoningOnly: boolean;
}

/** The usual handler shape: an opener, the reasoning, and (continuing content) a closer and the content. */
const thinkThen = (open: string, close: string) => (m: Continued) => open + m.reasoning + (m.reasoningOnly ? '' : close + m.content);

const has = (src: string, ...needles: string[]) => needles.every((n) => src.includes(n));

export const CHAT_FORMATS: readonly ChatFormat[] = [
  {
    // Mistral Small 3.2 has [CALL_ID], Ministral/Magistral Large 3 does not
    name: 'Ministral 3',
    thinking: () => true,
    matches: (src) => has(src, '[SYSTEM_PROMPT]', '[TOOL_CALLS]', '[ARGS]') && !src.includes('[CALL_ID]'),
    adjust: ministralBlocks,
    continuation: thinkThen('[THINK]', '[/THINK]'),
  },
  {
    name: 'GPT-OSS',
    thinking: () => true,
    matches: (src) => src.includes('<|channel|>'),
    adjust: gptOssThinking,
    continuation: thinkThen('<|start|>assistant<|channel|>analysis<|message|>', '<|end|><|start|>assistant<|channel|>final<|message|>'),
  },
  {
    name: 'Muse Glimmer',
    thinking: () => true,
    matches: (src) => has(src, '<atem:function_calls>', '<|eom|>'),
    continuation: thinkThen('<|start|>assistant to=self<|message|>', '<|eom|><|start|>assistant to=user<|message|>'),
  },
  {
    name: 'Functionary v3.2',
    matches: (src) => has(src, '>>>all', '>>>${recipient}'),
    continuation: (m) => '<|start_header_id|>assistant<|end_header_id|>\n\n>>>all\n' + m.content,
  },
  {
    name: 'Kimi K2',
    thinking: () => true,
    matches: (src) => has(src, '<|tool_calls_section_begin|>', '<|tool_call_begin|>'),
    continuation: thinkThen('<|im_assistant|>assistant<|im_middle|><think>', '</think>'),
  },
  {
    name: 'Kimi K3',
    thinking: () => true,
    matches: (src) => has(src, '<|open|>', '<|close|>', '<|end_of_msg|>'),
    continuation: thinkThen('<|open|>message role="assistant"<|sep|><|open|>think<|sep|>', '<|close|>think<|sep|><|open|>response<|sep|>'),
  },
  {
    name: 'Ling 3.0',
    thinking: () => true,
    matches: (src) => has(src, '<role>ASSISTANT</role>', '<arg_key>'),
    continuation: thinkThen('<role>ASSISTANT</role>\n<think>', '</think>'),
  },
  {
    name: 'Cohere2 MoE',
    thinking: () => true,
    matches: (src) => has(src, '<|START_TEXT|>', '<|START_ACTION|>'),
    continuation: thinkThen('<|START_OF_TURN_TOKEN|><|CHATBOT_TOKEN|><|START_THINKING|>', '<|END_THINKING|><|START_TEXT|>'),
  },
  {
    name: 'LFM2',
    thinking: () => true,
    matches: (src) => has(src, '<|tool_list_start|>', '<|tool_list_end|>'),
    adjust: copyReasoningToThinking,
    continuation: thinkThen('<|im_start|>assistant\n<think>', '</think>'),
  },
  {
    name: 'LFM2.5',
    thinking: () => true,
    matches: (src) => src.includes('List of tools: [') && !src.includes('<|tool_list_start|>'),
    adjust: copyReasoningToThinking,
    continuation: thinkThen('<|im_start|>assistant\n<think>', '</think>'),
  },
  {
    name: 'GigaChat V3',
    matches: (src) => has(src, '<|role_sep|>', '<|message_sep|>') && !src.includes('<|function_call|>'),
    continuation: (m) => 'assistant<|role_sep|>\n' + m.content,
  },
  // MiniMax-M3 continues from the template's own generation prompt: left to the generic path
  { name: 'MiniMax-M3', matches: (src) => has(src, ']<]minimax[>[', '<tool_call>', '<invoke name='), thinking: () => true },
  {
    // V3.2 names its tool call block "function_calls"; V4 ("tool_calls") also reorders tool results, and continues
    // a message without reasoning after a bare </think>
    name: 'DeepSeek V3.2/V4',
    thinking: () => true,
    matches: (src) => has(src, 'dsml_token', 'DSML') && (src.includes('function_calls') || src.includes('tool_calls')),
    adjust: (messages, src) => (src.includes('function_calls') ? messages : sortToolResultsByCall(messages)),
    continuation: (m, _prefix, src) => (!src.includes('function_calls') && !m.reasoning
      ? '<｜Assistant｜></think>' + (m.reasoningOnly ? '' : m.content)
      : thinkThen('<｜Assistant｜><think>', '</think>')(m)),
  },
  {
    name: 'Gemma 4',
    thinking: () => true,
    // gemma4.cpp: a render that ends with a closed turn (content and a tool call) gets the model's turn opened
    afterGenerationPrompt: (prompt) => (prompt.endsWith('<turn|>\n') ? '<|turn>model\n' : ''),
    matches: (src) => src.includes("'<|tool_call>call:'"),
    continuation: (m, prefix) => (prefix.endsWith('<turn|>\n') ? '<|turn>model\n' : '') + thinkThen('<|channel>thought\n', '<channel|>')(m),
  },
  {
    name: 'MiniCPM5',
    thinking: () => true,
    matches: (src) => has(src, 'Tool usage guidelines:', '<function name="', '<param name="'),
    continuation: thinkThen('<|im_start|>assistant\n<think>\n', '\n</think>\n\n'),
  },
  {
    name: 'Qwen3-Coder',
    // a thinking model only when the template knows <think>
    thinking: (src) => src.includes('<think>'),
    matches: (src) => has(src, '<tool_call>', '<function=', '<parameter=') && !src.includes("'<tool_call><function=' ~ tool_call.name ~ '>'"),
    // the reasoning block only when the template knows <think>
    continuation: (m, _prefix, src) => '<|im_start|>assistant\n' + (src.includes('<think>')
      ? '<think>\n' + m.reasoning + (m.reasoningOnly ? '' : '\n</think>\n\n' + m.content)
      : (m.reasoningOnly ? '' : m.content)),
  },
];

/**
 * What llama.cpp appends to the render of the earlier messages to continue `last`: the detected format's handler,
 * or its generic path. `generationPrompt` gives the text the template adds for a new assistant turn after them.
 */
export type Continuation = (prefix: string, generationPrompt: () => string) => string;

export function continuationFor(src: string, last: Message, reasoning: () => ReasoningMarkers): Continuation {
  const continued = continuedMessage(last);
  const format = detectChatFormat(src);
  if (format?.continuation) return (prefix) => format.continuation!(continued, prefix, src);
  return (_prefix, generationPrompt) => genericContinuation(continued, generationPrompt(), reasoning());
}

/**
 * chat-auto-parser-generator.cpp: the generation prompt, cut before the reasoning start marker the analysis found
 * (when it has one) and followed by that marker, the reasoning and (continuing content) the end marker; then the
 * content. The markers are written even for a message without reasoning.
 */
export function genericContinuation(m: Continued, generationPrompt: string, markers: ReasoningMarkers): string {
  let out = generationPrompt;
  if (markers.start) {
    const at = out.indexOf(markers.start);
    out = (at < 0 ? out : out.slice(0, at)) + markers.start + m.reasoning + (m.reasoningOnly ? '' : markers.end);
  }
  return m.reasoningOnly ? out : out + m.content;
}

/** The continued message as llama.cpp reads it from the request (`continue_msg`, before any adjustment). */
function continuedMessage(last: Message): Continued {
  const reasoning = typeof last.reasoning_content === 'string' ? last.reasoning_content : '';
  const content = typeof last.content === 'string'
    ? last.content
    : Array.isArray(last.content)
      ? last.content.filter((p) => p && typeof p === 'object' && (p as Message).type === 'text').map((p) => String((p as Message).text ?? '')).join('\n\n')
      : '';
  // chat.cpp: CONTINUATION_REASONING when there is reasoning and neither content nor content parts
  const hasParts = Array.isArray(last.content) && last.content.length > 0;
  return { reasoning, content, reasoningOnly: reasoning !== '' && content === '' && !hasParts };
}

/**
 * Whether llama-server turns thinking on by default for this template (`common_chat_templates_support_enable_thinking`):
 * the recognised format's handler says, otherwise its template analysis found reasoning markers.
 */
export function supportsThinking(src: string, reasoning: () => ReasoningMarkers): boolean {
  const format = detectChatFormat(src);
  return format ? (format.thinking?.(src) ?? false) : reasoning().mode !== 'none';
}

/** The format llama.cpp would pick for this template text, if any (otherwise its generic path). */
export function detectChatFormat(src: string): ChatFormat | undefined {
  return CHAT_FORMATS.find((f) => f.matches(src));
}

/**
 * The messages as llama.cpp hands them to this template: StepFun's whitespace trimming (checked before any format),
 * the old Gemma-4 tool-response folding, DeepSeek V4's tool-result order, then the detected format's adjustment.
 */
export function adjustForChatFormat(src: string, messages: Message[]): Message[] {
  let out = messages;
  // chat.cpp: StepFun templates get every message's content and reasoning trimmed (issue #24181)
  if (src.includes('You have access to the following functions in JSONSchema format')) out = out.map(trimContent);
  // chat.cpp: Gemma-4 templates from before the official one get tool results folded into the assistant turn
  if (src.includes("'<|tool_call>call:'") && !src.includes('{#- OpenAI Chat Completions:')) out = foldToolResponses(out);
  const format = detectChatFormat(src);
  return format?.adjust ? format.adjust(out, src) : out;
}

/** gpt-oss.cpp: reasoning goes to `thinking`, which the harmony template prints; beside tool calls, `content` is dropped. */
function gptOssThinking(messages: Message[]): Message[] {
  return messages.map((m) => {
    if (typeof m.reasoning_content !== 'string') return m;
    const out: Message = { ...m, thinking: m.reasoning_content };
    if (Array.isArray(m.tool_calls) && m.tool_calls.length) delete out.content;
    return out;
  });
}

/** lfm2.cpp: reasoning is copied to `thinking`, the field LFM2 templates print. */
function copyReasoningToThinking(messages: Message[]): Message[] {
  return messages.map((m) => (typeof m.reasoning_content === 'string' ? { ...m, thinking: m.reasoning_content } : m));
}

/**
 * ministral3.cpp: system and assistant messages get their content as blocks, a `thinking` block for the reasoning
 * first, then a `text` block for string content (or the parts as they are); `reasoning_content` is removed.
 */
function ministralBlocks(messages: Message[]): Message[] {
  return messages.map((m) => {
    if (m.role !== 'system' && m.role !== 'assistant') return m;
    const blocks: unknown[] = [];
    if (typeof m.reasoning_content === 'string') blocks.push({ type: 'thinking', thinking: m.reasoning_content });
    if (typeof m.content === 'string') blocks.push({ type: 'text', text: m.content });
    else if (Array.isArray(m.content)) blocks.push(...m.content);
    const out: Message = { ...m, content: blocks };
    delete out.reasoning_content;
    return out;
  });
}

/**
 * deepseek.cpp (V4): in each run of user and tool messages, the tool results are put in the order of the calls
 * of the assistant turn before them (matched by `tool_call_id`, unknown ids first), keeping their positions.
 */
function sortToolResultsByCall(messages: Message[]): Message[] {
  const out = [...messages];
  let order = new Map<string, number>();
  for (let i = 0; i < out.length; ) {
    const m = out[i];
    if (m.role === 'assistant' && Array.isArray(m.tool_calls) && m.tool_calls.length) {
      order = new Map();
      (m.tool_calls as { id?: unknown }[]).forEach((c, k) => {
        if (typeof c?.id === 'string' && c.id) order.set(c.id, k);
      });
      i++;
      continue;
    }
    if (m.role !== 'user' && m.role !== 'tool') {
      i++;
      continue;
    }
    const positions: number[] = [];
    let end = i;
    for (; end < out.length && (out[end].role === 'user' || out[end].role === 'tool'); end++) if (out[end].role === 'tool') positions.push(end);
    if (positions.length > 1 && order.size) {
      const rank = (t: Message) => order.get(typeof t.tool_call_id === 'string' ? t.tool_call_id : '') ?? 0;
      const sorted = positions.map((p) => out[p]).map((t, k) => ({ t, k })).sort((a, b) => rank(a.t) - rank(b.t) || a.k - b.k);
      positions.forEach((p, k) => {
        out[p] = sorted[k].t;
      });
    }
    i = end;
  }
  return out;
}

/** chat.cpp `trim_all_content`: content, reasoning and text parts lose leading and trailing whitespace. */
function trimContent(m: Message): Message {
  const out: Message = { ...m };
  if (typeof m.content === 'string') out.content = trimWhitespace(m.content);
  if (typeof m.reasoning_content === 'string') out.reasoning_content = trimWhitespace(m.reasoning_content);
  if (Array.isArray(m.content)) {
    out.content = m.content.map((p) => (p && typeof p === 'object' && (p as Message).type === 'text' && typeof (p as Message).text === 'string'
      ? { ...(p as Message), text: trimWhitespace((p as Message).text as string) }
      : p));
  }
  return out;
}

/** llama.cpp's `trim_whitespace`: ASCII spaces, tabs and line breaks at both ends. */
function trimWhitespace(s: string): string {
  return s.replace(/^[ \t\n\r\v\f]+|[ \t\n\r\v\f]+$/g, '');
}

function nonEmptyString(v: unknown): v is string {
  return typeof v === 'string' && v.length > 0;
}

/**
 * llama.cpp's `convert_tool_responses_gemma4`: an assistant turn with tool calls, the tool results after it and
 * a final assistant answer become one assistant message `{role, tool_calls, tool_responses, content?,
 * reasoning_content?}`; each result is matched to its call by position, its content parsed as JSON when it is.
 */
function foldToolResponses(messages: Record<string, unknown>[]): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = [];
  for (let i = 0; i < messages.length; ) {
    const m = messages[i];
    const calls = m.tool_calls as { function?: { name?: string } }[] | undefined;
    if (m.role !== 'assistant' || !Array.isArray(calls) || calls.length === 0) {
      out.push(m);
      i++;
      continue;
    }
    const responses: { name: string; response: unknown }[] = [];
    for (i++; i < messages.length && messages[i].role === 'tool'; i++) {
      const t = messages[i];
      let response: unknown = t.content;
      if (typeof response === 'string') {
        try {
          response = JSON.parse(response);
        } catch {
          // not JSON: the text itself
        }
      }
      const name = calls[responses.length]?.function?.name || (typeof t.tool_call_id === 'string' ? t.tool_call_id : '');
      responses.push({ name, response });
    }
    const folded: Record<string, unknown> = { role: 'assistant', tool_calls: calls };
    if (responses.length) folded.tool_responses = responses;
    const next = messages[i];
    if (next?.role === 'assistant' && !(Array.isArray(next.tool_calls) && next.tool_calls.length) && nonEmptyString(next.content)) {
      folded.content = next.content;
      i++;
    }
    if (typeof m.reasoning_content === 'string') folded.reasoning_content = m.reasoning_content;
    out.push(folded);
  }
  return out;
}

