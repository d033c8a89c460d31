/**
 * Headers that carry credentials: never written to a capture, a line or an error. `--redact` adds more.
 * Names are compared lower-case.
 */
export const SECRET_HEADERS: readonly string[] = ['authorization', 'proxy-authorization', 'api-key', 'x-api-key', 'cookie', 'set-cookie', 'x-goog-api-key'];

/** Header names that look like credentials even when nobody listed them. */
const SECRET_LOOKING = /auth|token|secret|password|passwd|api[-_]?key|cookie|session[-_]?key|credential/i;

/** Query parameters that look like credentials (`?key=`, `?api_key=`, `?token=`). */
const SECRET_PARAM = /^(key|api[-_]?key|token|access[-_]?token|auth|password|secret|sig|signature)$/i;

export class Redactor {
  private readonly names: Set<string>;
  constructor(extra: readonly string[] = []) {
    this.names = new Set([...SECRET_HEADERS, ...extra.map((h) => h.toLowerCase())]);
  }

  /** Whether a header is kept out of anything written. */
  isSecret(name: string): boolean {
    const n = name.toLowerCase();
    return this.names.has(n) || SECRET_LOOKING.test(n);
  }

  /** Request headers safe to write: secrets left out (their names listed, never their values). */
  headers(raw: readonly string[]): { kept: Record<string, string>; redacted: string[] } {
    const kept: Record<string, string> = {};
    const redacted: string[] = [];
    for (let i = 0; i + 1 < raw.length; i += 2) {
      const name = raw[i].toLowerCase();
      if (this.isSecret(name)) {
        if (!redacted.includes(name)) redacted.push(name);
      } else {
        kept[name] = kept[name] === undefined ? raw[i + 1] : `${kept[name]}, ${raw[i + 1]}`;
      }
    }
    return { kept, redacted };
  }

  /** A request path with credential-looking query values replaced by `REDACTED`. */
  path(url: string): string {
    const q = url.indexOf('?');
    if (q < 0) return url;
    const params = url
      .slice(q + 1)
      .split('&')
      .map((p) => {
        const eq = p.indexOf('=');
        const name = decodeSafe(eq < 0 ? p : p.slice(0, eq));
        return eq >= 0 && SECRET_PARAM.test(name) ? `${p.slice(0, eq)}=REDACTED` : p;
      });
    return `${url.slice(0, q)}?${params.join('&')}`;
  }
}

function decodeSafe(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

/** A URL shown to a person or a client: user name and password left out. */
export function displayUrl(url: URL): string {
  const u = new URL(url.href);
  u.username = '';
  u.password = '';
  return u.href.replace(/\/$/, '');
}
