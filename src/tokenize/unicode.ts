/**
 * llama.cpp's Unicode character classes, as JavaScript regex fragments.
 *
 * llama.cpp does not use a Unicode regex engine: its pre-tokenizers classify each code point with its own tables
 * (`src/unicode-data.cpp`, generated from Unicode 15.1) into letter / number / punctuation / symbol / mark / other,
 * plus a whitespace set that equals Unicode's `White_Space` property. JavaScript's `\p{…}` follow the engine's
 * (newer) Unicode version, so code points assigned since 15.1 are letters to V8 but "undefined" to llama.cpp.
 * Every class here therefore excludes them, which makes V8 classify exactly like llama.cpp.
 *
 * The fragments only use syntax that `@huggingface/tokenizers` passes through its Oniguruma-to-JS rewrite
 * unchanged and compiles with the `u` flag.
 */

/**
 * Code points with category L, M, N, P or S in Unicode 16.0/17.0 that Unicode 15.1 left unassigned
 * (new scripts such as Garay and Sunuwar, Latin additions, new emoji and legacy-computing symbols).
 * llama.cpp's tables treat them as undefined; in the pre-tokenizers undefined behaves like punctuation.
 */
const UNASSIGNED_IN_LLAMA_CPP =
  '88f 897 c5c cdc 1acf-1add 1ae0-1aeb 1b4e-1b4f 1b7f 1c89-1c8a 20c1 2427-2429 2b96 31e4-31e5 a7cb-a7cf a7d2 a7d4 ' +
  'a7da-a7dc a7f1 fbc3-fbd2 fd90-fd91 fdc8-fdce 105c0-105f3 10940-10959 10d40-10d65 10d69-10d85 10d8e-10d8f ' +
  '10ec2-10ec7 10ed0-10ed8 10efa-10efc 11380-11389 1138b 1138e 11390-113b5 113b7-113c0 113c2 113c5 113c7-113ca ' +
  '113cc-113d5 113d7-113d8 113e1-113e2 116d0-116e3 11b60-11b67 11bc0-11be1 11bf0-11bf9 11db0-11ddb 11de0-11de9 ' +
  '11f5a 13460-143fa 16100-16139 16d40-16d79 16ea0-16eb8 16ebb-16ed3 16ff2-16ff6 187f8-187ff 18cff 18d09-18d1e ' +
  '18d80-18df2 1cc00-1ccfc 1cd00-1ceb3 1ceba-1ced0 1cee0-1cef0 1e5d0-1e5fa 1e5ff 1e6c0-1e6de 1e6e0-1e6f5 ' +
  '1e6fe-1e6ff 1f6d8 1f777-1f77a 1f8b2-1f8bb 1f8c0-1f8c1 1f8d0-1f8d8 1fa54-1fa57 1fa89-1fa8a 1fa8e-1fa8f 1fabe ' +
  '1fac6 1fac8 1facd 1fadc 1fadf 1fae9-1faea 1faef 1fbcb-1fbef 1fbfa 2b73a-2b73f 2cea2-2cead 323b0-33479';

/** The set above as the inside of a regex character class (`\u{…}` escapes). */
export const NEW_CODE_POINTS = UNASSIGNED_IN_LLAMA_CPP.split(' ')
  .map((r) =>
    r
      .split('-')
      .map((h) => `\\u{${h}}`)
      .join('-'),
  )
  .join('');

/** A General_Category that llama.cpp knows, restricted to what its tables know. */
type Category = 'L' | 'N' | 'P' | 'S' | 'M';

/**
 * Regex pieces for llama.cpp's classes. Its hand-written splitters (gpt2, llama3, qwen2) read the tables directly;
 * its std::regex path "collapses" each non-ASCII code point to a byte per category and lists the ASCII members of
 * each class explicitly. Both classify as below. (Older builds left ASCII `~` out of `\p{S}` there; kvdiff
 * follows current llama.cpp.)
 */
export interface CharClasses {
  /** One code point of any of `cats` (as llama.cpp classifies it). */
  any(...cats: Category[]): string;
  /** One code point that is none of `extra` (literal class body) and none of `cats`. */
  none(extra: string, ...cats: Category[]): string;
  /** One whitespace code point (llama.cpp's set = Unicode White_Space). */
  readonly ws: string;
  /** One non-whitespace code point. */
  readonly nonWs: string;
}

// [^\P{X}…] is "X and not …": set difference by De Morgan, valid in a `u`-flag class.
const one = (cat: Category) => `[^\\P{${cat}}${NEW_CODE_POINTS}]`;

export const llamaClasses: CharClasses = {
  any: (...cats) => (cats.length === 1 ? one(cats[0]) : `(?:${cats.map(one).join('|')})`),
  // New code points are in no category, so they match unless `extra` names them (it never does).
  none: (extra, ...cats) => `(?:[${NEW_CODE_POINTS}]|[^${extra}${cats.map((c) => `\\p{${c}}`).join('')}])`,
  ws: '\\p{White_Space}',
  nonWs: '\\P{White_Space}',
};
