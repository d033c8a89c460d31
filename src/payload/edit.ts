import type { JsonEntry, JsonNode } from './json.js';
import type { JsonPath } from './path.js';

/** Returns a copy of `root` with the node at `path` replaced by `fn(old)`; nodes off the path are shared. */
export function updateAt(root: JsonNode, path: JsonPath, fn: (node: JsonNode) => JsonNode): JsonNode {
  if (path.length === 0) return fn(root);
  const [head, ...rest] = path;
  if (root.type === 'object' && typeof head === 'string') {
    return {
      type: 'object',
      entries: root.entries.map((e) => (e.key === head ? { key: e.key, value: updateAt(e.value, rest, fn) } : e)),
    };
  }
  if (root.type === 'array' && typeof head === 'number') {
    return { type: 'array', items: root.items.map((x, i) => (i === head ? updateAt(x, rest, fn) : x)) };
  }
  throw new Error(`path segment ${String(head)} does not exist`);
}

/** Object entries with `fn` applied (for key edits on the object at a path). */
export function updateEntries(root: JsonNode, path: JsonPath, fn: (entries: JsonEntry[]) => JsonEntry[]): JsonNode {
  return updateAt(root, path, (n) => {
    if (n.type !== 'object') throw new Error('not an object');
    return { type: 'object', entries: fn(n.entries) };
  });
}

/** Array items with `fn` applied. */
export function updateItems(root: JsonNode, path: JsonPath, fn: (items: JsonNode[]) => JsonNode[]): JsonNode {
  return updateAt(root, path, (n) => {
    if (n.type !== 'array') throw new Error('not an array');
    return { type: 'array', items: fn(n.items) };
  });
}

/** The node at `path`, or undefined. */
export function nodeAt(root: JsonNode, path: JsonPath): JsonNode | undefined {
  let n: JsonNode | undefined = root;
  for (const seg of path) {
    if (!n) return undefined;
    if (n.type === 'object' && typeof seg === 'string') n = n.entries.find((e) => e.key === seg)?.value;
    else if (n.type === 'array' && typeof seg === 'number') n = n.items[seg];
    else return undefined;
  }
  return n;
}
