/**
 * Checks a tokenizer.json before anything is built from it or cached. @huggingface/tokenizers throws TypeErrors on
 * malformed files (no model, merges as a string, added_tokens as a string) and silently encodes nothing with an
 * empty vocabulary, an array vocabulary or negative ids; llama.cpp's converter refuses all of these, so kvdiff refuses
 * them too, with one line naming the file and the field.
 */
import { KvdiffError } from '../errors.js';

/** The tokenizer.json models kvdiff encodes; llama.cpp's GGUF vocabularies cover the others (`--gguf`). */
const SUPPORTED_MODELS = new Set(['BPE']);

const HINT = 'pass a Hugging Face fast tokenizer (tokenizer.json with a BPE model), or --gguf FILE';

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function kind(v: unknown): string {
  return v === null ? 'null' : Array.isArray(v) ? 'an array' : typeof v === 'object' ? 'an object' : `a ${typeof v}`;
}

/** Throws a KvdiffError naming `where` and the field when `json` is not a tokenizer.json kvdiff can encode with. */
export function checkTokenizerJson(json: Record<string, unknown>, where: string): void {
  const refuse = (what: string): never => {
    throw new KvdiffError(`tokenizer ${where}: ${what}`, HINT);
  };
  const model = json.model;
  if (!isObject(model)) refuse(model === undefined ? 'has no "model"' : `"model" must be an object, found ${kind(model)}`);
  const m = model as Record<string, unknown>;
  if (m.type !== undefined && !SUPPORTED_MODELS.has(String(m.type))) {
    refuse(`model type ${JSON.stringify(m.type)} is not supported (kvdiff encodes ${[...SUPPORTED_MODELS].join(', ')} tokenizer.json models)`);
  }
  if (!isObject(m.vocab)) refuse(`"model.vocab" must be an object of token → id, found ${kind(m.vocab)}`);
  let count = 0;
  for (const [text, id] of Object.entries(m.vocab as Record<string, unknown>)) {
    if (!Number.isInteger(id) || (id as number) < 0) refuse(`"model.vocab" gives ${JSON.stringify(text.slice(0, 40))} the id ${JSON.stringify(id)}: ids are whole numbers from 0`);
    count++;
  }
  if (count === 0) refuse('"model.vocab" is empty: it cannot encode any text');
  if (m.merges !== undefined && !Array.isArray(m.merges)) refuse(`"model.merges" must be an array, found ${kind(m.merges)}`);
  for (const [k, merge] of ((m.merges as unknown[] | undefined) ?? []).entries()) {
    const ok = typeof merge === 'string' || (Array.isArray(merge) && merge.length === 2 && merge.every((s) => typeof s === 'string'));
    if (!ok) refuse(`"model.merges[${k}]" must be "a b" or ["a", "b"], found ${kind(merge)}`);
  }
  for (const part of ['normalizer', 'pre_tokenizer', 'decoder', 'post_processor']) checkPatterns(json[part], part, refuse);
  const added = json.added_tokens;
  if (added !== undefined && added !== null && !Array.isArray(added)) refuse(`"added_tokens" must be an array, found ${kind(added)}`);
  for (const [k, t] of ((added as unknown[] | null | undefined) ?? []).entries()) {
    if (!isObject(t) || typeof t.content !== 'string' || !Number.isInteger(t.id) || (t.id as number) < 0) {
      refuse(`"added_tokens[${k}]" must be an object with a string "content" and a whole-number "id"`);
    }
  }
}

/**
 * Every `pattern` of a Split or Replace component must be `{"Regex": "..."}` or `{"String": "..."}`: the tokenizer
 * library would print any other value to the console (input text on the user's terminal) and match nothing.
 */
function checkPatterns(node: unknown, where: string, refuse: (what: string) => never, depth = 0): void {
  if (depth > 16 || node === null || typeof node !== 'object') return;
  if (Array.isArray(node)) {
    node.forEach((n, i) => checkPatterns(n, `${where}[${i}]`, refuse, depth + 1));
    return;
  }
  const o = node as Record<string, unknown>;
  if ('pattern' in o) {
    const p = o.pattern;
    const ok = isObject(p) && (typeof p.Regex === 'string' || typeof p.String === 'string');
    if (!ok) refuse(`"${where}.pattern" must be {"Regex": "..."} or {"String": "..."}, found ${kind(p)}`);
  }
  for (const [k, v] of Object.entries(o)) if (k !== 'pattern') checkPatterns(v, `${where}.${k}`, refuse, depth + 1);
}

/**
 * Runs `build` (constructing an encoder from a tokenizer.json, or encoding with it) and turns what the tokenizer
 * library throws on a file it cannot use (an unknown normalizer, pre-tokenizer or decoder type, an invalid Split
 * regex, a component whose fields have the wrong type) into one line naming the file.
 */
export function buildTokenizer<T>(where: string, build: () => T): T {
  try {
    return build();
  } catch (err) {
    if (err instanceof KvdiffError) throw err;
    throw new KvdiffError(`tokenizer ${where} could not be loaded: ${(err as Error)?.message ?? String(err)}`, HINT);
  }
}
