/** Whitespace made visible in one line of a snippet: newline ↵, tab →, carriage return ␍, other odd spaces ⍽. */
export function visible(text: string): string {
  return text.replace(/[\n\t\r\v\f\u00a0\u2000-\u200b\u2028\u2029\u3000\ufeff]/g, (c) =>
    c === '\n' ? '↵' : c === '\t' ? '→' : c === '\r' ? '␍' : '⍽',
  );
}

/** A token piece quoted JSON-style, so whitespace shows as escapes. */
export function quotePiece(piece: string): string {
  return JSON.stringify(piece);
}

/** Thousands separators: 100449 → 100,449. */
export function num(n: number): string {
  return n.toLocaleString('en-US');
}

/** `1 token`, `2 tokens`, with thousands separators. */
export function plural(n: number, noun: string): string {
  return `${num(n)} ${noun}${n === 1 ? '' : 's'}`;
}
