#!/usr/bin/env node
// dist/ is built by `prepack` (the published package) or by `prepare` in a clone with its dev dependencies.
import { existsSync } from 'node:fs';

const main = new URL('../dist/cli/main.js', import.meta.url);
if (!existsSync(main)) {
  console.error('error: kvdiff is not built (no dist/)\nhelp: run `npm install` then `npm run build` in the checkout');
  process.exitCode = 2;
} else {
  const { main: run } = await import(main.href);
  process.exitCode = await run(process.argv);
}
