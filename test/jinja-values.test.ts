import { Environment, Interpreter } from '@huggingface/jinja';
import { describe, expect, it } from 'vitest';
import { KvdiffError } from '../src/errors.js';
import * as values from '../src/jinja/values.js';
import type { RV, RVClass } from '../src/jinja/values.js';

/** Own properties with their descriptors, in order: what tells two objects of one class apart. */
const layout = (o: object) => Object.getOwnPropertyNames(o).map((k) => [k, Object.getOwnPropertyDescriptor(o, k)]);

describe('fast value constructors (values.ts) build the objects the package builds', () => {
  const names = Object.keys(values.slowClasses);
  it('covers every value class kvdiff uses', () => {
    expect(names.sort()).toEqual(['ArrayValue', 'BooleanValue', 'FloatValue', 'FunctionValue', 'IntegerValue', 'KeywordArgumentsValue',
      'NamespaceValue', 'NullValue', 'ObjectValue', 'StringValue', 'TupleValue', 'UndefinedValue']);
  });

  for (const name of names) {
    it(`${name}: same prototype, own properties and class checks as the package's constructor`, () => {
      const Slow = values.slowClasses[name];
      const Fast = (values as unknown as Record<string, RVClass>)[name];
      for (const v of [undefined, 'text', 0, 1.5, true, [], new Map([['k', 1]]), () => 1]) {
        const [a, b] = [new Slow(v), new Fast(v)];
        expect(Object.getPrototypeOf(b)).toBe(Object.getPrototypeOf(a));
        expect(layout(b)).toEqual(layout(a));
        expect(b instanceof Slow).toBe(true);
        expect(a instanceof Fast).toBe(true);
        expect(b.constructor).toBe(Slow);
      }
    });
  }

  it('the package itself treats a fast value as its own (it renders through the base interpreter)', () => {
    const env = new Environment();
    env.setVariable('xs', new values.ArrayValue([new values.StringValue('a'), new values.IntegerValue(2)]) as never);
    env.setVariable('d', new values.ObjectValue(new Map([['k', new values.StringValue('v')]])) as never);
    const interp = new Interpreter(env) as unknown as { evaluate(node: unknown, e: Environment): RV };
    const node = (type: string, rest: object) => ({ type, ...rest });
    const id = (value: string) => node('Identifier', { value });
    expect(interp.evaluate(node('FilterExpression', { operand: id('xs'), filter: id('length') }), env).value).toBe(2);
    expect(interp.evaluate(node('MemberExpression', { object: id('d'), property: id('k'), computed: false }), env).value).toBe('v');
  });

  it('a constructor that would build another layout is refused', () => {
    class Other extends values.slowClasses.StringValue {
      extra = 1;
    }
    expect(() => values.checkLayout(Other as unknown as RVClass, values.StringValue)).toThrow(KvdiffError);
  });
});

describe('truthiness (`__bool__`) as the package defines it', () => {
  const samples: Array<[string, RV]> = [
    ['empty string', new values.StringValue('')],
    ['string', new values.StringValue('x')],
    ['0', new values.IntegerValue(0)],
    ['1', new values.IntegerValue(1)],
    ['0.0', new values.FloatValue(0)],
    ['NaN', new values.FloatValue(NaN)],
    ['true', new values.BooleanValue(true)],
    ['false', new values.BooleanValue(false)],
    ['none', new values.NullValue(null)],
    ['undefined', new values.UndefinedValue()],
    ['empty list', new values.ArrayValue([])],
    ['list', new values.ArrayValue([new values.IntegerValue(0)])],
    ['empty tuple', new values.TupleValue([])],
    ['empty dict', new values.ObjectValue(new Map())],
    ['dict', new values.ObjectValue(new Map([['a', new values.NullValue(null)]]))],
    ['empty kwargs', new values.KeywordArgumentsValue(new Map())],
    ['namespace', new values.NamespaceValue(new Map())],
    ['function', new values.FunctionValue(() => null)],
  ];
  const original = (v: RV) => {
    const kind = (v as object) instanceof values.ArrayValue ? 'ArrayValue' : (v as object) instanceof values.ObjectValue ? 'ObjectValue' : 'RuntimeValue';
    return values.originalBool[kind].call(v);
  };
  for (const [name, v] of samples) {
    it(`${name}: the same truth value, as a BooleanValue`, () => {
      const want = original(v);
      const got = v.__bool__();
      expect(got.value).toBe(want.value);
      expect(got instanceof values.slowClasses.BooleanValue).toBe(true);
      expect(layout(got)).toEqual(layout(want));
    });
  }
});
