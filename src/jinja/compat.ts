import { Environment, Interpreter } from '@huggingface/jinja';
import { KvdiffError } from '../errors.js';
import { assertJinjaInternals } from './guard.js';
import { llamaToJson } from './tojson.js';
import {
  asString, CASE_FUNCTIONS, COERCED_STRING_FILTERS, dictKey, keyValue, LlamaJinjaError, llamaCompare, llamaEquals, llamaFormat, NONE_FILTERS, printValue, rememberKey,
  hasBuiltin, runTest, sliceIndices, truthy, typeName, UNDEFINED_FILTERS,
} from './builtins.js';
import {
  arr, ArrayValue, bool, BooleanValue, fn, FloatValue, FunctionValue, IntegerValue, isArray, isNone, isNumber, isObject, isString,
  isUndefined, KeywordArgumentsValue, NamespaceValue, NullValue, ObjectValue, RuntimeValue, splitArgs, str, StringValue, TupleValue, undef, UndefinedValue, is, type RV,
} from './values.js';

/**
 * An @huggingface/jinja Interpreter that behaves like llama.cpp's own Jinja engine (`common/jinja/*`, llama.cpp
 * 34af94cd) where the two differ in ways real chat templates hit. Each override below names the llama.cpp behaviour
 * it reproduces. @huggingface/jinja declares these methods private, so they are installed on the prototype.
 */

// before anything below touches the Interpreter's private members
assertJinjaInternals();

/** Evaluation steps one render may take: a chat template needs thousands, a runaway one is stopped here. */
export const MAX_TEMPLATE_STEPS = 20_000_000;
/** Wall time one render may take: a 1M-token conversation renders in about a second; more means a runaway loop. */
export const MAX_RENDER_MS = 10_000;
/** How often (in steps) the clock is read. */
const CLOCK_EVERY_STEPS = 4096;

export { TemplateLimitError } from '../errors.js';
import { TemplateLimitError } from '../errors.js';

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
    // literals as the base `evaluate` builds them, through the fast constructors (values.ts `fast`)
    if (!node) return new UndefinedValue();
    switch (node.type) {
      case VALUE_NODE:
        return node.rv;
      case 'StringLiteral':
        return new StringValue(node.value);
      case 'IntegerLiteral':
        return new IntegerValue(node.value);
      case 'FloatLiteral':
        return new FloatValue(node.value);
    }
    if (node.type === 'Set') return evaluateSet(this as unknown as Self, node, environment);
    if (node.type === 'UnaryExpression' && node.operator.value === 'not') {
      // as the base evaluateUnaryExpression, with a BooleanValue from the fast constructor
      return new BooleanValue(!this.evaluate(node.argument, environment).__bool__().value);
    }
    if (this.llama && node.type === 'TestExpression') return evaluateTest(this as unknown as Self, node, environment);
    if (this.llama && node.type === 'ObjectLiteral') return evaluateObjectLiteral(this as unknown as Self, node, environment);
    return super.evaluate(statement, environment);
  }

  /** Operations applied to a value (`array_access`, `object_access`, a filter's name): llama.cpp's `stats.ops`. */
  readonly ops = new WeakMap<object, Set<string>>();

  mark(v: RV | undefined, op?: string): void {
    if (!this.opts.trackUse || !v || isUndefined(v)) return;
    this.used.add(v);
    if (op) {
      let set = this.ops.get(v);
      if (!set) this.ops.set(v, (set = new Set()));
      set.add(op);
    }
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
  throw new Error('Function is not a string value (the template joins a function to a string, e.g. {{ range ~ "x" }})');
};

/**
 * Output of a block, as llama.cpp's `gather_string_parts_recursive`: strings, numbers (`5.0`) and booleans
 * (`True`) print, a list prints its items one after another, and none, undefined and dicts print nothing (MiniCPM5
 * prints an object argument value with `{{ param_value }}` and gets `<param name="location"></param>`).
 */
proto.evaluateBlock = function (this: Self, nodes, env) {
  // a loop runs its body block once per item, even an empty one: count it, so `for` over `for` is bounded too
  this.tick();
  if (!this.llama) return base.evaluateBlock.call(this, nodes, env);
  let out = '';
  for (const node of nodes) {
    out += printValue(this.evaluate(node, env));
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
 * Member access as llama.cpp's `member_expression`: anything of undefined is undefined; `obj.name` prefers a dict
 * builtin (`items`, `keys`, `get`, ...) over a key of that name while `obj['name']` reads the key; a missing key,
 * index or method is undefined; dict keys may be numbers. Methods @huggingface/jinja lacks are added (string
 * `strip(chars)`/`format`, list `append`/`pop`/..., dict `pop`). The object and the result are marked used.
 */
proto.evaluateMemberExpression = function (this: Self, node, env) {
  if (!this.llama) return base.evaluateMemberExpression.call(this, node, env);
  const object = this.evaluate(node.object, env);
  if (node.computed && node.property.type === 'SliceExpression') {
    this.mark(object);
    const sliced = base.evaluateSliceExpression.call(this, object, node.property, env);
    // a tuple slices to a tuple (value.cpp `slice`)
    return is(object, TupleValue) ? new TupleValue(sliced.value) : sliced;
  }
  const property: RV = node.computed
    ? this.evaluate(node.property, env)
    : node.property.type === 'IntegerLiteral' ? new IntegerValue(node.property.value) : str(node.property.value as string);
  const v = memberOf(this, object, property, !node.computed);
  this.mark(object, is(property, IntegerValue) ? 'array_access' : 'object_access');
  this.mark(v);
  return v;
};

function memberOf(self: Self, object: RV, property: RV, dotted: boolean): RV {
  const name0 = isString(property) ? (property.value as string) : undefined;
  // `obj.name` binds the builtin of that name first; undefined and none have their small tables (`u.items()` is [])
  if (dotted && name0 !== undefined && (isUndefined(object) || isNone(object))) {
    const table = isUndefined(object) ? UNDEFINED_FILTERS : NONE_FILTERS;
    if (Object.hasOwn(table, name0)) return fn(() => table[name0]());
    if (name0 === 'default' || (name0 === 'tojson' && isNone(object))) {
      return fn((args) => {
        const [pos, kw] = splitArgs(args);
        return llamaFilter(self, object, name0, pos, kw) ?? undef();
      });
    }
  }
  if (isUndefined(object)) return undef();
  // a function has no members (`tool.items.type` where `.items` found the dict builtin)
  if (is(object, FunctionValue)) throw new LlamaJinjaError('Function has no builtins');
  const name = isString(property) ? (property.value as string) : undefined;
  if (isObject(object) || is(object, NamespaceValue)) {
    const map = object.value as Map<string, RV>;
    const builtin = dotted && name !== undefined && isObject(object) && !(map instanceof LoopMap) ? dictMethod(self, map, name) : undefined;
    if (builtin) return builtin;
    if (isArray(property) && !is(property, TupleValue)) throw new LlamaJinjaError(`Object key of unhashable type: ${typeName(property)}`);
    if (isUndefined(property)) return undef();
    const v = map.get(dictKey(property));
    if (v !== undefined) return v;
    if (name === undefined || map instanceof LoopMap) return undef();
    return extraMethod(self, object, name) ?? dictMethod(self, map, name) ?? undef();
  }
  if (isArray(object) || isString(object)) {
    if (is(property, IntegerValue)) {
      const i = property.value as number;
      if (isString(object)) {
        const s = object.value as string;
        return i >= 0 && i < s.length ? str(s[i]) : undef();
      }
      const list = object.value as RV[];
      return list[i < 0 ? i + list.length : i] ?? undef();
    }
    if (name === undefined) {
      if (isUndefined(property)) return undef();
      throw new LlamaJinjaError(`Cannot access property with non-string/non-number: got ${typeName(property)}`);
    }
    // a list's builtins are its methods too (`items.join(', ')`, `items.map(...)`)
    if (isArray(object) && LIST_METHODS.has(name)) {
      return fn((args) => {
        const [pos, kw] = splitArgs(args);
        return llamaFilter(self, object, name, pos, kw) ?? undef();
      });
    }
  } else if (name === undefined) {
    throw new LlamaJinjaError(`Cannot access property with non-string: got ${typeName(property)}`);
  }
  const member = extraMethod(self, object, name!) ?? builtinMember(self, object, name!);
  // any builtin of the value's type is a method too (`n.abs()`, `items.first()`, `s.tojson()`), run as its filter
  if (isUndefined(member) && hasBuiltin(object, name!)) return fn((args) => callFilter(self, object, name!, args));
  return member;
}

/**
 * `obj.name` as the base `evaluateMemberExpression` reads it on a value that is not a dict or namespace (those are
 * handled above): the value's builtin of that name, or undefined. The base method would evaluate the object again
 * (one step, counted here too) and build a StringValue for the name through the slow constructor.
 */
function builtinMember(self: Self, object: RV, name: string): RV {
  self.tick();
  const v = (object as RV & { builtins: Map<string, unknown> }).builtins.get(name);
  return v instanceof RuntimeValue ? (v as RV) : new UndefinedValue();
}

const keywordArgs = (kw: Map<string, RV>): RV => new KeywordArgumentsValue(kw);

/** `operand|name(args)` with arguments already evaluated (a method call that is a filter in llama.cpp). */
function callFilter(self: Self, operand: RV, name: string, args: RV[]): RV {
  const [pos, kw] = splitArgs(args);
  if (!pos.length && !kw.size) return self.applyFilter(operand, { type: 'Identifier', value: name }, new Environment());
  const nodes = [...pos.map(valueNode), ...[...kw].map(([k, x]) => ({ type: 'KeywordArgumentExpression', key: { type: 'Identifier', value: k }, value: valueNode(x) }))];
  return self.applyFilter(operand, { type: 'CallExpression', callee: { type: 'Identifier', value: name }, args: nodes }, new Environment());
}

/** List builtins reachable as methods whose llama.cpp semantics kvdiff implements (see `listFilter`). */
const LIST_METHODS = new Set(['join', 'map', 'select', 'reject', 'selectattr', 'rejectattr', 'sort']);

/**
 * Dicts without builtins: the loop variable (`loop.length` is the number), as llama.cpp's `has_builtins = false`.
 * A Map of its own class (a WeakSet of such maps cost an insertion per loop iteration).
 */
class LoopMap extends Map<string, RV> {}

/** The dict builtins llama.cpp binds on `obj.name` (value.cpp `value_object_t::get_builtins`). */
function dictMethod(self: Self, map: Map<string, RV>, name: string): RV | undefined {
  switch (name) {
    case 'get':
      return fn((args) => {
        const [pos] = splitArgs(args);
        if (!pos[0] || !isString(pos[0])) throw new LlamaJinjaError('get: second argument must be a string (key)');
        return map.get(pos[0].value as string) ?? pos[1] ?? new NullValue();
      });
    case 'keys':
      return fn(() => arr([...map.keys()].map((k) => keyValue(map, k))));
    case 'values':
      return fn(() => arr([...map.values()]));
    case 'items':
      return fn(() => pairs(map));
    case 'length':
    case 'string':
    case 'tojson':
    case 'dictsort': {
      const object = new ObjectValue(map);
      return fn((args) => {
        const [pos, kw] = splitArgs(args);
        return llamaFilter(self, object, name, pos, kw) ?? undef();
      });
    }
  }
  return undefined;
}

/** A dict's (key, value) pairs, numeric keys as numbers. */
function pairs(map: Map<string, RV>): RV {
  return arr([...map].map(([k, v]) => new TupleValue([keyValue(map, k), v])));
}

/**
 * Binary operators as llama.cpp's `binary_expression`: `==`/`!=` by value (`1 == true`, lists and dicts by
 * content); `in` as its `in` test (`x in undefined` is false, `none in list` is looked up); `+`/`~` with a string
 * on one side concatenate (none and undefined as "", numbers as `5.0`, booleans as `True`); arithmetic and `<` on
 * numbers (not booleans), `+` on lists, string repetition; anything else (`'a' < 'b'`, `1 ~ 2`, arithmetic on none
 * or undefined) is an error, as in llama.cpp.
 */
proto.evaluateBinaryExpression = function (this: Self, node, env) {
  if (!this.llama) return base.evaluateBinaryExpression.call(this, node, env);
  const op = node.operator.value as string;
  if (op === 'and' || op === 'or') return base.evaluateBinaryExpression.call(this, node, env);
  const left = this.evaluate(node.left, env);
  const right = this.evaluate(node.right, env);
  if (op === '==' || op === '!=') return bool(llamaEquals(left, right) === (op === '=='));
  // string concatenation first: it is most of a chat template's operators
  if ((op === '~' || op === '+') && isString(left) && isString(right)) {
    return str(this.checkLength((left.value as string) + (right.value as string)));
  }
  const membership = op === 'in' || op === 'not in';
  if (isUndefined(left) || isUndefined(right)) {
    if (isUndefined(right) && membership) return bool(op === 'not in');
    const v = concatNull(this, op, left, right);
    if (v) return v;
    throw new LlamaJinjaError(`Cannot perform operation ${op} on undefined values`);
  }
  if (isNone(left) || isNone(right)) {
    if (!isNone(right) && membership) return member(op, left, right);
    const v = concatNull(this, op, left, right);
    if (v) return v;
    throw new LlamaJinjaError('Cannot perform operation on null values');
  }
  if (isNumber(left) && isNumber(right)) {
    const a = left.value as number;
    const b = right.value as number;
    const float = is(left, FloatValue) || is(right, FloatValue);
    const num = (x: number) => (float ? new FloatValue(x) : new IntegerValue(Math.trunc(x)));
    switch (op) {
      case '+': return num(a + b);
      case '-': return num(a - b);
      case '*': return num(a * b);
      case '/': return new FloatValue(a / b);
      case '%': return num(a % b); // C's fmod: the sign of the dividend
      case '<': return bool(a < b);
      case '>': return bool(a > b);
      case '<=': return bool(a <= b);
      case '>=': return bool(a >= b);
    }
  }
  if (isArray(left) && isArray(right)) {
    if (op === '+') return arr([...(left.value as RV[]), ...(right.value as RV[])]);
  } else if (isArray(right) && membership) {
    return member(op, left, right);
  }
  if ((isString(left) || isString(right)) && (op === '~' || op === '+')) {
    return str(this.checkLength(asString(left) + asString(right)));
  }
  if (op === '*' && ((isString(left) && is(right, IntegerValue)) || (is(left, IntegerValue) && isString(right)))) {
    const [s, n] = isString(left) ? [left.value as string, right.value as number] : [right.value as string, left.value as number];
    return str(this.checkLength(n > 0 ? s.repeat(n) : ''));
  }
  if (isString(left) && isString(right) && membership) return member(op, left, right);
  if ((isObject(right) || is(right, NamespaceValue)) && membership) return member(op, left, right);
  if (isNumber(left) && isNumber(right) && (op === '//' || op === '**')) {
    // not in llama.cpp's table; kept as @huggingface/jinja computes them
    return base.evaluateBinaryExpression.call(this, { ...node, left: valueNode(left), right: valueNode(right) }, env);
  }
  throw new LlamaJinjaError(`Unknown operator "${op}" between ${typeName(left)} and ${typeName(right)}`);
};

/**
 * `{% set %}` as the base `evaluateSet` runs it (same order of evaluation, same errors), returning its none through
 * the fast constructor: the base method's `new NullValue()` was 5 % of a long render.
 */
function evaluateSet(self: Self, node: Node, env: Environment): RV {
  const rhs = node.value ? self.evaluate(node.value, env) : self.evaluateBlock(node.body, env);
  const assignee = node.assignee as Node;
  if (assignee.type === 'Identifier') {
    env.setVariable(assignee.value, rhs as never);
  } else if (assignee.type === 'TupleLiteral') {
    if (!is(rhs, ArrayValue)) throw new Error(`Cannot unpack non-iterable type in set: ${rhs.type}`);
    const items = rhs.value as RV[];
    const names = assignee.value as Node[];
    if (items.length !== names.length) throw new Error(`Too ${names.length > items.length ? 'few' : 'many'} items to unpack in set`);
    for (let i = 0; i < names.length; ++i) {
      if (names[i].type !== 'Identifier') throw new Error(`Cannot unpack to non-identifier in set: ${names[i].type}`);
      env.setVariable(names[i].value, items[i] as never);
    }
  } else if (assignee.type === 'MemberExpression') {
    const object = self.evaluate(assignee.object, env);
    if (!is(object, NamespaceValue)) throw new Error('cannot assign attribute on non-namespace object');
    if (assignee.property.type !== 'Identifier') throw new Error('Cannot assign to member with non-identifier property');
    (object.value as Map<string, RV>).set(assignee.property.value, rhs);
  } else {
    throw new Error(`Invalid LHS inside assignment expression: ${JSON.stringify(assignee)}`);
  }
  return new NullValue();
}

/** `in` / `not in` as llama.cpp's `in` test. */
const member = (op: string, left: RV, right: RV): RV => bool(runTest('in', left, [right]) === (op === 'in'));
const nullish = (v: RV) => isNone(v) || isUndefined(v);

/** `+`/`~` of a string with none or undefined (printed as ""); undefined for any other operands. */
function concatNull(self: Self, op: string, left: RV, right: RV): RV | undefined {
  if ((op === '+' || op === '~') && ((nullish(left) && isString(right)) || (nullish(right) && isString(left)))) {
    return str(self.checkLength((isString(left) ? (left.value as string) : '') + (isString(right) ? (right.value as string) : '')));
  }
  return undefined;
}

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
  const isDict = isObject(iterable);
  if (isDict) {
    items = pairs(iterable.value as Map<string, RV>).value as RV[];
  } else if (isArray(iterable)) {
    items = iterable.value as RV[];
  } else {
    throw new LlamaJinjaError(`Expected iterable or object type in for loop: got ${typeName(iterable)}`);
  }
  this.mark(iterable, isDict ? 'object_access' : 'array_access');
  const loopvar = node.loopvar as Node;
  const bind = (target: Environment, current: RV) => {
    if (loopvar.type === 'Identifier') {
      target.setVariable(loopvar.value, isDict ? (current.value as RV[])[0] : current);
    } else if (loopvar.type === 'TupleLiteral') {
      if (!isArray(current)) throw new LlamaJinjaError(`Cannot unpack non-iterable type: ${typeName(current)}`);
      const vals = current.value as RV[];
      const names = loopvar.value as Node[];
      if (names.length !== vals.length) throw new LlamaJinjaError(`Too ${names.length > vals.length ? 'few' : 'many'} items to unpack`);
      names.forEach((n, j) => {
        if (n.type !== 'Identifier') throw new LlamaJinjaError(`Cannot unpack non-identifier type: ${n.type}`);
        target.setVariable(n.value, vals[j]);
      });
    } else {
      throw new LlamaJinjaError(`Invalid loop variable(s): ${loopvar.type}`);
    }
  };
  const kept: RV[] = [];
  for (const current of items) {
    if (select) {
      const loopScope = new Environment(scope);
      bind(loopScope, current);
      if (!truthy(this.evaluate(select.test, loopScope))) continue;
    }
    kept.push(current);
  }
  let out = '';
  let iterated = false;
  const item = (k: number) => (isDict ? (kept[k].value as RV[])[0] : kept[k]);
  for (let i = 0; i < kept.length; i++) {
    const loop = new LoopMap();
    loop.set('index', new IntegerValue(i + 1));
    loop.set('index0', new IntegerValue(i));
    loop.set('revindex', new IntegerValue(kept.length - i));
    loop.set('revindex0', new IntegerValue(kept.length - i - 1));
    loop.set('first', bool(i === 0));
    loop.set('last', bool(i === kept.length - 1));
    loop.set('length', new IntegerValue(kept.length));
    loop.set('previtem', i > 0 ? item(i - 1) : undef());
    loop.set('nextitem', i < kept.length - 1 ? item(i + 1) : undef());
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
  if (!iterated) out += this.evaluateBlock(node.defaultBlock ?? [], env).value as string;
  return str(out);
};

/** Tests written with arguments (`x is divisibleby(3)`) reach the interpreter as this filter (see `rewriteTestCalls`). */
export const TEST_CALL_FILTER = '__kvdiff_test__';

/**
 * Filters as llama.cpp implements them: looked up on the operand's type (value.cpp builtin tables). Undefined and
 * none have their own small tables (`undefined|length` is 0, `none|selectattr(...)` is empty, others are errors);
 * `default` also replaces none; `string` prints Python-style reprs; `tojson` is llama.cpp's own. The operand is
 * marked used (runtime.cpp `try_builtin_func`).
 */
proto.applyFilter = function (this: Self, operand, filter, env) {
  if (!this.llama) return base.applyFilter.call(this, operand, filter, env);
  const name: string = filter.type === 'Identifier' ? filter.value : filter.type === 'CallExpression' ? filter.callee?.value : '';
  this.mark(operand, FILTER_ALIASES[name] ?? name);
  const [pos, kw] = filter.type === 'CallExpression' ? this.evaluateArguments(filter.args, env) : [[], new Map<string, RV>()];
  const alias0 = FILTER_ALIASES[name] ?? name;
  if (filter.type === 'Identifier' && COERCED_STRING_FILTERS.has(alias0) && !isUndefined(operand) && !isString(operand)) {
    operand = str(asString(operand));
  }
  const v = llamaFilter(this, operand, name, pos, kw);
  if (v) return v;
  const alias = FILTER_ALIASES[name] ?? name;
  // a builtin kvdiff has as a method only (`s|startswith('x')`, `list|append(1)`): the filter is that method
  if (hasBuiltin(operand, alias) && !isObject(operand)) {
    const method = memberOf(this, operand, str(alias), true);
    if (is(method, FunctionValue) && !BASE_FILTERS.has(alias)) {
      return (method.value as (args: RV[], scope: Environment) => RV)(kw.size ? [...pos, keywordArgs(kw)] : pos, env);
    }
  }
  if (filter.type !== 'CallExpression') return base.applyFilter.call(this, operand, { type: 'Identifier', value: alias }, env);
  const args = [...pos.map(valueNode), ...[...kw].map(([k, x]) => ({ type: 'KeywordArgumentExpression', key: { type: 'Identifier', value: k }, value: valueNode(x) }))];
  return base.applyFilter.call(this, operand, { ...filter, callee: { type: 'Identifier', value: alias }, args }, env);
};

/** Filters @huggingface/jinja itself applies to strings, numbers and lists (the rest of llama.cpp's table are methods there). */
const BASE_FILTERS = new Set(['default', 'length', 'list', 'first', 'last', 'reverse', 'sort', 'unique', 'join', 'map', 'select', 'reject', 'selectattr', 'rejectattr', 'indent', 'replace', 'int', 'float', 'tojson', 'string', 'abs', 'upper', 'lower', 'title', 'capitalize', 'strip', 'min', 'max', 'dictsort', 'items']);

/** Filter names llama.cpp maps onto another (`trim` is `strip`; `d` and `count` as in Jinja2). */
const FILTER_ALIASES: Record<string, string> = { trim: 'strip', d: 'default', count: 'length' };

/** Type names whose builtin table llama.cpp closes: a filter missing from it is an error, not a fallback. */
function llamaFilter(self: Self, operand: RV, rawName: string, pos: RV[], kw: Map<string, RV>): RV | undefined {
  if (rawName.startsWith(TEST_CALL_FILTER)) {
    const negate = rawName.startsWith(TEST_CALL_FILTER + 'not_');
    const test = rawName.slice(TEST_CALL_FILTER.length + (negate ? 4 : 0));
    return bool(runTest(test, operand, pos) !== negate);
  }
  const name = FILTER_ALIASES[rawName] ?? rawName;
  const get = (k: string, i: number): RV | undefined => kw.get(k) ?? pos[i];
  if (name === 'default' && !isObject(operand)) {
    if (!pos.length && !kw.size) throw new LlamaJinjaError("Function 'default' expected between 2 and 3 arguments, got 1");
    const fallback = get('default_value', 0) ?? str('');
    const missing = get('boolean', 1) && truthy(get('boolean', 1)!) ? !truthy(operand) : isUndefined(operand) || isNone(operand);
    return missing ? fallback : operand;
  }
  if (name === 'tojson' && !isUndefined(operand)) return toJson(self, operand, get);
  if (isUndefined(operand)) {
    const empty = Object.hasOwn(UNDEFINED_FILTERS, name) ? UNDEFINED_FILTERS[name] : undefined;
    if (!empty) throw new LlamaJinjaError(`Unknown (built-in) filter '${name}' for type Undefined`);
    return empty();
  }
  if (isNone(operand)) {
    const empty = Object.hasOwn(NONE_FILTERS, name) ? NONE_FILTERS[name] : undefined;
    if (!empty) throw new LlamaJinjaError(`Unknown (built-in) filter '${name}' for type None`);
    return empty();
  }
  if (isObject(operand) || is(operand, NamespaceValue)) return dictFilter(operand, name, get);
  switch (name) {
    case 'safe':
      // a no-op for strings, numbers and booleans; lists have no `safe`
      if (isArray(operand)) throw new LlamaJinjaError(`Unknown (built-in) filter 'safe' for type ${typeName(operand)}`);
      return operand;
    case 'format':
      if (!isString(operand)) break;
      return str(self.checkLength(llamaFormat(operand.value as string, pos)));
    case 'slice':
      if (isString(operand)) {
        const s = operand.value as string;
        return str(sliceIndices(s.length, pos).map((i) => s[i]).join(''));
      }
      if (isArray(operand)) {
        const list = operand.value as RV[];
        const items = sliceIndices(list.length, pos).map((i) => list[i]);
        return is(operand, TupleValue) ? new TupleValue(items) : arr(items);
      }
      break;
    case 'string':
      // numbers go through tojson (value.cpp: int and float `string` is `tojson`): 1e-06, not 0.000001
      return str(isNumber(operand) ? llamaToJson(operand) : asString(operand));
    case 'strip':
    case 'lstrip':
    case 'rstrip':
      if (!isString(operand)) break;
      return str(stripChars(operand.value as string, name === 'rstrip' ? 'right' : name === 'lstrip' ? 'left' : 'both', get('chars', 0)));
    case 'capitalize':
    case 'upper':
    case 'lower':
    case 'title':
      if (!isString(operand)) break;
      return str(CASE_FUNCTIONS[name](operand.value as string));
    case 'join':
      if (isString(operand)) throw new LlamaJinjaError('NotImplemented: String join builtin not implemented');
      break;
    case 'abs':
      if (!isNumber(operand)) break;
      return is(operand, FloatValue) ? new FloatValue(Math.abs(operand.value as number)) : new IntegerValue(Math.abs(operand.value as number));
    case 'float':
      if (is(operand, IntegerValue) || is(operand, BooleanValue)) return new FloatValue(Number(operand.value));
      break;
    case 'int':
      if (!isString(operand)) break;
      {
        const base = get('base', 1);
        const n = parseInt((operand.value as string).trim(), base ? Number(base.value) : 10);
        const dflt = get('default', 0);
        return new IntegerValue(Number.isNaN(n) ? (dflt ? Number(dflt.value) : 0) : n);
      }
    case 'min':
    case 'max':
      if (!isArray(operand)) break;
      {
        const list = operand.value as RV[];
        if (!list.length || get('attribute', 2)) return undef();
        return list.reduce((a, b) => (llamaCompare(b, a, 'lt') === (name === 'min') ? b : a));
      }
  }
  if (isArray(operand)) return listFilter(self, operand, name, get, pos, kw);
  return undefined;
}

function toJson(self: Self, operand: RV, get: (k: string, i: number) => RV | undefined): RV {
  if (get('sort_keys', 3) && truthy(get('sort_keys', 3)!)) throw new LlamaJinjaError('tojson sort_keys=true not implemented');
  const indent = get('indent', 1);
  const seps = get('separators', 2);
  const sepList = seps && isArray(seps) ? (seps.value as RV[]).map((s) => String(s.value)) : [];
  return str(self.checkLength(llamaToJson(operand, {
    indent: is(indent, IntegerValue) ? (indent!.value as number) : undefined,
    itemSep: sepList[0],
    keySep: sepList[1],
    ensureAscii: get('ensure_ascii', 0) ? truthy(get('ensure_ascii', 0)!) : false,
  }, (v) => self.mark(v))));
}

/** A dict's filters (value_object_t builtins); any other filter on a dict is an error in llama.cpp. */
function dictFilter(operand: RV, name: string, get: (k: string, i: number) => RV | undefined): RV {
  const map = operand.value as Map<string, RV>;
  switch (name) {
    case 'string':
      return str(asString(operand));
    case 'length':
      return new IntegerValue(map.size);
    case 'items':
      return pairs(map);
    case 'keys':
      return arr([...map.keys()].map((k) => keyValue(map, k)));
    case 'values':
      return arr([...map.values()]);
    case 'get': {
      const key = get('key', 0);
      if (!key || !isString(key)) throw new LlamaJinjaError('get: second argument must be a string (key)');
      return map.get(key.value as string) ?? get('default', 1) ?? new NullValue();
    }
    case 'dictsort': {
      const byValue = get('by', 1);
      const reverse = get('reverse', 2);
      const entries = [...map].map(([k, v]) => [keyValue(map, k), v] as const);
      const at = byValue && isString(byValue) && byValue.value === 'value' ? 1 : 0;
      entries.sort((a, b) => (llamaCompare(a[at], b[at], 'lt') ? -1 : llamaCompare(b[at], a[at], 'lt') ? 1 : 0) * (reverse && truthy(reverse) ? -1 : 1));
      // a dict again, sorted (value.cpp copies the object and sorts its entries)
      const sorted = new Map<string, RV>();
      for (const [k, v] of entries) {
        const text = dictKey(k);
        sorted.set(text, v);
        rememberKey(sorted, text, k);
      }
      return new ObjectValue(sorted);
    }
  }
  throw new LlamaJinjaError(`Unknown (built-in) filter '${name}' for type Object`);
}

/** The item's attribute for `map`/`sort`/`join(attribute=...)`: a key of a dict, or an index of a list. */
function attributeOf(item: RV, attribute: RV, fallback: RV): RV {
  if (is(attribute, IntegerValue)) {
    if (!isArray(item)) return fallback;
    const list = item.value as RV[];
    const i = attribute.value as number;
    return list[i < 0 ? i + list.length : i] ?? fallback;
  }
  if (!isObject(item)) return fallback;
  return (item.value as Map<string, RV>).get(dictKey(attribute)) ?? fallback;
}

/** A list's filters where llama.cpp differs from @huggingface/jinja; the rest fall through. */
function listFilter(self: Self, operand: RV, name: string, get: (k: string, i: number) => RV | undefined, pos: RV[], kw: Map<string, RV>): RV | undefined {
  const list = operand.value as RV[];
  switch (name) {
    case 'join': {
      const delim = get('d', 0);
      const attribute = get('attribute', 1);
      return str(self.checkLength(list.map((x) => {
        const item = attribute ? attributeOf(x, attribute, undef()) : x;
        if (!isString(item) && !isNumber(item)) throw new LlamaJinjaError('join() can only join arrays of strings or numerics');
        return asString(item);
      }).join(delim ? asString(delim) : '')));
    }
    case 'map': {
      const attribute = kw.get('attribute');
      if (!attribute) {
        const filterName = pos[0];
        if (!filterName || !isString(filterName)) throw new LlamaJinjaError('map: attribute must be string or integer');
        return arr(list.map((x) => llamaFilter(self, x, filterName.value as string, pos.slice(1), new Map()) ?? self.applyFilter(x, { type: 'Identifier', value: filterName.value }, new Environment())));
      }
      const fallback = kw.get('default') ?? undef();
      const mapped = list.map((x) => attributeOf(x, attribute, fallback));
      return is(operand, TupleValue) ? new TupleValue(mapped) : arr(mapped);
    }
    case 'sort': {
      const reverse = get('reverse', 0);
      const attribute = get('attribute', 2);
      const key = (x: RV) => (attribute ? attributeOf(x, attribute, undef()) : x);
      const sorted = [...list].sort((a, b) => {
        const [x, y] = [key(a), key(b)];
        return llamaCompare(x, y, 'lt') ? -1 : llamaCompare(y, x, 'lt') ? 1 : 0;
      });
      if (reverse && truthy(reverse)) sorted.reverse();
      return is(operand, TupleValue) ? new TupleValue(sorted) : arr(sorted);
    }
    case 'select':
    case 'reject':
    case 'selectattr':
    case 'rejectattr': {
      const reject = name.startsWith('reject');
      const byAttr = name.endsWith('attr');
      const keep = (item: RV): boolean => {
        let subject = item;
        let rest = pos;
        if (byAttr) {
          if (!isObject(item)) throw new LlamaJinjaError(`${name}: item is not an object`);
          subject = attributeOf(item, pos[0], undef());
          rest = pos.slice(1);
        }
        if (!rest.length) return truthy(subject);
        const test = rest[0];
        if (!isString(test)) throw new LlamaJinjaError(`${name}: test name must be a string`);
        return runTest(test.value as string, subject, rest.slice(1));
      };
      return arr(list.filter((x) => keep(x) !== reject));
    }
    case 'first':
    case 'last':
      return (name === 'first' ? list[0] : list[list.length - 1]) ?? undef();
    case 'list':
      return arr([...list]);
    case 'reverse':
      return is(operand, TupleValue) ? new TupleValue([...list].reverse()) : arr([...list].reverse());
    case 'sum':
      return list.reduce<RV>((acc, x) => {
        const total = (acc.value as number) + Number(x.value);
        return is(acc, FloatValue) || is(x, FloatValue) ? new FloatValue(total) : new IntegerValue(total);
      }, new IntegerValue(0));
  }
  return undefined;
}

/**
 * Tests as llama.cpp defines them (`test_is_*`): `none` is none only, `iterable` holds for undefined, unknown tests
 * are errors.
 */
function evaluateTest(self: Self, node: Node, env: Environment): RV {
  const operand = self.evaluate(node.operand, env);
  return bool(runTest(node.test.value as string, operand, []) !== Boolean(node.negate));
}

/** Dict literals: keys may be numbers, none or tuples (llama.cpp hashes values), not only strings. */
function evaluateObjectLiteral(self: Self, node: Node, env: Environment): RV {
  const map = new Map<string, RV>();
  for (const [k, v] of node.value as Map<Node, Node>) {
    const key = self.evaluate(k, env);
    const text = dictKey(key);
    map.set(text, self.evaluate(v, env));
    rememberKey(map, text, key);
  }
  return new ObjectValue(map);
}

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
      case 'capitalize':
      case 'upper':
      case 'lower':
      case 'title':
        return fn(() => str(CASE_FUNCTIONS[name](s)));
      case 'rsplit':
        return fn((args) => {
          const [pos, kw] = splitArgs(args);
          const sep = kw.get('sep') ?? pos[0];
          const max = kw.get('maxsplit') ?? pos[1];
          if (!sep || !isString(sep)) throw new LlamaJinjaError('rsplit() without a separator is not supported');
          const parts = s.split(sep.value as string);
          const n = max && is(max, IntegerValue) && (max.value as number) >= 0 ? (max.value as number) : parts.length;
          const head = parts.length - 1 > n ? [parts.slice(0, parts.length - n).join(sep.value as string), ...parts.slice(parts.length - n)] : parts;
          return arr(head.map(str));
        });
      case 'format':
        return fn((args) => str(self.checkLength(llamaFormat(s, splitArgs(args)[0]))));
    }
    return undefined;
  }
  if (isArray(object) && !(is(object, TupleValue))) {
    const list = object.value as RV[];
    switch (name) {
      case 'append':
        // value.cpp: the list itself comes back (`{{ xs.append(1) }}` prints the list)
        return fn((args) => {
          if (!args.length) throw new LlamaJinjaError("Function 'append' expected between 2 and 999 arguments, got 1");
          list.push(args[0]);
          return object;
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
