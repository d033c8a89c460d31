import { Environment } from '@huggingface/jinja';
import { KvdiffError } from './errors.js';
import { strftime } from './clock.js';
import { LlamaInterpreter, MAX_RENDER_MS, TemplateLimitError } from './jinja/compat.js';
import { parseTemplate } from './jinja/parse.js';
import type { Deadline } from './deadline.js';
import { toRuntime, type RV } from './jinja/values.js';
import type { RenderInput, TemplateCaps } from './normalize.js';

/** Largest `range()` a template may ask for: chat templates loop over messages, never over millions. */
export const MAX_RANGE_ITEMS = 1_000_000;
/**
 * Largest rendered prompt accepted, in characters: 8M characters is about 2M tokens of English, twice the longest
 * context any served model offers. Tokenizing costs about 300 bytes of memory per token, so a prompt that is one
 * token per character (digits) still tokenizes within Node's default heap (MAX_TOKENIZE_CHARS is this limit).
 */
export const MAX_RENDER_CHARS = 8 * 1024 * 1024;
/**
 * Longest format string `strftime_now` takes: real templates pass a dozen characters; a format built by repetition
 * (`'%Y' * 10000000`) would expand outside the template's step budget.
 */
export const MAX_STRFTIME_FORMAT_CHARS = 1024;


/** A parsed chat template plus the fixed clock it renders with. */
export class ChatTemplate {
  private readonly parsed: unknown;
  /** The command's overall deadline: each render stops when it passes (see deadline.ts). */
  deadline?: Deadline;

  constructor(
    readonly source: string,
    /** How to name it in errors: `qwen3 (embedded)`, a file path. */
    readonly label: string,
    private readonly now: Date,
  ) {
    try {
      this.parsed = parseTemplate(lexerSource(source));
    } catch (err) {
      throw new KvdiffError(`chat template ${label} could not be parsed: ${(err as Error).message}`);
    }
  }

  /** Renders; `side` names the request in errors (`A (a.json)`). */
  render(input: RenderInput, side: string): string {
    if (input.continueFinal) return this.renderContinued(input, side);
    const out = this.renderVars(input.vars, input.jinja ?? 'hf', side);
    return input.afterGenerationPrompt ? out + input.afterGenerationPrompt(out) : out;
  }

  /**
   * llama-server's continuation of a trailing assistant message (common/chat.cpp, `common_chat_templates_apply_jinja`):
   * the conversation without that message is rendered with no generation prompt, and the continuation (the chat
   * format's, or llama.cpp's generic one, chat-formats.ts) is appended. So the closing of the last turn is never
   * printed, and whatever the first render ends with (Phi-3's EOS when there is no generation prompt) stays.
   */
  private renderContinued(input: RenderInput, side: string): string {
    const messages = input.vars.messages as Record<string, unknown>[];
    const dialect = input.jinja ?? 'hf';
    const vars = { ...input.vars, messages: messages.slice(0, -1) };
    const prefix = this.renderVars(vars, dialect, side);
    if (!input.continuation) return prefix;
    // chat.cpp `common_chat_template_generation_prompt`: what a render with the generation prompt adds
    const generationPrompt = () => {
      const full = this.renderVars({ ...vars, add_generation_prompt: true }, dialect, side);
      let n = 0;
      while (n < prefix.length && n < full.length && prefix[n] === full[n]) n++;
      return full.slice(n);
    };
    return prefix + input.continuation(prefix, generationPrompt);
  }

  /** A render for llama.cpp's template analysis: the text, or undefined when the template fails. */
  tryRender(vars: Record<string, unknown>): string | undefined {
    try {
      return this.renderVars(vars, 'llama.cpp', 'a probe');
    } catch (err) {
      if (err instanceof TemplateLimitError) throw err;
      if (err instanceof KvdiffError) return undefined;
      throw err;
    }
  }

  private renderVars(vars: Record<string, unknown>, dialect: 'llama.cpp' | 'hf', side: string): string {
    let out: string;
    this.deadline?.check(`rendering ${side}`);
    try {
      out = this.run(vars, dialect).interp.run(this.parsed).value as string;
    } catch (err) {
      if (err instanceof TemplateLimitError && this.deadline && this.deadline.remaining() <= 0) throw this.deadline.error(`rendering ${side}`);
      if (err instanceof TemplateRaised) {
        throw new KvdiffError(`template ${this.label} raised an error while rendering ${side}: "${err.message}"`);
      }
      if (err instanceof TemplateLimitError) throw new TemplateLimitError(`template ${this.label} stopped while rendering ${side}: ${err.message}`);
      if (err instanceof KvdiffError) throw err;
      throw new KvdiffError(`template ${this.label} failed while rendering ${side}: ${(err as Error).message}`);
    }
    if (out.length > MAX_RENDER_CHARS) {
      throw new KvdiffError(`template ${this.label} rendered more than ${MAX_RENDER_CHARS} characters for ${side}`);
    }
    return out;
  }

  /** An interpreter over a fresh environment holding the globals and `vars`. */
  private run(vars: Record<string, unknown>, dialect: 'llama.cpp' | 'hf', trackUse = false): { env: Environment; interp: LlamaInterpreter } {
    // the globals @huggingface/jinja's Template.render sets, with a fixed clock, a bounded range() and
    // raise_exception that keeps the template author's message
    const env = new Environment();
    const globals: Record<string, unknown> = {
      false: false,
      true: true,
      none: null,
      False: false,
      True: true,
      None: null,
      strftime_now: (fmt: unknown) => {
        const f = String(fmt);
        if (f.length > MAX_STRFTIME_FORMAT_CHARS) {
          throw new TemplateLimitError(`strftime_now() was given a format of ${f.length} characters, over the limit of ${MAX_STRFTIME_FORMAT_CHARS} (MAX_STRFTIME_FORMAT_CHARS)`);
        }
        return strftime(this.now, f);
      },
      raise_exception: (msg: unknown) => {
        throw new TemplateRaised(String(msg));
      },
      range: boundedRange,
    };
    for (const [k, v] of Object.entries({ ...globals, ...vars })) env.setVariable(k, toRuntime(v) as never);
    const maxMs = this.deadline ? Math.min(MAX_RENDER_MS, this.deadline.remaining()) : undefined;
    return { env, interp: new LlamaInterpreter(env, { dialect, maxChars: MAX_RENDER_CHARS, trackUse, maxMs }) };
  }

  /**
   * Runs the template the way llama.cpp's caps detection does (`ctx.is_get_stats`): whether it succeeded, and
   * which values it used.
   */
  probe(vars: Record<string, unknown>, watch: (env: Environment) => RV[]): ProbeResult {
    const { env, interp } = this.run(vars, 'llama.cpp', true);
    // pick the watched values before the template can rebind the variables holding them
    const watched = watch(env);
    let ok = true;
    let output = '';
    try {
      output = interp.run(this.parsed).value as string;
    } catch (err) {
      if (err instanceof TemplateLimitError) {
        if (this.deadline && this.deadline.remaining() <= 0) throw this.deadline.error('probing the template');
        throw new TemplateLimitError(`template ${this.label} stopped while probing what it reads: ${err.message}`);
      }
      ok = false;
    }
    return { ok, output, used: watched.map((v) => interp.used.has(v)), ops: watched.map((v) => interp.ops.get(v) ?? new Set()) };
  }
}

/** One caps probe: whether the render succeeded, its text, and for each watched value whether and how it was used. */
export interface ProbeResult {
  ok: boolean;
  output: string;
  used: boolean[];
  ops: Set<string>[];
}

/**
 * llama.cpp's template reader (common/jinja/lexer.cpp) turns CRLF and lone CR into LF and drops one trailing
 * newline if the file ends with `\n`. @huggingface/jinja drops one trailing `\n` itself, so a file ending in a
 * lone CR (kept as a newline by llama.cpp) gets an extra one to lose.
 */
export function lexerSource(source: string): string {
  const lf = source.replace(/\r\n?/g, '\n');
  return source.endsWith('\r') ? lf + '\n' : lf;
}

class TemplateRaised extends Error {}

function boundedRange(start: unknown, stop?: unknown, step?: unknown): number[] {
  let a = Number(start);
  let b = stop === undefined || stop === null ? undefined : Number(stop);
  const s = step === undefined || step === null ? 1 : Number(step);
  if (b === undefined) {
    b = a;
    a = 0;
  }
  if (!Number.isInteger(a) || !Number.isInteger(b) || !Number.isInteger(s) || s === 0) {
    throw new KvdiffError('range() takes integers and a non-zero step');
  }
  const n = Math.max(0, Math.ceil((b - a) / s));
  if (n > MAX_RANGE_ITEMS) throw new KvdiffError(`range() of ${n} items is over the limit of ${MAX_RANGE_ITEMS}`);
  return Array.from({ length: n }, (_, i) => a + i * s);
}


export { detectCaps } from './jinja/caps.js';
