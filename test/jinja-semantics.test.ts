import { describe, expect, it } from 'vitest';
import { KvdiffError } from '../src/errors.js';
import { ChatTemplate } from '../src/render.js';
import { JINJA_CASES, LLAMA_BUILTINS } from './jinja-semantics-cases.js';

/**
 * Cases where kvdiff's engine still differs from llama.cpp's, each with the reason. Like the template known-misses,
 * the list fails in both directions: a listed case that starts matching must leave it.
 */
const KNOWN_DIVERGENCES: Record<string, string> = {};

function render(template: string, context: Record<string, unknown> = {}): string | { error: string } {
  try {
    return new ChatTemplate(template, 'case', new Date(Date.UTC(2026, 0, 1))).render({ vars: context, jinja: 'llama.cpp' }, 'the case');
  } catch (err) {
    if (!(err instanceof KvdiffError)) throw err;
    return { error: err.message };
  }
}

describe(`llama.cpp Jinja semantics (${JINJA_CASES.length} cases)`, () => {
  const outcomes = JINJA_CASES.map((c) => {
    const got = render(c.template, c.context);
    const ok = typeof c.expected === 'string' ? got === c.expected : typeof got === 'object';
    return { name: c.name, ok, got, expected: c.expected };
  });

  it('case names are unique', () => {
    expect(new Set(JINJA_CASES.map((c) => c.name)).size).toBe(JINJA_CASES.length);
  });

  it('every case renders as llama.cpp does, or is a listed divergence', () => {
    const misses = outcomes.filter((o) => !o.ok);
    for (const m of misses) console.log(`  diverges: ${m.name}: got ${JSON.stringify(m.got)} want ${JSON.stringify(m.expected)}`);
    expect(misses.map((m) => m.name).filter((n) => !(n in KNOWN_DIVERGENCES))).toEqual([]);
    expect(Object.keys(KNOWN_DIVERGENCES).filter((n) => !misses.some((m) => m.name === n))).toEqual([]);
  });
});

describe("coverage of llama.cpp's builtin tables", () => {
  it('every filter, test and global llama.cpp defines is used by at least one case', () => {
    const uncovered: string[] = [];
    for (const [table, names] of Object.entries(LLAMA_BUILTINS)) {
      for (const name of names) {
        const used = name.startsWith('test_is_')
          ? new RegExp(`\\bis\\s+(not\\s+)?${name.slice('test_is_'.length)}\\b`)
          : table === 'global'
            ? new RegExp(`\\b${name}\\(|\\|\\s*${name}\\b`)
            : new RegExp(`\\|\\s*${name}\\b|\\.${name}\\(`);
        if (!JINJA_CASES.some((c) => used.test(c.template))) uncovered.push(`${table}:${name}`);
      }
    }
    expect(uncovered).toEqual([]);
  });
});
