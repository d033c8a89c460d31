import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Engine } from '../src/engine.js';
import { KvdiffError } from '../src/errors.js';
import { loadBuiltinModel } from '../src/model/builtin.js';
import { nodeFs } from '../src/node/fs.js';
import { bodyFromObject } from '../src/payload/body.js';
import { generateBody } from './body-generator.js';
import { HAVE_SHARED, NO_SHARED_REASON, SHARED } from './shared.js';

// Every shared real template × random bodies: the invariants llama-server keeps. A render either succeeds or
// fails with a KvdiffError (exit 2, one message, never a crash), and two identical bodies render identically.
// KVDIFF_TEMPLATE_BODIES raises the number of bodies per template (a few in `npm test`).
const BODIES = Number(process.env.KVDIFF_TEMPLATE_BODIES ?? 4);
const DIR = join(SHARED, 'fixtures', 'llama-server-templates');

describe.skipIf(!HAVE_SHARED)(`random bodies through every shared template (${HAVE_SHARED ? '' : NO_SHARED_REASON})`, async () => {
  const base = HAVE_SHARED ? await loadBuiltinModel(nodeFs, 'qwen3') : undefined;
  const templates = HAVE_SHARED ? readdirSync(DIR).filter((f) => f.endsWith('.json') && f !== 'conversations.json').sort() : [];
  for (const [t, file] of templates.entries()) {
    it(file.replace(/\.json$/, ''), () => {
      const fx = JSON.parse(readFileSync(join(DIR, file), 'utf8'));
      const engine = new Engine({ model: { ...base!, chatTemplate: fx.template }, backend: 'llama.cpp', now: new Date(Date.UTC(2026, 10, 27)) });
      const outcome = (body: unknown): string => {
        try {
          return 'ok:' + engine.render(bodyFromObject(body, 'gen'), 'gen');
        } catch (err) {
          if (!(err instanceof KvdiffError)) throw new Error(`seed body crashed the renderer: ${(err as Error).stack}`);
          expect(err.message.length).toBeGreaterThan(0);
          expect(err.message).not.toMatch(/\n\s+at /); // no stack trace in the message
          return 'error:' + err.message;
        }
      };
      for (let i = 0; i < BODIES; i++) {
        const body = generateBody(1000 * t + i);
        const first = outcome(body);
        // the same body again, and an identical copy built from its JSON text, render the same
        expect(outcome(body)).toBe(first);
        expect(outcome(JSON.parse(JSON.stringify(body)))).toBe(first);
      }
    });
  }
});
