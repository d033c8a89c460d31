import { Environment, Interpreter, Template } from '@huggingface/jinja';
import { KvdiffError } from './errors.js';
import { strftime } from './clock.js';
import type { RenderInput, TemplateCaps } from './normalize.js';

/** Largest `range()` a template may ask for: chat templates loop over messages, never over millions. */
export const MAX_RANGE_ITEMS = 1_000_000;
/** Largest rendered prompt accepted, in characters (about 16M tokens). */
export const MAX_RENDER_CHARS = 64 * 1024 * 1024;


/** A parsed chat template plus the fixed clock it renders with. */
export class ChatTemplate {
  private readonly parsed: Template;

  constructor(
    readonly source: string,
    /** How to name it in errors: `qwen3 (embedded)`, a file path. */
    readonly label: string,
    private readonly now: Date,
  ) {
    try {
      this.parsed = new Template(source);
    } catch (err) {
      throw new KvdiffError(`chat template ${label} could not be parsed: ${(err as Error).message}`);
    }
  }

  /** Renders; `side` names the request in errors (`A (a.json)`). */
  render(input: RenderInput, side: string): string {
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
      strftime_now: (fmt: unknown) => strftime(this.now, String(fmt)),
      raise_exception: (msg: unknown) => {
        throw new TemplateRaised(String(msg));
      },
      range: boundedRange,
    };
    for (const [k, v] of Object.entries({ ...globals, ...input.vars })) env.set(k, v);
    let out: string;
    try {
      out = new Interpreter(env).run(this.parsed.parsed).value as string;
    } catch (err) {
      if (err instanceof TemplateRaised) {
        throw new KvdiffError(`template ${this.label} raised an error while rendering ${side}: "${err.message}"`);
      }
      if (err instanceof KvdiffError) throw err;
      throw new KvdiffError(`template ${this.label} failed while rendering ${side}: ${(err as Error).message}`);
    }
    if (out.length > MAX_RENDER_CHARS) {
      throw new KvdiffError(`template ${this.label} rendered more than ${MAX_RENDER_CHARS} characters for ${side}`);
    }
    return out;
  }
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


/** Probe text: distinctive enough never to appear in a template by itself. */
const PROBE = 'KVDIFF_PROBE_7f3a';

/**
 * What llama.cpp's `common/jinja/caps.cpp` learns about a template, found the same way where possible
 * (rendering probe messages) and from the template's text where llama.cpp tracks variable access.
 */
export function detectCaps(template: ChatTemplate): TemplateCaps {
  const src = template.source;
  const tryRender = (content: unknown): string => {
    try {
      return template.render({ vars: { messages: [{ role: 'user', content }], add_generation_prompt: true, bos_token: '', eos_token: '' } }, 'a probe');
    } catch {
      return '';
    }
  };
  const stringOut = tryRender(PROBE);
  const typedOut = stringOut.includes(PROBE) ? '' : tryRender([{ type: 'text', text: PROBE }]);
  return {
    objectArguments: /arguments\s*\|\s*tojson|arguments\s*\.\s*(items|keys|values)\s*\(|arguments\s*\[|arguments\s*\.\s*[A-Za-z_]/.test(src),
    stringContent: stringOut.includes(PROBE) || !typedOut.includes(PROBE),
    keepsDeveloperRole: src.includes('<|channel|>'),
  };
}
