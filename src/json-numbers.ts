/**
 * Numbers as llama.cpp's JSON parser (nlohmann::json) reads them, where JavaScript's `JSON.parse` would lose them:
 * an integer beyond 2^53 is exact in llama.cpp (int64; one above INT64_MAX but within uint64 is stored unsigned
 * and wraps to negative when the Jinja engine reads it with `get<int64_t>()`, common/jinja/value.cpp `from_json`),
 * and a number written with a fraction or an exponent stays a float even when its value is integral (`1.0`).
 */
export class JsonNumber {
  constructor(
    readonly kind: 'int' | 'float',
    /** The nearest double, for arithmetic and comparisons. */
    readonly value: number,
    /** What llama.cpp prints for an integer (exact int64 digits). */
    readonly digits: string,
  ) {}
}

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;
const UINT64_MAX = 2n ** 64n - 1n;
const NUMBER = /-?(?:0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?/y;
/** The text a placeholder string starts with; input that already holds it is parsed without placeholders. */
const MARK = '\u0000kvdiff-json-number:';

/** How llama.cpp holds one JSON number token; undefined when a JavaScript number says the same. */
function classify(token: string, fraction: boolean): JsonNumber | undefined {
  const value = Number(token);
  if (fraction) return Number.isInteger(value) ? new JsonNumber('float', value, token) : undefined;
  if (Number.isSafeInteger(value)) return undefined;
  const n = BigInt(token);
  if (n >= INT64_MIN && n <= INT64_MAX) return new JsonNumber('int', value, n.toString());
  if (n > 0n && n <= UINT64_MAX) {
    const wrapped = BigInt.asIntN(64, n);
    return new JsonNumber('int', Number(wrapped), wrapped.toString());
  }
  return new JsonNumber('float', value, token);
}

/** `JSON.parse`, with `JsonNumber` where llama.cpp's value differs from JavaScript's number. Throws on bad JSON. */
export function parseJsonNumbers(raw: string): unknown {
  if (raw.includes(MARK) || raw.includes('kvdiff-json-number:')) return JSON.parse(raw);
  const found: JsonNumber[] = [];
  let out = '';
  let last = 0;
  for (let i = 0; i < raw.length; i++) {
    const c = raw[i];
    if (c === '"') {
      for (i++; i < raw.length && raw[i] !== '"'; i++) if (raw[i] === '\\') i++;
      continue;
    }
    if (c !== '-' && (c < '0' || c > '9')) continue;
    NUMBER.lastIndex = i;
    const m = NUMBER.exec(raw);
    if (!m) continue;
    const num = classify(m[0], m[1] !== undefined || m[2] !== undefined);
    if (num) {
      out += raw.slice(last, i) + JSON.stringify(MARK + found.length);
      found.push(num);
      last = i + m[0].length;
    }
    i += m[0].length - 1;
  }
  if (!found.length) return JSON.parse(raw);
  const swap = (v: unknown): unknown => {
    if (typeof v === 'string') return v.startsWith(MARK) ? found[Number(v.slice(MARK.length))] : v;
    if (Array.isArray(v)) return v.map(swap);
    if (v && typeof v === 'object') {
      for (const k of Object.keys(v)) (v as Record<string, unknown>)[k] = swap((v as Record<string, unknown>)[k]);
    }
    return v;
  };
  return swap(JSON.parse(out + raw.slice(last)));
}
