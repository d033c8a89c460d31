import { join } from 'node:path';
import { loadGgufModel } from '../src/model/gguf/model.js';
import { nodeFs } from '../src/node/fs.js';
import type { ModelInfo } from '../src/model/types.js';
import { SHARED } from './shared.js';

/** The model a recording was made with: its GGUF from ../shared/models, read in place. */
export function fixtureModel(file: string): Promise<ModelInfo> {
  return loadGgufModel(nodeFs, join(SHARED, 'models', file), {});
}
