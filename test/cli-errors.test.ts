import { execFileSync, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempFiles } from './tmp.js';
import { runCli } from './cli-harness.js';

const { dir, write: file } = tempFiles('errors');
const A = 'samples/system-timestamp/a.json';

/** Bad input: one clear line on stderr (plus at most one help line), exit 2, no stack trace. */
async function expectBadInput(args: string[], pattern: RegExp, stdin = '') {
  const r = await runCli(args, stdin);
  expect(r.code).toBe(2);
  expect(r.stdout).toBe('');
  const lines = r.stderr.trimEnd().split('\n');
  expect(lines[0]).toMatch(/^error: /);
  expect(lines.length).toBeLessThanOrEqual(2);
  expect(r.stderr).toMatch(pattern);
  expect(r.stderr).not.toMatch(/\n\s+at /);
}

describe('bad input exits 2 with one line', () => {
  it('unreadable file', () => expectBadInput([A, join(dir, 'missing.json')], /cannot read .*missing\.json: no such file/));
  it('a folder instead of a file', () => expectBadInput([A, dir], /is a folder/));
  it('invalid JSON names line and column', () =>
    expectBadInput([A, file('broken.json', '{\n  "messages": [\n    {"role": "user", "content": "hi",}\n  ]\n}')], /invalid JSON at line 3, column 38/));
  it('truncated JSON', () => expectBadInput([A, file('cut.json', '{"messages": [{"role": "us')], /line 1, column 24: unterminated string/));
  it('a body without messages', () => expectBadInput([A, file('nomsg.json', '{"model": "hi"}')], /no "messages" array/));
  it('messages of the wrong type', () => expectBadInput([A, file('str.json', '{"messages": "hi"}')], /\$\.messages must be an array of messages, found a string/));
  it('a message without a role', () => expectBadInput([A, file('norole.json', '{"messages": [{"content": "hi"}]}')], /\$\.messages\[0\] has no "role"/));
  it('a role that is not a string', () => expectBadInput([A, file('role.json', '{"messages": [{"role": 1, "content": "x"}]}')], /\$\.messages\[0\]\.role must be a string, found a number/));
  it('content of the wrong type', () => expectBadInput([A, file('content.json', '{"messages": [{"role": "user", "content": 5}]}')], /content must be a string, an array of parts or null/));
  it('a JSON array instead of a body', () => expectBadInput([A, file('arr.json', '[1,2]')], /must be a JSON object/));
  it('a template that raises: quotes its message, names side and template', async () => {
    // the template prints the system text: a template that never reads it has no system role for llama.cpp, which
    // then merges A's system message into the user turn (and this template would refuse A too)
    const tpl = file('strict.jinja', "{% if messages[0].role != 'system' %}{{ raise_exception('first message must be system') }}{% endif %}{{ messages[0].content }}");
    const b = file('nosys.json', '{"messages": [{"role": "user", "content": "hi"}]}');
    await expectBadInput([A, b, '--template', tpl], new RegExp(`template .*strict\\.jinja raised an error while rendering B \\(.*nosys\\.json\\): "first message must be system"`));
  });
  it('a template that does not parse', () => expectBadInput([A, A, '--template', file('bad.jinja', '{% if %}')], /chat template .*bad\.jinja could not be parsed/));
  it('a missing template file', () => expectBadInput([A, A, '--template', join(dir, 'nope.jinja')], /cannot read chat template .*nope\.jinja/));
  it('an unknown model name', () => expectBadInput([A, A, '--model', 'gpt-9'], /unknown model "gpt-9"/));
  it('two models at once', () => expectBadInput([A, A, '--model', 'qwen3', '--hf', dir], /--model and --hf both name a model/));
  it('both sides from stdin', () => expectBadInput(['-', '-'], /only one of A and B/));
  it('a date that is not a date', () => expectBadInput([A, A, '--date', '2026-13-45'], /--date/));
  it('an unknown backend', async () => {
    const r = await runCli([A, A, '--backend', 'tgi']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/Allowed choices are llama\.cpp, raw, vllm, sglang/);
  });
  it('stdin works for one side', async () => {
    const r = await runCli([A, '-'], '{"messages": [{"role": "user", "content": "hi"}]}');
    expect(r.code).toBe(1);
  });
});

describe('exit codes of the real binary', () => {
  const bin = join(import.meta.dirname, '..', 'bin', 'kvdiff.js');
  it('0 when B reuses all of A, 1 on a break, 2 on bad input, without a stack trace', () => {
    execFileSync('node', [bin, A, A, '--json']); // throws on a non-zero exit
    expect(spawnSync('node', [bin, A, 'samples/system-timestamp/b.json']).status).toBe(1);
    const bad = spawnSync('node', [bin, A, join(dir, 'missing.json')], { encoding: 'utf8' });
    expect(bad.status).toBe(2);
    expect(bad.stderr.trim().split('\n')).toHaveLength(1);
  });
  it('--json prints JSON only, NO_COLOR and non-TTY print no escape codes', () => {
    const out = spawnSync('node', [bin, A, 'samples/system-timestamp/b.json', '--json'], { encoding: 'utf8', env: { ...process.env, FORCE_COLOR: '1' } });
    expect(() => JSON.parse(out.stdout)).not.toThrow();
    const plain = spawnSync('node', [bin, A, 'samples/system-timestamp/b.json'], { encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' } });
    expect(plain.stdout).not.toMatch(/\u001b\[/);
    const forced = spawnSync('node', [bin, A, 'samples/system-timestamp/b.json'], { encoding: 'utf8', env: { ...process.env, FORCE_COLOR: '1' } });
    expect(forced.stdout).toMatch(/\u001b\[/);
  });
});
