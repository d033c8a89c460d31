import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * A fresh temporary folder and a writer into it: strings are written as they are, anything else as JSON.
 * Returns the folder too, for tests that name paths in it.
 */
export function tempFiles(prefix: string): { dir: string; write: (name: string, value: unknown) => string } {
  const dir = mkdtempSync(join(tmpdir(), `kvdiff-${prefix}-`));
  return {
    dir,
    write(name, value) {
      const p = join(dir, name);
      writeFileSync(p, typeof value === 'string' ? value : JSON.stringify(value));
      return p;
    },
  };
}
