import type { DiffReport } from '../analyze.js';
import type { Finding } from '../attribute/attribute.js';
import type { RequestBody } from '../payload/body.js';
import type { JsonNode } from '../payload/json.js';
import type { JsonPath } from '../payload/path.js';

/**
 * `--redact`: message text becomes length-preserving placeholders (letters and symbols `x`, digits `0`, whitespace
 * kept), so a report can go into a public issue. Token counts, n_past and the break position come from the analysis
 * of the real text and are kept; the rendered prompts are masked wherever a redacted string (or a line of it, or its
 * JSON-escaped form) occurs, and token ids that would decode to masked text are replaced by negative stand-ins.
 */

/** Keys whose string values are structure, not text someone wrote. */
const KEEP_KEYS = new Set(['role', 'type', 'model']);
/** Shortest line of a redacted string that is masked on its own (shorter ones only as part of the whole string). */
const MIN_LINE = 3;
/** Characters a needle is bucketed by when the rendered text is scanned. */
const KEY_CHARS = 6;

/** The placeholder for one string: same UTF-16 length, same whitespace. */
export function maskText(s: string): string {
  return s.replace(/[^\s]/g, (c) => (c >= '0' && c <= '9' ? '0' : 'x'));
}

function keep(path: JsonPath): boolean {
  const last = path[path.length - 1];
  if (typeof last === 'string' && KEEP_KEYS.has(last)) return true;
  // tool and function names say which tool, not what anyone wrote
  return last === 'name' && (path[0] === 'tools' || path[path.length - 2] === 'function');
}

/** The body's tree with every string that is not structure masked; `found` collects the originals. */
export function redactNode(node: JsonNode, path: JsonPath = [], found?: Set<string>): JsonNode {
  switch (node.type) {
    case 'object':
      return { type: 'object', entries: node.entries.map((e) => ({ key: e.key, value: redactNode(e.value, [...path, e.key], found) })) };
    case 'array':
      return { type: 'array', items: node.items.map((v, i) => redactNode(v, [...path, i], found)) };
    case 'string':
      if (keep(path)) return node;
      found?.add(node.value);
      return { type: 'string', value: maskText(node.value) };
    default:
      return node;
  }
}

export function redactBody(body: RequestBody): RequestBody {
  return { ...body, root: redactNode(body.root) };
}

/** The strings to look for in rendered text: each value, trimmed, JSON-escaped, line by line, and inside JSON-string values. */
function needles(values: Iterable<string>): string[] {
  const out = new Set<string>();
  const add = (s: string, depth: number) => {
    if (!s) return;
    for (const v of [s, s.trim(), JSON.stringify(s).slice(1, -1)]) if (v) out.add(v);
    for (const line of s.split(/\r?\n/)) {
      const t = line.trim();
      if (t.length >= MIN_LINE) {
        out.add(t);
        out.add(JSON.stringify(t).slice(1, -1));
      }
    }
    // tool-call arguments: a template may print the parsed object again, its strings re-escaped
    if (depth < 2 && /^\s*[[{]/.test(s)) {
      try {
        collectStrings(JSON.parse(s), (x) => add(x, depth + 1));
      } catch {
        // not JSON: the text itself is masked
      }
    }
  };
  for (const v of values) add(v, 0);
  return [...out];
}

function collectStrings(v: unknown, f: (s: string) => void): void {
  if (typeof v === 'string') f(v);
  else if (Array.isArray(v)) v.forEach((x) => collectStrings(x, f));
  else if (v && typeof v === 'object') for (const [k, x] of Object.entries(v)) (f(k), collectStrings(x, f));
}

/** Masks every occurrence of any needle in `text`; the result has the same UTF-16 length. */
export function maskOccurrences(text: string, found: string[]): string {
  return maskWithSpans(text, found).text;
}

/** `maskOccurrences`, with which UTF-16 units were masked (1) or kept (0). */
function maskWithSpans(text: string, found: string[]): { text: string; mask: Uint8Array } {
  const mask = new Uint8Array(text.length);
  // one pass over the text with the needles bucketed by their first KEY_CHARS characters, not one scan per needle
  const buckets = new Map<string, string[]>();
  for (const n of found) {
    if (n.length < KEY_CHARS) {
      for (let at = text.indexOf(n); at !== -1; at = text.indexOf(n, at + 1)) mask.fill(1, at, at + n.length);
      continue;
    }
    const k = n.slice(0, KEY_CHARS);
    const b = buckets.get(k);
    if (b) b.push(n);
    else buckets.set(k, [n]);
  }
  for (const b of buckets.values()) b.sort((x, y) => y.length - x.length);
  for (let i = 0; i + KEY_CHARS <= text.length; i++) {
    const b = buckets.get(text.substr(i, KEY_CHARS));
    if (!b) continue;
    // longest first: a shorter needle matching here is inside the longer one
    const n = b.find((x) => text.startsWith(x, i));
    if (n) mask.fill(1, i, i + n.length);
  }
  let out = '';
  for (let i = 0; i < text.length; ) {
    let j = i;
    const m = mask[i];
    while (j < text.length && mask[j] === m) j++;
    out += m ? maskText(text.slice(i, j)) : text.slice(i, j);
    i = j;
  }
  return { text: out, mask };
}

/** A value snippet of a finding: masked whole, JSON punctuation and whitespace kept, unless its key is structure. */
function maskSnippet(s: string | undefined, path: JsonPath): string | undefined {
  if (s === undefined || keep(path)) return s;
  return s.replace(/[^\s{}[\]":,…]/g, (c) => (c >= '0' && c <= '9' ? '0' : 'x'));
}

/** The report with message text masked (see the top of this file); numbers, paths and codes unchanged. */
export function redactReport(r: DiffReport, a: RequestBody, b: RequestBody): DiffReport & { redacted: true } {
  const found = new Set<string>();
  redactNode(a.root, [], found);
  redactNode(b.root, [], found);
  const list = needles(found);
  const pseudo = new Map<number, number>();
  const pieces = new Map<number, string>();
  const side = (s: DiffReport['a']) => {
    const { text: rendered, mask } = maskWithSpans(s.rendered, list);
    const ids = s.ids.map((id, i) => {
      const from = s.starts[i];
      const to = i + 1 < s.starts.length ? s.starts[i + 1] : s.rendered.length;
      // any masked unit, whitespace too: the id of "\n\n" inside a message is not what the mask shows either
      if (!mask.subarray(from, to).includes(1)) return id;
      let p = pseudo.get(id);
      if (p === undefined) {
        p = -(pseudo.size + 1);
        pseudo.set(id, p);
        pieces.set(p, rendered.slice(from, to));
      }
      return p;
    });
    return { ...s, rendered, ids };
  };
  // MESSAGES_APPENDED carries a count ("2 messages"), not what the messages hold
  const fix = (f: Finding): Finding =>
    f.code === 'MESSAGES_APPENDED'
      ? f
      : ({
          ...f,
          ...(f.a !== undefined ? { a: maskSnippet(f.a, f.path) } : {}),
          ...(f.b !== undefined ? { b: maskSnippet(f.b, f.path) } : {}),
          ...(f.error !== undefined ? { error: maskOccurrences(f.error, list) } : {}),
        }) as Finding; // the same variant: only its text values are masked
  return {
    ...r,
    a: side(r.a),
    b: side(r.b),
    causes: r.causes.map(fix),
    ignored: r.ignored.map(fix),
    growth: r.growth.map(fix),
    piece: (id) => (id < 0 ? (pieces.get(id) ?? '') : r.piece(id)),
    ...(r.slot ? { slot: { ...r.slot, ids: r.slot.ids.map(() => -1) } } : {}),
    redacted: true,
  };
}
