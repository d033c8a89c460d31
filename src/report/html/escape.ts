/** Text for an HTML text node: `&`, `<` and `>` escaped (quotes are harmless there and would only bloat the page). */
export function escText(s: string): string {
  return s.replace(/[&<>]/g, (c) => (c === '&' ? '&amp;' : c === '<' ? '&lt;' : '&gt;'));
}

/** Text for a double- or single-quoted HTML attribute value. */
export function escAttr(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/**
 * JSON for a `<script type="application/json">` block: `<`, `>` and `&` written as \u escapes, so no value can close
 * the element (`</script>`) or open a comment; U+2028/9 as escapes for older parsers.
 */
export function scriptJson(value: unknown): string {
  return JSON.stringify(value).replace(/[<>&\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}
