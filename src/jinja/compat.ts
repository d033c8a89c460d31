import { Environment, Interpreter } from '@huggingface/jinja';
import { KvdiffError } from '../errors.js';
import { llamaToJson } from './tojson.js';
import {
  arr, ArrayValue, bool, BooleanValue, fn, FunctionValue, IntegerValue, isArray, isNone, isNumber, isObject, isString,
  isUndefined, NamespaceValue, NullValue, ObjectValue, splitArgs, str, TupleValue, undef, is, type RV,
} from './values.js';

/**
 * An @huggingface/jinja Interpreter that behaves like llama.cpp's own Jinja engine (`common/jinja/*`, llama.cpp
 * 34af94cd) where the two differ in ways real chat templates hit. Each override below names the llama.cpp behaviour
 * it reproduces. @huggingface/jinja declares these methods private, so they are installed on the prototype.
 */

/** Evaluation steps one render may take: a chat template needs thousands, a runaway one is stopped here. */
export const MAX_TEMPLATE_STEPS = 20_000_000;
/** Wall time one render may take: a 1M-token conversation renders in about a second; more means a runaway loop. */
export const MAX_RENDER_MS = 10_000;
/** How often (in steps) the clock is read. */
const CLOCK_EVERY_STEPS = 4096;

/** A render stopped by a limit: never retried or swallowed by a probe, always reported (exit 2). */
export class TemplateLimitError extends KvdiffError {}

type Statement = unknown;
/** The public face of @huggingface/jinja's Interpreter (its bundled types do not resolve under NodeNext). */
interface InterpreterApi {
  global: Environment;
  run(program: unknown): RV;
  evaluate(statement: Statement, environment: Environment): RV;
}
const BaseInterpreter = Interpreter as unknown as new (env?: Environment) => InterpreterApi;
type Node = { type: string; [k: string]: any }; // eslint-disable-line @typescript-eslint/no-explicit-any

export interface CompatOptions {
  /** `llama.cpp`: behave like llama.cpp's engine; `hf`: plain @huggingface/jinja (the `raw` backend), limits only. */
  dialect: 'llama.cpp' | 'hf';
  /** Longest string the template may build (concatenation is checked, so `s = s + s` cannot exhaust memory). */
  maxChars: number;
  /** Record which values the template touched, as llama.cpp's caps detection does (`ctx.is_get_stats`). */
  trackUse?: boolean;
  /** Wall time this render may take, when less than MAX_RENDER_MS is left of the command's deadline. */
  maxMs?: number;
}

/** An already evaluated value, spliced into a synthetic node so a base method does not evaluate twice. */
const VALUE_NODE = '__kvdiffValue';
const valueNode = (v: RV): Node => ({ type: VALUE_NODE, rv: v });

// the interpreter's break/continue signals are not exported; catch one of each to learn their classes
const controlClass = (type: string): Function => {
  try {
    new BaseInterpreter().evaluate({ type }, new Environment());
  } catch (err) {
    return (err as object).constructor;
  }
  throw new Error(`no ${type} signal`);
};
const BreakControl = controlClass('Break');
const ContinueControl = controlClass('Continue');

export class LlamaInterpreter extends BaseInterpreter {
  private steps = 0;
  private readonly started = performance.now();
  /** Values the template used (identifier lookup, member access, filter, loop, tojson): llama.cpp's `stats.used`. */
  readonly used = new WeakSet<object>();

  readonly llama: boolean;

  constructor(env: Environment, readonly opts: CompatOptions) {
    super(env);
    this.llama = opts.dialect === 'llama.cpp';
  }

  /** A budget on evaluation steps (every expression, statement and loop iteration): a template must never hang kvdiff. */
  tick(): void {
    if (++this.steps > MAX_TEMPLATE_STEPS) {
      throw new TemplateLimitError(`template took more than ${MAX_TEMPLATE_STEPS} evaluation steps (MAX_TEMPLATE_STEPS): it loops without end or is hostile`);
    }
    if (this.steps % CLOCK_EVERY_STEPS === 0 && performance.now() - this.started > (this.opts.maxMs ?? MAX_RENDER_MS)) {
      throw new TemplateLimitError(`template rendered for more than ${MAX_RENDER_MS / 1000} s (MAX_RENDER_MS): it loops without end or is hostile`);
    }
  }

  override evaluate(statement: Statement, environment: Environment): RV {
    this.tick();
    const node = statement as unknown as Node | undefined;
    if (node?.type === VALUE_NODE) return node.rv;
    return super.evaluate(statement, environment);
  }

  mark(v: RV | undefined): void {
    if (this.opts.trackUse && v && !isUndefined(v)) this.used.add(v);
  }

  checkLength(s: string): string {
    if (s.length > this.opts.maxChars) throw new TemplateLimitError(`template built a string of more than ${this.opts.maxChars} characters`);
    return s;
  }
}

interface Internals {
  evaluate(node: Node, env: Environment): RV;
  evaluateBlock(nodes: Node[], env: Environment): RV;
  evaluateIdentifier(node: Node, env: Environment): RV;
  evaluateMemberExpression(node: Node, env: Environment): RV;
  evaluateSliceExpression(object: RV, node: Node, env: Environment): RV;
  evaluateBinaryExpression(node: Node, env: Environment): RV;
  evaluateFor(node: Node, env: Environment): RV;
  evaluateArguments(args: Node[], env: Environment): [RV[], Map<string, RV>];
  applyFilter(operand: RV, filter: Node, env: Environment): RV;
}
type Self = LlamaInterpreter & Internals;
const base = Interpreter.prototype as unknown as Internals;
const proto = LlamaInterpreter.prototype as unknown as Internals;

/**
 * A function has no string form in llama.cpp (`value_func_t` has no `as_string`: "Function is not a string value"),
 * so `{{ range }}` fails the render there; @huggingface/jinja would print the interpreter's JavaScript source.
 */
(FunctionValue.prototype as { toString(): string }).toString = function () {
  throw new Error('Function is not a string value (the template prints a function, e.g. {{ range }})');
};

/**
 * Output of a block. llama.cpp prints nothing for a dict inside `{{ }}` (MiniCPM5 prints an object argument value
 * with `{{ param_value }}` and gets `<param name="location"></param>`); the rest prints as @huggingface/jinja does.
 */
proto.evaluateBlock = function (this: Self, nodes, env) {
  // a loop runs its body block once per item, even an empty one: count it, so `for` over `for` is bounded too
  this.tick();
  if (!this.llama) return base.evaluateBlock.call(this, nodes, env);
  let out = '';
  for (const node of nodes) {
    const v = this.evaluate(node, env);
    if (isNone(v) || isUndefined(v) || isObject(v)) continue;
    out += v.toString();
    this.checkLength(out);
  }
  return str(out);
};

/** llama.cpp marks a variable used whenever an identifier resolves to it (runtime.cpp `identifier::execute_impl`). */
proto.evaluateIdentifier = function (this: Self, node, env) {
  if (!this.llama) return base.evaluateIdentifier.call(this, node, env);
  const v = base.evaluateIdentifier.call(this, node, env);
  this.mark(v);
  return v;
};

/**
 * Member access. llama.cpp adds methods @huggingface/jinja lacks (string `strip(chars)`/`format`, ASCII-only
 * whitespace; list `append`/`pop`/...; dict `pop`) and marks both the object and the result used.
 */
proto.evaluateMemberExpression = function (this: Self, node, env) {
  if (!this.llama) return base.evaluateMemberExpression.call(this, node, env);
  const object = this.evaluate(node.object, env);
  if (node.computed && node.property.type === 'SliceExpression') {
    this.mark(object);
    return base.evaluateSliceExpression.call(this, object, node.property, env);
  }
  const name = node.computed ? undefined : node.property.type === 'Identifier' ? (node.property.value as string) : undefined;
  const method = name !== undefined ? extraMethod(this, object, name) : undefined;
  if (method) {
    this.mark(object);
    return method;
  }
  const v = base.evaluateMemberExpression.call(this, { ...node, object: valueNode(object) }, env);
  this.mark(object);
  this.mark(v);
  return v;
};

/**
 * Binary operators. llama.cpp (runtime.cpp `binary_expression`): `+`/`~` treat undefined or none as "" when the
 * other side is a string; `==`/`!=` compare values deeply (lists, dicts), not by identity.
 */
proto.evaluateBinaryExpression = function (this: Self, node, env) {
  if (!this.llama) return base.evaluateBinaryExpression.call(this, node, env);
  const op = node.operator.value as string;
  if (op === 'and' || op === 'or') return base.evaluateBinaryExpression.call(this, node, env);
  const left = this.evaluate(node.left, env);
  const right = this.evaluate(node.right, env);
  if (op === '==' || op === '!=') return bool(deepEqual(left, right) === (op === '=='));
  if ((op === '+' || op === '~') && isString(left) !== isString(right) && (isUndefined(left) || isNone(left) || isUndefined(right) || isNone(right))) {
    return str(this.checkLength((isString(left) ? (left.value as string) : '') + (isString(right) ? (right.value as string) : '')));
  }
  if (op === '*' && ((isString(left) && is(right, IntegerValue)) || (is(left, IntegerValue) && isString(right)))) {
    // Python's string repetition, which llama.cpp supports (functionary: `"    " * depth`)
    const [s, n] = isString(left) ? [left.value as string, right.value as number] : [right.value as string, left.value as number];
    return str(this.checkLength(n > 0 ? s.repeat(n) : ''));
  }
  const v = base.evaluateBinaryExpression.call(this, { ...node, left: valueNode(left), right: valueNode(right) }, env);
  if (isString(v)) this.checkLength(v.value as string);
  return v;
};

/**
 * `for` loops as llama.cpp runs them (runtime.cpp `for_statement`): an undefined iterable is an empty loop; a dict
 * yields its keys, or (key, value) pairs to `for k, v in d`; tuples unpack like lists; the loop is marked used.
 */
proto.evaluateFor = function (this: Self, node, env) {
  if (!this.llama) return base.evaluateFor.call(this, node, env);
  const scope = new Environment(env);
  const select = node.iterable.type === 'SelectExpression' ? node.iterable : undefined;
  let iterable = this.evaluate(select ? select.lhs : node.iterable, scope);
  if (isUndefined(iterable)) iterable = arr([]);
  let items: RV[];
  const pairs = isObject(iterable);
  if (pairs) {
    items = [...(iterable.value as Map<string, RV>)].map(([k, v]) => new TupleValue([str(k), v]));
  } else if (isArray(iterable)) {
    items = iterable.value as RV[];
  } else {
    throw new Error(`Expected iterable or object type in for loop: got ${iterable.type}`);
  }
  this.mark(iterable);
  const loopvar = node.loopvar as Node;
  const bind = (target: Environment, current: RV) => {
    if (loopvar.type === 'Identifier') {
      target.setVariable(loopvar.value, pairs ? (current.value as RV[])[0] : current);
    } else if (loopvar.type === 'TupleLiteral') {
      if (!isArray(current)) throw new Error(`Cannot unpack non-iterable type: ${current.type}`);
      const vals = current.value as RV[];
      const names = loopvar.value as Node[];
      if (names.length !== vals.length) throw new Error(`Too ${names.length > vals.length ? 'few' : 'many'} items to unpack`);
      names.forEach((n, j) => {
        if (n.type !== 'Identifier') throw new Error(`Cannot unpack non-identifier type: ${n.type}`);
        target.setVariable(n.value, vals[j]);
      });
    } else {
      throw new Error(`Invalid loop variable(s): ${loopvar.type}`);
    }
  };
  const kept: RV[] = [];
  for (const current of items) {
    if (select) {
      const loopScope = new Environment(scope);
      bind(loopScope, current);
      if (!this.evaluate(select.test, loopScope).__bool__().value) continue;
    }
    kept.push(current);
  }
  let out = '';
  let iterated = false;
  for (let i = 0; i < kept.length; i++) {
    const loop = new Map<string, RV>([
      ['index', new IntegerValue(i + 1)],
      ['index0', new IntegerValue(i)],
      ['revindex', new IntegerValue(kept.length - i)],
      ['revindex0', new IntegerValue(kept.length - i - 1)],
      ['first', bool(i === 0)],
      ['last', bool(i === kept.length - 1)],
      ['length', new IntegerValue(kept.length)],
      ['previtem', i > 0 ? (pairs ? (kept[i - 1].value as RV[])[0] : kept[i - 1]) : undef()],
      ['nextitem', i < kept.length - 1 ? (pairs ? (kept[i + 1].value as RV[])[0] : kept[i + 1]) : undef()],
    ]);
    scope.setVariable('loop', new ObjectValue(loop) as never);
    bind(scope, kept[i]);
    try {
      out += this.evaluateBlock(node.body, scope).value as string;
    } catch (err) {
      if (err instanceof ContinueControl) continue;
      if (err instanceof BreakControl) break;
      throw err;
    }
    this.checkLength(out);
    iterated = true;
  }
  if (!iterated) out += this.evaluateBlock(node.defaultBlock ?? [], scope).value as string;
  return str(out);
};

/**
 * Filters as llama.cpp implements them (value.cpp builtins): ASCII-only `trim`/`strip` with optional chars;
 * its own `tojson`; `items` on dicts (and on none: empty); `min`/`max`; `string` of a bool is `True`/`False`.
 * The operand is marked used (runtime.cpp `try_builtin_func`).
 */
proto.applyFilter = function (this: Self, operand, filter, env) {
  if (!this.llama) return base.applyFilter.call(this, operand, filter, env);
  this.mark(operand);
  const name: string = filter.type === 'Identifier' ? filter.value : filter.type === 'CallExpression' ? filter.callee?.value : '';
  const args = (): [RV[], Map<string, RV>] => (filter.type === 'CallExpression' ? this.evaluateArguments(filter.args, env) : [[], new Map()]);
  switch (name) {
    case 'trim':
    case 'strip':
    case 'lstrip':
    case 'rstrip': {
      // an undefined value strips to "" (Hermes-3: `param_fields.description|trim` with no description)
      if (isUndefined(operand)) return str('');
      if (!isString(operand)) break;
      const [pos, kw] = args();
      const chars = kw.get('chars') ?? pos[0];
      return str(stripChars(operand.value as string, name === 'rstrip' ? 'right' : name === 'lstrip' ? 'left' : 'both', chars));
    }
    case 'tojson': {
      const [pos, kw] = args();
      const get = (k: string, i: number) => kw.get(k) ?? pos[i];
      if (get('sort_keys', 3)?.__bool__().value) throw new Error('tojson sort_keys=true not implemented');
      const indent = get('indent', 1);
      const seps = get('separators', 2);
      const sepList = seps && isArray(seps) ? (seps.value as RV[]).map((s) => String(s.value)) : [];
      return str(this.checkLength(llamaToJson(operand, {
        indent: is(indent, IntegerValue) ? (indent.value as number) : undefined,
        itemSep: sepList[0],
        keySep: sepList[1],
        ensureAscii: get('ensure_ascii', 0)?.__bool__().value ?? false,
      }, (v) => this.mark(v))));
    }
    case 'items':
      if (isObject(operand)) return arr([...(operand.value as Map<string, RV>)].map(([k, v]) => new TupleValue([str(k), v])));
      if (isNone(operand) || isUndefined(operand)) return arr([]);
      break;
    case 'min':
    case 'max':
      if (isArray(operand)) {
        const list = operand.value as RV[];
        if (!list.length) return undef();
        return list.reduce((a, b) => ((compare(b, a) < 0) === (name === 'min') ? b : a));
      }
      break;
    case 'string':
      if (is(operand, BooleanValue)) return str(operand.value ? 'True' : 'False');
      if (isNone(operand)) return str('None');
      break;
  }
  return base.applyFilter.call(this, operand, filter, env);
};

/** ASCII whitespace as C's isspace: llama.cpp's strip never removes NBSP, U+3000 and other Unicode spaces. */
const ASCII_SPACE = ' \t\n\v\f\r';

function stripChars(s: string, side: 'left' | 'right' | 'both', chars?: RV): string {
  const set = chars && isString(chars) ? (chars.value as string) : ASCII_SPACE;
  let a = 0;
  let b = s.length;
  if (side !== 'right') while (a < b && set.includes(s[a])) a++;
  if (side !== 'left') while (b > a && set.includes(s[b - 1])) b--;
  return s.slice(a, b);
}

/** Methods llama.cpp has and @huggingface/jinja lacks, or has with different semantics. */
function extraMethod(self: Self, object: RV, name: string): RV | undefined {
  if (isString(object)) {
    const s = object.value as string;
    switch (name) {
      case 'strip':
      case 'lstrip':
      case 'rstrip':
        return fn((args) => {
          const [pos, kw] = splitArgs(args);
          return str(stripChars(s, name === 'strip' ? 'both' : name === 'lstrip' ? 'left' : 'right', kw.get('chars') ?? pos[0]));
        });
      case 'format':
        return fn((args) => {
          const [pos] = splitArgs(args);
          let next = 0;
          return str(self.checkLength(s.replace(/\{(\d*)\}/g, (_, n: string) => {
            const v = pos[n === '' ? next++ : Number(n)];
            if (!v) throw new Error('format: not enough arguments');
            return v.toString();
          })));
        });
    }
    return undefined;
  }
  if (isArray(object) && !(is(object, TupleValue))) {
    const list = object.value as RV[];
    switch (name) {
      case 'append':
        return fn((args) => {
          list.push(args[0] ?? new NullValue());
          return new NullValue();
        });
      case 'extend':
        return fn((args) => {
          if (args[0] && isArray(args[0])) list.push(...(args[0].value as RV[]));
          return new NullValue();
        });
      case 'insert':
        return fn((args) => {
          list.splice(Number(args[0]?.value ?? 0), 0, args[1] ?? new NullValue());
          return new NullValue();
        });
      case 'pop':
        return fn((args) => {
          let i = args[0] ? Number(args[0].value) : -1;
          if (i < 0) i += list.length;
          if (i < 0 || i >= list.length) throw new Error('pop index out of range');
          return list.splice(i, 1)[0];
        });
    }
    return undefined;
  }
  if (isObject(object) || is(object, NamespaceValue)) {
    const map = object.value as Map<string, RV>;
    if (name === 'pop' && !map.has('pop')) {
      return fn((args) => {
        const key = String(args[0]?.value);
        const v = map.get(key);
        if (v === undefined) {
          if (args[1]) return args[1];
          throw new Error(`pop: key '${key}' not found`);
        }
        map.delete(key);
        return v;
      });
    }
    if (name === 'items' && isObject(object)) {
      return fn(() => arr([...map].map(([k, v]) => new TupleValue([str(k), v]))));
    }
  }
  return undefined;
}

/** Value equality as llama.cpp's `value ==`: by content for lists and dicts, numbers across int/float. */
function deepEqual(a: RV, b: RV): boolean {
  if (isNumber(a) && isNumber(b)) return a.value === b.value;
  if (isArray(a) && isArray(b)) {
    const x = a.value as RV[];
    const y = b.value as RV[];
    return x.length === y.length && x.every((v, i) => deepEqual(v, y[i]));
  }
  if (isObject(a) && isObject(b)) {
    const x = a.value as Map<string, RV>;
    const y = b.value as Map<string, RV>;
    return x.size === y.size && [...x].every(([k, v]) => y.has(k) && deepEqual(v, y.get(k)!));
  }
  if (a.type !== b.type) {
    // a bool is not equal to a number or string here, as in llama.cpp's typed comparison
    return false;
  }
  if (is(a, FunctionValue) || is(a, ObjectValue) || is(a, ArrayValue)) return a === b;
  return a.value === b.value;
}

function compare(a: RV, b: RV): number {
  const x = a.value as number | string;
  const y = b.value as number | string;
  return x < y ? -1 : x > y ? 1 : 0;
}

