import { describe, expect, it } from 'vitest';
import * as jinja from '@huggingface/jinja';
import { readFileSync } from 'node:fs';
import { KvdiffError } from '../src/errors.js';
import { assertJinjaInternals, missingJinjaMembers, PATCHED_INTERPRETER_METHODS } from '../src/jinja/guard.js';

describe('@huggingface/jinja pin and start-up guard', () => {
  it('the installed version has every member the llama.cpp layer patches', () => {
    expect(missingJinjaMembers()).toEqual([]);
  });

  it('a version without one of them fails with a clear error naming it', () => {
    for (const method of PATCHED_INTERPRETER_METHODS) {
      class Stripped extends (jinja.Interpreter as unknown as new () => object) {}
      Object.defineProperty(Stripped.prototype, method, { value: undefined });
      const mod = { ...(jinja as unknown as Record<string, unknown>), Interpreter: Stripped };
      expect(missingJinjaMembers(mod)).toEqual([`Interpreter.prototype.${method}`]);
      expect(() => assertJinjaInternals(mod)).toThrow(KvdiffError);
      expect(() => assertJinjaInternals(mod)).toThrow(`Interpreter.prototype.${method}`);
    }
    const { parse: _parse, ...withoutParse } = jinja as unknown as Record<string, unknown>;
    expect(missingJinjaMembers(withoutParse)).toEqual(['export parse']);
  });

  it('package.json pins @huggingface/jinja and @huggingface/tokenizers exactly', () => {
    const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
    for (const name of ['@huggingface/jinja', '@huggingface/tokenizers']) {
      expect(pkg.dependencies[name]).toMatch(/^\d+\.\d+\.\d+$/);
    }
  });
});
