/**
 * Issue 15: every hostile input gets one clear line and exit 2 (or the right answer), in bounded time and memory,
 * and nothing from an input reaches the terminal as a control character. One test per failure the sweep found.
 */
import { readdirSync, readFileSync, symlinkSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli, type CliResult } from './cli-harness.js';
import { tempFiles } from './tmp.js';

const A = 'samples/system-timestamp/a.json';
const HOSTILE = join(import.meta.dirname, 'hostile');
const { dir, write } = tempFiles('reliability');

/** Exit 2, nothing on stdout, one `error:` line (plus at most a `help:` line), no stack, no raw control characters. */
export function expectOneLine(r: CliResult, pattern: RegExp): void {
  expect(r.code, r.stderr).toBe(2);
  expect(r.stdout).toBe('');
  const lines = r.stderr.trimEnd().split('\n');
  expect(lines[0]).toMatch(/^error: /);
  expect(lines.length).toBeLessThanOrEqual(2);
  if (lines[1]) expect(lines[1]).toMatch(/^help: /);
  expect(r.stderr).toMatch(pattern);
  expect(r.stderr).not.toMatch(/internal error|\n\s+at /);
  expect(r.stderr).not.toMatch(/[\u0000-\u0009\u000b-\u001f\u007f-\u009f]/);
}

const body = (content: string) => JSON.stringify({ messages: [{ role: 'user', content }] });

describe('malformed tokenizer.json: one line naming the file (via --tokenizer and --hf)', () => {
  const files = readdirSync(join(HOSTILE, 'tokenizer')).filter((f) => f.endsWith('.json'));
  it('has the hostile files', () => expect(files.length).toBeGreaterThanOrEqual(13));
  for (const f of files) {
    const path = join(HOSTILE, 'tokenizer', f);
    it(`--tokenizer ${f}`, async () => expectOneLine(await runCli([A, A, '--tokenizer', path]), /tokenizer/));
    it(`--hf folder with ${f}`, async () => {
      const folder = join(dir, `hf-${f}`);
      mkdirSync(folder);
      write(`hf-${f}/tokenizer.json`, readFileSync(path, 'utf8'));
      write(`hf-${f}/tokenizer_config.json`, { chat_template: '{% for m in messages %}{{ m.content }}{% endfor %}' });
      expectOneLine(await runCli([A, A, '--hf', folder]), /tokenizer/);
    });
  }
});
