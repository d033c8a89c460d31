import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, normalize, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BACKEND_CHOICES, BACKEND_PROFILES, backendProfile } from '../src/backends.js';
import { cacheConfigFor, DEFAULT_CACHE_CONFIG } from '../src/cache.js';

// The layout rules of the README's architecture section, checked on the sources: they fail when an import goes
// the wrong way, not when a file moves.
const SRC = join(import.meta.dirname, '..', 'src');

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? sources(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : []));
}

const files = sources(SRC).map((path) => ({ path, rel: relative(SRC, path).replaceAll('\\', '/'), text: readFileSync(path, 'utf8') }));

/** The module specifiers a file imports or re-exports. */
function imports(text: string): string[] {
  return [...text.matchAll(/(?:^|\n)\s*(?:import|export)\b[^'"]*?from\s*['"]([^'"]+)['"]/g)].map((m) => m[1]);
}

/** Where a relative specifier points, relative to src/. */
function target(file: { path: string }, spec: string): string | null {
  if (!spec.startsWith('.')) return null;
  return relative(SRC, normalize(join(dirname(file.path), spec))).replaceAll('\\', '/');
}

/** The shells: they may touch the process, the console and the file system. */
const SHELL = (rel: string) => rel.startsWith('cli/') || rel.startsWith('node/');

describe('layout', () => {
  it('the sources are found', () => {
    expect(files.length).toBeGreaterThan(40);
    expect(files.some((f) => f.rel === 'cli/main.ts')).toBe(true);
  });

  it('nothing outside cli/ imports from cli/', () => {
    const bad = files.filter((f) => !f.rel.startsWith('cli/')).flatMap((f) => imports(f.text).filter((s) => target(f, s)?.startsWith('cli/')).map((s) => `${f.rel} → ${s}`));
    expect(bad).toEqual([]);
  });

  it('only cli/ and node/ read the file system, the environment or the console', () => {
    const bad = files
      .filter((f) => !SHELL(f.rel))
      .flatMap((f) => [
        ...imports(f.text).filter((s) => s === 'node:fs' || s === 'node:fs/promises' || s === 'node:os').map((s) => `${f.rel} imports ${s}`),
        ...[...f.text.matchAll(/\b(process|console)\.\w+/g)].map((m) => `${f.rel} uses ${m[0]}`),
      ]);
    expect(bad).toEqual([]);
  });

  it('no stage asks which class an engine is', () => {
    const bad = files.filter((f) => /instanceof\s+(Engine|RemoteEngine)\b/.test(f.text)).map((f) => f.rel);
    expect(bad).toEqual([]);
  });

  it('the core does not import the reporters (they read its findings, never the other way)', () => {
    const core = files.filter((f) => !SHELL(f.rel) && !f.rel.startsWith('report/') && !f.rel.startsWith('logs/') && f.rel !== 'index.ts');
    const bad = core.flatMap((f) => imports(f.text).filter((s) => target(f, s)?.startsWith('report/')).map((s) => `${f.rel} → ${s}`));
    expect(bad).toEqual([]);
  });
});

describe('one backend table', () => {
  it('every --backend choice has its profile, and the other handling it is compared with is another backend', () => {
    expect([...BACKEND_CHOICES].sort()).toEqual(Object.keys(BACKEND_PROFILES).sort());
    for (const b of BACKEND_CHOICES) {
      const p = backendProfile(b);
      expect(BACKEND_CHOICES).toContain(p.contrast);
      expect(backendProfile(p.contrast).messages).not.toBe(p.messages);
    }
  });

  it('the cache configuration comes from the profile, then the model memory, then the flags', () => {
    expect(cacheConfigFor('sglang', undefined).blockSize).toBe(1); // SGLang's default --page-size
    expect(cacheConfigFor('vllm', undefined).blockSize).toBe(16); // vLLM's default --block-size
    expect(cacheConfigFor('llama.cpp', { nSwa: 512, recurrent: false }, { nUbatch: 32 })).toEqual({ ...DEFAULT_CACHE_CONFIG, nSwa: 512, nUbatch: 32 });
  });
});
