/**
 * BOS/EOS facts of a Hugging Face tokenizer: the token text the template sees and whether tokenization adds it.
 * Follows llama.cpp's converter (gguf-py `SpecialVocab`), since kvdiff predicts what llama-server does:
 * the `TemplateProcessing` post-processor decides first, a boolean `add_bos_token` / `add_eos_token`
 * in `tokenizer_config.json` overrides it.
 */

export interface SpecialTokens {
  bosToken: string;
  eosToken: string;
  addBos: boolean;
  addEos: boolean;
}

type Json = Record<string, unknown>;

function isObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Token text from a config entry: a plain string or an AddedToken dict `{content: ...}`. */
export function tokenText(entry: unknown): string | undefined {
  if (typeof entry === 'string') return entry;
  if (isObject(entry) && typeof entry.content === 'string') return entry.content;
  return undefined;
}

/** The `TemplateProcessing` post-processor, also when nested in a `Sequence` (Llama 3 style). */
function findTemplateProcessing(post: unknown): Json | undefined {
  if (!isObject(post)) return undefined;
  if (post.type === 'TemplateProcessing') return post;
  if (post.type === 'Sequence' && Array.isArray(post.processors)) {
    for (const p of post.processors) {
      const found = findTemplateProcessing(p);
      if (found) return found;
    }
  }
  return undefined;
}

function specialId(piece: unknown): string | undefined {
  if (!isObject(piece) || !isObject(piece.SpecialToken)) return undefined;
  const id = piece.SpecialToken.id;
  return typeof id === 'string' ? id : undefined;
}

/**
 * `config` is `tokenizer_config.json`, `tokenizerJson` is `tokenizer.json`,
 * `specialMap` is `special_tokens_map.json` (consulted only for tokens the config does not name).
 */
export function readSpecialTokens(config: Json, tokenizerJson: Json, specialMap: Json = {}): SpecialTokens {
  const pick = (key: string): string | undefined =>
    key in config ? tokenText(config[key]) : tokenText(specialMap[key]);
  let bosToken = pick('bos_token') ?? '';
  const eosToken = pick('eos_token') ?? '';
  let addBos = false;
  let addEos = false;

  const tp = findTemplateProcessing(tokenizerJson.post_processor);
  const single = tp && Array.isArray(tp.single) ? tp.single : [];
  if (single.length > 0) {
    const first = specialId(single[0]);
    if (first !== undefined) {
      if (bosToken === '') bosToken = first;
      addBos = first === bosToken;
    }
    const last = single.length > 1 ? specialId(single[single.length - 1]) : undefined;
    if (last !== undefined && eosToken !== '') addEos = last === eosToken;
  }

  if (typeof config.add_bos_token === 'boolean') addBos = config.add_bos_token;
  if (typeof config.add_eos_token === 'boolean') addEos = config.add_eos_token;
  return { bosToken, eosToken, addBos, addEos };
}
