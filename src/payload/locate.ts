import type { JsonPath } from './path.js';

/**
 * The 1-based line where the value at `path` starts in JSON `text`, or undefined when the path is not there. A
 * pointer for annotations: in a pretty-printed capture it is the line of the field; in one-line JSON it is line 1.
 * Walks the text without building a tree (only the values on the path are entered; the rest are skipped).
 */
export function lineOfPath(text: string, path: JsonPath): number | undefined {
  const s = new Scanner(text);
  s.ws();
  for (const seg of path) {
    const c = text[s.i];
    if (c === '{' && typeof seg === 'string') {
      if (!s.enterKey(seg)) return undefined;
    } else if (c === '[' && typeof seg === 'number') {
      if (!s.enterIndex(seg)) return undefined;
    } else return undefined;
  }
  if (s.i >= text.length) return undefined;
  let line = 1;
  for (let k = 0; k < s.i; k++) if (text.charCodeAt(k) === 10) line++;
  return line;
}

class Scanner {
  i = 0;
  constructor(private readonly s: string) {}

  ws(): void {
    while (this.i < this.s.length && ' \t\r\n'.includes(this.s[this.i])) this.i++;
  }

  /** Past a string starting at i (on its quote); returns the decoded text. */
  string(): string {
    const start = this.i;
    this.i++;
    while (this.i < this.s.length && this.s[this.i] !== '"') this.i += this.s[this.i] === '\\' ? 2 : 1;
    this.i++;
    try {
      return JSON.parse(this.s.slice(start, this.i)) as string;
    } catch {
      return '';
    }
  }

  /** Past any value starting at i. */
  skip(): void {
    const c = this.s[this.i];
    if (c === '"') return void this.string();
    if (c !== '{' && c !== '[') {
      while (this.i < this.s.length && !',}] \t\r\n'.includes(this.s[this.i])) this.i++;
      return;
    }
    let depth = 0;
    while (this.i < this.s.length) {
      const d = this.s[this.i];
      if (d === '"') {
        this.string();
        continue;
      }
      if (d === '{' || d === '[') depth++;
      else if (d === '}' || d === ']') depth--;
      this.i++;
      if (depth === 0) return;
    }
  }

  /** Moves to the value of `key` in the object at i (the last one, as a repeated key keeps the last value). */
  enterKey(key: string): boolean {
    this.i++;
    let found = -1;
    for (;;) {
      this.ws();
      if (this.s[this.i] !== '"') break;
      const k = this.string();
      this.ws();
      this.i++; // ':'
      this.ws();
      if (k === key) found = this.i;
      this.skip();
      this.ws();
      if (this.s[this.i] !== ',') break;
      this.i++;
    }
    if (found < 0) return false;
    this.i = found;
    return true;
  }

  enterIndex(n: number): boolean {
    this.i++;
    for (let k = 0; ; k++) {
      this.ws();
      if (this.s[this.i] === ']' || this.i >= this.s.length) return false;
      if (k === n) return true;
      this.skip();
      this.ws();
      if (this.s[this.i] !== ',') return false;
      this.i++;
    }
  }
}
