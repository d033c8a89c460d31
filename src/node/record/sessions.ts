import type { Conversation, Dialect } from './routes.js';

/** One conversation seen through the proxy. */
export interface Session {
  /** Folder name under --out. */
  name: string;
  dialect: Dialect;
  /** The key that named it (header or client field), null when it was joined by prefix. */
  key: string | null;
  /** Requests assigned so far (the next one gets `count + 1`). */
  count: number;
  /** The last request's conversation (for joining by prefix). */
  last: Conversation;
  /** Order of last use, to break ties toward the most recent. */
  lastUse: number;
}

/** Where a request goes: its session and its 1-based number in it. */
export interface Assignment {
  session: Session;
  seq: number;
  /** How it was assigned. */
  by: 'header' | 'client-field' | 'prefix' | 'new' | 'unrouted';
}

function sharedPrefix(a: readonly string[], b: readonly string[]): number {
  const n = Math.min(a.length, b.length);
  let i = 0;
  while (i < n && a[i] === b[i]) i++;
  return i;
}

/** The key of the session for bodies without turns. */
const UNROUTED = 'other';

/** Characters kept from a key in a folder name; the rest is summarised by a counter. */
const MAX_NAME_CHARS = 48;

/**
 * Keeps conversations apart: an explicit key (header, then client field) names a session; a request without one
 * joins the unkeyed session of its dialect whose last request shares the longest leading run of turns with it (the
 * messages after tools and system prompt, which every conversation of one agent repeats and which a cache break
 * such as a timestamp changes; ties: more of the preamble shared, then the most recently used), or opens a new
 * session when none shares its first turn.
 */
export class SessionRouter {
  private readonly sessions: Session[] = [];
  private readonly byKey = new Map<string, Session>();
  private clock = 0;

  /** `taken(name)` says whether a folder already exists (a previous run): such names are skipped. */
  constructor(private readonly taken: (name: string) => boolean = () => false) {}

  assign(dialect: Dialect, conv: Conversation, header: string | null, clientKey: string | null): Assignment {
    // a body with no turns to compare (not JSON, no messages) cannot be routed by prefix: one session gathers them
    const key = header ?? clientKey ?? (conv.turns.length === 0 ? UNROUTED : null);
    let by: Assignment['by'];
    let session: Session | undefined;
    if (key !== null) {
      by = header !== null ? 'header' : clientKey !== null ? 'client-field' : 'unrouted';
      const mapKey = `${dialect}\u0000${key}`;
      session = this.byKey.get(mapKey);
      if (!session) {
        session = this.open(dialect, key);
        this.byKey.set(mapKey, session);
      }
    } else {
      // score: turns shared from the first one (at least one), then preamble units shared, then recency
      let best: Session | undefined;
      let bestScore: [number, number, number] = [0, 0, 0];
      for (const s of this.sessions) {
        if (s.key !== null || s.dialect !== dialect) continue;
        const score: [number, number, number] = [sharedPrefix(s.last.turns, conv.turns), sharedPrefix(s.last.preamble, conv.preamble), s.lastUse];
        if (score[0] > 0 && (score[0] > bestScore[0] || (score[0] === bestScore[0] && (score[1] > bestScore[1] || (score[1] === bestScore[1] && score[2] > bestScore[2]))))) {
          best = s;
          bestScore = score;
        }
      }
      by = best ? 'prefix' : 'new';
      session = best ?? this.open(dialect, null);
    }
    session.count++;
    session.last = conv;
    session.lastUse = ++this.clock;
    return { session, seq: session.count, by };
  }

  list(): readonly Session[] {
    return this.sessions;
  }

  private open(dialect: Dialect, key: string | null): Session {
    const base = key === null ? `${dialect}-session` : `${dialect}-${slug(key)}`;
    let name = key === null ? `${base}-1` : base;
    for (let i = 2; this.taken(name) || this.sessions.some((s) => s.name === name); i++) name = `${base}-${i}`;
    const s: Session = { name, dialect, key, count: 0, last: { preamble: [], turns: [] }, lastUse: 0 };
    this.sessions.push(s);
    return s;
  }
}

/** A key made safe as a folder name: letters, digits, `.`, `_`, `-`; never empty, never `.` or `..`. */
export function slug(key: string): string {
  const s = key.replace(/[^A-Za-z0-9._-]+/g, '_').replace(/^[._]+/, '').slice(0, MAX_NAME_CHARS);
  return s === '' ? 'key' : s;
}
