/**
 * The small file-system surface that model sources need. The CLI and the library pass a Node implementation
 * (`src/node/fs.ts`); tests can pass an in-memory one. Nothing under `src/` except `src/node/` and `src/cli/`
 * imports `node:fs`.
 */
export interface ModelFs {
  /** Whole file as bytes. Rejects with a KvdiffError-friendly message when missing. */
  readFile(path: string): Promise<Uint8Array>;
  /** `length` bytes from `offset` (fewer at end of file). For reading GGUF headers without the tensor data. */
  readRange(path: string, offset: number, length: number): Promise<Uint8Array>;
  /** File size in bytes, or null when the path does not exist. */
  size(path: string): Promise<number | null>;
  /** Whether `path` is a directory. */
  isDirectory(path: string): Promise<boolean>;
  /** Write a file atomically (temp file + rename), creating parent folders. */
  writeFileAtomic(path: string, data: Uint8Array | string): Promise<void>;
  /** Names in a directory, [] when it does not exist. */
  list(path: string): Promise<string[]>;
  /**
   * What identifies one version of a regular file without reading it (size, modification and change times in
   * nanoseconds, inode, device), or null when it is not a regular file. Optional: without it, caches are keyed by
   * the file's bytes.
   */
  fileIdentity?(path: string): Promise<string | null>;
}
