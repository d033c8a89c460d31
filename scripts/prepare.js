// `prepare` (runs on `npm install` / `npm ci` in a clone): builds dist/ so that `npx kvdiff` works straight
// after the README's set-up command. The published package is built by `prepack` instead; so this step
// does nothing while packing (npm runs both) and, when the dev dependencies are absent
// (`npm install --omit=dev`), says how to build instead of failing the install.
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';

const command = process.env.npm_command;
if (command === 'pack' || command === 'publish') process.exit(0);

let tsc;
try {
  tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
} catch {
  console.warn('kvdiff: typescript is not installed (--omit=dev?), so dist/ was not built; run `npm install` then `npm run build`');
  process.exit(0);
}
const r = spawnSync(process.execPath, [tsc, '-p', 'tsconfig.json'], { stdio: 'inherit' });
process.exit(r.status ?? 1);
