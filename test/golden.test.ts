import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from './cli-harness.js';

// Golden reports beside each sample (rustc's --bless): `npm run bless` rewrites them on purpose, and the diff
// is reviewed. Samples hold a.json/b.json, or the session-reload pair loop.json/reload.json.
const BLESS = process.env.KVDIFF_BLESS === '1';
const SAMPLES = join(import.meta.dirname, '..', 'samples');

function pair(dir: string): [string, string] {
  const files = readdirSync(dir);
  if (files.includes('loop.json')) return [join(dir, 'loop.json'), join(dir, 'reload.json')];
  return [join(dir, 'a.json'), join(dir, 'b.json')];
}

const samples = readdirSync(SAMPLES).filter((d) => existsSync(join(SAMPLES, d, 'a.json')) || existsSync(join(SAMPLES, d, 'loop.json')));

describe('golden reports for samples/', () => {
  it('has the three required samples', () => {
    expect(samples).toEqual(expect.arrayContaining(['session-reload', 'qwen3-new-user-turn', 'system-timestamp']));
  });
  for (const name of samples) {
    for (const [kind, extra, file] of [
      ['human', [], 'expected.txt'],
      ['json', ['--json'], 'expected.json'],
    ] as const) {
      it(`${name} (${kind})`, async () => {
        const [a, b] = pair(join(SAMPLES, name)).map((p) => p.slice(process.cwd().length + 1));
        const r = await runCli([a, b, '--date', '2026-11-27', ...extra]);
        expect(r.stderr).toBe('');
        const path = join(SAMPLES, name, file);
        if (BLESS) writeFileSync(path, r.stdout);
        expect(r.stdout).toBe(readFileSync(path, 'utf8'));
        expect(r.code).toBe(JSON.parse((await runCli([a, b, '--date', '2026-11-27', '--json'])).stdout).reusesAll ? 0 : 1);
      });
    }
  }
});
