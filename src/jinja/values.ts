import { Environment, Interpreter } from '@huggingface/jinja';
import { JsonNumber } from '../json-numbers.js';
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

export const StringValue = classOf('');
export const IntegerValue = classOf(1);
export const FloatValue = classOf(1.5);
export const BooleanValue = classOf(true);
export const NullValue = classOf(null);
export const UndefinedValue = classOf(undefined);
export const ArrayValue = classOf([]);
export const ObjectValue = classOf({});
export const FunctionValue = classOf(() => null);

/** A parse-free way to get the classes only the interpreter creates. */
const interp = new Interpreter(env) as unknown as { evaluate(node: unknown, env: Environment): RV };
export const TupleValue = interp.evaluate({ type: 'TupleLiteral', value: [] }, env).constructor as RVClass;
/** evaluateCallExpression appends a KeywordArgumentsValue to the arguments when keyword arguments are given. */
export const KeywordArgumentsValue = (() => {
  const seen: RV[] = [];
  const env = new Environment();
  env.setVariable('_', new FunctionValue((args: RV[]) => {
    seen.push(...args);
    return new NullValue();
  }));
  const kwarg = { type: 'KeywordArgumentExpression', key: { type: 'Identifier', value: 'k' }, value: { type: 'IntegerLiteral', value: 1 } };
  interp.evaluate({ type: 'CallExpression', callee: { type: 'Identifier', value: '_' }, args: [kwarg] }, env);
  return seen[0].constructor as RVClass;
})();
/** `namespace(...)`'s value class. */
export const NamespaceValue = (() => {
  const e = new Environment();
  const node = { type: 'CallExpression', callee: { type: 'Identifier', value: 'namespace' }, args: [] };
  return (new Interpreter(e) as unknown as { evaluate(n: unknown, e: Environment): RV }).evaluate(node, e).constructor as RVClass;
})();

/** `v instanceof C`, without TypeScript narrowing (the classes all share one structural type here). */
export const is = (v: unknown, C: RVClass): boolean => v instanceof C;

export const str = (s: string): RV => new StringValue(s);
export const bool = (b: boolean): RV => new BooleanValue(b);
export const undef = (): RV => new UndefinedValue();
export const arr = (items: RV[]): RV => new ArrayValue(items);
export const fn = (f: (args: RV[], env: Environment) => RV): RV => new FunctionValue(f);

export const isString = (v: RV): boolean => is(v, StringValue);
export const isArray = (v: RV): boolean => is(v, ArrayValue); // tuples too
export const isObject = (v: RV): boolean => is(v, ObjectValue) && !is(v, KeywordArgumentsValue);
export const isUndefined = (v: RV): boolean => is(v, UndefinedValue);
export const isNone = (v: RV): boolean => is(v, NullValue);
export const isNumber = (v: RV): boolean => is(v, IntegerValue) || is(v, FloatValue);

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
