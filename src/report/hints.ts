import type { Finding } from '../attribute/attribute.js';
import type { JsonPath } from '../payload/path.js';
import { backendProfile, type Backend } from '../backends.js';

function lastKey(f: Finding): string {
  const k = f.path[f.path.length - 1];
  return typeof k === 'string' ? k : `[${k}]`;
}

/** What the backend does with a difference it ignores (the normalizer's reason), and what the other message handling would (a `note:` line). */
export function ignoredNote(f: Finding): string {
  return `${ignoredText(f)}${elsewhereNote(f)}`;
}

function ignoredText(f: Finding): string {
  switch (f.reason) {
    case 'DROPPED_BY_SERVER':
      return `llama-server drops "${lastKey(f)}" before templating: harmless there`;
    case 'NULL_CONTENT_EMPTIED':
      return 'llama-server turns null content into "" before templating: harmless there';
    case 'TEXT_PARTS_JOINED':
      return 'llama-server joins text parts with "\\n" for a template that reads plain-string content: harmless there';
    case 'ARGUMENTS_RESERIALISED':
      return 'llama-server parses tool-call arguments and writes them out again, so spacing and escapes vanish (key order stays): harmless there';
    case 'MESSAGES_REBUILT':
      return 'llama-server rebuilds messages before templating (null content is "", text parts are joined, arguments re-serialised), so the prompt is the same: harmless there';
    case 'NOT_PRINTED':
    case undefined:
      return 'the template does not print it: the rendered prompt is byte-identical with or without it';
  }
}

/** How many messages (or /v1/responses items, or completion prompt parts) B appends, as the reports show it. */
export function appendedText(n: number, path: JsonPath): string {
  return path[0] === 'input' ? `${n} item(s)` : path[0] === 'prompt' ? `${n} prompt part(s)` : `${n} message(s)`;
}

/** The two values a finding shows (`A:` / `B:`): its value snippets, or the count of appended messages on B's side. */
export function shownValues(f: Finding): { a?: string; b?: string } {
  return { a: f.a, b: f.b ?? (f.appended === undefined ? undefined : appendedText(f.appended, f.path)) };
}

/** `; under --backend raw the template prints it` and the like, when the other handling was tried. */
export function elsewhereNote(f: Finding): string {
  if (!f.elsewhere) return '';
  const { backend, changesRender } = f.elsewhere;
  return changesRender ? `; under --backend ${backend} it changes the prompt` : `; under --backend ${backend} it is ignored too`;
}

/** A `help:` line for a cause: what to change, and on which side. */
export function causeHelp(f: Finding, backend: Backend): string {
  const key = lastKey(f);
  switch (f.code) {
    case 'EXTRA_FIELD':
      return `B adds "${key}" and the template prints it: send it in every request from the start, or never`;
    case 'MISSING_FIELD':
      return `B lacks "${key}", which A had and the template printed: keep sending it`;
    case 'FIELD_RENAMED':
      if (backendProfile(backend).messages === 'llama.cpp' && f.from === 'reasoning_content') {
        return `B stores the reasoning as "${key}"; llama-server reads only "reasoning_content" and drops "${key}", so the <think> block vanishes: write it back as "reasoning_content"`;
      }
      return `A had this value under "${f.from}", B under "${key}", and the template reads "${f.from}": keep the original name`;
    case 'KEY_ORDER':
      return 'the same keys in another order: the template prints them in order, so serialise them from one ordered structure';
    case 'WHITESPACE':
      return 'only whitespace differs (a session store trimmed or re-indented text?): store and resend content byte for byte';
    case 'VALUE_CHANGED':
      if (f.path[0] === 'messages' && f.path[1] === 0) {
        return 'a value early in the prompt changes (a timestamp?), which invalidates everything after it: keep it fixed, or move it to the end';
      }
      if (f.path[0] === 'messages') return 'an earlier message changed in B: resend every earlier message exactly as before';
      if (f.path[0] === 'tools') return 'a tool definition changed: keep tool definitions fixed for the whole session';
      return `a request option the template reads ("${key}") changed: keep it the same on every turn`;
    case 'TYPE_CHANGED':
      return `A sent ${f.a ?? 'one type'}, B sends ${f.b ?? 'another'}: send the same shape every time`;
    case 'JSON_REFORMATTED':
      return 'the same JSON written differently (spacing, escapes): resend tool-call arguments exactly as the model produced them';
    case 'JSON_KEY_ORDER':
      return 'the same JSON with keys in another order: keep argument keys in the order the model generated them';
    case 'NUMBER_FORMAT':
      return 'the same number written differently: resend numbers exactly as first written';
    case 'ARRAY_ORDER':
      return `the same items in another order: keep ${key === '[0]' ? 'the list' : `"${key}"`} in a fixed order (e.g. sort tools by name once)`;
    case 'ITEM_ADDED':
    case 'ITEM_REMOVED':
      return 'an item was added or removed before the end: earlier content must not change between requests';
    case 'MESSAGES_APPENDED':
      return 'the appended messages change how earlier text renders';
    case 'TEMPLATE_REWRITES_HISTORY':
      return 'B keeps every earlier message unchanged, yet the template renders them differently once new messages arrive (Qwen3 drops earlier <think> blocks after a new user message): nothing to fix in your JSON; expect this re-process on each user turn, or use a template that keeps reasoning';
    case 'GENERATION_PROMPT':
      return "A ended with a generation prompt that B's assistant turn does not render the same way (e.g. enable_thinking=false adds an empty <think> block): keep the template options the same across turns";
    case 'TOKEN_BOUNDARY':
      return "A's text continues unchanged, but the tokens at the join merge differently: costs a token or two, usually nothing to fix";
    case 'UNEXPLAINED':
      return 'no single JSON difference moves the divergence here: several interact; fix the causes listed and run again';
  }
}
