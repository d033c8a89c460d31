/**
 * A seeded corpus of strings that stress tokenizers: prose, code, JSON, logs, CJK, emoji, whitespace runs, digits,
 * contractions, combining marks, lone surrogates, control characters, code points newer than llama.cpp's tables,
 * special-token look-alikes, and a code point of every Unicode General Category. Shared by the tokenizer fidelity
 * tests (expected ids come from llama.cpp or @huggingface/tokenizers, never from kvdiff).
 */
import { rng } from './rng.ts';

export const WORDS = ['the', 'The', 'cache', 'KV', 'prompt', 'token', "don't", "it's", "WE'LL", "they'Re", 'o’clock', 'naïve',
  'café', 'über', 'Straße', 'ﬁnance', 'HTTP/1.1', 'x86_64', 'snake_case', 'camelCaseWord', 'ALLCAPS', 'I', 'a'];
const CODE = ['function f(x) {\n  return x * 2;\n}', 'def g(a, b=None):\n    if a:\n        return [i for i in range(10)]\n',
  '#include <stdio.h>\nint main(void){printf("%d\\n",42);}', 'const {a, b} = obj?.x ?? {};', '    \tindented\t\ttabs',
  'SELECT * FROM t WHERE id=1;', '<div class="x">&nbsp;</div>', '$ npm run build && echo ok', 'a->b::c<<=2;', '```ts\nlet x = 1;\n```'];
const CJK = ['你好，世界', '日本語のテキスト', 'カタカナとひらがな', '한국어 문장입니다', '漢字かな交じり文', '中文（括号）。', '𠀀𠀁𪚥'];
const EMOJI = ['😀', '👍🏽', '👨‍👩‍👧‍👦', '🇫🇷', '🏳️‍🌈', '❤️', '🫩', '🪉', '🫆', '✨', '🤖💬', '#️⃣', '©®™'];
const SCRIPTS = ['Привет мир', 'Γειά σου', 'مرحبا بالعالم', 'שלום עולם', 'नमस्ते दुनिया', 'สวัสดีชาวโลก', 'ሰላም', 'Ողջույն',
  'გამარჯობა', 'ᚠᚢᚦ', 'ꦲꦏ꧀ꦱꦫ', 'ᱚᱞ ᱪᱤᱠᱤ', 'Tiếng Việt', '𐐷𐐸'];
const NEW_UNICODE = ['\u{1C89}\u{1C8A}', '\u{A7CB}\u{A7CC}', '\u{10D4A}\u{10D4B}', '\u{16D40}\u{16D41}', '\u{1E5D0}', '\u{116D0}',
  '\u{1CC00}', '\u{1FA89}', '\u{1E6C0}\u{1E6C1}', '\u{088F}', '\u{20C1}'];
const RTL_MARKS = ['\u200e', '\u200f', '\u202a', '\u202b', '\u202c', '\u202d', '\u202e', '\u2066', '\u2067', '\u2069', '\u061c'];
const WHITESPACE = [' ', '\t', '\n', '\r\n', '\r', '\v', '\f', '\u00a0', '\u0085', '\u1680', '\u2000', '\u2007', '\u200a',
  '\u2028', '\u2029', '\u202f', '\u205f', '\u3000', '\ufeff', '\u200b', '\u180e'];
const CONTROL = ['\u0000', '\u0001', '\u0007', '\u001b', '\u001c', '\u001f', '\u007f', '\u0080', '\u009f', '\u00ad', '\ufffd',
  '\ufffe', '\u{e0001}', '\u{10ffff}', '\ud800', '\udfff'];
const COMBINING = ['\u0301', '\u0300', '\u0308', '\u0327', '\u20dd', '\u0489', '\u1ab0', '\u1dc0', '\ufe20', '\u0651', '\u093f'];
const PUNCT = ['~', '!', '"', '#', '$', '%', '&', "'", '(', ')', '*', '+', ',', '-', '.', '/', ':', ';', '<', '=', '>', '?', '@',
  '[', '\\', ']', '^', '_', '`', '{', '|', '}', '¨', '«', '»', '…', '—', '、', '。', '¿', '§', '€', '→', '∑', '™'];
const DIGITS = ['0', '7', '42', '1234567', '3.14159', '-0.5e-10', '1,000,000', '٠١٢٣', '۴۵۶', '०१२', '１２３', 'Ⅻ', '½', '²', '𝟘𝟙'];

const LOG_LINES = ['srv  update_slots: id  0 | task 12 | n_past = 4096, cache_tokens.size() = 8192',
  '2026-11-27T10:15:42.123Z INFO  [main] request_id=7f3a9c2e-1b4d GET /v1/chat/completions 200 12.5ms',
  'E1127 10:15:42.000123   4242 server.cc:88] Failed to bind 0.0.0.0:8080 (errno=98)',
  'Traceback (most recent call last):\n  File "/app/main.py", line 42, in <module>\n    raise ValueError("bad")',
  '[WARN] disk usage 93.7% on /dev/nvme0n1p2 — retrying in 5s…', '{"level":"debug","ts":1764238542.5,"msg":"tick","n":3}',
  '    at Object.<anonymous> (/srv/app/index.js:12:7)', 'DEBUG 0x7ffee4b8c9a0 -> 0xDEADBEEF; sha256=9f86d081884c7d65'];

/**
 * One code point per Unicode General Category (Lu Ll Lt Lm Lo Mn Mc Me Nd Nl No Pc Pd Ps Pe Pi Pf Po Sm Sc Sk So Zs
 * Zl Zp Cc Cf Cs Co Cn), several each.
 */
const CATEGORIES = [
  ['A', 'Ж', 'Ω', '𝐀'], ['z', 'ß', 'ж', 'ﬀ'], ['ǅ', 'ᾈ'], ['ʰ', 'ー', 'ᵃ'], ['中', 'ا', 'あ', '𠀀'], ['\u0301', '\u05b0', '\u0e31'],
  ['\u0903', '\u09be'], ['\u20dd', '\u0488'], ['5', '٣', '५', '𝟗'], ['Ⅻ', 'ↂ', '〇'], ['½', '²', '①'], ['_', '‿'],
  ['-', '—', '〜'], ['(', '「', '⁅'], [')', '」', '⁆'], ['«', '‘'], ['»', '’'], ['!', '。', '¿', '…'], ['+', '∑', '≤'],
  ['$', '€', '¥'], ['^', '`', '¨'], ['©', '😀', '⌘'], [' ', '\u3000', '\u2003'], ['\u2028'], ['\u2029'],
  ['\u0000', '\u0007', '\u0085'], ['\u200b', '\u200d', '\ufeff', '\u{e0001}'], ['\ud800', '\udfff'],
  ['\ue000', '\u{f0000}'], ['\u0378', '\ufdd0', '\u{10ffff}'],
];

export type Gen = (r: () => number, specials: string[]) => string;

function pick<T>(r: () => number, a: readonly T[]): T {
  return a[Math.floor(r() * a.length)];
}
function repeat(r: () => number, n: number, f: () => string, sep = ''): string {
  return Array.from({ length: n }, f).join(sep);
}

function randomJson(r: () => number, depth: number): unknown {
  const k = r();
  if (depth > 2 || k < 0.3) return pick(r, [1, -2.5, 1e21, 'text', "it's", '', null, true, '中文', '😀', 'a\nb', ' lead']);
  if (k < 0.6) return Array.from({ length: 1 + Math.floor(r() * 4) }, () => randomJson(r, depth + 1));
  return Object.fromEntries(Array.from({ length: 1 + Math.floor(r() * 4) }, () => [pick(r, WORDS), randomJson(r, depth + 1)]));
}

function randomCodePoint(r: () => number): string {
  const k = r();
  const cp =
    k < 0.4 ? 0x20 + Math.floor(r() * 0x5f) : k < 0.7 ? 0xa0 + Math.floor(r() * 0x2f60) : k < 0.9 ? Math.floor(r() * 0x10000) : 0x10000 + Math.floor(r() * 0x100000);
  return String.fromCodePoint(cp);
}

const GENERATORS: Record<string, Gen> = {
  prose: (r) => repeat(r, 1 + Math.floor(r() * 12), () => pick(r, WORDS), pick(r, [' ', '  ', ', ', '. ', '\n'])),
  code: (r) => repeat(r, 1 + Math.floor(r() * 3), () => pick(r, CODE), pick(r, ['\n', '\n\n', '\r\n'])),
  json: (r) => JSON.stringify(randomJson(r, 0), null, pick(r, [undefined, 2, 4, '\t'])),
  cjk: (r) => repeat(r, 1 + Math.floor(r() * 4), () => pick(r, CJK), pick(r, ['', ' ', '\n', '，'])),
  emoji: (r) => repeat(r, 1 + Math.floor(r() * 6), () => pick(r, EMOJI), pick(r, ['', ' ', 'x'])),
  whitespace: (r) => repeat(r, 1 + Math.floor(r() * 6), () => pick(r, WHITESPACE).repeat(1 + Math.floor(r() * (r() < 0.1 ? 600 : 8))) + (r() < 0.5 ? pick(r, WORDS) : '')),
  longRuns: (r) => pick(r, [' ', '\n', '\t', '-', '=', '0', 'a', '\u3000', '.']).repeat(20 + Math.floor(r() * 3000)) + pick(r, ['', 'x', '\n', ' y']),
  digits: (r) => repeat(r, 1 + Math.floor(r() * 6), () => pick(r, DIGITS) + (r() < 0.3 ? String(Math.floor(r() * 1e12)) : ''), pick(r, ['', ' ', '+', '.', 'x'])),
  specials: (r, s) => repeat(r, 1 + Math.floor(r() * 6), () => (r() < 0.6 ? pick(r, s) : pick(r, s).slice(0, -1)) + pick(r, ['', ' ', '\n', 'x', pick(r, WORDS)])),
  combining: (r) => repeat(r, 1 + Math.floor(r() * 6), () => pick(r, ['a', 'e', 'ı', 'O', 'ß', '中', ' ', '1']) + repeat(r, Math.floor(r() * 4), () => pick(r, COMBINING))),
  scripts: (r) => repeat(r, 1 + Math.floor(r() * 5), () => pick(r, [...SCRIPTS, ...WORDS]), pick(r, [' ', '', '\n', '-'])),
  rtl: (r) => repeat(r, 1 + Math.floor(r() * 5), () => pick(r, RTL_MARKS) + pick(r, SCRIPTS.slice(2, 4)) + pick(r, ['', ' 123 ', ' abc'])),
  control: (r) => repeat(r, 1 + Math.floor(r() * 6), () => pick(r, CONTROL) + (r() < 0.5 ? pick(r, WORDS) : '')),
  newUnicode: (r) => repeat(r, 1 + Math.floor(r() * 4), () => pick(r, NEW_UNICODE) + pick(r, ['', ' ', 'a', '1', '.'])),
  punct: (r) => repeat(r, 1 + Math.floor(r() * 10), () => pick(r, ['', '', ' ', '\n', 'a', 'Z', '1', '\r\n', ' x']) + pick(r, PUNCT).repeat(1 + Math.floor(r() * 3))),
  contractions: (r) => repeat(r, 1 + Math.floor(r() * 6), () => pick(r, ["'s", "'t", "'re", "'VE", "'m", "'Ll", "'d", "'x", "''", "'"]) + pick(r, ['', ' ', 'a', 'S'])),
  logs: (r) => repeat(r, 1 + Math.floor(r() * 5), () => pick(r, LOG_LINES), pick(r, ['\n', '\r\n', '\n\n'])),
  categories: (r) => repeat(r, 1 + Math.floor(r() * 12), () => pick(r, pick(r, CATEGORIES)), pick(r, ['', '', ' ', 'a', '1', '\n'])),
  random: (r) => repeat(r, 1 + Math.floor(r() * 20), () => randomCodePoint(r)),
  mixed: (r, s) => repeat(r, 2 + Math.floor(r() * 6), () => pick(r, Object.values(GENERATORS).slice(0, -1))(r, s)),
};

/** `size` strings, the kinds taking turns; `specials` are the vocabulary's special-token texts. */
export function corpus(specials: string[], size: number, seed: number): { kind: string; text: string }[] {
  const r = rng(seed);
  const kinds = Object.keys(GENERATORS);
  return Array.from({ length: size }, (_, i) => {
    const kind = kinds[i % kinds.length];
    return { kind, text: GENERATORS[kind](r, specials) };
  });
}
