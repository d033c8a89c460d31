/**
 * The text tools llama.cpp's differential template analysis compares its probe renders with
 * (common/chat-auto-parser-helpers.cpp): a render cut into markers (`<...>`, `[...]`) and text, and the split of
 * two renders into a shared prefix, a shared suffix and what differs on each side, aligned on marker boundaries.
 * The results decide which reasoning markers llama-server writes when it continues a message, so they must agree
 * with llama.cpp's to the byte, quirks included. Strings are compared by UTF-16 unit where llama.cpp compares
 * bytes; the probe texts are ASCII, so the two agree unless a template prints differing non-ASCII letters that
 * share a leading UTF-8 byte at the very point two probes part.
 */

export interface Segment {
  marker: boolean;
  value: string;
}

export interface DiffSplit {
  prefix: string;
  suffix: string;
  left: string;
  right: string;
}

/** C `isspace` in the "C" locale. */
export function isSpace(c: string): boolean {
  return c === ' ' || c === '\t' || c === '\n' || c === '\r' || c === '\v' || c === '\f';
}

/** llama.cpp's `trim_whitespace`: C whitespace off both ends. */
export function trimSpace(s: string): string {
  let a = 0;
  let b = s.length;
  while (a < b && isSpace(s[a])) a++;
  while (b > a && isSpace(s[b - 1])) b--;
  return s.slice(a, b);
}

/** `segmentize_markers`: a marker runs from `<` to the next `>` (or `[` to `]`); an unclosed one is text. */
export function segmentize(text: string): Segment[] {
  const out: Segment[] = [];
  let border = 0;
  let closer = '';
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (!closer && (c === '<' || c === '[')) {
      if (border < i) out.push({ marker: false, value: text.slice(border, i) });
      border = i;
      closer = c === '<' ? '>' : ']';
    } else if (closer && c === closer) {
      out.push({ marker: true, value: text.slice(border, i + 1) });
      border = i + 1;
      closer = '';
    }
  }
  if (border < text.length) out.push({ marker: false, value: text.slice(border) });
  return out;
}

/** `prune_whitespace_segments`: drops segments that are only whitespace. */
export function pruneSpace(segments: Segment[]): Segment[] {
  return segments.filter((s) => trimSpace(s.value) !== '');
}

const same = (a: Segment, b: Segment) => a.marker === b.marker && a.value === b.value;

function commonPrefix(a: string, b: string): number {
  let n = 0;
  while (n < a.length && n < b.length && a[n] === b[n]) n++;
  return n;
}

function commonSuffix(a: string, b: string): number {
  let n = 0;
  while (n < a.length && n < b.length && a[a.length - 1 - n] === b[b.length - 1 - n]) n++;
  return n;
}

/**
 * `calculate_diff_split`: whole segments are matched from both ends at once, then the unmatched middles share
 * their common text at either end when both ends there are text, and two degenerate cases are settled as llama.cpp
 * settles them (no difference: everything is prefix; `left` a prefix of `right`: the rest of `right` differs).
 */
export function diffSplit(left: string, right: string): DiffSplit {
  const L = segmentize(left);
  const R = segmentize(right);
  if (L.length === 0) return { prefix: '', suffix: '', left: '', right };
  if (R.length === 0) return { prefix: '', suffix: '', left, right: '' };
  let ls = 0;
  let le = L.length - 1;
  let rs = 0;
  let re = R.length - 1;
  let prefix = '';
  let suffix = '';
  let leftDone = false;
  let rightDone = false;
  while (ls !== le && rs !== re) {
    let moved = false;
    if (same(L[ls], R[rs])) {
      prefix += L[ls].value;
      ls++;
      rs++;
      moved = true;
    }
    if (same(L[le], R[re])) {
      suffix = L[le].value + suffix;
      if (ls !== le) le--;
      else leftDone = true;
      if (rs !== re) re--;
      else rightDone = true;
      moved = true;
    }
    if (!moved) break;
  }
  // one side is down to a single segment (llama.cpp looks at it even when the loop already consumed it)
  if (ls === le && rs !== re) {
    if (same(L[ls], R[re])) {
      suffix = R[re].value + suffix;
      re--;
      leftDone = true;
    } else if (same(L[ls], R[rs])) {
      prefix += R[rs].value;
      rs++;
      leftDone = true;
    }
  } else if (rs === re && ls !== le) {
    if (same(L[le], R[rs])) {
      suffix = L[le].value + suffix;
      le--;
      rightDone = true;
    } else if (same(L[ls], R[rs])) {
      prefix += L[ls].value;
      ls++;
      rightDone = true;
    }
  } else if (ls === le && rs === re && same(L[ls], R[rs]) && L[ls].marker) {
    prefix += R[rs].value;
    leftDone = true;
    rightDone = true;
  }
  const textSuffix = !L[le].marker && !R[re].marker;
  const textPrefix = !R[rs].marker && !L[ls].marker;
  const join = (segs: Segment[], from: number, to: number) => segs.slice(from, to).map((s) => s.value).join('');
  const restL = join(L, ls, leftDone ? le : le + 1);
  const restR = join(R, rs, rightDone ? re : re + 1);
  const suffixLen = textSuffix ? commonSuffix(restL, restR) : 0;
  const prefixLen = textPrefix ? commonPrefix(restL.slice(0, restL.length - suffixLen), restR.slice(0, restR.length - suffixLen)) : 0;
  const out: DiffSplit = {
    prefix: prefix + restL.slice(0, prefixLen),
    suffix: restL.slice(restL.length - suffixLen) + suffix,
    left: restL.slice(prefixLen, restL.length - suffixLen),
    right: restR.slice(prefixLen, restR.length - suffixLen),
  };
  if (out.left === '' && out.right === '') return { prefix: left, suffix: '', left: '', right: '' };
  if (out.left === '' && out.right !== '' && right.startsWith(left)) return { prefix: left, suffix: '', left: '', right: right.slice(left.length) };
  return out;
}
