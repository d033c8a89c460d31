import type { JsonNode } from '../payload/json.js';
import type { Tokens } from '../tokenize/prompt.js';
import { get } from './nodes.js';
import { refuse } from './refuse.js';

/** One part of a raw prompt: text to tokenize (BOS/EOS added when `addSpecial`), or token ids used as they are. */
export type PromptPiece = { text: string; addSpecial: boolean } | { ids: number[] };

/** What kvdiff needs to tokenize a raw prompt as the server does. */
export interface PieceTokenizer {
  encode(text: string, addSpecial: boolean): Tokens;
  piece(id: number): string;
}

/**
 * The prompt of a `/completion` or `/v1/completions` body, as llama-server's `tokenize_input_prompts` reads it
 * (server-common.cpp): a string is tokenized with add_special and parse_special; an array of token ids is used
 * verbatim (no BOS); a mixed array of ids and strings is one prompt where only a string in first place gets
 * add_special. Any other array is several prompts the server runs as separate tasks: one at a time here.
 */
export function completionPrompt(root: JsonNode, label: string): PromptPiece[] {
  const prompt = get(root, 'prompt');
  if (!prompt) refuse(label, '"prompt" must be provided');
  return promptPieces(prompt, label);
}

function promptPieces(prompt: JsonNode, label: string): PromptPiece[] {
  if (prompt.type === 'string') return [{ text: prompt.value, addSpecial: true }];
  if (prompt.type !== 'array') return refuse(label, '"prompt" must be a string, an array of token ids, or a mixed array of both');
  const hasId = prompt.items.some((p) => p.type === 'number' && Number.isInteger(p.value));
  const allNumbers = prompt.items.every((p) => p.type === 'number');
  if (hasId || allNumbers) {
    const pieces: PromptPiece[] = [];
    prompt.items.forEach((p, i) => {
      if (p.type === 'string') pieces.push({ text: p.value, addSpecial: i === 0 });
      else if (p.type === 'number') pieces.push({ ids: [Math.trunc(p.value)] });
      else refuse(label, `prompt[${i}] must be a token id or a string`);
    });
    return pieces;
  }
  if (prompt.items.length === 1) return promptPieces(prompt.items[0], label);
  throw refuse(
    label,
    `"prompt" holds ${prompt.items.length} prompts, which llama-server runs as separate tasks (each picks its own slot)`,
  );
}

/** Tokens of a raw prompt, and its text (ids shown by their pieces) for the report to point into. */
export function tokenizePieces(pieces: PromptPiece[], tok: PieceTokenizer): { rendered: string; tokens: Tokens } {
  let rendered = '';
  const ids: number[] = [];
  const starts: number[] = [];
  for (const p of pieces) {
    if ('ids' in p) {
      for (const id of p.ids) {
        ids.push(id);
        starts.push(rendered.length);
        rendered += tok.piece(id);
      }
      continue;
    }
    const t = tok.encode(p.text, p.addSpecial);
    ids.push(...t.ids);
    starts.push(...t.starts.map((s) => s + rendered.length));
    rendered += p.text;
  }
  return { rendered, tokens: { ids, starts } };
}
