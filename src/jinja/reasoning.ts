import type { TemplateCaps } from '../normalize.js';
import { diffSplit, isSpace, pruneSpace, segmentize, trimSpace } from './diff-split.js';

/**
 * The reasoning markers llama.cpp's differential template analysis finds for a template it does not know by name
 * (common/chat-diff-analyzer.cpp, `analyze_reasoning`): it renders probe conversations that differ in one respect
 * (an assistant message with and without reasoning, thinking on and off, reasoning beside a tool call) and reads
 * the markers around the reasoning text, or the tags the generation prompt gains. llama-server writes a continued
 * message's reasoning between these markers, and turns thinking on by default when a mode was found.
 */

export type ReasoningMode = 'none' | 'tags' | 'tools-only';

export interface ReasoningMarkers {
  mode: ReasoningMode;
  start: string;
  end: string;
}

/** Renders the template with these variables as llama.cpp's analysis does; undefined when the template fails. */
export type ProbeRender = (vars: Record<string, unknown>) => string | undefined;

// the probe texts llama.cpp's analysis uses
const USER_MSG = 'U_USER_MSG Hello END_U';
const ASSISTANT_MSG = 'A_ASST_MSG I can help END_A';
const THINKING = 'REASON_PART I am thinking END_R';
const FUN_FIRST = 'FFF_FIRST_FUN_F';
const FUN_SECOND = 'SSS_SECOND_FUN_S';
const ARG_FIRST = 'AA_ARG_FST_AA';
const ARG_SECOND = 'BB_ARG_SND_BB';

const PARAMS_SCHEMA = {
  type: 'object',
  properties: {
    [ARG_FIRST]: { type: 'string', description: 'First argument' },
    [ARG_SECOND]: { type: 'string', description: 'Second argument' },
  },
  required: [],
};
const PROBE_TOOLS = [
  { type: 'function', function: { name: FUN_FIRST, description: 'Test function foo', parameters: PARAMS_SCHEMA } },
  { type: 'function', function: { name: FUN_SECOND, description: 'Test function bar', parameters: PARAMS_SCHEMA } },
];

const user = { role: 'user', content: USER_MSG };

export function analyzeReasoning(render: ProbeRender, src: string, caps: TemplateCaps, bos: string, eos: string): ReasoningMarkers {
  return analyzeTemplate(render, src, caps, bos, eos).markers;
}

/** What llama.cpp's differential analysis makes of a template it does not know by name. */
export interface TemplateAnalysis {
  markers: ReasoningMarkers;
  /**
   * Why the analysis fails, as llama.cpp words it (its tool-call phase could not read the template's tool call):
   * llama-server then refuses the template at start-up and every request. Absent: it succeeds.
   */
  failure?: string;
}

export function analyzeTemplate(render: ProbeRender, src: string, caps: TemplateCaps, bos: string, eos: string): TemplateAnalysis {
  // the analysis hands messages through llama.cpp's input normaliser only: content becomes parts for a template
  // that reads only parts (no other request handling)
  const onlyTyped = caps.stringContent === false && caps.typedContent === true;
  const apply = (p: { messages: Record<string, unknown>[]; tools?: unknown[]; generation?: boolean; thinking: boolean }) => {
    const messages = onlyTyped
      ? p.messages.map((m) => (typeof m.content === 'string' ? { ...m, content: [{ type: 'text', text: m.content }] } : m))
      : p.messages;
    const vars: Record<string, unknown> = { messages, bos_token: bos, eos_token: eos, enable_thinking: p.thinking };
    if (p.tools?.length) vars.tools = p.tools;
    if (p.generation) vars.add_generation_prompt = true;
    return render(vars);
  };
  const r: ReasoningMarkers = { mode: 'none', start: '', end: '' };
  reasoningPresence(r, apply);
  thinkingToggle(r, apply);
  if (caps.toolCalls) reasoningScope(r, apply);
  // the tool-call phase runs on the markers as found, before the per-template workarounds
  const failure = caps.toolCalls ? toolCallFailure(r, apply) : undefined;
  applyKnownTemplates(r, src);
  return failure === undefined ? { markers: r } : { markers: r, failure };
}

/**
 * chat-diff-analyzer.cpp `analyze_tool_calls` / `analyze_tool_call_format`: an assistant message with content
 * against one with a tool call. Where the function name follows `{` or `:` in double quotes the template writes
 * JSON tool calls, and the text from the first `{` to the last `}` of the call (reasoning markers taken out) is
 * parsed as JSON; a template that prints the arguments in another notation (Python's repr of a mapping, through
 * `|string`) makes that parse throw, and llama.cpp gives up on the template.
 */
function toolCallFailure(r: ReasoningMarkers, apply: Apply): string | undefined {
  const call = { id: 'call00001', type: 'function', function: { name: FUN_FIRST, arguments: { [ARG_FIRST]: 'XXXX', [ARG_SECOND]: 'YYYY' } } };
  const a = apply({ messages: [user, { role: 'assistant', content: ASSISTANT_MSG }], tools: PROBE_TOOLS, thinking: true });
  const b = apply({ messages: [user, { role: 'assistant', content: '', tool_calls: [call] }], tools: PROBE_TOOLS, thinking: true });
  if (a === undefined || b === undefined) return undefined;
  const section = diffSplit(a, b).right;
  if (section === '' || !new RegExp(`[{:][ \\t\\n\\r]*"${FUN_FIRST}"`).test(section)) return undefined;
  let clean = section;
  if (r.start !== '' && clean.includes(r.start)) clean = clean.replace(r.start, () => '');
  if (r.end !== '' && clean.includes(r.end)) clean = clean.replace(r.end, () => '');
  const from = clean.indexOf('{');
  if (from < 0) return `the tool call it prints is not JSON: ${JSON.stringify(clean)}`;
  const to = clean.lastIndexOf('}');
  const cut = to >= from ? clean.slice(from, to + 1) : clean.slice(from);
  try {
    JSON.parse(cut);
    return undefined;
  } catch (err) {
    return `the tool call it prints is not JSON (${(err as Error).message}): ${JSON.stringify(cut.length > 120 ? cut.slice(0, 120) + '...' : cut)}`;
  }
}

type Apply = (p: { messages: Record<string, unknown>[]; tools?: unknown[]; generation?: boolean; thinking: boolean }) => string | undefined;

/** An assistant message with and without reasoning: the markers around the reasoning text where it appears. */
function reasoningPresence(r: ReasoningMarkers, apply: Apply): void {
  const a = apply({ messages: [user, { role: 'assistant', content: ASSISTANT_MSG }], thinking: true });
  const b = apply({ messages: [user, { role: 'assistant', content: ASSISTANT_MSG, reasoning_content: THINKING }], thinking: true });
  if (a === undefined || b === undefined) return;
  if (!diffSplit(a, b).right.includes(THINKING)) return;
  const wrapped = findAnywhere(b, (i) => wrappedAt(b, i, true));
  const tags = wrapped ?? findAnywhere(b, (i) => delimitedAt(b, i));
  if (!tags) return;
  if (tags.pre && tags.post) {
    r.mode = 'tags';
    r.start = tags.pre;
    r.end = tags.post;
  } else if (tags.post) {
    r.mode = 'tags';
    r.end = tags.post;
  }
}

/** The generation prompt with thinking off and on: the tags it gains or loses. */
function thinkingToggle(r: ReasoningMarkers, apply: Apply): void {
  const a = apply({ messages: [user], generation: true, thinking: false });
  const b = apply({ messages: [user], generation: true, thinking: true });
  if (a === undefined || b === undefined) return;
  const d = diffSplit(a, b);
  const left = trimSpace(d.left);
  const right = trimSpace(d.right);
  if (left === '' && d.right !== '') {
    // thinking on opens a block: its opening tag, as printed
    if (right !== '' && b.endsWith(right) && r.start === '') {
      r.start = d.right;
      r.mode = 'tags';
    }
  } else if (right === '' && d.left !== '') {
    // thinking off closes an empty block: the closing tag as printed, the marker before it as the opening
    if (left !== '' && a.endsWith(left) && r.end === '') {
      const seg = pruneSpace(segmentize(a));
      if (seg.length >= 2 && seg[seg.length - 1].value === left && seg[seg.length - 2].marker) r.start = seg[seg.length - 2].value;
      r.end = d.left;
      r.mode = 'tags';
    }
  } else if (left !== '' && right !== '') {
    // both differ (a system text that changes too): find where one output's tail ends inside the other, and take
    // two markers that follow it
    const ANCHOR = 64;
    for (const [base, extended] of [[b, a], [a, b]]) {
      const len = Math.min(base.length, ANCHOR);
      const anchor = base.slice(base.length - len);
      const at = extended.lastIndexOf(anchor);
      if (at < 0 || at + len >= extended.length) continue;
      const extra = trimSpace(extended.slice(at + len));
      if (extra === '') continue;
      const seg = pruneSpace(segmentize(extra));
      if (seg.length === 2 && seg[0].marker && seg[1].marker) {
        if (r.start === '') r.start = seg[0].value;
        if (r.end === '') r.end = seg[1].value;
        r.mode = 'tags';
        break;
      }
    }
  }
  if (r.mode === 'none' && r.start === '' && r.end !== '') r.mode = 'tags';
}

/** Reasoning beside content and beside a tool call: a template that prints it only with tool calls. */
function reasoningScope(r: ReasoningMarkers, apply: Apply): void {
  const call = { id: 'call00001', type: 'function', function: { name: FUN_FIRST, arguments: { [ARG_FIRST]: 'VVVV', [ARG_SECOND]: 'XXXX' } } };
  const a = apply({ messages: [user, { role: 'assistant', content: ASSISTANT_MSG, reasoning_content: THINKING }], tools: PROBE_TOOLS, thinking: true });
  const b = apply({ messages: [user, { role: 'assistant', content: null, reasoning_content: THINKING, tool_calls: [call] }], tools: PROBE_TOOLS, thinking: true });
  if (a === undefined || b === undefined) return;
  if (a.includes(THINKING) || !b.includes(THINKING)) return;
  r.mode = 'tools-only';
  const wrapped = findAnywhere(b, (i) => wrappedAt(b, i, false));
  if (wrapped) {
    r.start = wrapped.pre;
    r.end = wrapped.post;
    return;
  }
  const delimited = findAnywhere(b, (i) => delimitedAt(b, i));
  if (delimited) r.end = delimited.post;
  else r.mode = 'none';
}

/**
 * The analysis' fixes for templates its probes misread (chat-diff-analyzer.cpp `workarounds`, recognised by text
 * as llama.cpp recognises them), the ones that set reasoning markers.
 */
function applyKnownTemplates(r: ReasoningMarkers, src: string): void {
  // old Qwen/DeepSeek thinking templates strip <think> from history but never print reasoning_content
  if (src.includes("content.split('</think>')") && !src.includes('reasoning_content') && !src.includes('<SPECIAL_12>') && r.mode === 'none') {
    Object.assign(r, { mode: 'tags', start: '<think>', end: '</think>' });
  }
  // Granite 3.3
  if (src.includes('Write your thoughts between <think></think> and write your response between <response></response>')) {
    Object.assign(r, { mode: 'tags', start: '<think>', end: '</think>' });
  }
  // Nemotron Nano v2
  if (['<SPECIAL_10>', '<SPECIAL_11>', '<SPECIAL_12>', '<TOOL_RESPONSE>'].every((t) => src.includes(t))) {
    Object.assign(r, { mode: 'tags', start: '<think>\n', end: '</think>' });
  }
  // Laguna: the markers lose the formatting newlines its template prints
  if (src.includes('laguna_glm_thinking')) {
    r.start = trimSpace(r.start);
    r.end = trimSpace(r.end);
  }
}

// ---- the analysis' tagged patterns (a marker, whitespace, the probe text, ...) tried at each position in turn ----

interface Tags {
  pre: string;
  post: string;
}

/** The first position where `at` matches (llama.cpp's `parse_anywhere_and_extract`). */
function findAnywhere(s: string, at: (i: number) => Tags | undefined): Tags | undefined {
  for (let i = 0; i < s.length; i++) {
    const t = at(i);
    if (t) return t;
  }
  return undefined;
}

/** `<...>` or `[...]` up to the first closer, or -1. */
function markerEnd(s: string, i: number): number {
  const closer = s[i] === '<' ? '>' : s[i] === '[' ? ']' : '';
  if (!closer) return -1;
  const j = s.indexOf(closer, i + 1);
  return j < 0 ? -1 : j + 1;
}

function spaceEnd(s: string, i: number): number {
  while (i < s.length && isSpace(s[i])) i++;
  return i;
}

/**
 * marker, whitespace, the probe text, whitespace, marker, whitespace. With `spaceInPost` the whitespace after the
 * text belongs to the end marker (the presence probe), without it to neither (the tool-scope probe).
 */
function wrappedAt(s: string, i: number, spaceInPost: boolean): Tags | undefined {
  const m1 = markerEnd(s, i);
  if (m1 < 0) return undefined;
  const p1 = spaceEnd(s, m1);
  if (!s.startsWith(THINKING, p1)) return undefined;
  const t = p1 + THINKING.length;
  const p2 = spaceEnd(s, t);
  const m2 = markerEnd(s, p2);
  if (m2 < 0) return undefined;
  const p3 = spaceEnd(s, m2);
  return { pre: s.slice(i, p1), post: s.slice(spaceInPost ? t : p2, p3) };
}

/** The probe text, whitespace, then an optional marker and whitespace (the end marker). */
function delimitedAt(s: string, i: number): Tags | undefined {
  if (!s.startsWith(THINKING, i)) return undefined;
  const p = spaceEnd(s, i + THINKING.length);
  const m = markerEnd(s, p);
  return { pre: '', post: m < 0 ? '' : s.slice(p, spaceEnd(s, m)) };
}
