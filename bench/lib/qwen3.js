// The embedded Qwen3 tokenizer as plain files for baselines that read tokenizer.json themselves (the naive script):
// kvdiff ships it gzipped (assets/qwen3/); this inflates it once into a temp folder, outside any timed section.
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync, copyFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';

const assets = fileURLToPath(new URL('../../assets/qwen3/', import.meta.url));

/** A folder holding Qwen3's `tokenizer.json` and `tokenizer_config.json`, inflated from kvdiff's assets. */
export function qwen3Folder() {
  const dir = join(tmpdir(), 'kvdiff-bench-qwen3');
  const json = join(dir, 'tokenizer.json');
  if (!existsSync(json) || !existsSync(join(dir, 'tokenizer_config.json'))) {
    mkdirSync(dir, { recursive: true });
    const part = `${json}.${process.pid}.part`;
    writeFileSync(part, gunzipSync(readFileSync(join(assets, 'tokenizer.json.gz'))));
    renameSync(part, json);
    copyFileSync(join(assets, 'tokenizer_config.json'), join(dir, 'tokenizer_config.json'));
  }
  return dir;
}
