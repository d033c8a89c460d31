import { promises as fsp } from 'node:fs';
import type { Readable } from 'node:stream';
import { KvdiffError } from '../errors.js';
import { quoteText } from '../report/format.js';

/**
 * Largest model file read whole (tokenizer.json, template, tokenizer_config.json, a prepared cache entry): the
 * largest public tokenizer.json files are about 35 MB (Gemma 3), so four times that is room without letting a
 * wrong path (a disk image, /dev/zero) fill memory.
 */
export const MAX_MODEL_FILE_BYTES = 128 * 1024 * 1024;
/** Bytes read per step from a pipe, FIFO or device, whose size is not known ahead. */
const STREAM_CHUNK_BYTES = 1024 * 1024;

/** An errno error as a few words. */
export function describeFsError(err: unknown): string {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') return 'no such file';
  if (code === 'EACCES' || code === 'EPERM') return 'permission denied';
  if (code === 'EISDIR') return 'it is a folder';
  if (code === 'ENOTDIR') return 'a part of the path is not a folder';
  if (code === 'ELOOP') return 'too many symbolic links';
  return code ?? (err as Error).message;
}

/** `cannot read <what> <path>: <reason>`, with the path shown safely. */
export function fsError(err: unknown, path: string, what: string): KvdiffError {
  if (err instanceof KvdiffError) return err;
  return new KvdiffError(`cannot read ${what}${what ? ' ' : ''}${quoteText(path)}: ${describeFsError(err)}`);
}

function tooLarge(path: string, what: string, size: number | string, max: number): KvdiffError {
  return new KvdiffError(`${what}${what ? ' ' : ''}${quoteText(path)} is ${size} bytes, over the ${max}-byte limit`, 'pass the file itself, not a device or a larger file');
}

/**
 * Reads a whole file, checking its type and size first: a folder is refused, a regular file over `max` bytes is
 * refused before reading, and a pipe, FIFO or device (`/dev/zero`, `<(...)`) is read in chunks and refused as
 * soon as it passes `max`. File-system errors become one-line KvdiffErrors naming `what` and the path.
 */
export async function readBounded(path: string, max: number, what: string): Promise<Uint8Array> {
  let fh: fsp.FileHandle;
  try {
    fh = await fsp.open(path, 'r');
  } catch (err) {
    throw fsError(err, path, what);
  }
  try {
    const st = await fh.stat();
    if (st.isDirectory()) throw new KvdiffError(`${what}${what ? ' ' : ''}${quoteText(path)} is a folder, not a file`);
    if (st.isFile()) {
      if (st.size > max) throw tooLarge(path, what, st.size, max);
      // a file that grows while read still stops at max + 1 bytes
      const buf = Buffer.alloc(st.size + 1);
      let got = 0;
      for (;;) {
        const { bytesRead } = await fh.read(buf, got, buf.length - got, got);
        if (bytesRead === 0) break;
        got += bytesRead;
        if (got > st.size) throw tooLarge(path, what, `more than ${st.size}`, max);
      }
      return new Uint8Array(buf.buffer, buf.byteOffset, got);
    }
    const chunks: Buffer[] = [];
    let total = 0;
    for (;;) {
      const buf = Buffer.alloc(STREAM_CHUNK_BYTES);
      const { bytesRead } = await fh.read(buf, 0, buf.length, null);
      if (bytesRead === 0) break;
      total += bytesRead;
      if (total > max) throw tooLarge(path, what, `more than ${max}`, max);
      chunks.push(buf.subarray(0, bytesRead));
    }
    return new Uint8Array(Buffer.concat(chunks));
  } catch (err) {
    throw fsError(err, path, what);
  } finally {
    await fh.close().catch(() => undefined);
  }
}

/** Reads a stream (standard input) up to `max` bytes; more is refused without reading the rest. */
export async function readStreamBounded(stream: Readable, max: number, what: string): Promise<Uint8Array> {
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of stream) {
    const b = chunk as Buffer;
    total += b.length;
    if (total > max) {
      stream.destroy();
      throw new KvdiffError(`${what} is more than ${max} bytes, over the limit`, 'pass a request body, not a device or a larger stream');
    }
    chunks.push(b);
  }
  return new Uint8Array(Buffer.concat(chunks));
}
