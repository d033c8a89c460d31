import type { Finding } from '../attribute/attribute.js';
import { formatPath } from '../payload/path.js';
import { num } from './format.js';

/** Words for the dialect notes (`src/dialect/notes.ts`): where a client field lands, and why llama-server ignores it. */

function endpoint(f: Finding): string {
  return f.dialect?.api === 'responses' ? '/v1/responses' : '/v1/messages';
}

function lands(f: Finding): string {
  const paths = f.dialect?.converted ?? [];
  return paths.map(formatPath).join(', ');
}

/** `note:` lines under a cause: the converted field it became. */
export function dialectCauseNotes(f: Finding): string[] {
  const d = f.dialect;
  if (!d) return [];
  const out: string[] = [];
  if (d.converted.length) out.push(`llama-server converts the ${endpoint(f)} body, so the template reads this as ${lands(f)}`);
  const reasoning = d.converted.length > 0 && d.converted.every((p) => p[p.length - 1] === 'reasoning_content');
  if (reasoning && f.breaks) {
    out.push(`the template prints this turn's reasoning: a client that strips ${f.dialect?.api === 'responses' ? 'reasoning items' : 'thinking blocks'} from earlier turns changes the prompt here; send them back until the next user message`);
  }
  if (d.reason === 'BILLING_CCH' && d.ignoredByLlamaServer) out.push('llama-server rewrites the billing header\'s cch= stamp to fffff before templating: this difference is harmless there');
  return out;
}

/** The note for an ignored difference the conversion explains; null when the template is what ignores it. */
export function dialectIgnoredNote(f: Finding): string | null {
  const d = f.dialect;
  if (!d?.reason) return null;
  switch (d.reason) {
    case 'BILLING_CCH': {
      const there =
        d.tokenElsewhere === undefined
          ? ''
          : d.tokenElsewhere === null
            ? '; on vLLM or SGLang (no rewrite) it does not change the prompt either'
            : `; on vLLM or SGLang (no rewrite) this breaks the cache at token ${num(d.tokenElsewhere)}`;
      return `llama-server rewrites the billing header's cch= stamp to fffff before templating: harmless there${there}`;
    }
    case 'DROPPED':
      return `llama-server's ${endpoint(f)} conversion drops it: the chat-completions body it builds is the same without it`;
    case 'CHAT_PARSE_DROPS':
      return `llama-server converts it to ${lands(f)}, which its chat-completions parser then drops (a message keeps role, content, tool calls and reasoning; a part only type and text): harmless there`;
    case 'REQUEST_OPTION':
      return `llama-server converts it to ${lands(f)}, a request option that does not reach the template: harmless there`;
    case 'SAME_CONVERSION':
      return `llama-server converts both forms to the same chat-completions body (${lands(f)}): harmless there`;
  }
}

/** The converted field, for an ignored difference the template (not the conversion) ignores. */
export function dialectIgnoredWhere(f: Finding): string | null {
  const d = f.dialect;
  if (!d || d.reason || !d.converted.length) return null;
  return `converted by llama-server to ${lands(f)}`;
}

/** The `dialect` object of a finding in `--json`. */
export function dialectJson(f: Finding): Record<string, unknown> | undefined {
  const d = f.dialect;
  if (!d) return undefined;
  return {
    api: d.api,
    converted: d.converted.map(formatPath),
    ...(d.reason ? { reason: d.reason } : {}),
    ...(d.tokenElsewhere !== undefined ? { tokenElsewhere: d.tokenElsewhere } : {}),
    ...(d.ignoredByLlamaServer ? { ignoredByLlamaServer: true } : {}),
  };
}

/** The finding a `help:` line is written for: for a converted body, where the field landed (the system prompt, a tool call). */
export function helpTarget(f: Finding): Finding {
  return f.dialect?.converted.length === 1 ? { ...f, path: f.dialect.converted[0] } : f;
}
