import { writeAtomic } from '../fs.js';
import { existsSync, promises as fsp } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';

/** Subfolder of a session holding what the server answered: `kvdiff check` reads only a session's own `.json`. */
export const RESPONSES_DIR = 'responses';

/** File name of the n-th request of a session: zero-padded so plain listings sort too. */
export function captureName(seq: number): string {
  return `${String(seq).padStart(4, '0')}.json`;
}

/**
 * Writes captures under the output folder: `<out>/<session>/0001.json` is the request body exactly as the client
 * sent it; `<out>/<session>/responses/0001.json` what the server answered about it. Every file is written to a
 * temporary name and renamed, so a reader (or a Ctrl-C) never sees half a file. `flush()` waits for every write.
 */
export class CaptureStore {
  private readonly pending = new Set<Promise<void>>();
  private readonly made = new Set<string>();
  /** Writes that failed (disk full, permissions): reported, never thrown into the traffic. */
  readonly failures: string[] = [];

  constructor(readonly dir: string) {}

  /** Whether a session folder of this name exists already (from an earlier run). */
  taken(name: string): boolean {
    return existsSync(join(this.dir, name));
  }

  request(session: string, seq: number, body: Uint8Array): Promise<void> {
    return this.track(join(this.dir, session), captureName(seq), body);
  }

  response(session: string, seq: number, meta: unknown): Promise<void> {
    return this.track(join(this.dir, session, RESPONSES_DIR), captureName(seq), `${JSON.stringify(meta, null, 2)}\n`);
  }

  async flush(): Promise<void> {
    while (this.pending.size) await Promise.all([...this.pending]);
  }

  private track(dir: string, name: string, data: Uint8Array | string): Promise<void> {
    const p = this.write(dir, name, data).catch((err: NodeJS.ErrnoException) => {
      this.failures.push(`${join(dir, name)}: ${err.code ?? err.message}`);
    });
    this.pending.add(p);
    void p.finally(() => this.pending.delete(p));
    return p;
  }

  private async write(dir: string, name: string, data: Uint8Array | string): Promise<void> {
    if (!this.made.has(dir)) {
      await fsp.mkdir(dir, { recursive: true });
      this.made.add(dir);
    }
    const path = join(dir, name);
    await writeAtomic(path, data, join(dir, `.${name}.${randomBytes(6).toString('hex')}.tmp`));
  }
}
