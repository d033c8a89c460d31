import { promises as fsp } from 'node:fs';
import { dirname } from 'node:path';
import { randomBytes } from 'node:crypto';
import type { ModelFs } from '../model/fs.js';

export const nodeFs: ModelFs = {
  async readFile(path) {
    return new Uint8Array(await fsp.readFile(path));
  },
  async readRange(path, offset, length) {
    const fh = await fsp.open(path, 'r');
    try {
      const buf = Buffer.alloc(length);
      const { bytesRead } = await fh.read(buf, 0, length, offset);
      return new Uint8Array(buf.buffer, buf.byteOffset, bytesRead);
    } finally {
      await fh.close();
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
