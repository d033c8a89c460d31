import type { JsonNode } from '../payload/json.js';

/**
 * nlohmann::json's `dump()` with its defaults (compact, `ensure_ascii=false`), as llama-server writes an Anthropic
 * `tool_use.input` into `arguments`: keys in the client's order, no spaces, only `"` `\` and control characters
 * escaped (`\u001f`, lowercase hex), integers as parsed (int64/uint64, else a double), doubles in the shortest
 * form that round-trips, printed like nlohmann's `to_chars` (`1.5`, `100.0`, `1e+15`, `1e-05`).
 */
export function dumpCompact(n: JsonNode): string {
  switch (n.type) {
    case 'object':
      return `{${n.entries.map((e) => `${dumpString(e.key)}:${dumpCompact(e.value)}`).join(',')}}`;
    case 'array':
      return `[${n.items.map(dumpCompact).join(',')}]`;
    case 'string':
      return dumpString(n.value);
    case 'number':
      return dumpNumber(n.raw);
    case 'boolean':
      return n.value ? 'true' : 'false';
    case 'null':
      return 'null';
  }
}

const SHORT_ESCAPES: Record<string, string> = { '"': '\\"', '\\': '\\\\', '\b': '\\b', '\f': '\\f', '\n': '\\n', '\r': '\\r', '\t': '\\t' };

export function dumpString(s: string): string {
  let out = '"';
  for (const ch of s) {
    const short = SHORT_ESCAPES[ch];
    if (short) out += short;
    else if (ch.charCodeAt(0) < 0x20) out += `\\u${ch.charCodeAt(0).toString(16).padStart(4, '0')}`;
    else out += ch;
  }
  return `${out}"`;
}

const INT64_MIN = -(2n ** 63n);
const UINT64_MAX = 2n ** 64n - 1n;

function dumpNumber(raw: string): string {
  if (/^-?\d+$/.test(raw)) {
    const big = BigInt(raw);
    // nlohmann keeps integers that fit int64 (or uint64 when positive); others become doubles
    if (big >= INT64_MIN && big <= UINT64_MAX) return big.toString();
  }
  return formatDouble(Number(raw));
}

/** nlohmann's `to_chars`: fixed notation for decimal exponents in (-4, 15], else `d.ddde+XX`. */
export function formatDouble(v: number): string {
  if (!Number.isFinite(v)) return 'null';
  if (v === 0) return Object.is(v, -0) ? '-0.0' : '0.0';
  const sign = v < 0 ? '-' : '';
  const [mant, exp] = Math.abs(v).toExponential().split('e');
  const digits = mant.replace('.', '');
  const k = digits.length;
  const n = Number(exp) + 1; // position of the decimal point relative to the digits
  const MIN_EXP = -4;
  const MAX_EXP = 15;
  let body: string;
  if (k <= n && n <= MAX_EXP) body = `${digits}${'0'.repeat(n - k)}.0`;
  else if (0 < n && n <= MAX_EXP) body = `${digits.slice(0, n)}.${digits.slice(n)}`;
  else if (MIN_EXP < n && n <= 0) body = `0.${'0'.repeat(-n)}${digits}`;
  else {
    const e = n - 1;
    const ee = `${e < 0 ? '-' : '+'}${String(Math.abs(e)).padStart(2, '0')}`;
    body = k === 1 ? `${digits}e${ee}` : `${digits[0]}.${digits.slice(1)}e${ee}`;
  }
  return sign + body;
}
