/**
 * What a server says about a response: its `timings`, `usage` and the prompt-cache reuse it reports, read from a
 * JSON body or, for a streamed one, from the events as they pass (the last event carrying them wins).
 */

/** Where the reported reuse came from. */
export type ReuseField =
  | 'timings.cache_n'
  | 'usage.prompt_tokens_details.cached_tokens'
  | 'usage.input_tokens_details.cached_tokens'
  | 'usage.cache_read_input_tokens';

export interface ServerCounters {
  timings: unknown;
  usage: unknown;
  /** Prompt tokens the server took from its cache, when it says. */
  reused: number | null;
  reusedField: ReuseField | null;
  /** Prompt length the server reports (`usage.prompt_tokens`, `timings.prompt_n + cache_n`, ...). */
  promptTokens: number | null;
  /** For chat completions: the generated message (content, reasoning, tool calls) and why it stopped. */
  message: Record<string, unknown> | null;
  finishReason: string | null;
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const numOf = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);

/** Reads the counters once a response is complete. */
export function countersOf(timings: unknown, usage: unknown): Pick<ServerCounters, 'reused' | 'reusedField' | 'promptTokens'> {
  const t = isObj(timings) ? timings : {};
  const u = isObj(usage) ? usage : {};
  const details = (k: string) => (isObj(u[k]) ? (u[k] as Obj) : {});
  const candidates: [ReuseField, number | null][] = [
    ['timings.cache_n', numOf(t.cache_n)],
    ['usage.prompt_tokens_details.cached_tokens', numOf(details('prompt_tokens_details').cached_tokens)],
    ['usage.input_tokens_details.cached_tokens', numOf(details('input_tokens_details').cached_tokens)],
    ['usage.cache_read_input_tokens', numOf(u.cache_read_input_tokens)],
  ];
  const hit = candidates.find(([, v]) => v !== null);
  const cacheN = numOf(t.cache_n);
  const promptN = numOf(t.prompt_n);
  // Anthropic's input_tokens leaves out the cached part (llama-server: prompt − cached)
  const anthropicPrompt = numOf(u.input_tokens) !== null && numOf(u.cache_read_input_tokens) !== null ? numOf(u.input_tokens)! + numOf(u.cache_read_input_tokens)! : null;
  const promptTokens =
    numOf(u.prompt_tokens) ?? (cacheN !== null && promptN !== null ? cacheN + promptN : null) ?? anthropicPrompt ?? numOf(u.input_tokens);
  return { reused: hit ? hit[1] : null, reusedField: hit ? hit[0] : null, promptTokens };
}

/** Characters of a non-streamed response body kept to read its counters (bigger bodies are not parsed). */
export const MAX_RESPONSE_CHARS = 64 * 1024 * 1024;

/** Counters of a complete JSON response body (any dialect). */
export function countersFromBody(text: string): ServerCounters {
  let root: unknown;
  try {
    root = JSON.parse(text);
  } catch {
    return empty();
  }
  if (!isObj(root)) return empty();
  // Responses API nests usage under the response object in stream events; in a plain body it is top-level
  const usage = root.usage;
  const choice = Array.isArray(root.choices) && isObj(root.choices[0]) ? (root.choices[0] as Obj) : null;
  return {
    timings: root.timings ?? null,
    usage: usage ?? null,
    ...countersOf(root.timings, usage),
    message: choice && isObj(choice.message) ? (choice.message as Obj) : null,
    finishReason: choice && typeof choice.finish_reason === 'string' ? choice.finish_reason : null,
  };
}

function empty(): ServerCounters {
  return { timings: null, usage: null, reused: null, reusedField: null, promptTokens: null, message: null, finishReason: null };
}

/** Bytes of one unfinished server-sent-events line kept; a longer line is skipped, not buffered without end. */
const MAX_EVENT_LINE_CHARS = 16 * 1024 * 1024;

/**
 * Follows a server-sent-events stream chunk by chunk, keeping only what the counters need: the last `timings`
 * and `usage` seen (chat chunks, Anthropic `message_start`/`message_delta`, Responses `response.completed`) and the
 * chat message assembled from its deltas.
 */
export class StreamCounters {
  private pending = '';
  private skipping = false;
  private readonly decoder = new TextDecoder();
  private timings: unknown = null;
  private usage: Obj | null = null;
  private content = '';
  private reasoning = '';
  private toolCalls: { id?: string; type?: string; function: { name: string; arguments: string } }[] = [];
  private role: string | null = null;
  private finish: string | null = null;

  push(chunk: Uint8Array): void {
    const text = this.decoder.decode(chunk, { stream: true });
    let start = 0;
    for (let nl = text.indexOf('\n'); nl >= 0; nl = text.indexOf('\n', start)) {
      const line = this.skipping ? '' : this.pending + text.slice(start, nl);
      if (!this.skipping) this.line(line.endsWith('\r') ? line.slice(0, -1) : line);
      this.pending = '';
      this.skipping = false;
      start = nl + 1;
    }
    if (!this.skipping) this.pending += text.slice(start);
    if (this.pending.length > MAX_EVENT_LINE_CHARS) {
      this.pending = '';
      this.skipping = true;
    }
  }

  end(): ServerCounters {
    if (this.pending && !this.skipping) this.line(this.pending);
    this.pending = '';
    const message: Obj | null = this.role || this.content || this.reasoning || this.toolCalls.length
      ? {
          role: this.role ?? 'assistant',
          content: this.content,
          ...(this.reasoning ? { reasoning_content: this.reasoning } : {}),
          ...(this.toolCalls.length
            ? { tool_calls: this.toolCalls.filter(Boolean).map((t) => ({ ...(t.id !== undefined ? { id: t.id } : {}), type: t.type ?? 'function', function: t.function })) }
            : {}),
        }
      : null;
    return { timings: this.timings, usage: this.usage, ...countersOf(this.timings, this.usage), message, finishReason: this.finish };
  }

  private line(line: string): void {
    if (!line.startsWith('data:')) return;
    const data = line.slice(5).trim();
    if (data === '' || data === '[DONE]') return;
    let ev: unknown;
    try {
      ev = JSON.parse(data);
    } catch {
      return;
    }
    if (!isObj(ev)) return;
    if (ev.timings !== undefined) this.timings = ev.timings;
    // Anthropic: message_start carries message.usage, message_delta carries usage (later fields win)
    const usage = isObj(ev.usage) ? ev.usage : isObj(ev.message) && isObj(ev.message.usage) ? ev.message.usage : isObj(ev.response) && isObj(ev.response.usage) ? ev.response.usage : null;
    if (usage) this.usage = { ...(this.usage ?? {}), ...dropNulls(usage) };
    const choice = Array.isArray(ev.choices) && isObj(ev.choices[0]) ? ev.choices[0] : null;
    if (!choice) return;
    if (typeof choice.finish_reason === 'string') this.finish = choice.finish_reason;
    const delta = isObj(choice.delta) ? choice.delta : null;
    if (!delta) return;
    if (typeof delta.role === 'string') this.role = delta.role;
    if (typeof delta.content === 'string') this.content += delta.content;
    if (typeof delta.reasoning_content === 'string') this.reasoning += delta.reasoning_content;
    if (Array.isArray(delta.tool_calls)) {
      for (const tc of delta.tool_calls) {
        if (!isObj(tc)) continue;
        const i = typeof tc.index === 'number' ? tc.index : this.toolCalls.length;
        const slot = (this.toolCalls[i] ??= { function: { name: '', arguments: '' } });
        if (typeof tc.id === 'string') slot.id = tc.id;
        if (typeof tc.type === 'string') slot.type = tc.type;
        const fn = isObj(tc.function) ? tc.function : {};
        if (typeof fn.name === 'string') slot.function.name += fn.name;
        if (typeof fn.arguments === 'string') slot.function.arguments += fn.arguments;
      }
    }
  }
}

function dropNulls(o: Obj): Obj {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== null));
}
