import { createHash } from 'node:crypto';
import { KvdiffError } from '../errors.js';
import type { ModelFs } from './fs.js';

export function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

const decoder = new TextDecoder('utf-8');

/** Reads and parses a JSON file, naming the file in any error. */
export async function readJsonFile(fs: ModelFs, path: string, what: string): Promise<Record<string, unknown>> {
  let text: string;
  try {
    text = decoder.decode(await fs.readFile(path));
  } catch (err) {
    throw new KvdiffError(`cannot read ${what} ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  try {
    const value = JSON.parse(text) as unknown;
    if (!value || typeof value !== 'object' || Array.isArray(value)) throw new Error('not a JSON object');
    return value as Record<string, unknown>;
  } catch (err) {
    throw new KvdiffError(`${what} ${path} is not valid JSON: ${(err as Error).message}`);
  }
}

/** Reads a UTF-8 text file, naming it in any error. */
export async function readTextFile(fs: ModelFs, path: string, what: string): Promise<string> {
  try {
    return decoder.decode(await fs.readFile(path));
  } catch (err) {
    throw new KvdiffError(`cannot read ${what} ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
}
