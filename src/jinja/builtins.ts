import { formatDouble } from './tojson.js';
import {
  arr, BooleanValue, bool, FloatValue, FunctionValue, IntegerValue, is, integerText, isArray, isNone, isNumber, isObject, isString,
  isUndefined, NamespaceValue, NullValue, ObjectValue, str, TupleValue, undef, type RV,
} from './values.js';

/**
 * Value semantics of llama.cpp's Jinja engine (common/jinja/value.h, value.cpp): how each value type prints,
 * converts to a string, compares, and which filters and tests exist for it. Filters are looked up on the
 * operand's type, as llama.cpp's per-type builtin tables do: a filter a type lacks is an error, and undefined and
 * none have small tables of their own (most filters on undefined give an empty value).
 */

/** A filter or test failed the way llama.cpp's does: the render stops with this message. */
export class LlamaJinjaError extends Error {}

/**
 * Dict keys that were not strings (`{1: 'a'}`): @huggingface/jinja keys its maps by string, so the key is stored
 * as its text and its value kept here, for `|string` and for iteration, which show the number.
 */
const keyValues = new WeakMap<Map<string, RV>, Map<string, RV>>();

/** The text a non-string dict key is stored under: numbers by value (1 and 1.0 are one key, as in llama.cpp). */
export function dictKey(key: RV): string {
  if (isString(key)) return key.value as string;
  if (is(key, BooleanValue)) return key.value ? '1' : '0';
  if (isNumber(key)) return String(key.value);
  if (isNone(key)) return 'None';
  if (is(key, TupleValue)) return asString(key);
  throw new LlamaJinjaError(`Object key of unhashable type: ${typeName(key)}`);
}

export function rememberKey(map: Map<string, RV>, text: string, key: RV): void {
  if (isString(key)) return;
  let kv = keyValues.get(map);
  if (!kv) keyValues.set(map, (kv = new Map()));
  kv.set(text, key);
}

/** The key as the template wrote it: the number for `{1: …}`, the string otherwise. */
export function keyValue(map: Map<string, RV>, text: string): RV {
  return keyValues.get(map)?.get(text) ?? str(text);
}

export function typeName(v: RV): string {
  if (isUndefined(v)) return 'Undefined';
  if (isNone(v)) return 'None';
  if (is(v, BooleanValue)) return 'Boolean';
  if (is(v, IntegerValue)) return 'Integer';
  if (is(v, FloatValue)) return 'Float';
  if (isString(v)) return 'String';
  if (is(v, TupleValue)) return 'Tuple';
  if (isArray(v)) return 'Array';
  if (isObject(v) || is(v, NamespaceValue)) return 'Object';
  if (is(v, FunctionValue)) return 'Function';
  return v.type;
}

/** `std::to_string(double)` with trailing zeros removed but one kept: `3.14`, `5.0`, `0.0` for 1e-7. */
export function floatString(x: number): string {
  if (!Number.isFinite(x)) return Number.isNaN(x) ? 'nan' : x > 0 ? 'inf' : '-inf';
  // from 1e21 JavaScript writes exponents; the double is an integer there, printed in full as %f does
  let out = Math.abs(x) >= 1e21 ? `${BigInt(x)}.000000` : x.toFixed(6);
  if (Object.is(x, -0) || (x < 0 && !out.startsWith('-'))) out = '-' + out; // %f keeps the sign of -0.0 and -1e-7
  out = out.replace(/0+$/, '');
  return out.endsWith('.') ? out + '0' : out;
}

/** `value::as_string()`: what `~`, `+` with a string and `|string` make of a value. */
export function asString(v: RV): string {
  if (isString(v)) return v.value as string;
  if (is(v, BooleanValue)) return v.value ? 'True' : 'False';
  if (is(v, IntegerValue)) return integerText(v);
  if (is(v, FloatValue)) return floatString(v.value as number);
  if (isNone(v)) return 'None';
  if (isUndefined(v)) return '';
  if (isArray(v)) {
    const items = (v.value as RV[]).map(repr);
    if (is(v, TupleValue)) return `(${items.join(', ')}${items.length === 1 ? ',' : ''})`;
    return `[${items.join(', ')}]`;
  }
  if (isObject(v) || is(v, NamespaceValue)) {
    const map = v.value as Map<string, RV>;
    return `{${[...map].map(([k, x]) => `${repr(keyValue(map, k))}: ${repr(x)}`).join(', ')}}`;
  }
  return v.toString();
}

/** `value_to_string_repr`: strings quoted (`'a'`, or as JSON when they hold a `'`), the rest as `as_string`. */
export function repr(v: RV): string {
  if (isString(v)) {
    const s = v.value as string;
    return s.includes("'") ? jsonQuote(s) : `'${s}'`;
  }
  if (isUndefined(v)) return 'Undefined';
  return asString(v);
}

function jsonQuote(s: string): string {
  return '"' + s.replace(/[\\"\u0000-\u001f]/g, (c) => {
    const esc: Record<string, string> = { '"': '\\"', '\\': '\\\\', '\b': '\\b', '\f': '\\f', '\n': '\\n', '\r': '\\r', '\t': '\\t' };
    return esc[c] ?? '\\u' + c.charCodeAt(0).toString(16).padStart(4, '0');
  }) + '"';
}

/**
 * `{{ value }}` output (runtime `gather_string_parts_recursive`): strings, numbers and booleans print; a list prints
 * its items one after another; none, undefined, dicts and functions print nothing.
 */
export function printValue(v: RV): string {
  if (isString(v)) return v.value as string;
  if (is(v, BooleanValue) || isNumber(v)) return asString(v);
  if (isArray(v)) return (v.value as RV[]).map(printValue).join('');
  return '';
}

/** Whether a value can be compared by content (`is_hashable` and immutable: no lists or dicts inside). */
function immutableHashable(v: RV): boolean {
  if (isArray(v)) return is(v, TupleValue) && (v.value as RV[]).every(immutableHashable);
  if (isObject(v) || is(v, NamespaceValue)) return false;
  return !is(v, FunctionValue);
}

/**
 * `==` as llama.cpp's `value_t::operator==`: numbers and booleans by numeric value (`1 == true`, `1 == 1.0`),
 * strings by text, none only to none, undefined only to undefined; lists and dicts by content, in order, when every
 * item is immutable (a list holding a list or dict is never equal to anything).
 */
export function llamaEquals(a: RV, b: RV): boolean {
  const numeric = (v: RV) => isNumber(v) || is(v, BooleanValue);
  if (numeric(a) && numeric(b)) return Number(a.value) === Number(b.value);
  if (isString(a) || isString(b)) return isString(a) && isString(b) && a.value === b.value;
  if (isUndefined(a) || isUndefined(b)) return isUndefined(a) && isUndefined(b);
  if (isNone(a) || isNone(b)) return isNone(a) && isNone(b);
  if (isArray(a) && isArray(b)) {
    if (is(a, TupleValue) !== is(b, TupleValue)) return false;
    const x = a.value as RV[];
    const y = b.value as RV[];
    if (!x.every(immutableHashable) || !y.every(immutableHashable)) return false;
    return x.length === y.length && x.every((v, i) => llamaEquals(v, y[i]));
  }
  if ((isObject(a) || is(a, NamespaceValue)) && (isObject(b) || is(b, NamespaceValue))) {
    const x = [...(a.value as Map<string, RV>)];
    const y = [...(b.value as Map<string, RV>)];
    if (![...x, ...y].every(([, v]) => immutableHashable(v))) return false;
    return x.length === y.length && x.every(([k, v], i) => k === y[i][0] && llamaEquals(v, y[i][1]));
  }
  return a === b;
}

/** `value_compare` for `<`-style tests and sorting: numbers by value, strings (and a string with a number) by text. */
export function llamaCompare(a: RV, b: RV, op: 'eq' | 'ne' | 'lt' | 'gt' | 'ge'): boolean {
  const numeric = (v: RV) => isNumber(v);
  if (numeric(a) && numeric(b)) {
    const x = a.value as number;
    const y = b.value as number;
    return op === 'eq' ? x === y : op === 'ne' ? x !== y : op === 'lt' ? x < y : op === 'gt' ? x > y : x >= y;
  }
  if ((isString(a) || numeric(a)) && (isString(b) || numeric(b))) {
    const x = asString(a);
    const y = asString(b);
    return op === 'eq' ? x === y : op === 'ne' ? x !== y : op === 'lt' ? x < y : op === 'gt' ? x > y : x >= y;
  }
  if (is(a, BooleanValue) && is(b, BooleanValue)) {
    if (op === 'eq') return a.value === b.value;
    if (op === 'ne') return a.value !== b.value;
    throw new LlamaJinjaError('Unsupported comparison operator for bool type');
  }
  return false;
}

/**
 * llama.cpp's string case functions work on bytes with C's `toupper`/`tolower`: ASCII letters change, others
 * (é, ß, Cyrillic) stay. `title` starts a word after whitespace only (`a,b` → `A,b`).
 */
const asciiUpper = (s: string) => s.replace(/[a-z]+/g, (m) => m.toUpperCase());
const asciiLower = (s: string) => s.replace(/[A-Z]+/g, (m) => m.toLowerCase());
export const CASE_FUNCTIONS: Record<string, (s: string) => string> = {
  upper: asciiUpper,
  lower: asciiLower,
  capitalize: (s) => asciiUpper(s.slice(0, 1)) + asciiLower(s.slice(1)),
  title: (s) => s.replace(/(^|\s)([^\s]*)/g, (_, space: string, word: string) => space + asciiUpper(word.slice(0, 1)) + asciiLower(word.slice(1))),
};

/** Python's truthiness, as llama.cpp's `as_bool`. */
export function truthy(v: RV): boolean {
  return v.__bool__().value;
}

// ---- filters on undefined and none (value_undefined_t / value_none_t builtin tables) ----

type Empty = () => RV;
const emptyString: Empty = () => str('');
const emptyList: Empty = () => arr([]);
const zero: Empty = () => new IntegerValue(0);

/** Filters an undefined value has in llama.cpp, each giving an empty value; any other filter is an error. */
export const UNDEFINED_FILTERS: Record<string, Empty> = {
  capitalize: emptyString, join: emptyString, lower: emptyString, replace: emptyString, safe: emptyString,
  string: emptyString, strip: emptyString, title: emptyString, truncate: emptyString, upper: emptyString,
  first: undef, last: undef, max: undef, min: undef,
  items: emptyList, list: emptyList, map: emptyList, reject: emptyList, rejectattr: emptyList, reverse: emptyList,
  select: emptyList, selectattr: emptyList, sort: emptyList, unique: emptyList,
  length: zero, count: zero, sum: zero, wordcount: zero,
};

/**
 * String filters that, written without arguments (`x|upper`), first turn any defined non-string operand into its
 * string (runtime.cpp `apply_filter`): `none|trim` is `None`, a list's `|upper` upper-cases its repr.
 */
export const COERCED_STRING_FILTERS = new Set(['capitalize', 'lower', 'replace', 'strip', 'title', 'upper', 'wordcount']);

/** Filters none has in llama.cpp (besides `default` and `tojson`). */
export const NONE_FILTERS: Record<string, Empty> = {
  string: () => str('None'), safe: () => str('None'),
  items: emptyList, map: emptyList, reject: emptyList, rejectattr: emptyList, select: emptyList, selectattr: emptyList,
  unique: emptyList,
};

/**
 * The tests llama.cpp defines (`test_is_*` in value.cpp), with its semantics: `none` is none only (undefined is
 * not none), `iterable`/`sequence` hold for lists, strings and undefined (not dicts), `true`/`false` only for
 * booleans. Unknown tests are errors.
 */
export const TESTS: Record<string, (v: RV, args: RV[]) => boolean> = {
  boolean: (v) => is(v, BooleanValue),
  callable: (v) => is(v, FunctionValue),
  odd: (v) => intArg(v, 'odd') % 2 !== 0,
  even: (v) => intArg(v, 'even') % 2 === 0,
  false: (v) => is(v, BooleanValue) && !v.value,
  true: (v) => is(v, BooleanValue) && Boolean(v.value),
  divisibleby: (v, [n]) => intArg(v, 'divisibleby') % intArg(n, 'divisibleby') === 0,
  string: (v) => isString(v),
  integer: (v) => is(v, IntegerValue),
  float: (v) => is(v, FloatValue),
  number: (v) => isNumber(v),
  iterable: (v) => isArray(v) || isString(v) || isUndefined(v),
  sequence: (v) => isArray(v) || isString(v) || isUndefined(v),
  mapping: (v) => isObject(v) || is(v, NamespaceValue),
  lower: (v) => !/[A-Z]/.test(stringArg(v, 'lower')),
  upper: (v) => !/[a-z]/.test(stringArg(v, 'upper')),
  none: (v) => isNone(v),
  defined: (v) => !isUndefined(v),
  undefined: (v) => isUndefined(v),
  eq: (v, [o]) => llamaCompare(v, need(o), 'eq'),
  equalto: (v, [o]) => llamaCompare(v, need(o), 'eq'),
  ne: (v, [o]) => llamaCompare(v, need(o), 'ne'),
  ge: (v, [o]) => llamaCompare(v, need(o), 'ge'),
  gt: (v, [o]) => llamaCompare(v, need(o), 'gt'),
  greaterthan: (v, [o]) => llamaCompare(v, need(o), 'gt'),
  lt: (v, [o]) => llamaCompare(v, need(o), 'lt'),
  lessthan: (v, [o]) => llamaCompare(v, need(o), 'lt'),
  in: (v, [hay]) => {
    const h = need(hay);
    if (isUndefined(h)) return false;
    if (isArray(h)) return (h.value as RV[]).some((x) => llamaEquals(v, x));
    if (isString(h)) {
      if (!isString(v)) throw new LlamaJinjaError(`'in' test expects args[1] as string when args[0] is string, got args[1] as ${typeName(v)}`);
      return (h.value as string).includes(v.value as string);
    }
    if (isObject(h) || is(h, NamespaceValue)) return (h.value as Map<string, RV>).has(dictKey(v));
    throw new LlamaJinjaError(`'in' test expects iterable as first argument, got ${typeName(h)}`);
  },
  test: (v) => isString(v) && Object.hasOwn(TESTS, v.value as string),
  // defined by llama.cpp but not implemented: using one fails (and `'sameas' is test` is true)
  sameas: notImplemented('sameas'),
  escaped: notImplemented('escaped'),
  filter: notImplemented('filter'),
};

function notImplemented(test: string): () => boolean {
  return () => {
    throw new LlamaJinjaError(`NotImplemented: ${test} test not implemented`);
  };
}

/**
 * value.cpp's string `format` (also `str.format`): each `{}` takes the next positional argument as a string; a
 * `{` not followed by `}` (numbered or named fields) is not implemented, and a missing argument is an error.
 */
export function llamaFormat(fmt: string, args: RV[]): string {
  let out = '';
  let next = 0;
  for (let i = 0; i < fmt.length; i++) {
    if (fmt[i] !== '{') {
      out += fmt[i];
      continue;
    }
    if (fmt[i + 1] !== '}') throw new LlamaJinjaError("NotImplemented: format() only supports simple '{}' placeholders");
    i++;
    const v = args[next++];
    if (!v) throw new LlamaJinjaError(`Function 'format' expected at least ${next + 1} arguments, got ${args.length + 1}`);
    out += asString(v);
  }
  return out;
}

/**
 * value.cpp's `slice` filter on a string or list: Python slicing, but only with all of start, stop and step given
 * (with fewer, llama.cpp reads an undefined bound and fails).
 */
export function sliceIndices(length: number, args: RV[]): number[] {
  if (args.length < 3) throw new LlamaJinjaError('Undefined is not an int value');
  const [start, stop, step] = args.slice(0, 3).map((a) => {
    if (!is(a, IntegerValue)) throw new LlamaJinjaError(`Function 'slice' expected value of type Integer, got ${typeName(a)}`);
    return a.value as number;
  });
  if (step === 0) throw new LlamaJinjaError('slice step cannot be zero');
  const clamp = (i: number, lo: number, hi: number) => Math.min(Math.max(i < 0 ? i + length : i, lo), hi);
  const out: number[] = [];
  if (step > 0) for (let i = clamp(start, 0, length); i < clamp(stop, 0, length); i += step) out.push(i);
  else for (let i = clamp(start, -1, length - 1); i > clamp(stop, -1, length - 1); i += step) out.push(i);
  return out;
}

function need(v: RV | undefined): RV {
  if (!v) throw new LlamaJinjaError('test expects an argument');
  return v;
}

function stringArg(v: RV, what: string): string {
  if (!isString(v)) throw new LlamaJinjaError(`Function '${what}' expected value of type String, got ${typeName(v)}`);
  return v.value as string;
}

function intArg(v: RV | undefined, what: string): number {
  if (!v || !is(v, IntegerValue)) throw new LlamaJinjaError(`Function '${what}' expected value of type Integer, got ${v ? typeName(v) : 'nothing'}`);
  return v.value as number;
}

export function runTest(name: string, v: RV, args: RV[]): boolean {
  const test = Object.hasOwn(TESTS, name) ? TESTS[name] : undefined;
  if (!test) throw new LlamaJinjaError(`Unknown test '${name}'`);
  return test(v, args);
}

/**
 * The builtins of each value type's table in llama.cpp (value.cpp `get_builtins`): every one is both a filter
 * (`x|name(...)`) and a method (`x.name(...)`).
 */
const TYPE_BUILTINS: Record<string, ReadonlySet<string>> = {
  Integer: new Set(['default', 'abs', 'int', 'float', 'safe', 'string', 'tojson']),
  Float: new Set(['default', 'abs', 'int', 'float', 'safe', 'string', 'tojson']),
  String: new Set(['default', 'upper', 'lower', 'strip', 'rstrip', 'lstrip', 'title', 'capitalize', 'length', 'startswith', 'endswith', 'split', 'rsplit', 'replace', 'format', 'int', 'float', 'string', 'slice', 'safe', 'tojson', 'indent', 'join']),
  Boolean: new Set(['default', 'int', 'float', 'safe', 'string', 'tojson']),
  Array: new Set(['default', 'list', 'first', 'last', 'length', 'slice', 'selectattr', 'select', 'rejectattr', 'reject', 'join', 'string', 'tojson', 'map', 'append', 'pop', 'sort', 'reverse', 'min', 'max', 'unique']),
  Object: new Set(['get', 'keys', 'values', 'items', 'tojson', 'string', 'length', 'dictsort', 'join']),
};

/** Whether llama.cpp's table for this value's type has `name` (a tuple has the list's table). */
export function hasBuiltin(v: RV, name: string): boolean {
  const type = is(v, TupleValue) ? 'Array' : typeName(v);
  return TYPE_BUILTINS[type]?.has(name) ?? false;
}

export { NullValue, ObjectValue, undef };
