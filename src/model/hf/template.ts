/**
 * Choosing the chat template of a Hugging Face folder, as transformers does:
 * `chat_template.jinja` (plus `additional_chat_templates/*.jinja`) wins over `chat_template.json`,
 * which wins over `tokenizer_config.json`'s `chat_template` (a string, or a list of `{name, template}`).
 */
import { KvdiffError } from '../../errors.js';

export const DEFAULT_TEMPLATE_NAME = 'default';

/** Template texts by name, each with the file it came from. */
export type TemplateSet = Map<string, { text: string; file: string }>;

/** Parse a `chat_template` value (string or `[{name, template}]`) found in `file`. */
export function templatesFromValue(value: unknown, file: string): TemplateSet {
  const set: TemplateSet = new Map();
  if (typeof value === 'string') {
    set.set(DEFAULT_TEMPLATE_NAME, { text: value, file });
    return set;
  }
  if (Array.isArray(value)) {
    for (const item of value) {
      const name = (item as { name?: unknown } | null)?.name;
      const text = (item as { template?: unknown } | null)?.template;
      if (typeof name !== 'string' || typeof text !== 'string') {
        throw new KvdiffError(`${file}: chat_template list entries must be {"name": ..., "template": ...}`);
      }
      set.set(name, { text, file });
    }
    return set;
  }
  throw new KvdiffError(`${file}: chat_template must be a string or a list of {name, template}, not ${typeOf(value)}`);
}

function typeOf(v: unknown): string {
  return v === null ? 'null' : Array.isArray(v) ? 'a list' : typeof v;
}

export interface ChosenTemplate {
  text: string;
  file: string;
  /** Set when the source has several templates or a name was asked for. */
  name?: string;
  /** All templates by name, when there are several. */
  named?: Record<string, string>;
}

/** Pick `wanted` (default `default`) from `set`; `where` names the source for messages. */
export function chooseTemplate(set: TemplateSet, where: string, wanted?: string): ChosenTemplate {
  const names = [...set.keys()];
  const name = wanted ?? DEFAULT_TEMPLATE_NAME;
  const hit = set.get(name);
  if (!hit) {
    if (wanted === undefined) {
      throw new KvdiffError(
        `${where} has several chat templates and none is named "default" (${names.join(', ')})`,
        'pick one with --template-name NAME',
      );
    }
    throw new KvdiffError(`${where} has no chat template named "${wanted}"; it has: ${names.join(', ')}`);
  }
  const several = set.size > 1;
  const named = several ? Object.fromEntries([...set].map(([k, v]) => [k, v.text])) : undefined;
  return {
    text: hit.text,
    file: hit.file,
    ...(several || wanted !== undefined ? { name } : {}),
    ...(named ? { named } : {}),
  };
}
