import { commonPrefix, commonTextPrefix, type Comparison } from '../compare.js';
import { SubstringFilter } from '../text.js';
import { backendProfile, type Backend } from '../backends.js';
import type { Processed, Processor } from '../processor.js';
import { KvdiffError } from '../errors.js';
import { TemplateLimitError } from '../jinja/compat.js';
import { ignoredReason, type IgnoredReason } from '../normalize.js';
import type { RequestBody } from '../payload/body.js';
import type { JsonNode } from '../payload/json.js';
import type { JsonPath } from '../payload/path.js';
import { diffBodies, type CodeUnion, type DiffArgs, type DiffCode, type Difference } from './diff.js';
import type { DialectNote } from '../dialect/notes.js';
import { convert } from '../dialect/index.js';

/** Each finding code with its arguments: the JSON difference kinds, plus what only rendering reveals. */
export interface FindingArgs extends DiffArgs {
  /** B keeps A's messages, yet the template renders them differently from A's message `message` on. */
  TEMPLATE_REWRITES_HISTORY: { message: number };
  /** A ended with a generation prompt that B's next assistant turn (of `appended` messages) does not render. */
  GENERATION_PROMPT: { appended: number };
  /** A's text is a prefix of B's, but tokens merge across the boundary. */
  TOKEN_BOUNDARY: { appended: number };
  /** No single difference moves the divergence there (differences interact). */
  UNEXPLAINED: Record<never, never>;
}

export type FindingCode = keyof FindingArgs;

interface FindingBase {
  path: JsonPath;
  /** Which file the path points into. */
  side: 'a' | 'b';
  /** First token of A's prompt that this difference alone changes; null for ignored ones. */
  token: number | null;
  /** Whether it changes tokens A's prompt already had (a cache break), not only what comes after. */
  breaks: boolean;
  /** Set when the difference could not be tested alone: the error the template or server raised with it. */
  error?: string;
  /** What the other message handling does with it (llama.cpp ↔ raw), for ignored differences and causes. */
  elsewhere?: { backend: Backend; changesRender: boolean };
  /** For ignored differences: what the backend's message handling did with it (from the normalizer). */
  reason?: IgnoredReason;
  /** For /v1/messages and /v1/responses bodies: where the field lands in the converted body (`src/dialect/notes.ts`). */
  dialect?: DialectNote;
}

/** One finding: a code, where it is, and the code's own arguments. */
export type Finding = CodeUnion<FindingArgs, FindingBase>;

export interface Attribution {
  /** Differences that change the render, in token order. */
  causes: Finding[];
  /** Differences the backend and template ignore (the render is byte-identical with them). */
  ignored: Finding[];
  /** Appended messages that extend A's prompt without touching it. */
  growth: Finding[];
}

/**
 * Tests each JSON difference as a cause: apply it alone to A, render and tokenize, and see whether and where
 * A's tokens change. Nothing is guessed from the diff itself. Differences of one systematic kind (the same code
 * on the same key, e.g. `call_id` added to every tool call) are first applied together: when even all of them
 * leave the render byte-identical, each is ignored without a render of its own; otherwise each is tested alone.
 */
export function attribute(engine: Processor, a: RequestBody, b: RequestBody, pa: Processed, pb: Processed, cmp: Comparison): Attribution {
  const causes: Finding[] = [];
  const ignored: { f: Finding; order: number }[] = [];
  const growth: Finding[] = [];
  const other = elsewhere(engine, a);
  const test = (body: RequestBody, what: string): Processed | KvdiffError => {
    try {
      // a variant differs from A in one place: its tokens before that place are A's (processAfter)
      return engine.processAfter ? engine.processAfter(body, what, pa) : engine.process(body, what);
    } catch (err) {
      // a template stopped by a limit stops the whole analysis: every other variant would hit it again
      if (err instanceof KvdiffError && !(err instanceof TemplateLimitError)) return err;
      throw err;
    }
  };
  for (const group of plan(a, b)) {
    if (group.members.length > 1) {
      const together = test(group.body, `A with ${group.members.length} differences of one kind (${group.members[0].d.code})`);
      if (!(together instanceof KvdiffError) && together.rendered === pa.rendered) {
        const note = other.lazy(group.body);
        for (const { d, order } of group.members) ignored.push({ f: ignoredFinding(engine, d, note), order });
        continue;
      }
    }
    for (const { d, body, order } of group.members) {
      const base = baseOf(d);
      const variant = test(body, `A with only this difference (${d.code})`);
      if (variant instanceof KvdiffError) {
        causes.push({ ...base, token: cmp.firstDivergence?.token ?? null, breaks: cmp.firstDivergence !== null, error: variant.message });
        continue;
      }
      if (variant.rendered === pa.rendered) {
        ignored.push({ f: ignoredFinding(engine, d, other.lazy(body)), order });
        continue;
      }
      const lcp = commonPrefix(pa.tokens.ids, variant.tokens.ids);
      const breaks = lcp < pa.tokens.ids.length;
      if (d.code === 'MESSAGES_APPENDED') {
        if (!breaks) growth.push({ ...base, token: lcp, breaks });
        else causes.push(appendedCause(d, a, pa, variant, lcp));
        continue;
      }
      causes.push(other.attach({ ...base, token: lcp, breaks }, other.lazy(body)));
    }
  }
  causes.sort((x, y) => (x.token ?? Infinity) - (y.token ?? Infinity));
  const first = cmp.firstDivergence?.token;
  if (first !== undefined && !causes.some((c) => c.token === first)) {
    causes.unshift({ code: 'UNEXPLAINED', path: [], side: 'b', token: first, breaks: true });
  }
  // ignored in document order, whichever way they were found
  ignored.sort((x, y) => x.order - y.order);
  return { causes, ignored: ignored.map((x) => x.f), growth };
}

/** A difference as a finding (its code and arguments), before attribution says where it acts. */
function baseOf(d: Difference): Finding {
  const { apply: _apply, ...rest } = d;
  return { ...rest, token: null, breaks: false };
}

function ignoredFinding(engine: Processor, d: Difference, note: LazyNote): Finding {
  const f: Finding = { ...baseOf(d) };
  // the reason depends on the other handling's render only in its last cases: render when the reason is read, and
  // only if it would change the answer
  const reason = (): IgnoredReason => {
    const unchanged = ignoredReason(engine.backend, d, false);
    return unchanged === ignoredReason(engine.backend, d, true) ? unchanged : ignoredReason(engine.backend, d, note()?.changesRender);
  };
  Object.defineProperty(f, 'reason', { enumerable: true, configurable: true, get: reason });
  return attachNote(f, note);
}

/** What a difference does under the other message handling, computed (two renders) only when first read. */
type LazyNote = () => FindingBase['elsewhere'];

/** Gives `f` an `elsewhere` that renders on first read: reporters read it, `check` summaries and most library uses never do. */
function attachNote<F extends Finding>(f: F, note: LazyNote): F {
  let value: FindingBase['elsewhere'] | null = null;
  Object.defineProperty(f, 'elsewhere', {
    enumerable: true,
    configurable: true,
    get: () => (value === null ? (value = note()) : value),
  });
  return f;
}

/** Codes that a serializer or session store tends to apply to every message alike. */
const SYSTEMATIC: ReadonlySet<DiffCode> = new Set(['EXTRA_FIELD', 'MISSING_FIELD', 'FIELD_RENAMED', 'KEY_ORDER', 'JSON_REFORMATTED', 'NUMBER_FORMAT']);

interface Planned {
  d: Difference;
  body: RequestBody;
  /** Position of the difference in document order. */
  order: number;
}

/** The what-if requests attribution renders: groups of one systematic kind (with all applied), and singles. */
export function plan(a: RequestBody, b: RequestBody): { members: Planned[]; body: RequestBody }[] {
  const groups = new Map<string, Planned[]>();
  const out: { members: Planned[]; body: RequestBody }[] = [];
  for (const [order, variant] of variants(a, b).entries()) {
    const v = { ...variant, order };
    if (!SYSTEMATIC.has(v.d.code)) {
      out.push({ members: [v], body: v.body });
      continue;
    }
    const key = `${v.d.code} ${v.d.path.map((s) => (typeof s === 'number' ? '*' : s)).join('.')} ${v.d.from ?? ''}`;
    const list = groups.get(key);
    if (list) list.push(v);
    else {
      const fresh = [v];
      groups.set(key, fresh);
      out.push({ members: fresh, body: v.body });
    }
  }
  for (const g of out) {
    if (g.members.length > 1) {
      g.body = { ...a, label: `${a.label} with ${g.members.length} × ${g.members[0].d.code}`, root: g.members.reduce((root, m) => m.d.apply(root), a.root) };
    }
  }
  return out;
}

/**
 * Whether a difference changes the render under the other message handling (llama-server rebuilds messages and
 * drops unknown keys; a raw Hugging Face render prints whatever the template reads). Only for engines that
 * render locally; where the other handling refuses A or the variant, no note is given.
 */
function elsewhere(engine: Processor, a: RequestBody): { lazy(variant: RequestBody): LazyNote; attach<F extends Finding>(f: F, note: LazyNote): F } {
  const { renderAs } = engine;
  if (!renderAs) return { lazy: () => () => undefined, attach: (f) => f };
  const backend = backendProfile(engine.backend).contrast;
  let before: string | null | undefined;
  const render = (body: RequestBody): string | null => {
    try {
      return renderAs.call(engine, backend, body, `A under --backend ${backend}`);
    } catch (err) {
      if (err instanceof KvdiffError && !(err instanceof TemplateLimitError)) return null;
      throw err;
    }
  };
  return {
    lazy: (variant) => {
      let done = false;
      let note: FindingBase['elsewhere'];
      return () => {
        if (!done) {
          if (before === undefined) before = render(a);
          const after = before === null ? null : render(variant);
          note = after === null ? undefined : { backend, changesRender: after !== before };
          done = true;
        }
        return note;
      };
    },
    attach: attachNote,
  };
}

/** A with each JSON difference from B applied alone: the what-if requests attribution renders. */
export function variants(a: RequestBody, b: RequestBody): { d: Difference; body: RequestBody }[] {
  // the variant keeps A's dialect (`api`): it is converted the way A is
  return diffBodies(a.root, b.root).map((d) => ({ d, body: { ...a, label: `${a.label} with ${d.code}`, root: d.apply(a.root) } }));
}

/** Appending messages broke A's prompt: say whether the template rewrote history, the generation prompt, or a token boundary. */
function appendedCause(d: Extract<Difference, { code: 'MESSAGES_APPENDED' }>, a: RequestBody, pa: Processed, variant: Processed, lcp: number): Finding {
  const { path, side, appended } = d;
  if (variant.rendered.startsWith(pa.rendered)) return { code: 'TOKEN_BOUNDARY', path, side, appended, token: lcp, breaks: true };
  const at = commonTextPrefix(pa.rendered, variant.rendered);
  // messages as the template saw them: a /v1/messages or /v1/responses body converted (the dialect notes map the path back)
  const root = chatRoot(a);
  const m = messageAt(root, pa.rendered, at);
  const count = messageCount(root);
  if (m < count) return { code: 'TEMPLATE_REWRITES_HISTORY', path: ['messages', m], side: 'a', message: m, token: lcp, breaks: true };
  return { code: 'GENERATION_PROMPT', path, side, appended, token: lcp, breaks: true };
}

function chatRoot(a: RequestBody): JsonNode {
  try {
    return convert(a, { billingHeader: true })?.root ?? a.root;
  } catch {
    return a.root;
  }
}

function messageCount(root: JsonNode): number {
  const m = root.type === 'object' ? root.entries.find((e) => e.key === 'messages')?.value : undefined;
  return m?.type === 'array' ? m.items.length : 0;
}

/**
 * Which of A's messages the rendered character `at` belongs to: the message owning the first of its strings
 * (content, reasoning, tool-call names and arguments) that ends after `at`, locating them in order in the
 * render. Messages count from 0; `count` means "after the last message" (the generation prompt).
 */
export function messageAt(root: JsonNode, rendered: string, at: number): number {
  const m = root.type === 'object' ? root.entries.find((e) => e.key === 'messages')?.value : undefined;
  if (m?.type !== 'array') return 0;
  let cursor = 0;
  // many strings are not in the render (arguments the template re-serialised, escaped text): skip their scans
  const filter = new SubstringFilter(rendered);
  for (let i = 0; i < m.items.length; i++) {
    for (const s of strings(m.items[i])) {
      if (s.length < 2 || s === 'assistant' || s === 'user' || s === 'system' || s === 'tool' || s === 'function') continue;
      if (!filter.mayContain(s)) continue;
      const pos = rendered.indexOf(s, cursor);
      if (pos < 0) continue;
      if (pos + s.length > at) return i;
      cursor = pos + s.length;
    }
  }
  return m.items.length;
}

function strings(n: JsonNode): string[] {
  if (n.type === 'string') return [n.value];
  if (n.type === 'array') return n.items.flatMap(strings);
  if (n.type === 'object') return n.entries.flatMap((e) => (e.key === 'role' || e.key === 'type' ? [] : strings(e.value)));
  return [];
}
