import type { DiffReport } from '../../analyze.js';
import { diffLines } from 'diff';
import { commonTextPrefix } from '../../compare.js';

/** Bounds on the line diff that marks later differences: past them the tails are shown unmarked. */
const LATER_DIFF_MAX_EDIT = 4000;
const LATER_DIFF_TIMEOUT_MS = 500;

/** Characters of the prompt kept before and after the first difference when a page keeps only a window (session steps). */
export interface ViewWindow {
  before: number;
  after: number;
}

/** What the page script needs to draw one side: the text from `base`, and token starts (delta-coded, relative to `base`). */
interface SideData {
  label: string;
  text: string;
  starts: PackedStarts;
  /** True when the window stops before the end of the prompt. */
  cut: boolean;
  /** Lines after the first difference that the other side does not have, as [from, to) pairs relative to `base`. */
  changed: number[];
}

/** The data block of one diff view. B's text and starts leave out what it shares with A, which the script copies back. */
export interface ViewData {
  id: string;
  /** UTF-16 offset in both prompts where the embedded text starts (0 unless windowed). */
  base: number;
  /** Index of the first token drawn. */
  tok0: number;
  /** The common token prefix (index of the first differing token). */
  lcp: number;
  diverges: boolean;
  /** Characters of A's embedded text that B shares. */
  shared: number;
  /** Places after the first difference where A and B differ (line hunks); null when the diff was too large to run. */
  hunks: number | null;
  a: SideData;
  b: SideData;
}

function startOf(s: DiffReport['a'], i: number): number {
  return i < s.starts.length ? s.starts[i] : s.rendered.length;
}

/** Token starts, packed: `first` (relative to base), then one character per token length (code = length + 48), or
 * for a rare very long token U+FFFF, the length in decimal and a comma; `first` is -1 for no tokens. A third of the bytes of a JSON number array. */
export interface PackedStarts {
  first: number;
  d: string;
}
const PACK_OFFSET = 48;
const PACK_LIMIT = 0xd000;

function pack(xs: number[], base: number): PackedStarts {
  const parts: string[] = [];
  for (let i = 1; i < xs.length; i++) {
    const len = xs[i] - xs[i - 1];
    parts.push(len + PACK_OFFSET < PACK_LIMIT ? String.fromCharCode(len + PACK_OFFSET) : `\uffff${len},`);
  }
  return { first: xs.length ? xs[0] - base : -1, d: parts.join('') };
}

/** The inverse of `pack` (the page script does the same). */
export function unpack(p: PackedStarts): number[] {
  if (p.first < 0) return [];
  const out = [p.first];
  let x = p.first;
  for (let i = 0; i < p.d.length; i++) {
    const c = p.d.charCodeAt(i);
    if (c === 0xffff) {
      const end = p.d.indexOf(',', i);
      x += Number(p.d.slice(i + 1, end));
      i = end;
    } else x += c - PACK_OFFSET;
    out.push(x);
  }
  return out;
}

/** The first token index in [lo, hi] whose start is at or after `at` (starts are non-decreasing). */
function firstAtOrAfter(s: DiffReport['a'], at: number, lo: number, hi: number): number {
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (startOf(s, mid) >= at) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

/** The embedded data for one diff: the whole of both prompts, or a window around the first difference. */
export function viewData(r: DiffReport, id: string, win?: ViewWindow): ViewData {
  const { a, b } = r;
  const lcp = r.comparison.commonPrefix;
  const anchor = startOf(a, lcp);
  const tok0 = win ? firstAtOrAfter(a, Math.max(0, anchor - win.before), 0, lcp) : 0;
  const base = startOf(a, tok0);
  const end = (s: DiffReport['a']) => (win ? firstAtOrAfter(s, anchor + win.after, lcp, s.ids.length) : s.ids.length);
  const endA = end(a);
  const endB = end(b);
  const textEndA = startOf(a, endA);
  const shared = Math.min(commonTextPrefix(a.rendered, b.rendered), textEndA) - base;
  const startsA = a.starts.slice(tok0, endA);
  const startsB = b.starts.slice(lcp, endB);
  const later = laterDifferences(a.rendered.slice(base + shared, textEndA), b.rendered.slice(base + shared, startOf(b, endB)), shared);
  return {
    id,
    base,
    tok0,
    lcp,
    diverges: r.comparison.firstDivergence !== null,
    shared,
    hunks: later?.hunks ?? null,
    a: { label: a.label, text: a.rendered.slice(base, textEndA), starts: pack(startsA, base), cut: endA < a.ids.length, changed: later?.a ?? [] },
    b: { label: b.label, text: b.rendered.slice(base + shared, startOf(b, endB)), starts: pack(startsB, base), cut: endB < b.ids.length, changed: later?.b ?? [] },
  };
}

/**
 * What differs after the first difference, line by line (jsdiff): the lines only A has and the lines only B has, as
 * ranges from `offset`. A break in the middle of a session usually leaves the rest the same; this shows whether it does.
 */
function laterDifferences(ta: string, tb: string, offset: number): { a: number[]; b: number[]; hunks: number } | null {
  if (!ta && !tb) return { a: [], b: [], hunks: 0 };
  const parts = diffLines(ta, tb, { maxEditLength: LATER_DIFF_MAX_EDIT, timeout: LATER_DIFF_TIMEOUT_MS });
  if (!parts) return null;
  const out = { a: [] as number[], b: [] as number[], hunks: 0 };
  let ia = offset;
  let ib = offset;
  let inHunk = false;
  for (const p of parts) {
    const n = p.value.length;
    if (p.added) out.b.push(ib, (ib += n));
    else if (p.removed) out.a.push(ia, (ia += n));
    else {
      ia += n;
      ib += n;
      inHunk = false;
      continue;
    }
    if (!inHunk) out.hunks++;
    inHunk = true;
  }
  return out;
}
