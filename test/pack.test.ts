/**
 * Packaging: `npm pack`, then a global install of that tarball into a temporary prefix, runs `kvdiff` from a folder
 * that is not the checkout. Uses the dist/ that `npm test` builds first (packing with `--ignore-scripts`, so this
 * test does not rewrite dist/ under the other test files; `prepack` builds it for a real `npm pack`).
 * Dependencies come from the npm registry: skipped, saying why, when npm or dist/ is missing.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
const haveNpm = spawnSync(npm, ['--version'], { encoding: 'utf8' }).status === 0;
const haveDist = existsSync(join(ROOT, 'dist', 'cli', 'main.js'));
const skipReason = !haveNpm ? 'npm is not on PATH' : !haveDist ? 'dist/ is not built (npm test builds it first)' : '';
const work = mkdtempSync(join(tmpdir(), 'kvdiff-pack-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

function run(cmd: string, args: string[], cwd: string, env: NodeJS.ProcessEnv = process.env) {
  return spawnSync(cmd, args, { cwd, env, encoding: 'utf8', timeout: 600_000 });
}

describe.skipIf(skipReason !== '')(`npm pack and a global install${skipReason ? ` (skipped: ${skipReason})` : ''}`, () => {
  it('runs kvdiff --version and a sample diff outside the checkout', () => {
    const pack = run(npm, ['pack', '--ignore-scripts', '--pack-destination', work], ROOT);
    expect(pack.status, pack.stderr).toBe(0);
    const tarball = readdirSync(work).find((f) => f.endsWith('.tgz'));
    expect(tarball).toBeDefined();

    const prefix = join(work, 'prefix');
    const env = { ...process.env, npm_config_prefix: prefix, npm_config_audit: 'false', npm_config_fund: 'false' };
    const install = run(npm, ['install', '--global', join(work, tarball!)], work, env);
    expect(install.status, install.stderr).toBe(0);

    const bin = process.platform === 'win32' ? join(prefix, 'kvdiff.cmd') : join(prefix, 'bin', 'kvdiff');
    const pkg = (run(process.execPath, ['-p', 'require("./package.json").version'], ROOT).stdout ?? '').trim();
    const version = run(bin, ['--version'], work);
    expect(version.status, version.stderr).toBe(0);
    expect(version.stdout.trim()).toBe(pkg);

    // the installed package carries its samples; the pair is a cache break (exit 1) found at a named JSON path
    const installed = join(prefix, process.platform === 'win32' ? '' : 'lib', 'node_modules', 'kvdiff');
    const sample = join(installed, 'samples', 'session-reload');
    const diff = run(bin, [join(sample, 'loop.json'), join(sample, 'reload.json'), '--json'], work, { ...process.env, NO_COLOR: '1' });
    expect(diff.status, diff.stderr).toBe(1);
    const report = JSON.parse(diff.stdout) as { nPast?: number; causes?: unknown[] };
    expect(typeof report.nPast).toBe('number');
    expect(existsSync(join(installed, 'LICENSE'))).toBe(true);
  });
});
