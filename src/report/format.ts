/**
 * Characters that can drive a terminal or hide text: C0 and C1 controls (ESC starts every escape sequence, BEL ends
 * OSC titles and links), DEL, and the bidirectional overrides ("Trojan Source").
 */
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/g;

function escapeOne(c: string): string {
  if (c === '\n') return '\\n';
  if (c === '\t') return '\\t';
  if (c === '\r') return '\\r';
  const code = c.charCodeAt(0);
  return code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u{${code.toString(16)}}`;
}

/**
 * Text that came from an input (a JSON string, a file name, a template's or a server's message), made safe to
 * print on a terminal: every control character is shown as an escape (`\x1b`, `\n`), so no input can move the
 * cursor, clear the screen, set a title or fake a line of kvdiff's own output. Ordinary text is unchanged.
 */
export function safeText(text: string): string {
  return text.replace(CONTROL, escapeOne);
}

/** Whether `text` holds a character `safeText` would escape (other than newline and tab). */
export function hasControls(text: string): boolean {
  return /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/.test(text);
}

/** A file name or label for a message line: control characters escaped (an alias that says what it is for). */
export const quoteText = safeText;

/**
 * Whitespace made visible in one line of a snippet: newline ↵, tab →, carriage return ␍, other odd spaces ⍽; any
 * other control character is escaped (`\x1b`).
 */
export function visible(text: string): string {
  return safeText(
    text.replace(/[\n\t\r\v\f\u00a0\u2000-\u200b\u2028\u2029\u3000\ufeff]/g, (c) =>
      c === '\n' ? '↵' : c === '\t' ? '→' : c === '\r' ? '␍' : '⍽',
    ),
  );
}

/** A token piece quoted JSON-style, so whitespace shows as escapes. */
export function quotePiece(piece: string): string {
  return JSON.stringify(piece);
}

/**
 * Thousands separators: 100449 → 100,449, -1234.5 → -1,234.5. By hand: `toLocaleString` initialises ICU, which
 * costs a cold run about 10 ms.
 */
export function num(n: number): string {
  if (!Number.isFinite(n)) return String(n);
  const [int, frac] = String(Math.abs(n)).split('.');
  if (int.length <= 3 || /e/i.test(int)) return String(n);
  let out = int.slice(0, int.length % 3 || 3);
  for (let i = out.length; i < int.length; i += 3) out += `,${int.slice(i, i + 3)}`;
  return `${n < 0 ? '-' : ''}${out}${frac === undefined ? '' : `.${frac}`}`;
}

/** `1 token`, `2 tokens`, with thousands separators. */
export function plural(n: number, noun: string): string {
  return `${num(n)} ${noun}${n === 1 ? '' : 's'}`;
}
