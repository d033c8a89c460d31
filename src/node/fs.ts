import { promises as fsp } from 'node:fs';
import { dirname, join } from 'node:path';
import { randomBytes } from 'node:crypto';
import type { ModelFs } from '../model/fs.js';
import { KvdiffError } from '../errors.js';
import { quoteText } from '../report/format.js';
import { fsError, MAX_MODEL_FILE_BYTES, readBounded } from './read.js';

/**
 * `mkdir -p` one level at a time. Node's `mkdir(..., { recursive: true })` retries forever where mkdir answers
 * ENOENT for a parent that exists (a cache folder under /proc), so kvdiff spun instead of failing.
 */
async function makeDirs(dir: string, depth = 0): Promise<void> {
  try {
    await fsp.mkdir(dir);
    return;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') return;
    const parent = dirname(dir);
    if (code !== 'ENOENT' || parent === dir || depth > 64) throw err;
  }
  await makeDirs(dirname(dir), depth + 1);
  try {
    await fsp.mkdir(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  }
}

/** Temp files of interrupted writes (`name.<12 hex>.tmp`, see writeFileAtomic) older than this are removed. */
const STALE_TMP_MS = 60 * 60 * 1000;
const TMP_NAME = /\.[0-9a-f]{12}\.tmp$/;

/** Removes temp files an interrupted run (kill -9, a full disk) left in `dir`; a younger one may be another writer's. */
async function removeStaleTemps(dir: string): Promise<void> {
  let names: string[];
  try {
    names = await fsp.readdir(dir);
  } catch {
    return;
  }
  const now = Date.now();
  for (const n of names) {
    if (!TMP_NAME.test(n)) continue;
    const p = join(dir, n);
    try {
      if (now - (await fsp.stat(p)).mtimeMs > STALE_TMP_MS) await fsp.rm(p, { force: true });
    } catch {
      // another run removed or renamed it
    }
  }
}

export const nodeFs: ModelFs = {
  async readFile(path) {
    return readBounded(path, MAX_MODEL_FILE_BYTES, '');
  },
  async readRange(path, offset, length) {
    let fh: fsp.FileHandle | undefined;
    try {
      fh = await fsp.open(path, 'r');
      // a GGUF header is read in ranges at offsets: only a regular file has them
      if (!(await fh.stat()).isFile()) throw new KvdiffError(`${quoteText(path)} is not a regular file`, 'pass the .gguf file itself');
      const buf = Buffer.alloc(length);
      const { bytesRead } = await fh.read(buf, 0, length, offset);
      return new Uint8Array(buf.buffer, buf.byteOffset, bytesRead);
    } catch (err) {
      throw fsError(err, path, '');
    } finally {
      await fh?.close().catch(() => undefined);
    }
  },
  async size(path) {
    try {
      return (await fsp.stat(path)).size;
    } catch {
      return null;
    }
  },
  async fileIdentity(path) {
    try {
      const st = await fsp.stat(path, { bigint: true });
      // ctime cannot be set back by a writer (utimes moves it to now), so a rewritten file never keeps its identity
      return st.isFile() ? [st.size, st.mtimeNs, st.ctimeNs, st.ino, st.dev].join(':') : null;
    } catch {
      return null;
    }
  },
  async isDirectory(path) {
    try {
      return (await fsp.stat(path)).isDirectory();
    } catch {
      return false;
    }
  },
  async writeFileAtomic(path, data) {
    await makeDirs(dirname(path));
    await removeStaleTemps(dirname(path));
    await writeAtomic(path, data, `${path}.${randomBytes(6).toString('hex')}.tmp`);
  },
  async list(path) {
    try {
      return await fsp.readdir(path);
    } catch {
      return [];
    }
  },
};

/** Writes `data` to `tmp`, then renames it over `path`: a reader sees the old file or the whole new one, never half. */
export async function writeAtomic(path: string, data: Uint8Array | string, tmp: string): Promise<void> {
  try {
    await fsp.writeFile(tmp, data);
    await fsp.rename(tmp, path);
  } catch (err) {
    await fsp.rm(tmp, { force: true });
    throw err;
  }
}
