// `npm run bench`: every benchmark under bench/, one process each (each prints ratios against its own
// in-process baseline).
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';

const here = dirname(fileURLToPath(import.meta.url));
for (const file of readdirSync(here).filter((f) => f.endsWith('.js') && f !== 'run.js').sort()) {
  console.log(`\n== ${file}`);
  const r = spawnSync(process.execPath, ['--expose-gc', join(here, file)], { stdio: 'inherit' });
  if (r.status !== 0) process.exitCode = 1;
}
