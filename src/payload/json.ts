import { KvdiffError } from '../errors.js';

/**
 * An ordered JSON tree. Key order is kept as written (JavaScript objects would move integer-like keys to the
 * front), and numbers keep their source text (`1.0` and `1` are different bytes in a capture).
 */
export type JsonNode =
  | { type: 'object'; entries: JsonEntry[] }
  | { type: 'array'; items: JsonNode[] }
  | { type: 'string'; value: string }
  | { type: 'number'; value: number; raw: string }
  | { type: 'boolean'; value: boolean }
  | { type: 'null' };

export interface JsonEntry {
  key: string;
  value: JsonNode;
}

/** Largest request body read, in bytes: a 1M-token conversation is well under this. */
export const MAX_BODY_BYTES = 256 * 1024 * 1024;
/** Deepest nesting accepted; deeper input is refused instead of overflowing the stack. */
export const MAX_DEPTH = 512;

/** A JSON number (RFC 8259 grammar), matched in place. */
const NUMBER = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;

/** Parses JSON text into an ordered tree; errors carry line and column. */
export function parseJson(text: string, label: string): JsonNode {
  if (text.length > MAX_BODY_BYTES) {
    throw new KvdiffError(`${label}: body is larger than ${MAX_BODY_BYTES} bytes`);
  }
  const p = new Parser(text, label);
  p.ws();
  const node = p.value(0);
  p.ws();
  if (p.i < text.length) p.fail('unexpected text after the JSON value');
  return node;
}

class Parser {
  i = 0;
  constructor(
    private readonly s: string,
    private readonly label: string,
  ) {}

  fail(what: string, at = this.i): never {
    let line = 1;
    let col = 1;
    for (let k = 0; k < at && k < this.s.length; k++) {
      if (this.s.charCodeAt(k) === 10) {
        line++;
        col = 1;
      } else col++;
    }
    throw new KvdiffError(`${this.label}: invalid JSON at line ${line}, column ${col}: ${what}`);
  }

  ws(): void {
    const s = this.s;
    while (this.i < s.length) {
      const c = s.charCodeAt(this.i);
      if (c === 32 || c === 9 || c === 10 || c === 13) this.i++;
      else break;
    }
  }

  value(depth: number): JsonNode {
    if (depth > MAX_DEPTH) this.fail(`nesting deeper than ${MAX_DEPTH} levels`);
    const c = this.s[this.i];
    if (c === '{') return this.object(depth);
    if (c === '[') return this.array(depth);
    if (c === '"') return { type: 'string', value: this.string() };
    if (c === 't') return this.literal('true', { type: 'boolean', value: true });
    if (c === 'f') return this.literal('false', { type: 'boolean', value: false });
    if (c === 'n') return this.literal('null', { type: 'null' });
    if (c === '-' || (c !== undefined && c >= '0' && c <= '9')) return this.number();
    return this.fail(c === undefined ? 'unexpected end of input' : `unexpected character ${JSON.stringify(c)}`);
  }

  literal(word: string, node: JsonNode): JsonNode {
    if (this.s.startsWith(word, this.i)) {
      this.i += word.length;
      return node;
    }
    return this.fail(`unexpected character ${JSON.stringify(this.s[this.i])}`);
  }

  number(): JsonNode {
    // any length, as nlohmann::json reads it; a value past the double range is refused, as it refuses it
    NUMBER.lastIndex = this.i;
    const m = NUMBER.exec(this.s);
    if (!m) return this.fail('invalid number');
    const value = Number(m[0]);
    if (!Number.isFinite(value)) this.fail(`number overflow parsing '${m[0].length > 40 ? `${m[0].slice(0, 40)}…` : m[0]}' (llama-server refuses it too)`);
    this.i += m[0].length;
    return { type: 'number', value, raw: m[0] };
  }

  string(): string {
    const s = this.s;
    const start = ++this.i;
    // fast path: no escapes
    let j = start;
    while (j < s.length) {
      const c = s.charCodeAt(j);
      if (c === 34) {
        this.i = j + 1;
        return s.slice(start, j);
      }
      if (c === 92 || c < 32) break;
      j++;
    }
    // escapes: plain runs are sliced whole and joined once (adding one character at a time built a rope of
    // one-character strings, about 30 bytes of heap per input character)
    const parts: string[] = [];
    let run = start;
    let i = j;
    while (i < s.length) {
      const c = s.charCodeAt(i);
      if (c === 34) {
        parts.push(s.slice(run, i));
        this.i = i + 1;
        return parts.join('');
      }
      if (c < 32) {
        this.i = i;
        this.fail('control character in string');
      }
      if (c !== 92) {
        i++;
        continue;
      }
      if (i > run) parts.push(s.slice(run, i));
      const e = s[i + 1];
      this.i = i += 2;
      switch (e) {
        case '"': parts.push('"'); break;
        case '\\': parts.push('\\'); break;
        case '/': parts.push('/'); break;
        case 'b': parts.push('\b'); break;
        case 'f': parts.push('\f'); break;
        case 'n': parts.push('\n'); break;
        case 'r': parts.push('\r'); break;
        case 't': parts.push('\t'); break;
        case 'u': {
          const unit = this.hex4(i);
          // nlohmann::json (llama-server's parser) accepts a surrogate only as a complete pair
          if (unit >= 0xdc00 && unit <= 0xdfff) this.fail('invalid string: surrogate U+DC00..U+DFFF must follow U+D800..U+DBFF (llama-server refuses it too)', i - 2);
          i += 4;
          if (unit >= 0xd800 && unit <= 0xdbff) {
            const low = s.startsWith('\\u', i) ? this.hex4(i + 2) : -1;
            if (low < 0xdc00 || low > 0xdfff) this.fail('invalid string: surrogate U+D800..U+DBFF must be followed by U+DC00..U+DFFF (llama-server refuses it too)', i - 6);
            parts.push(String.fromCharCode(unit, low));
            i += 6;
            break;
          }
          parts.push(String.fromCharCode(unit));
          break;
        }
        default:
          this.fail('invalid escape', i - 2);
      }
      run = i;
    }
    this.i = i;
    return this.fail('unterminated string', start - 1);
  }

  /** The value of the four hex digits at `at` (after a `\\u`). */
  hex4(at: number): number {
    const hex = this.s.slice(at, at + 4);
    if (!/^[0-9a-fA-F]{4}$/.test(hex)) this.fail('invalid \\u escape', at - 2);
    return parseInt(hex, 16);
  }

  array(depth: number): JsonNode {
    this.i++;
    const items: JsonNode[] = [];
    this.ws();
    if (this.s[this.i] === ']') {
      this.i++;
      return { type: 'array', items };
    }
    for (;;) {
      this.ws();
      items.push(this.value(depth + 1));
      this.ws();
      const c = this.s[this.i];
      if (c === ',') this.i++;
      else if (c === ']') {
        this.i++;
        return { type: 'array', items };
      } else this.fail(c === undefined ? 'unexpected end of input' : "expected ',' or ']'");
    }
  }

  object(depth: number): JsonNode {
    this.i++;
    const entries: JsonEntry[] = [];
    this.ws();
    if (this.s[this.i] === '}') {
      this.i++;
      return { type: 'object', entries };
    }
    for (;;) {
      this.ws();
      if (this.s[this.i] !== '"') this.fail(this.i >= this.s.length ? 'unexpected end of input' : 'expected a quoted key');
      const key = this.string();
      this.ws();
      if (this.s[this.i] !== ':') this.fail("expected ':'");
      this.i++;
      this.ws();
      const value = this.value(depth + 1);
      // a repeated key keeps its first position and the last value, as JSON.parse and Python do
      const prev = entries.find((e) => e.key === key);
      if (prev) prev.value = value;
      else entries.push({ key, value });
      this.ws();
      const c = this.s[this.i];
      if (c === ',') this.i++;
      else if (c === '}') {
        this.i++;
        return { type: 'object', entries };
      } else this.fail(c === undefined ? 'unexpected end of input' : "expected ',' or '}'");
    }
  }
}

/** The plain JavaScript value of a node (what a template sees). */
export function toPlain(node: JsonNode): unknown {
  switch (node.type) {
    case 'object': {
      const o: Record<string, unknown> = {};
      // a key named "__proto__" must stay an ordinary key, as JSON.parse keeps it: defineProperty for that one; any
      // other key is assigned (the same own data property, and about 3x faster on a 100K-token body)
      for (const e of node.entries) {
        if (e.key === '__proto__') Object.defineProperty(o, e.key, { value: toPlain(e.value), enumerable: true, writable: true, configurable: true });
        else o[e.key] = toPlain(e.value);
      }
      return o;
    }
    case 'array':
      return node.items.map(toPlain);
    case 'null':
      return null;
    default:
      return node.value;
  }
}

/** Structural equality, key order included (the order a template iterates in). */
export function nodesEqual(a: JsonNode, b: JsonNode): boolean {
  if (a.type !== b.type) return false;
  switch (a.type) {
    case 'object': {
      const be = (b as typeof a).entries;
      return a.entries.length === be.length && a.entries.every((e, i) => e.key === be[i].key && nodesEqual(e.value, be[i].value));
    }
    case 'array': {
      const bi = (b as typeof a).items;
      return a.items.length === bi.length && a.items.every((x, i) => nodesEqual(x, bi[i]));
    }
    case 'number':
      return a.raw === (b as typeof a).raw;
    case 'null':
      return true;
    default:
      return a.value === (b as typeof a).value;
  }
}

/** Compact JSON text of a node, key order and number text as written. */
export function nodeToJson(node: JsonNode): string {
  switch (node.type) {
    case 'object':
      return `{${node.entries.map((e) => `${JSON.stringify(e.key)}:${nodeToJson(e.value)}`).join(',')}}`;
    case 'array':
      return `[${node.items.map(nodeToJson).join(',')}]`;
    case 'number':
      return node.raw;
    case 'null':
      return 'null';
    default:
      return JSON.stringify(node.value);
  }
}
