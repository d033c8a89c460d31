import { Environment, Interpreter } from '@huggingface/jinja';
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
