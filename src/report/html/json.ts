import { nodesEqual, type JsonNode } from '../../payload/json.js';
import { formatPath } from '../../payload/path.js';
import { escAttr, escText } from './escape.js';

/** Where each highlighted JSON path is drawn: its class and the id of its `<mark>` on each side. */
export interface Marks {
  byPath: Map<string, { cls: string; k: number }>;
  /** Paths that hold a marked path below them (drawn open). */
  ancestors: Set<string>;
  /** ids emitted, per side. */
  emitted: { a: Set<number>; b: Set<number> };
}

function pathSeg(seg: string | number): string {
  return formatPath([seg]).slice(1);
}

/** Longest equal string shown whole in the JSON panel; longer ones are cut (they are in the prompts anyway). */
const SAME_STRING_CHARS = 80;

/**
 * Pretty JSON (2-space indent, key order and number text as written) with the marked paths wrapped in `<mark>`.
 * What is the same in both requests and holds no marked path is folded to one line (`{… 4 keys}`), so two 100K-token
 * bodies do not make the page twice their size.
 */
export function prettyJson(root: JsonNode, other: JsonNode, marks: Marks, side: 'a' | 'b', prefix: string): string {
  const out: string[] = [];
  const walk = (node: JsonNode, twin: JsonNode | undefined, path: string, ind: string) => {
    const m = marks.byPath.get(path);
    if (!m && !marks.ancestors.has(path) && twin && nodesEqual(node, twin)) {
      out.push(`<span class="same" title="the same in A and B">${escText(folded(node))}</span>`);
      return;
    }
    if (m) {
      out.push(`<mark class="${m.cls}" id="${prefix}-${side}-${m.k}" tabindex="-1" title="${escAttr(path)}">`);
      marks.emitted[side].add(m.k);
    }
    switch (node.type) {
      case 'object':
        if (!node.entries.length) out.push('{}');
        else {
          out.push('{\n');
          node.entries.forEach((e, i) => {
            out.push(`${ind}  ${escText(JSON.stringify(e.key))}: `);
            const t = twin?.type === 'object' ? twin.entries.find((x) => x.key === e.key)?.value : undefined;
            walk(e.value, t, path + pathSeg(e.key), `${ind}  `);
            out.push(i < node.entries.length - 1 ? ',\n' : '\n');
          });
          out.push(`${ind}}`);
        }
        break;
      case 'array':
        if (!node.items.length) out.push('[]');
        else {
          out.push('[\n');
          node.items.forEach((v, i) => {
            out.push(`${ind}  `);
            walk(v, twin?.type === 'array' ? twin.items[i] : undefined, path + pathSeg(i), `${ind}  `);
            out.push(i < node.items.length - 1 ? ',\n' : '\n');
          });
          out.push(`${ind}]`);
        }
        break;
      case 'string':
        out.push(escText(JSON.stringify(node.value)));
        break;
      case 'number':
        out.push(escText(node.raw));
        break;
      default:
        out.push(node.type === 'null' ? 'null' : String(node.value));
    }
    if (m) out.push('</mark>');
  };
  walk(root, other, '$', '');
  return out.join('');
}

/** One line for a subtree that is the same on both sides. */
function folded(node: JsonNode): string {
  switch (node.type) {
    case 'object': {
      const role = node.entries.find((e) => e.key === 'role' && e.value.type === 'string');
      const tag = role?.value.type === 'string' ? ` role ${JSON.stringify(role.value.value)},` : '';
      return `{…${tag} ${node.entries.length} ${node.entries.length === 1 ? 'key' : 'keys'}}`;
    }
    case 'array':
      return `[… ${node.items.length} ${node.items.length === 1 ? 'item' : 'items'}]`;
    case 'string': {
      const j = JSON.stringify(node.value);
      return j.length > SAME_STRING_CHARS ? `${j.slice(0, SAME_STRING_CHARS)}…" (${node.value.length} chars)` : j;
    }
    case 'number':
      return node.raw;
    default:
      return node.type === 'null' ? 'null' : String(node.value);
  }
}

