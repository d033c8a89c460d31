import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

/** `../shared` beside the checkout: read in place, never copied into the repository. */
export const SHARED = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', 'shared');
export const HAVE_SHARED = existsSync(join(SHARED, 'fixtures', 'llama-server'));
/** `../shared/models/` (tiny GGUF models), with the trailing separator so a file name can be appended. */
export const SHARED_MODELS = join(SHARED, 'models') + sep;
export const NO_SHARED_REASON = `../shared is absent (${SHARED}): fixture tests need the recorded llama-server cases`;

export interface Fixture {
  file: string;
  case: string;
  model: string;
  server_args: string[];
  request_a: unknown;
  request_b: unknown;
  rendered_a?: string;
  rendered_b?: string;
  tokens_a?: number[];
  tokens_b?: number[];
  n_past_logged?: number;
  hf_jinja2_equals_server_a?: boolean;
  hf_jinja2_equals_server_b?: boolean;
  error_b?: unknown;
  steps?: { step: number; request: unknown; rendered: string; tokens: number[]; n_past_logged: number }[];
  [k: string]: unknown;
}

export function loadFixtures(): Fixture[] {
  if (!HAVE_SHARED) return [];
  const dir = join(SHARED, 'fixtures', 'llama-server');
  return readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((f) => ({ ...(JSON.parse(readFileSync(join(dir, f), 'utf8')) as Omit<Fixture, 'file'>), file: f }) as Fixture);
}
