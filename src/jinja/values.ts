import { Environment, Interpreter } from '@huggingface/jinja';
import { JsonNumber } from '../json-numbers.js';
import { KvdiffError } from '../errors.js';
import { assertJinjaInternals } from './guard.js';

// the classes below are found by running the interpreter's private methods: check they are there first
assertJinjaInternals();

/**
 * @huggingface/jinja's runtime value classes. The package exports only `Environment` and `Interpreter`, so the
 * classes are reached through instances it creates (`env.set` converts a JS value and returns the runtime value).
 */

/** What every runtime value looks like from outside: a type tag and a JS payload. */
export interface RV {
  type: string;
  value: unknown;
  __bool__(): { value: boolean };
  toString(): string;
}
export type RVClass = new (value?: unknown) => RV;

const env = new Environment();
const classOf = (v: unknown): RVClass => (new Environment().set('_', v) as unknown as RV).constructor as RVClass;

/**
 * The value classes' constructors are slow: each class redeclares the base's `type` field, so the base's field
 * initializer sees every subclass and V8 runs it through its generic (megamorphic) path, about 0.5 µs a value,
 * which was a third of a render. `fast(C)` is a plain constructor sharing C's prototype: its objects are C's
 * (`instanceof C`, `.constructor`, every method), with the same own properties in the same order and values as
 * `new C(value)` gives; `checkLayout` proves that at start-up, so a version of the package that adds a field
 * fails loudly instead of building different objects.
 */
function fast(C: RVClass): RVClass {
  const sample = new C() as unknown as Record<string, unknown>;
  const { type } = sample;
  const keys = Object.keys(sample).join(',');
  let F: Function;
  if (keys === 'type,value') {
    F = function (this: Record<string, unknown>, value?: unknown) {
      this.type = type;
      this.value = value;
    };
  } else if (keys === 'type,value,_builtins') {
    F = function (this: Record<string, unknown>, value?: unknown) {
      this.type = type;
      this.value = value;
      this._builtins = undefined;
    };
  } else {
    throw new KvdiffError(`the installed @huggingface/jinja's ${String(type)} has the fields ${keys}, not those kvdiff builds; install the version pinned in package.json (npm ci)`);
  }
  F.prototype = C.prototype;
  checkLayout(C, F as unknown as RVClass);
  return F as unknown as RVClass;
}

/** Throws unless `new F(v)` and `new C(v)` have the same prototype and the same own properties (names, order, values, attributes). */
export function checkLayout(C: RVClass, F: RVClass): void {
  for (const v of [undefined, 'x']) {
    const [a, b] = [new C(v), new F(v)];
    const describe = (o: object) => JSON.stringify(Object.getOwnPropertyNames(o).map((k) => [k, Object.getOwnPropertyDescriptor(o, k)]));
    if (Object.getPrototypeOf(a) !== Object.getPrototypeOf(b) || describe(a) !== describe(b)) {
      throw new KvdiffError(`kvdiff's fast constructor of @huggingface/jinja's ${a.type} builds a different object; install the version pinned in package.json (npm ci)`);
    }
  }
}

/** The package's own classes, for tests that compare them with the fast constructors below. */
export const slowClasses: Record<string, RVClass> = {};
const fastOf = (name: string, C: RVClass): RVClass => {
  slowClasses[name] = C;
  return fast(C);
};

export const StringValue = fastOf('StringValue', classOf(''));
export const IntegerValue = fastOf('IntegerValue', classOf(1));
export const FloatValue = fastOf('FloatValue', classOf(1.5));
export const BooleanValue = fastOf('BooleanValue', classOf(true));
export const NullValue = fastOf('NullValue', classOf(null));
export const UndefinedValue = fastOf('UndefinedValue', classOf(undefined));
export const ArrayValue = fastOf('ArrayValue', classOf([]));
export const ObjectValue = fastOf('ObjectValue', classOf({}));
export const FunctionValue = fastOf('FunctionValue', classOf(() => null));

/** A parse-free way to get the classes only the interpreter creates. */
const interp = new Interpreter(env) as unknown as { evaluate(node: unknown, env: Environment): RV };
export const TupleValue = fastOf('TupleValue', interp.evaluate({ type: 'TupleLiteral', value: [] }, env).constructor as RVClass);
/** evaluateCallExpression appends a KeywordArgumentsValue to the arguments when keyword arguments are given. */
export const KeywordArgumentsValue = fastOf('KeywordArgumentsValue', (() => {
  const seen: RV[] = [];
  const env = new Environment();
  env.setVariable('_', new FunctionValue((args: RV[]) => {
    seen.push(...args);
    return new NullValue();
  }));
  const kwarg = { type: 'KeywordArgumentExpression', key: { type: 'Identifier', value: 'k' }, value: { type: 'IntegerLiteral', value: 1 } };
  interp.evaluate({ type: 'CallExpression', callee: { type: 'Identifier', value: '_' }, args: [kwarg] }, env);
  return seen[0].constructor as RVClass;
})());
/** `namespace(...)`'s value class. */
export const NamespaceValue = fastOf('NamespaceValue', (() => {
  const e = new Environment();
  const node = { type: 'CallExpression', callee: { type: 'Identifier', value: 'namespace' }, args: [] };
  return (new Interpreter(e) as unknown as { evaluate(n: unknown, e: Environment): RV }).evaluate(node, e).constructor as RVClass;
})());

/**
 * Truthiness as the package defines it (`RuntimeValue`: `!!value`; lists and tuples: non-empty; dicts: non-empty
 * Map), returning a BooleanValue built by the fast constructor: `if`, `and`/`or`, `not` and `select` call it on
 * every test. The package's own methods are kept in `originalBool` for the test that compares them.
 */
type BoolMethod = (this: RV) => RV;
type Proto = { __bool__: BoolMethod };
const rootProto = Object.getPrototypeOf(slowClasses.IntegerValue.prototype) as Proto & { constructor: RVClass };
/** The base class of every value (`value instanceof RuntimeValue`, as the package checks). */
export const RuntimeValue = rootProto.constructor;
export const originalBool = {
  RuntimeValue: rootProto.__bool__,
  ArrayValue: (ArrayValue.prototype as Proto).__bool__,
  ObjectValue: (ObjectValue.prototype as Proto).__bool__,
};
if (typeof rootProto.__bool__ !== 'function' || !Object.hasOwn(ArrayValue.prototype, '__bool__') || !Object.hasOwn(ObjectValue.prototype, '__bool__')) {
  throw new KvdiffError("the installed @huggingface/jinja's truthiness methods are not where kvdiff expects them; install the version pinned in package.json (npm ci)");
}
rootProto.__bool__ = function (this: RV) {
  return new BooleanValue(!!this.value);
};
(ArrayValue.prototype as Proto).__bool__ = function (this: RV) {
  return new BooleanValue((this.value as unknown[]).length > 0);
};
(ObjectValue.prototype as Proto).__bool__ = function (this: RV) {
  return new BooleanValue((this.value as Map<unknown, unknown>).size > 0);
};

/** `v instanceof C`, without TypeScript narrowing (the classes all share one structural type here). */
export const is = (v: unknown, C: RVClass): boolean => v instanceof C;

export const str = (s: string): RV => new StringValue(s);
export const bool = (b: boolean): RV => new BooleanValue(b);
export const undef = (): RV => new UndefinedValue();
export const arr = (items: RV[]): RV => new ArrayValue(items);
export const fn = (f: (args: RV[], env: Environment) => RV): RV => new FunctionValue(f);

// each with its class written out, so every check is a monomorphic `instanceof` (they run on every node)
export const isString = (v: RV): boolean => v instanceof StringValue;
export const isArray = (v: RV): boolean => v instanceof ArrayValue; // tuples too
export const isObject = (v: RV): boolean => v instanceof ObjectValue && !((v as object) instanceof KeywordArgumentsValue);
export const isUndefined = (v: RV): boolean => v instanceof UndefinedValue;
export const isNone = (v: RV): boolean => v instanceof NullValue;
export const isNumber = (v: RV): boolean => (v as object) instanceof IntegerValue || (v as object) instanceof FloatValue;

/** Splits call arguments into positional ones and the trailing keyword-arguments map, if any. */
export function splitArgs(args: RV[]): [RV[], Map<string, RV>] {
  const last = args.at(-1);
  if (last && is(last, KeywordArgumentsValue)) return [args.slice(0, -1), last.value as Map<string, RV>];
  return [args, new Map()];
}

/**
 * `convertToRuntimeValues` (what `env.set` does), plus llama.cpp's numbers: a `JsonNumber` float stays a float, and
 * an integer beyond 2^53 prints its exact int64 digits (`integerText`) while computing with the nearest double.
 */
export function toRuntime(v: unknown): RV {
  if (v instanceof JsonNumber) {
    if (v.kind === 'float') return new FloatValue(v.value);
    return Object.assign(new IntegerValue(v.value), { digits: v.digits });
  }
  if (Array.isArray(v)) return arr(v.map(toRuntime));
  if (v && typeof v === 'object' && Object.getPrototypeOf(v) === Object.prototype) {
    return new ObjectValue(new Map(Object.entries(v).map(([k, x]) => [k, toRuntime(x)])));
  }
  switch (typeof v) {
    case 'string':
      return new StringValue(v);
    case 'number':
      return Number.isInteger(v) ? new IntegerValue(v) : new FloatValue(v);
    case 'boolean':
      return new BooleanValue(v);
    case 'undefined':
      return new UndefinedValue();
  }
  if (v === null) return new NullValue();
  return new Environment().set('_', v) as unknown as RV;
}

/** An integer's printed digits (exact for one read from JSON beyond 2^53). */
export const integerText = (v: RV): string => (v as RV & { digits?: string }).digits ?? String(v.value);
