import { nodesEqual, nodeToJson, parseJson, type JsonEntry, type JsonNode } from '../payload/json.js';
import { updateAt, updateEntries, updateItems } from '../payload/edit.js';
import type { JsonPath } from '../payload/path.js';

/** Short renderings of both values (truncated JSON, or the key lists for KEY_ORDER). */
interface BothValues {
  a: string;
  b: string;
}

/**
 * Kinds of JSON difference between two request bodies, each with the arguments it carries. The codes are stable:
 * they appear in `--json` and the README.
 */
export interface DiffArgs {
  /** A key B has and A lacks (`b`: its value). */
  EXTRA_FIELD: { b: string };
  /** A key A has and B lacks (`a`: its value). */
  MISSING_FIELD: { a: string };
  /** The same value under another key (`from`: the key in A). */
  FIELD_RENAMED: { from: string; a: string };
  /** The same keys in another order. */
  KEY_ORDER: BothValues;
  /** A string that differs only in whitespace. */
  WHITESPACE: BothValues;
  /** A different string, number or boolean. */
  VALUE_CHANGED: BothValues;
  /** null vs "", a string vs an array of parts, ... */
  TYPE_CHANGED: BothValues;
  /** A string holding the same JSON written differently (spacing, escapes). */
  JSON_REFORMATTED: BothValues;
  /** A string holding the same JSON object with keys in another order. */
  JSON_KEY_ORDER: BothValues;
  /** The same number written differently (1.0 vs 1). */
  NUMBER_FORMAT: BothValues;
  /** The same items in another order. */
  ARRAY_ORDER: Record<never, never>;
  /** An array item B has and A lacks (not at the end of messages). */
  ITEM_ADDED: { b: string };
  /** An array item A has and B lacks. */
  ITEM_REMOVED: { a: string };
  /** B continues the conversation: `appended` new messages after A's. */
  MESSAGES_APPENDED: { appended: number };
}

export type DiffCode = keyof DiffArgs;

type ArgKey<M> = { [C in keyof M]: keyof M[C] }[keyof M];

/**
 * One variant per code: the shared fields, the code, its own arguments, and every other code's argument names
 * as absent (so `f.from` reads as `string | undefined` on the union and as `string` once the code is known).
 */
export type CodeUnion<M, Base> = {
  [C in keyof M]: Base & { code: C } & M[C] & { [K in Exclude<ArgKey<M>, keyof M[C]>]?: undefined };
}[keyof M];

interface DifferenceBase {
  /** Where it is, as written in B (in A for MISSING_FIELD and ITEM_REMOVED). */
  path: JsonPath;
  side: 'a' | 'b';
  /** Returns A with this one difference applied. */
  apply(a: JsonNode): JsonNode;
}

/** One JSON difference, with the edit that applies it alone to A. */
export type Difference = CodeUnion<DiffArgs, DifferenceBase>;

/** Longest value text shown in a report. */
export const SNIPPET_CHARS = 60;

/** A value as truncated JSON. */
export function valueSnippet(node: JsonNode): string {
  const text = nodeToJson(node);
  return text.length > SNIPPET_CHARS ? `${text.slice(0, SNIPPET_CHARS - 1)}…` : text;
}

/** Every difference between two bodies, in document order. */
export function diffBodies(a: JsonNode, b: JsonNode): Difference[] {
  const out: Difference[] = [];
  diffNode(a, b, [], out);
  return out;
}

function diffNode(a: JsonNode, b: JsonNode, path: JsonPath, out: Difference[]): void {
  if (a.type === 'object' && b.type === 'object') return diffObject(a.entries, b.entries, path, out);
  if (a.type === 'array' && b.type === 'array') return diffArray(a.items, b.items, path, out);
  if (nodesEqual(a, b)) return;
  const set = (n: JsonNode) => (root: JsonNode) => updateAt(root, path, () => n);
  const base = { path, side: 'b' as const, a: valueSnippet(a), b: valueSnippet(b), apply: set(b) };
  if (a.type !== b.type) return void out.push({ code: 'TYPE_CHANGED', ...base });
  if (a.type === 'number' && b.type === 'number' && a.value === b.value) return void out.push({ code: 'NUMBER_FORMAT', ...base });
  if (a.type === 'string' && b.type === 'string') {
    const [wa, wb] = stringWindows(a.value, b.value);
    return void out.push({ code: stringCode(a.value, b.value), ...base, a: wa, b: wb });
  }
  out.push({ code: 'VALUE_CHANGED', ...base });
}

/** Both strings around their first difference, JSON-quoted, so a trimmed "\n\n" at the end shows. */
export function stringWindows(a: string, b: string): [string, string] {
  let p = 0;
  while (p < a.length && p < b.length && a[p] === b[p]) p++;
  const start = Math.max(0, p - Math.floor(SNIPPET_CHARS / 2));
  const cut = (s: string) => {
    const body = JSON.stringify(s.slice(start, start + SNIPPET_CHARS));
    return `${start > 0 ? '…' : ''}${body}${start + SNIPPET_CHARS < s.length ? '…' : ''}`;
  };
  return [cut(a), cut(b)];
}

function stringCode(a: string, b: string): 'JSON_REFORMATTED' | 'JSON_KEY_ORDER' | 'WHITESPACE' | 'VALUE_CHANGED' {
  const ja = tryJson(a);
  const jb = ja && tryJson(b);
  if (ja && jb) {
    if (nodesEqual(ja, jb)) return 'JSON_REFORMATTED';
    if (nodesEqual(sortKeys(ja), sortKeys(jb))) return 'JSON_KEY_ORDER';
  }
  if (a.replace(/\s+/g, '') === b.replace(/\s+/g, '')) return 'WHITESPACE';
  return 'VALUE_CHANGED';
}

/** A string that holds a JSON object or array (tool-call arguments), parsed; else null. */
function tryJson(s: string): JsonNode | null {
  const t = s.trimStart();
  if (!t.startsWith('{') && !t.startsWith('[')) return null;
  try {
    return parseJson(s, 'string');
  } catch {
    return null;
  }
}

function sortKeys(n: JsonNode): JsonNode {
  if (n.type === 'object') {
    return {
      type: 'object',
      entries: [...n.entries].sort((x, y) => (x.key < y.key ? -1 : x.key > y.key ? 1 : 0)).map((e) => ({ key: e.key, value: sortKeys(e.value) })),
    };
  }
  if (n.type === 'array') return { type: 'array', items: n.items.map(sortKeys) };
  return n;
}

function diffObject(a: JsonEntry[], b: JsonEntry[], path: JsonPath, out: Difference[]): void {
  const aKeys = new Set(a.map((e) => e.key));
  const bKeys = new Set(b.map((e) => e.key));
  const removed = a.filter((e) => !bKeys.has(e.key));
  const added = b.filter((e) => !aKeys.has(e.key));
  const renamedTo = new Map<string, string>(); // a key -> b key
  for (const r of removed) {
    const match = added.find((x) => ![...renamedTo.values()].includes(x.key) && nodesEqual(x.value, r.value));
    if (match) renamedTo.set(r.key, match.key);
  }
  for (const e of a) {
    const other = b.find((x) => x.key === e.key);
    if (other) diffNode(e.value, other.value, [...path, e.key], out);
  }
  for (const [from, to] of renamedTo) {
    out.push({
      code: 'FIELD_RENAMED',
      path: [...path, to],
      side: 'b',
      from,
      a: valueSnippet(a.find((e) => e.key === from)!.value),
      apply: (root) => updateEntries(root, path, (es) => es.map((e) => (e.key === from ? { key: to, value: e.value } : e))),
    });
  }
  for (const r of removed) {
    if (renamedTo.has(r.key)) continue;
    out.push({
      code: 'MISSING_FIELD',
      path: [...path, r.key],
      side: 'a',
      a: valueSnippet(r.value),
      apply: (root) => updateEntries(root, path, (es) => es.filter((e) => e.key !== r.key)),
    });
  }
  const renamedTargets = new Set(renamedTo.values());
  for (const x of added) {
    if (renamedTargets.has(x.key)) continue;
    // insert after the nearest key before it in B that A has too, so that the key lands where B has it
    const before = b.slice(0, b.indexOf(x)).reverse().find((e) => aKeys.has(e.key))?.key;
    out.push({
      code: 'EXTRA_FIELD',
      path: [...path, x.key],
      side: 'b',
      b: valueSnippet(x.value),
      apply: (root) =>
        updateEntries(root, path, (es) => {
          const at = before === undefined ? 0 : es.findIndex((e) => e.key === before) + 1;
          return [...es.slice(0, at), x, ...es.slice(at)];
        }),
    });
  }
  const commonA = a.filter((e) => bKeys.has(e.key)).map((e) => e.key);
  const commonB = b.filter((e) => aKeys.has(e.key)).map((e) => e.key);
  if (commonA.join('\u0000') !== commonB.join('\u0000')) {
    out.push({
      code: 'KEY_ORDER',
      path,
      side: 'b',
      a: commonA.join(', '),
      b: commonB.join(', '),
      apply: (root) =>
        updateEntries(root, path, (es) => {
          // the shared keys take B's order, in the slots they held in A
          const queue = commonB.map((k) => es.find((e) => e.key === k)!);
          return es.map((e) => (bKeys.has(e.key) && queue.length ? queue.shift()! : e));
        }),
    });
  }
}

function diffArray(a: JsonNode[], b: JsonNode[], path: JsonPath, out: Difference[]): void {
  if (a.length === b.length && a.length > 1 && !a.every((x, i) => nodesEqual(x, b[i])) && isPermutation(a, b)) {
    out.push({
      code: 'ARRAY_ORDER',
      path,
      side: 'b',
      apply: (root) => updateItems(root, path, () => b),
    });
    return;
  }
  const n = Math.min(a.length, b.length);
  if (a.length !== b.length && !a.slice(0, n).every((x, i) => nodesEqual(x, b[i])) && diffAligned(a, b, path, out)) return;
  for (let i = 0; i < n; i++) diffNode(a[i], b[i], [...path, i], out);
  // a conversation grows at the end of `messages` (chat, /v1/messages), `input` (/v1/responses) or a `prompt` array
  const isMessages = growsAtEnd(path);
  for (let i = n; i < b.length; i++) {
    if (isMessages) {
      out.push({
        code: 'MESSAGES_APPENDED',
        path: [...path, i],
        side: 'b',
        appended: b.length - n,
        apply: (root) => updateItems(root, path, (items) => [...items, ...b.slice(n)]),
      });
      break;
    }
    const item = b[i];
    out.push({ code: 'ITEM_ADDED', path: [...path, i], side: 'b', b: valueSnippet(item), apply: (root) => updateItems(root, path, (items) => [...items, item]) });
  }
  for (let i = n; i < a.length; i++) {
    out.push({ code: 'ITEM_REMOVED', path: [...path, i], side: 'a', a: valueSnippet(a[i]), apply: (root) => updateItems(root, path, (items) => items.filter((_, k) => k !== i)) });
  }
}

/** Arrays a request grows at the end of, turn after turn: appended items are one MESSAGES_APPENDED difference. */
function growsAtEnd(path: JsonPath): boolean {
  return path.length === 1 && (path[0] === 'messages' || path[0] === 'input' || path[0] === 'prompt');
}

/** Largest n·m the item alignment is computed for; longer arrays are compared position by position. */
const MAX_ALIGN_CELLS = 4_000_000;

/**
 * Arrays of different lengths where items were dropped or inserted before the end (a client that strips old
 * thinking blocks or reasoning items): align equal items (longest common subsequence), report the unmatched ones
 * as ITEM_REMOVED / ITEM_ADDED, compare runs of equal length between anchors position by position, and keep
 * MESSAGES_APPENDED for what B adds after A's last item. Returns false (compare by position) when nothing aligns.
 */
function diffAligned(a: JsonNode[], b: JsonNode[], path: JsonPath, out: Difference[]): boolean {
  if (a.length * b.length > MAX_ALIGN_CELLS) return false;
  const ids = new Map<string, number>();
  const key = (x: JsonNode) => {
    const k = nodeToJson(x);
    if (!ids.has(k)) ids.set(k, ids.size);
    return ids.get(k)!;
  };
  const ka = a.map(key);
  const kb = b.map(key);
  const n = a.length;
  const m = b.length;
  const L = new Uint32Array((n + 1) * (m + 1));
  for (let i = n - 1; i >= 0; i--) {
    for (let j = m - 1; j >= 0; j--) {
      L[i * (m + 1) + j] = ka[i] === kb[j] ? L[(i + 1) * (m + 1) + j + 1] + 1 : Math.max(L[(i + 1) * (m + 1) + j], L[i * (m + 1) + j + 1]);
    }
  }
  if (L[0] === 0) return false;
  const pairs: [number, number][] = [];
  for (let i = 0, j = 0; i < n && j < m; ) {
    if (ka[i] === kb[j]) {
      pairs.push([i, j]);
      i++;
      j++;
    } else if (L[(i + 1) * (m + 1) + j] >= L[i * (m + 1) + j + 1]) i++;
    else j++;
  }
  const isMessages = growsAtEnd(path);
  let pi = 0;
  let pj = 0;
  for (const [ai, bj] of [...pairs, [n, m] as [number, number]]) {
    const runA = ai - pi;
    const runB = bj - pj;
    const same = Math.min(runA, runB);
    for (let k = 0; k < same; k++) {
      const i = pi + k;
      const j = pj + k;
      const sub: Difference[] = [];
      diffNode(a[i], b[j], [...path, i], sub);
      // paths say where B has it; the edit still applies to A's item
      for (const d of sub) out.push(d.side === 'b' ? { ...d, path: [...path, j, ...d.path.slice(path.length + 1)] } : d);
    }
    for (let i = pi + same; i < ai; i++) {
      out.push({ code: 'ITEM_REMOVED', path: [...path, i], side: 'a', a: valueSnippet(a[i]), apply: (root) => updateItems(root, path, (items) => items.filter((_, k) => k !== i)) });
    }
    const trailing = ai === n;
    if (trailing && isMessages && runB > same) {
      const from = pj + same;
      out.push({
        code: 'MESSAGES_APPENDED',
        path: [...path, from],
        side: 'b',
        appended: m - from,
        apply: (root) => updateItems(root, path, (items) => [...items, ...b.slice(from)]),
      });
    } else {
      for (let j = pj + same; j < bj; j++) {
        const item = b[j];
        const at = pi + same; // insert before A's next aligned item
        out.push({ code: 'ITEM_ADDED', path: [...path, j], side: 'b', b: valueSnippet(item), apply: (root) => updateItems(root, path, (items) => [...items.slice(0, at), item, ...items.slice(at)]) });
      }
    }
    pi = ai + 1;
    pj = bj + 1;
  }
  return true;
}

function isPermutation(a: JsonNode[], b: JsonNode[]): boolean {
  const used = new Set<number>();
  return a.every((x) => {
    const k = b.findIndex((y, j) => !used.has(j) && nodesEqual(x, y));
    if (k < 0) return false;
    used.add(k);
    return true;
  });
}
