import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { Engine } from '../src/engine.js';
import { loadBuiltinModel } from '../src/model/builtin.js';
import type { ModelInfo } from '../src/model/types.js';
import { nodeFs } from '../src/node/fs.js';
import { bodyFromObject } from '../src/payload/body.js';

// Renders recorded from a real llama-server (its own /apply-template answer, with the commit, flags and request in
// each file) for small templates written to isolate one request-handling rule that random request pairs against
// the server found kvdiff getting wrong. Expected values are the server's output, never kvdiff's.

interface OracleCase {
  description: string;
  recorded: { llama_cpp_commit: string; props_chat_template_caps?: Record<string, boolean> };
  template: string;
  request: unknown;
  prompt: string;
}

const DIR = join(dirname(fileURLToPath(import.meta.url)), 'server-oracle');
const CASES = readdirSync(DIR)
  .filter((f) => f.endsWith('.json'))
  .sort()
  .map((f) => ({ file: f, ...(JSON.parse(readFileSync(join(DIR, f), 'utf8')) as OracleCase) }));

let qwen3: ModelInfo;
beforeAll(async () => {
  qwen3 = await loadBuiltinModel(nodeFs, 'qwen3');
});

describe('renders recorded from llama-server for one rule each', () => {
  it('has cases', () => expect(CASES.length).toBeGreaterThan(0));
  for (const c of CASES) {
    it(`${c.file}: ${c.description}`, () => {
      const e = new Engine({ model: { ...qwen3, chatTemplate: c.template }, backend: 'llama.cpp', now: new Date(Date.UTC(2026, 11, 2)) });
      const caps = c.recorded.props_chat_template_caps;
      if (caps?.supports_typed_content !== undefined) expect(e.caps.typedContent).toBe(caps.supports_typed_content);
      if (caps?.supports_string_content !== undefined) expect(e.caps.stringContent).toBe(caps.supports_string_content);
      if (caps?.supports_object_arguments !== undefined) expect(e.caps.objectArguments).toBe(caps.supports_object_arguments);
      expect(e.render(bodyFromObject(c.request, 'recorded'), 'recorded')).toBe(c.prompt);
    });
  }
});
