import { promises as fsp } from 'node:fs';
import { dirname } from 'node:path';
import { randomBytes } from 'node:crypto';
import type { ModelFs } from '../model/fs.js';
import { KvdiffError } from '../errors.js';
import { quoteText } from '../report/visible.js';
import { fsError, MAX_MODEL_FILE_BYTES, readBounded } from './read.js';

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
  async isDirectory(path) {
    try {
      return (await fsp.stat(path)).isDirectory();
    } catch {
      return false;
    }
  },
  async writeFileAtomic(path, data) {
    await fsp.mkdir(dirname(path), { recursive: true });
    const tmp = `${path}.${randomBytes(6).toString('hex')}.tmp`;
    try {
      await fsp.writeFile(tmp, data);
      await fsp.rename(tmp, path);
    } catch (err) {
      await fsp.rm(tmp, { force: true });
      throw err;
    }
  },
  async list(path) {
    try {
      return await fsp.readdir(path);
    } catch {
      return [];
    }
  },
};
