import { describe, expect, it } from 'vitest';
import { tempFiles } from './tmp.js';
import { runCli } from './cli-harness.js';

// Untrusted templates (from GGUF files, model folders) run with limits: a hostile one ends in one clear line and
// exit 2, not a hang or an out-of-memory crash. (A hang would show as this test's timeout.)
const { write: tpl } = tempFiles('limits');
const A = 'samples/system-timestamp/a.json';

describe('hostile templates are stopped', () => {
  it.each([
    ['a huge range()', '{% for i in range(1000000000) %}x{% endfor %}', /range\(\) of 1000000000 items is over the limit/],
    ['nested loops that never finish in time', '{% for a in range(100000) %}{% for b in range(100000) %}{% endfor %}{% endfor %}', /MAX_TEMPLATE_STEPS|MAX_RENDER_MS/],
    ['a string that doubles', "{% set ns = namespace(s='x') %}{% for i in range(64) %}{% set ns.s = ns.s + ns.s %}{% endfor %}{{ ns.s }}", /characters/],
  ])('%s', async (_name, text, why) => {
    const r = await runCli([A, A, '--template', tpl(`${_name.replace(/\W+/g, '-')}.jinja`, text), '--backend', 'raw']);
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(why);
  });
});
