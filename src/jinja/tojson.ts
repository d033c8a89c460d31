import { KvdiffError } from '../errors.js';
import { FloatValue, integerText, is, isArray, isObject, NamespaceValue, type RV } from './values.js';

/**
 * llama.cpp's `tojson` (common/jinja/value.cpp `tojson` → `value_to_json`), which differs from Python's json.dumps
 * and from @huggingface/jinja's:
 * - object keys keep insertion order (ordered objects everywhere; `sort_keys=true` is "not implemented");
 * - separators default to `", "` and `": "`; with `indent` the item separator is `","` plus a newline;
 * - `ensure_ascii` is off: non-ASCII is printed raw; only `"`, `\`, `\b \f \n \r \t` and other bytes < 0x20 are escaped;
 * - floats are printed by `std::ostream << double`: 6 significant digits, `%g` style (`1.0` → `1`, `1e+06`).
 */
export interface JsonOptions {
  indent?: number;
  itemSep?: string;
  keySep?: string;
  /** `ensure_ascii=True`: non-ASCII as `\uXXXX` (UTF-16 surrogate pairs above U+FFFF), as Python and llama.cpp. */
  ensureAscii?: boolean;
}

/**
 * Widest indentation `tojson(indent=N)` may build: MAX_RENDER_CHARS (render.ts), since a longer pad cannot fit in a
 * render anyway; checked before the pad is built, so `tojson(indent=100000000)` fails at once instead of allocating
 * hundreds of megabytes first.
 */
export const MAX_TOJSON_INDENT_CHARS = 8 * 1024 * 1024;

export function llamaToJson(v: RV, opts: JsonOptions = {}, onValue?: (v: RV) => void): string {
  const indent = opts.indent !== undefined && opts.indent >= 0 ? opts.indent : -1;
  const padFor = (depth: number): string => {
    if (indent * depth > MAX_TOJSON_INDENT_CHARS) throw new KvdiffError(`tojson indent of ${indent} at depth ${depth} is over ${MAX_TOJSON_INDENT_CHARS} characters (MAX_TOJSON_INDENT_CHARS)`);
    return ' '.repeat(indent * depth);
  };
  const itemSep = opts.itemSep ?? (indent < 0 ? ', ' : ',');
  const keySep = opts.keySep ?? ': ';
  const walk = (x: RV, depth: number): string => {
    onValue?.(x);
    switch (x.type) {
      case 'NullValue':
      case 'UndefinedValue':
        return 'null';
      case 'BooleanValue':
        return x.value ? 'true' : 'false';
      case 'IntegerValue':
        return integerText(x);
      case 'FloatValue':
        return formatDouble(x.value as number);
      case 'StringValue':
        return jsonString(x.value as string, opts.ensureAscii);
    }
    const pad = indent < 0 ? '' : '\n' + padFor(depth + 1);
    const end = indent < 0 ? '' : '\n' + padFor(depth);
    if (isArray(x)) {
      const items = (x.value as RV[]).map((i) => walk(i, depth + 1));
      return items.length ? `[${pad}${items.join(itemSep + pad)}${end}]` : '[]';
    }
    if (isObject(x) || is(x, NamespaceValue)) {
      const items = [...(x.value as Map<string, RV>)].map(([k, i]) => `${jsonString(k, opts.ensureAscii)}${keySep}${walk(i, depth + 1)}`);
      return items.length ? `{${pad}${items.join(itemSep + pad)}${end}}` : '{}';
    }
    throw new KvdiffError(`tojson cannot serialise a ${x.type}`);
  };
  return walk(v, 0);
}

/** JSON string escaping as nlohmann::json::dump with ensure_ascii=false. */
export function jsonString(s: string, ensureAscii = false): string {
  let out = '"';
  for (const ch of ensureAscii ? s.split('') : s) {
    const c = ch.codePointAt(0)!;
    if (ch === '"') out += '\\"';
    else if (ch === '\\') out += '\\\\';
    else if (ch === '\b') out += '\\b';
    else if (ch === '\f') out += '\\f';
    else if (ch === '\n') out += '\\n';
    else if (ch === '\r') out += '\\r';
    else if (ch === '\t') out += '\\t';
    else if (c < 0x20 || (ensureAscii && c > 0x7f)) out += '\\u' + c.toString(16).padStart(4, '0');
    else out += ch;
  }
  return out + '"';
}

/** `std::ostream << double` with the default precision: C's `%g` with 6 significant digits. */
export function formatDouble(x: number): string {
  if (Number.isNaN(x)) return 'nan';
  if (!Number.isFinite(x)) return x > 0 ? 'inf' : '-inf';
  if (x === 0) return Object.is(x, -0) ? '-0' : '0';
  const [mant, expStr] = x.toExponential(5).split('e');
  const exp = Number(expStr);
  const trim = (s: string) => (s.includes('.') ? s.replace(/0+$/, '').replace(/\.$/, '') : s);
  if (exp < -4 || exp >= 6) {
    return `${trim(mant)}e${exp < 0 ? '-' : '+'}${String(Math.abs(exp)).padStart(2, '0')}`;
  }
  return trim(x.toFixed(5 - exp));
}

export const isFloat = (v: RV): boolean => is(v, FloatValue);
