import type { JsonEntry, JsonNode } from '../payload/json.js';

/** Small builders and nlohmann-style readers over the ordered JSON tree (the server's `ordered_json`). */

export const str = (value: string): JsonNode => ({ type: 'string', value });
export const arr = (items: JsonNode[] = []): JsonNode => ({ type: 'array', items });
export const obj = (entries: [string, JsonNode][] = []): JsonNode & { type: 'object' } => ({
  type: 'object',
  entries: entries.map(([key, value]) => ({ key, value })),
});
export const int = (n: number): JsonNode => ({ type: 'number', value: n, raw: String(n) });

export function get(n: JsonNode | undefined, key: string): JsonNode | undefined {
  return n?.type === 'object' ? n.entries.find((e) => e.key === key)?.value : undefined;
}

/** `j.contains(key)`: false on anything but an object. */
export function has(n: JsonNode | undefined, key: string): boolean {
  return get(n, key) !== undefined;
}

/** llama-server's `json_value(body, key, std::string())`: absent, null or not a string gives the default. */
export function stringValue(n: JsonNode | undefined, key: string, def = ''): string {
  const v = get(n, key);
  return v?.type === 'string' ? v.value : def;
}

/** `json_value(body, key, int)`: nlohmann converts numbers (truncating) and booleans; anything else is the default. */
export function intValue(n: JsonNode | undefined, key: string, def: number): number {
  const v = get(n, key);
  if (v?.type === 'number') return Math.trunc(v.value);
  if (v?.type === 'boolean') return v.value ? 1 : 0;
  return def;
}

/** `j[key] = value` on an ordered_json object: an existing key keeps its place, a new one goes last. */
export function setKey(entries: JsonEntry[], key: string, value: JsonNode): void {
  const e = entries.find((x) => x.key === key);
  if (e) e.value = value;
  else entries.push({ key, value });
}

export function eraseKey(entries: JsonEntry[], key: string): void {
  const i = entries.findIndex((x) => x.key === key);
  if (i >= 0) entries.splice(i, 1);
}

/** A deep copy (conversions edit their copies in place, as the server edits its `json` values). */
export function clone(n: JsonNode): JsonNode {
  if (n.type === 'object') return { type: 'object', entries: n.entries.map((e) => ({ key: e.key, value: clone(e.value) })) };
  if (n.type === 'array') return { type: 'array', items: n.items.map(clone) };
  return { ...n };
}
