import type { JsonNode } from '../payload/json.js';

/** Indented JSON of an ordered tree: key order and number text as they are (for `render --converted`). */
export function prettyJson(n: JsonNode, indent = ''): string {
  const inner = `${indent}  `;
  switch (n.type) {
    case 'object':
      if (!n.entries.length) return '{}';
      return `{\n${n.entries.map((e) => `${inner}${JSON.stringify(e.key)}: ${prettyJson(e.value, inner)}`).join(',\n')}\n${indent}}`;
    case 'array':
      if (!n.items.length) return '[]';
      return `[\n${n.items.map((x) => `${inner}${prettyJson(x, inner)}`).join(',\n')}\n${indent}]`;
    case 'number':
      return n.raw;
    case 'null':
      return 'null';
    default:
      return JSON.stringify(n.value);
  }
}
