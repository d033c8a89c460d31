/**
 * `npm run bench` smoke test: the targets benchmark runs end to end on the smallest generated session (one run per
 * row) and prints every row as JSON with its measured ratio and peak memory. No timing is asserted.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const haveDist = existsSync(join(ROOT, 'dist', 'cli', 'main.js'));

describe.skipIf(!haveDist)(`bench/targets.js${haveDist ? '' : ' (skipped: dist/ is not built; npm test builds it first)'}`, () => {
  it('prints every row with a ratio and peak memory on a 10K-token session and a 2 MB log', () => {
    const r = spawnSync(process.execPath, [join(ROOT, 'bench', 'targets.js'), '--sizes', '10000', '--runs', '1', '--log-mb', '2', '--json'], { encoding: 'utf8', timeout: 300_000 });
    expect(r.status, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout) as { machine: string; rows: { name: string; ratio?: number; peakMb?: number; skipped?: string; kind?: string; smallPeakMb?: number; met?: boolean; requests?: number }[] };
    const names = out.rows.map((x) => x.name);
    expect(names).toEqual([
      'kvdiff --help vs node -e 0',
      'cold kvdiff A B (10K pair) vs naive script',
      expect.stringMatching(/^kvdiff's JSON parser \(10K body, \d+ KB\) vs JSON.parse$/),
      expect.stringMatching(/^render of A \(10K, \d+K characters\) vs @huggingface\/jinja's Template.render, warm$/),
      'warm library diff (10K) vs llama.cpp tokenize of B',
      expect.stringMatching(/^attribution, \d+ differences vs 1 \(10K\)$/),
      expect.stringMatching(/^check, \d+-request session growing to 10K vs cold 10K pair$/),
      'kvdiff logs FILE (2 MB log) vs readline',
      'kvdiff logs FILE --json (2 MB log) vs readline',
      'cat FILE | kvdiff logs - (2 MB log) vs readline',
    ]);
    // the check session has a request per cut point of the 10K session (fewer than 200), at least a few
    expect(out.rows.find((x) => x.name.startsWith('check'))!.requests).toBeGreaterThan(5);
    for (const row of out.rows.filter((x) => x.kind === 'throughput')) {
      expect(row.smallPeakMb).toBeGreaterThan(0);
      expect(typeof row.met).toBe('boolean');
    }
    for (const row of out.rows) {
      if (row.skipped) continue;
      expect(row.ratio).toBeGreaterThan(0);
      expect(Number.isFinite(row.ratio)).toBe(true);
      expect(row.peakMb).toBeGreaterThan(0);
    }
  });
});

describe.skipIf(!haveDist)(`bench/tokenizer.js${haveDist ? '' : ' (skipped: dist/ is not built; npm test builds it first)'}`, () => {
  it('encodes a 10K-token rendered session with every encoder; each gives llama.cpp\'s ids when llama.cpp is there', () => {
    const r = spawnSync(process.execPath, [join(ROOT, 'bench', 'tokenizer.js'), '--sizes', '10000', '--runs', '1', '--json'], { encoding: 'utf8', timeout: 300_000 });
    expect(r.status, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout) as { llamaSkipped?: string; rows: { name: string; ms: number; ratio?: number; sameIdsAsLlamaCpp?: boolean }[] };
    const encoders = out.rows.filter((x) => !x.name.startsWith('llama.cpp'));
    expect(encoders.map((x) => x.name)).toEqual(expect.arrayContaining(['kvdiff, embedded Qwen3 (tokenizer.json) (10K)', '@huggingface/tokenizers Tokenizer.encode (10K)']));
    for (const row of out.rows) expect(row.ms).toBeGreaterThan(0);
    if (!out.llamaSkipped) for (const row of encoders) expect(row.sameIdsAsLlamaCpp, row.name).toBe(true);
  });
});
