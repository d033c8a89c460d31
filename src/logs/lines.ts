/**
 * One line of llama-server output → one `LogEvent` (or null). Pure, stateless, never throws.
 *
 * Wrappers prefix lines (docker compose `svc-1  | `, journald `Nov 27 02:23:49 host llama-server[123]: `,
 * ISO or bracket timestamps, `INFO`/`[INFO]`/`I ` levels, llama-server's own `0.02.064.184 I `, LM Studio's
 * `[2025-06-01 10:00:00][INFO]`): rather than peel each of them, the recognisers below look for the server's
 * own anchors (`slot <func>: id N | task M |`, `srv <func>:`, `INFO [ func]`, `slot N :`, `{"`) anywhere in
 * the line. The router's `[ 8081] ` child prefix is kept as the request's instance, since slots and task ids
 * are per child process.
 */
import type { CheckpointInfo, LogEvent, LogEventKind, LogFormat } from './types.js';

/** Lines longer than this are not llama-server cache lines (they are prompts or JSON dumps): skipped. */
export const MAX_LINE_CHARS = 64 * 1024;

// `slot update_slots: id  0 | task 3 | msg` (Sep 2024 onwards; the function name is padded to 12)
// (`(.*)$` as a lookahead: the message is sliced where the match ends, not captured)
const RE_SLOT = /slot +([\w~()]{1,20}): id +(\d+) \| task (-?\d+) \|(?=.*$)/y;
// `srv  update_slots: msg`
const RE_SRV = /(?:^|[^\w])srv +([\w~()]{1,20}): (.*)$/;
// 2023: `slot 0 : kv cache rm - [12, end)`, `slot 0 is processing [task id: 2]`, `slot 0 released (40 tokens in cache)`,
// and Oct 2023's `slot 0 - in cache: 10 tokens | to process: 5 tokens`
const RE_2023 = /(?:^|[^\w])slot (\d+) (?:[:-] (.*)|is processing(?: \[task id: (\d+)\])?|released \((\d+) tokens in cache\))/;
// 2024: `INFO [            update_slots] kv cache rm [p0, end) | tid="139" timestamp=1714489663 id_slot=0 id_task=6 p0=0`
const RE_2024 = /(?:^|[^\w])(?:INFO|WARN|WARNING|ERR|ERROR|VERB|DEBUG|DBUG) \[\s*([\w~]+)\] (.*)$/;
const RE_KV = /(\w+)=("(?:[^"\\]|\\.)*"|\S+)/g;
// router mode: the parent forwards each child line as `[%5d] <line>` (the child's port)
const RE_ROUTER = /\[\s*(\d{2,5})\] /;
const RE_TIMING =
  /prompt eval time\s*=\s*([\d.]+) ms \/\s*(\d+) tokens(?: \(\s*([-\d.a-z]+) ms per token,\s*([-\d.a-z]+) tokens per second\))?/;
const RE_RAM = /found better prompt with f_keep = ([-\d.]+), (?:f_)?sim = ([\d.]+)/;

const RE_CACHED = /^(?:cached )?n_tokens = (\d+), memory_seq_rm \[\d+, end\)/;
const RE_OCT25 = /^n_past = (\d+), memory_seq_rm \[\d+, end\)/;
const RE_KVRM = /^kv cache rm \[(\d+), end\)/;
// Aug 2025: `cache_tokens.size()`; late 2025 on: `slot.prompt.tokens.size()` (then `, seq_id = 0, pos_min = N, n_swa = N`);
// a paste cut after `.size()` still says where the prompt left the cache
const RE_AUG25 = /^n_past = (\d+), (?:cache_tokens|slot\.prompt\.tokens|prompt\.tokens)\.size\(\)(?: = (\d+))?(?:, seq_id = \d+, pos_min = -?\d+, n_swa = (\d+))?/;
// the checkpoint search (Feb 2026 on; lower-case and without the `n_past = ` line above it since summer 2026):
// T = max(0, pos_next - n_swa), so T is n_past itself when n_swa = 0 (hybrid/recurrent memory)
const RE_CKPT_CHECK = /^[Cc]hecking checkpoint with \[(\d+), (\d+)\] against (\d+)/;
const RE_NSWA = /n_swa = (\d+)/;
const RE_POS_NEXT = /\bpos_next = (\d+)/;
// RAM prompt cache (Oct 2025 on, also ik_llama.cpp without the `srv` prefix): the selected or idle slot's prompt is saved
const RE_PROMPT_SAVE = /(?:^|\s)- saving prompt with length (\d+)/;
// LLAMA_SERVER_SLOTS_DEBUG: `old: ... <text> | <text>` and `new: ...`, `|` at n_past
const RE_DEBUG_TEXT = /^(old|new): \.\.\. ?(.*)$/;
// `prompt tokenized, …` (autumn 2024) became `new prompt, …`
const RE_NEWPROMPT = /^(?:new prompt|prompt tokenized), n_ctx_slot = \d+, n_keep = -?\d+, (?:task\.n_tokens|n_prompt_tokens) = (\d+)/;
const RE_EVAL1 =
  /^need to evaluate at least 1 token (?:for each active slot \(n_past = (\d+), task\.n_tokens\(\) = (\d+)\)|to generate logits, n_past = (\d+), n_prompt_tokens = (\d+))/;
const RE_SET = /^n_past was set to (\d+)/;
// 2026 progress with a rate (printed every few seconds of prompt processing)
const RE_RATE = /^prompt processing, n_tokens = +(\d+), progress = ([\d.]+), t = +[\d.]+ s \/ ([\d.]+) tokens per second/;
// the prompt did not fit the context: its middle was cut (2024 – 2025)
const RE_TRUNCATED = /^input truncated, n_ctx = \d+, n_keep = (-?\d+), n_left = \d+, n_prompt_tokens = (\d+)/;
const RE_CKPT_RESTORED = /^restored context checkpoint\b(.*)$/i;
const RE_CHUNK = /^reusing chunk with size (\d+)/;
// --cache-reuse at -lv 4: the common prefix before any chunk is shifted into place
const RE_CHUNK_TRY = /^trying to reuse chunks with size > \d+, (?:slot\.)?n_past = (\d+)/;
// llama-box (GPUStack's server on llama.cpp, 2025): `srv reconcile: rid R | prefill_t = N, prefill_cached_t = C, prefill_tps = T tps,
// ttft = Mms, …` once a request ends. N counts the cached tokens too (n_prefilled starts at the cached count), and
// T = N / M: the rate of the tokens actually processed is T·(N − C)/N
const RE_BOX = /^rid \S+ \| prefill_t = (\d+), prefill_cached_t = (\d+), prefill_tps = ([\d.]+) tps, ttft = ([\d.]+)ms/;
const RE_SIM = /^- checking sim = ([\d.]+) \((\d+)\/(\d+)\)/;
const RE_SEL_LCP = /^selected slot by LCP similarity, (?:f_)?sim_best = ([\d.]+) \(> [\d.]+ thold\)(?:, f_keep = ([\d.]+))?/;
const RE_SEL_LCS = /^selected slot by (?:lcs|lcp) similarity, (?:lcs|lcp)_len = (\d+), similarity = ([\d.]+)/i;
const RE_SEL_LRU = /^selected slot by LRU, t_last = (-?\d+)/;
// 2026: the request named its slot (`id_slot`)
const RE_SEL_ID = /^selected slot by id \((\d+)\)/;
// the context filled up and the server dropped n_discard tokens after the first n_keep (Sep 2024 on: SLT_WRN;
// 2023: LOG_TEE `slot 0: context shift - n_keep = …`, see RE_SHIFT_2023; 2024: LOG_INFO `slot context shift`)
const RE_SHIFT = /^slot context shift, n_keep = (-?\d+), n_left = -?\d+, n_discard = (\d+)/;
const RE_SHIFT_2023 = /(?:^|[^\w])slot (\d+): context shift - n_keep = (-?\d+), n_left = -?\d+, n_discard = (\d+)/;
// --cache-reuse (-lv 4): n_past once the matching chunks were shifted into place
const RE_AFTER_REUSE = /^after context reuse, new n_past = (\d+)/;
// kv_unified: an idle slot emptied to make room (`purging slot 2 with 4096 tokens`, SRV_WRN)
const RE_PURGE = /^purging slot (\d+) with (\d+) tokens/;
// the same lines without their `slot <func>: id N | task M |` prefix
const RE_BARE_NPAST = /(?:^|[^\w.])n_past = (\d+), (?:cache_tokens|slot\.prompt\.tokens|prompt\.tokens)\.size\(\) = (\d+), seq_id = (\d+)/;
const RE_BARE_STOP = /(?:^|[^\w])stop processing: n_(?:tokens|past) = (\d+)/;
const RE_STOP = /^stop processing: n_(?:tokens|past) = (\d+)/;
// `prompt done` became `prompt processing done` (2026): n_tokens is then the whole prompt
const RE_DONE = /^prompt (?:processing )?done, n_(?:past|tokens) = (\d+)/;
// May 2025: `n_past = END, n_tokens = BATCH`; Dec 2025 on: `n_tokens = END, batch.n_tokens = BATCH`
const RE_PROGRESS = /^prompt processing progress, n_(?:past|tokens) = (\d+), (?:batch\.)?n_tokens = (\d+), progress = ([\d.]+)/;
// slots-debug text printed without the slot prefix (LLAMA_SERVER_SLOTS_N_DIFF, Aug 2026 on)
const RE_DEBUG_BARE = /^(?:\[\s*(\d{2,5})\] )?(?:\d+\.\d{2}\.\d{3}\.\d{3} [A-Z] )?(old|new): \.\.\. ?(.*)$/;
const RE_NUMS = /(\w+) = (-?[\d.]+)/g;
// CSI sequences (colours, cursor moves) and OSC sequences
const RE_ANSI = /\x1b\[[0-9;?]*[ -\/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?/g;

function ev(kind: LogEventKind, format: LogFormat | null, instance: string | null, slot: number | null, task: number | null): LogEvent {
  return { kind, format, instance, slot, task };
}

/** An event with its one number (`nPast`, `promptTokens`, ...) set, without spreading objects on the hot path. */
function evn(kind: LogEventKind, format: LogFormat | null, instance: string | null, slot: number | null, task: number | null, f: 'nPast' | 'promptTokens' | 'slotTokens' | 'size', v: number): LogEvent {
  const e = ev(kind, format, instance, slot, task);
  e[f] = v;
  return e;
}

function num(s: string | undefined): number | undefined {
  if (s === undefined) return undefined;
  const n = Number(s);
  return Number.isFinite(n) ? n : undefined;
}

function intOr(s: string | undefined): number | undefined {
  const n = num(s);
  return n !== undefined && Number.isSafeInteger(n) ? n : undefined;
}

function routerInstance(prefix: string): string | null {
  if (!prefix.includes('[')) return null;
  const m = RE_ROUTER.exec(prefix);
  return m ? m[1] : null;
}

/** `pos_min = 0, pos_max = 0, n_tokens = 1, n_past = 1, size = 0.001 MiB` */
function checkpoint(body: string): CheckpointInfo {
  const f: Record<string, number> = {};
  for (const m of body.matchAll(RE_NUMS)) f[m[1]] = Number(m[2]);
  return {
    posMin: f.pos_min ?? 0,
    posMax: f.pos_max ?? 0,
    nTokens: f.n_tokens ?? null,
    nPast: f.n_past ?? null,
  };
}

function timing(e: LogEvent, m: RegExpExecArray): LogEvent {
  e.ms = num(m[1]);
  e.processed = intOr(m[2]);
  e.tps = num(m[4]);
  return e;
}

type SlotArgs = [inst: string | null, slot: number, task: number | null];

/**
 * One wording of the `slot <func>: id N | task M |` family: the characters its message can start with (the
 * regex is anchored there; `null`: it is found anywhere in the message, `''`: the message is empty) and the
 * reader, which returns null when the message is not this wording.
 */
interface SlotWording {
  first: string | null;
  read: (msg: string, fn: string, inst: string | null, slot: number, task: number | null) => LogEvent | null;
}

/** The last match of a wording's regex (module scope: no closure allocates per line). */
let hit: RegExpExecArray | null;

/**
 * The family's wordings in the order they are tried: the first that reads the message wins. `slotMessage` tries only
 * those whose first character can start the message (the same answer, `recogniseLineExhaustive` checks it).
 */
const SLOT_WORDINGS: readonly SlotWording[] = [
  { first: 'cn', read: (msg, _fn, inst, slot, task) => ((hit = RE_CACHED.exec(msg)) ? evn('seqRm', 'current', inst, slot, task, 'nPast', +hit[1]) : null) },
  { first: 'n', read: (msg, _fn, inst, slot, task) => ((hit = RE_OCT25.exec(msg)) ? evn('seqRm', 'oct-2025', inst, slot, task, 'nPast', +hit[1]) : null) },
  {
    first: 'n',
    read: (msg, _fn, inst, slot, task) => {
      if (!(hit = RE_AUG25.exec(msg))) return null;
      // `cache_tokens` is the Aug 2025 wording, `slot.prompt.tokens` the one since the Oct 2025 prompt cache
      const e = evn('nPastBefore', msg.includes('cache_tokens') ? 'may-2025' : 'oct-2025', inst, slot, task, 'nPast', +hit[1]);
      if (hit[2] !== undefined) e.slotTokens = +hit[2];
      if (hit[3] !== undefined) e.nSwa = +hit[3];
      return e;
    },
  },
  {
    first: 'n',
    read: (msg, _fn, inst, slot, task) => {
      if (!(hit = RE_EVAL1.exec(msg))) return null;
      const e = evn('mustEvalOne', null, inst, slot, task, 'nPast', +(hit[1] ?? hit[3]));
      e.promptTokens = +(hit[2] ?? hit[4]);
      return e;
    },
  },
  { first: 'n', read: (msg, _fn, inst, slot, task) => ((hit = RE_SET.exec(msg)) ? evn('nPastSet', null, inst, slot, task, 'nPast', +hit[1]) : null) },
  { first: 'c', read: (msg, _fn, inst, slot, task) => (msg.startsWith('created context checkpoint') ? ev('ckptCreated', null, inst, slot, task) : null) },
  { first: 'np', read: (msg, _fn, inst, slot, task) => ((hit = RE_NEWPROMPT.exec(msg)) ? evn('newPrompt', null, inst, slot, task, 'promptTokens', +hit[1]) : null) },
  // autumn 2024 printed `tokenizing prompt, len = N` (N prompts, not tokens) when the request started
  { first: 't', read: (msg, _fn, inst, slot, task) => (msg.startsWith('tokenizing prompt') ? ev('newPrompt', null, inst, slot, task) : null) },
  { first: 'k', read: (msg, _fn, inst, slot, task) => ((hit = RE_KVRM.exec(msg)) ? evn('seqRm', 'may-2025', inst, slot, task, 'nPast', +hit[1]) : null) },
  {
    first: 'Cc',
    read: (msg, _fn, inst, slot, task) => {
      if (!(hit = RE_CKPT_CHECK.exec(msg))) return null;
      const e = evn('ckptCheck', null, inst, slot, task, 'nPast', +hit[3]);
      e.ckpt = { posMin: +hit[1], posMax: +hit[2], nTokens: null, nPast: null };
      return e;
    },
  },
  {
    first: 'Rr',
    read: (msg, _fn, inst, slot, task) => {
      if (!(hit = RE_CKPT_RESTORED.exec(msg))) return null;
      const e = ev('ckptRestored', null, inst, slot, task);
      e.ckpt = checkpoint(hit[1]);
      return e;
    },
  },
  { first: 'f', read: (msg, _fn, inst, slot, task) => (msg.startsWith('forcing full prompt re-processing') ? ev('forcedFull', null, inst, slot, task) : null) },
  {
    first: 'p',
    read: (msg, _fn, inst, slot, task) => {
      if (!(hit = RE_RATE.exec(msg))) return null;
      const e = ev('rate', null, inst, slot, task);
      e.processed = +hit[1];
      e.progress = +hit[2];
      e.tps = +hit[3];
      return e;
    },
  },
  {
    first: 'i',
    read: (msg, _fn, inst, slot, task) => {
      if (!(hit = RE_TRUNCATED.exec(msg))) return null;
      const e = ev('truncated', null, inst, slot, task);
      e.keep = +hit[1];
      e.promptTokens = +hit[2];
      return e;
    },
  },
  {
    first: 'e',
    read: (msg, _fn, inst, slot, task) => {
      if (!msg.startsWith('erased invalidated context checkpoint')) return null;
      const e = ev('ckptErased', null, inst, slot, task);
      e.ckpt = checkpoint(msg);
      const n = RE_NSWA.exec(msg);
      if (n) e.nSwa = +n[1];
      // 2026: `pos_next = P`, the position processing resumes from once the checkpoints above it are erased
      const p = RE_POS_NEXT.exec(msg);
      if (p) e.nPast = +p[1];
      return e;
    },
  },
  {
    first: 'on',
    read: (msg, _fn, inst, slot, task) => {
      if (!(hit = RE_DEBUG_TEXT.exec(msg))) return null;
      const e = ev('divergence', null, inst, slot, task);
      e.side = hit[1] as 'old' | 'new';
      e.text = hit[2];
      return e;
    },
  },
  { first: 'r', read: (msg, _fn, inst, slot, task) => ((hit = RE_CHUNK.exec(msg)) ? evn('chunkReuse', null, inst, slot, task, 'size', +hit[1]) : null) },
  { first: 't', read: (msg, _fn, inst, slot, task) => ((hit = RE_CHUNK_TRY.exec(msg)) ? evn('nPastBefore', null, inst, slot, task, 'nPast', +hit[1]) : null) },
  {
    first: '-',
    read: (msg, _fn, inst, slot) => {
      if (!(hit = RE_SIM.exec(msg))) return null;
      const e = ev('sim', null, inst, slot, null);
      e.sim = +hit[1];
      e.lcp = +hit[2];
      e.promptTokens = +hit[3];
      return e;
    },
  },
  { first: '-', read: (msg, _fn, inst, slot) => (msg.startsWith('- skipping, slot is empty') ? ev('slotEmpty', null, inst, slot, null) : null) },
  {
    first: 's',
    read: (msg, _fn, inst, slot) => {
      if (!(hit = RE_SEL_LCP.exec(msg))) return null;
      const e = ev('selected', null, inst, slot, null);
      e.method = 'lcp';
      e.sim = +hit[1];
      e.keep = num(hit[2]);
      return e;
    },
  },
  {
    first: 'sS',
    read: (msg, _fn, inst, slot) => {
      if (!(hit = RE_SEL_LCS.exec(msg))) return null;
      const e = ev('selected', null, inst, slot, null);
      e.method = 'lcp';
      e.lcp = +hit[1];
      e.sim = +hit[2];
      return e;
    },
  },
  {
    first: 's',
    read: (msg, _fn, inst, slot) => {
      if (!(hit = RE_SEL_LRU.exec(msg))) return null;
      const e = ev('selected', null, inst, slot, null);
      e.method = 'lru';
      e.tLast = +hit[1];
      return e;
    },
  },
  {
    first: 's',
    read: (msg, _fn, inst, slot) => {
      if (!RE_SEL_ID.test(msg)) return null;
      const e = ev('selected', null, inst, slot, null);
      e.method = 'id';
      return e;
    },
  },
  {
    first: 's',
    read: (msg, _fn, inst, slot, task) => {
      if (!(hit = RE_SHIFT.exec(msg))) return null;
      const e = ev('ctxShift', null, inst, slot, task);
      e.keep = +hit[1];
      e.size = +hit[2];
      return e;
    },
  },
  { first: 'a', read: (msg, _fn, inst, slot, task) => ((hit = RE_AFTER_REUSE.exec(msg)) ? evn('nPastSet', null, inst, slot, task, 'nPast', +hit[1]) : null) },
  { first: 'p', read: (msg, _fn, inst, slot, task) => (msg.startsWith('processing task') ? ev('launch', null, inst, slot, task) : null) },
  { first: 's', read: (msg, _fn, inst, slot, task) => (msg.startsWith('saving idle slot to prompt cache') ? ev('idleSave', null, inst, slot, task) : null) },
  {
    first: 'c',
    read: (msg, _fn, inst, slot, task) => (msg.startsWith('clearing prompt with ') ? evn('slotCleared', null, inst, slot, task, 'slotTokens', parseInt(msg.slice(21), 10)) : null),
  },
  { first: 's', read: (msg, _fn, inst, slot, task) => ((hit = RE_STOP.exec(msg)) ? evn('release', null, inst, slot, task, 'slotTokens', +hit[1]) : null) },
  // the timing and RAM-cache wordings may sit anywhere in the message (their literal is a required part of the regex)
  { first: null, read: (msg, _fn, inst, slot, task) => (msg.includes('prompt eval time') && (hit = RE_TIMING.exec(msg)) ? timing(ev('promptEval', null, inst, slot, task), hit) : null) },
  { first: 'p', read: (msg, _fn, inst, slot, task) => ((hit = RE_DONE.exec(msg)) ? evn('progress', null, inst, slot, task, 'promptTokens', +hit[1]) : null) },
  {
    first: 'p',
    read: (msg, _fn, inst, slot, task) => {
      if (!(hit = RE_PROGRESS.exec(msg))) return null;
      const e = evn('batch', null, inst, slot, task, 'nPast', +hit[1]);
      e.size = +hit[2];
      e.progress = +hit[3];
      return e;
    },
  },
  {
    first: null,
    read: (msg, _fn, inst, slot, task) => {
      if (!msg.includes('found better prompt') || !(hit = RE_RAM.exec(msg))) return null;
      const e = ev('ramRestore', null, inst, slot, task);
      e.keep = +hit[1];
      e.sim = +hit[2];
      return e;
    },
  },
  { first: '', read: (msg, fn, inst, slot, task) => (msg === '' && fn.startsWith('print_timing') ? ev('timingHeader', null, inst, slot, task) : null) },
];

/** The wordings to try for a message starting with each ASCII character (index 128: any other, 129: an empty message). */
const SLOT_BY_FIRST: readonly (readonly SlotWording[])[] = Array.from({ length: 130 }, (_, c) =>
  SLOT_WORDINGS.filter((w) => w.first === null || (c === 129 ? w.first === '' : c < 128 && w.first.includes(String.fromCharCode(c)))),
);

/** Messages of the `slot <func>: id N | task M |` family (Sep 2024 → now). */
function slotMessage(msg: string, fn: string, inst: string | null, slot: number, task: number | null, all: boolean): LogEvent | null {
  const c = msg.length === 0 ? 129 : Math.min(msg.charCodeAt(0), 128);
  const ws = all ? SLOT_WORDINGS : SLOT_BY_FIRST[c];
  for (let i = 0; i < ws.length; i++) {
    const e = ws[i].read(msg, fn, inst, slot, task);
    if (e) return e;
  }
  return null;
}

/** The key=value fields of 2024's text logs (` | tid="1" timestamp=2 id_slot=0 ...`). */
function kvFields(s: string): Record<string, unknown> {
  const f: Record<string, unknown> = {};
  for (const m of s.matchAll(RE_KV)) {
    const v = m[2];
    f[m[1]] = v.startsWith('"') ? v.slice(1, -1) : Number.isFinite(Number(v)) ? Number(v) : v;
  }
  return f;
}

function field(f: Record<string, unknown>, ...names: string[]): number | undefined {
  for (const n of names) {
    const v = f[n];
    if (typeof v === 'number' && Number.isFinite(v)) return v;
  }
  return undefined;
}

const RE_2024_PROMPT = /prompt tokenized|tokenized prompt|new prompt/;

/** 2024 `LOG_INFO(msg, {fields})`, as text (`INFO [ func] msg | k=v`) or as `--log-format json`. */
export function event2024(msg: string, fields: Record<string, unknown> | (() => Record<string, unknown>), format: LogFormat, inst: string | null): LogEvent | null {
  // the messages read below (any other is null): the fields are only parsed for one of them
  if (
    msg !== 'kv cache rm [p0, end)' &&
    msg !== 'slot progression' &&
    !msg.startsWith('slot is processing task') &&
    msg !== 'slot context shift' &&
    !msg.startsWith('we have to evaluate at least 1 token') &&
    msg !== 'slot released' &&
    !msg.includes('prompt eval time') &&
    !msg.startsWith('input truncated') &&
    !RE_2024_PROMPT.test(msg)
  ) {
    return null;
  }
  const f = typeof fields === 'function' ? fields() : fields;
  const slot = field(f, 'id_slot', 'slot_id') ?? null;
  const task = field(f, 'id_task', 'task_id') ?? null;
  const e = (kind: LogEventKind): LogEvent => ev(kind, format, inst, slot, task);
  if (msg === 'kv cache rm [p0, end)') {
    const p0 = field(f, 'p0');
    return p0 === undefined ? null : { ...e('seqRm'), nPast: p0 };
  }
  if (msg === 'slot progression') {
    return { ...e('nPastBefore'), nPast: field(f, 'n_past'), processed: field(f, 'n_prompt_tokens_processed', 'num_prompt_tokens_processed') };
  }
  if (msg.startsWith('slot is processing task')) return e('launch');
  if (msg === 'slot context shift') {
    const d = field(f, 'n_discard');
    return d === undefined ? null : { ...e('ctxShift'), keep: field(f, 'n_keep'), size: d };
  }
  if (msg.startsWith('we have to evaluate at least 1 token')) return e('mustEvalOne');
  if (msg === 'slot released') return { ...e('release'), slotTokens: field(f, 'n_cache_tokens', 'n_past') };
  if (msg.includes('prompt eval time')) {
    const m = RE_TIMING.exec(msg.replace(/time\s+=/, 'time ='));
    const out = m ? timing(e('promptEval'), m) : e('promptEval');
    out.processed = field(f, 'n_prompt_tokens_processed', 'num_prompt_tokens_processed') ?? out.processed;
    out.ms = field(f, 't_prompt_processing') ?? out.ms;
    out.tps = field(f, 'n_tokens_second') ?? out.tps;
    return out.processed === undefined ? null : out;
  }
  if (msg.startsWith('input truncated')) {
    // some 2024 builds (Ollama's vendored server) print n_ctx, n_erase, n_keep, n_left, n_shift and no prompt size
    const n = field(f, 'n_prompt_tokens', 'num_prompt_tokens');
    const keep = field(f, 'n_keep');
    if (n === undefined && keep === undefined) return null;
    return { ...e('truncated'), promptTokens: n, keep };
  }
  if (RE_2024_PROMPT.test(msg)) {
    const n = field(f, 'n_prompt_tokens', 'num_prompt_tokens');
    return n === undefined ? null : { ...e('newPrompt'), promptTokens: n };
  }
  return null;
}

/** The 2023 `slot N : ...` family (LOG_TEE, no task ids in the cache lines). */
function event2023(m: RegExpExecArray, inst: string | null): LogEvent | null {
  const slot = +m[1];
  if (m[2] === undefined) {
    if (m[4] !== undefined) return { ...ev('release', 'llama-2023', inst, slot, null), slotTokens: +m[4] };
    return ev('launch', 'llama-2023', inst, slot, m[3] !== undefined ? +m[3] : null);
  }
  const msg = m[2];
  let x: RegExpExecArray | null;
  if ((x = /^kv cache rm -? ?\[(\d+), end\)/.exec(msg))) return { ...ev('seqRm', 'llama-2023', inst, slot, null), nPast: +x[1] };
  if ((x = /^in cache: (\d+) tokens(?: \| to process: (\d+) tokens)?/.exec(msg))) {
    const e: LogEvent = { ...ev('nPastBefore', 'llama-2023', inst, slot, null), nPast: +x[1] };
    if (x[2] !== undefined) {
      e.processed = +x[2];
      e.promptTokens = +x[1] + +x[2];
    }
    return e;
  }
  if (msg.startsWith('we have to evaluate at least 1 token')) return ev('mustEvalOne', 'llama-2023', inst, slot, null);
  return null;
}

// ik_llama.cpp: `======== Cache: cache_size = N, n_past0 = M, n_past1 = ...` (the slot's size and the common prefix);
// 2026: `======== Cache: cache_size = N, n_past = M, n_past_prompt = K`
const RE_IK_CACHE = /Cache: cache_size = (\d+), n_past0? = +(\d+)/;
// Ollama's runner (runner/ollamarunner/cache.go, OLLAMA_DEBUG=1): slog key=value fields
const RE_OLLAMA_FIELD = /\b(id|cache|prompt|used|remaining)=(\d+)/g;
// LM Studio's engine: three lines per request
const RE_LMS_SUMMARY = /Cache reuse summary: (\d+)\/(\d+) of prompt \([\d.]+%\), (\d+) prefix, (\d+) non-prefix/;
const RE_LMS_TOTAL = /^\s*Total prompt tokens: (\d+)/;
const RE_LMS_DECODE = /^\s*Prompt tokens to decode: (\d+)/;

// KoboldCpp (gpttype_adapter.cpp / koboldcpp.py): progress of the tokens it has to process (the rest came from
// its cache), the generation, and one summary line per request in three generations of wording:
// `CtxLimit: 1843/8192, Process:16.32s (11.0ms/T = 91.03T/s), ...` (2024), `CtxLimit:10584/12288, Amt:31/250,
// Init:0.05s, Process:14.65s (1.4ms/T = 720.49T/s), ...` and `CtxLimit:2213/16384, Init:0.01s, Processed:2181 in
// 0.68s (3212.08T/s), Generated:32/32 in 0.38s (83.33T/s), ...`
const RE_KCPP_PROMPT = /Processing Prompt(?: \[\w+\])? \((\d+) \/ (\d+) tokens\)/;
const RE_KCPP_GEN = /^\s*Generating \((\d+) \/ (\d+) tokens\)/;
// early 2024 spelled it `ContextLimit: 614/2048, Processing:0.43s (5.5ms/T), Generation:…` (no rate, ms per token)
const RE_KCPP_CTX = /(?:CtxLimit|ContextLimit): ?(\d+)\/(\d+)/;
const RE_KCPP_DEBUG = /\[Debug: embd_inp=(\d+) n_past=(\d+)/;
// PurgeMissingTokens() (gpttype_adapter.cpp): the new prompt dropped N tokens the context still held; they are erased
// and the rest shifted down (`trimstart + 1` printed), before the prompt's own `Processing Prompt` line
const RE_KCPP_SHIFT = /\[Context Shifting: Erased (\d+) tokens at position (\d+)\]/;

function kcppSummary(raw: string, m: RegExpExecArray): LogEvent {
  const e = ev('kcppCtx', 'koboldcpp', null, null, null);
  e.slotTokens = +m[1];
  let x: RegExpExecArray | null;
  if ((x = /Amt: ?(\d+)\//.exec(raw)) || (x = /Generated: ?(\d+)\//.exec(raw))) e.size = +x[1];
  if ((x = /Processed: ?(\d+) in ([\d.]+)s \(([\d.]+) ?T\/s\)/.exec(raw))) {
    e.processed = +x[1];
    e.ms = +x[2] * 1000;
    e.tps = +x[3];
  } else if ((x = /Process: ?([\d.]+)s \([^)]*?= ?([\d.]+) ?T\/s\)/.exec(raw))) {
    e.ms = +x[1] * 1000;
    e.tps = +x[2];
  } else if ((x = /Processing: ?([\d.]+)s \(([\d.]+) ?ms\/T\)/.exec(raw)) && +x[2] > 0) {
    e.ms = +x[1] * 1000;
    e.tps = 1000 / +x[2];
  }
  return e;
}

/** Ollama's runner when its context fills up (cache.go): `msg="context limit hit - shifting" id=0 limit=N input=N keep=K discard=D` (no `id` in 2024). */
function ollamaShift(raw: string): LogEvent | null {
  const d = /\bdiscard=(\d+)/.exec(raw);
  if (!d) return null;
  const id = /\bid=(\d+)/.exec(raw);
  const keep = /\bkeep=(\d+)/.exec(raw);
  const e = ev('ctxShift', 'ollama', null, id ? +id[1] : null, null);
  e.size = +d[1];
  if (keep) e.keep = +keep[1];
  return e;
}

function ollamaSlot(raw: string): LogEvent | null {
  const f: Record<string, number> = {};
  for (const m of raw.matchAll(RE_OLLAMA_FIELD)) f[m[1]] ??= +m[2];
  if (f.prompt === undefined || f.used === undefined) return null;
  const e = ev('ollamaSlot', 'ollama', null, f.id ?? null, null);
  e.slotTokens = f.cache;
  e.promptTokens = f.prompt;
  e.nPast = f.used;
  e.processed = f.remaining ?? f.prompt - f.used;
  return e;
}

/** llama-box's end-of-request line (see RE_BOX). */
function boxReconcile(m: RegExpExecArray, instance: string | null): LogEvent {
  const total = +m[1];
  const cached = Math.min(+m[2], total);
  const e = ev('boxReconcile', 'llama-box', instance, null, null);
  e.promptTokens = total;
  e.nPast = cached;
  e.processed = total - cached;
  const tps = num(m[3]);
  e.tps = tps !== undefined && total > 0 ? (tps * (total - cached)) / total : undefined;
  e.ms = num(m[4]);
  return e;
}

/**
 * A line without any of these holds none of the literals the readers after the slot families need, so none of them
 * can read it (the `srv` lines too: their three messages need `found better prompt`, `purging slot`, `saving prompt`).
 * Each alternative is part of one or more literals: `rompt` of `found better prompt`, `saving prompt with length`,
 * `Total prompt tokens`, `Prompt tokens to decode`, `Processing Prompt`, `prompt eval time`; `[cC]ache` of
 * `loading cache slot`, `cache_size = `, `Cache reuse summary`; `ontext` of `context limit hit`, `ContextLimit`,
 * `Context Shifting`; RE_2024 needs a level (ending in B, G, N, O or R) before ` [`. Eleven short alternatives scan
 * a line in about half the time of one regex of every literal. `recogniseLineExhaustive` does without this test.
 */
const RE_MAY_READ = /rompt|[cC]ache|ontext|CtxLimit|Generating \(|\[Debug: embd_inp|: \.\.\.|\.size\(\) = |stop processing|purging slot |[BGNOR] \[/;

function isWordChar(c: number): boolean {
  return (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 95;
}

/**
 * Recognise one line. JSON objects (2024 `--log-format json` lines, pasted responses) are left to the
 * caller (`parse.ts`), which may need several lines to complete one.
 */
export function recogniseLine(raw: string): LogEvent | null {
  return recognise(raw, false);
}

/**
 * The same answer as `recogniseLine`, the plain way: every wording of the slot family tried in turn, and no
 * prefilter before the other readers. For tests, which check that the dispatch in `recogniseLine` never changes what is read.
 */
export function recogniseLineExhaustive(raw: string): LogEvent | null {
  return recognise(raw, true);
}

function recognise(raw: string, all: boolean): LogEvent | null {
  if (raw.length > MAX_LINE_CHARS) return null;
  // colour codes (a terminal capture, `script`, some wrappers) would split the anchors
  if (raw.includes('\x1b')) raw = raw.replace(RE_ANSI, '');
  let m: RegExpExecArray | null;
  const at = raw.indexOf('slot ');
  if (at >= 0) {
    // `slot <func>: id N | task M |` at a word start (sticky match from each `slot ` occurrence)
    for (let i = at; i >= 0; i = raw.indexOf('slot ', i + 5)) {
      if (i > 0 && isWordChar(raw.charCodeAt(i - 1))) continue;
      RE_SLOT.lastIndex = i;
      if ((m = RE_SLOT.exec(raw))) {
        const task = +m[3];
        // routerInstance finds nothing in a prefix without `[`
        const inst = i > 0 && raw.lastIndexOf('[', i - 1) >= 0 ? routerInstance(raw.slice(0, i)) : null;
        // the message, trimmed at its start: one slice when only spaces come before it
        let k = RE_SLOT.lastIndex;
        while (raw.charCodeAt(k) === 32) k++;
        const c = raw.charCodeAt(k);
        const msg = c > 32 && c < 127 ? raw.slice(k) : raw.slice(RE_SLOT.lastIndex).trimStart();
        return slotMessage(msg, m[1], inst, +m[2], task >= 0 ? task : null, all);
      }
    }
    if (raw.includes('context shift') && (m = RE_SHIFT_2023.exec(raw))) {
      return { ...ev('ctxShift', 'llama-2023', routerInstance(raw.slice(0, m.index + 1)), +m[1], null), keep: +m[2], size: +m[3] };
    }
    if ((m = RE_2023.exec(raw))) return event2023(m, routerInstance(raw.slice(0, m.index + 1)));
  }
  // every reader below needs one of these (the `srv` lines too: their three messages do): most lines have none
  if (!all && !RE_MAY_READ.test(raw)) return null;
  if (!raw.includes('srv ') && raw.includes('found better prompt') && (m = RE_RAM.exec(raw))) {
    return { ...ev('ramRestore', null, routerInstance(raw.slice(0, m.index + 1)), null, null), keep: +m[1], sim: +m[2] };
  }
  if (raw.includes('srv ') && (m = RE_SRV.exec(raw))) {
    const msg = m[2].trimStart();
    const r = RE_RAM.exec(msg);
    if (r) return { ...ev('ramRestore', null, routerInstance(raw.slice(0, m.index + 1)), null, null), keep: +r[1], sim: +r[2] };
    const p = RE_PURGE.exec(msg);
    if (p) return { ...ev('slotCleared', null, routerInstance(raw.slice(0, m.index + 1)), +p[1], null), slotTokens: +p[2] };
    const s = RE_PROMPT_SAVE.exec(msg);
    if (s) return { ...ev('promptSave', null, routerInstance(raw.slice(0, m.index + 1)), null, null), slotTokens: +s[1] };
    const b = RE_BOX.exec(msg);
    if (b) return boxReconcile(b, routerInstance(raw.slice(0, m.index + 1)));
    return null;
  }
  if (raw.includes('saving prompt with length') && (m = RE_PROMPT_SAVE.exec(raw))) {
    return { ...ev('promptSave', null, routerInstance(raw.slice(0, m.index + 1)), null, null), slotTokens: +m[1] };
  }
  if (raw.includes(' [') && (m = RE_2024.exec(raw))) {
    const body = m[2];
    const bar = body.indexOf(' | ');
    const msg = (bar >= 0 ? body.slice(0, bar) : body).trim();
    return event2024(msg, () => (bar >= 0 ? kvFields(body.slice(bar + 3)) : {}), 'llama-2024', routerInstance(raw.slice(0, m.index + 1)));
  }
  if (raw.includes('loading cache slot')) return ollamaSlot(raw);
  if (raw.includes('context limit hit - shifting')) return ollamaShift(raw);
  if (raw.includes('cache_size = ') && (m = RE_IK_CACHE.exec(raw))) {
    return { ...ev('nPastBefore', null, null, null, null), nPast: +m[2], slotTokens: +m[1] };
  }
  if (raw.includes('Cache reuse summary') && (m = RE_LMS_SUMMARY.exec(raw))) {
    return { ...ev('lmsSummary', 'lmstudio', null, null, null), sim: +m[1], promptTokens: +m[2], lcp: +m[3], size: +m[4] };
  }
  if ((m = RE_LMS_TOTAL.exec(raw))) return { ...ev('lmsTotal', 'lmstudio', null, null, null), promptTokens: +m[1] };
  if ((m = RE_LMS_DECODE.exec(raw))) return { ...ev('lmsDecode', 'lmstudio', null, null, null), processed: +m[1] };
  if (raw.includes('Processing Prompt') && (m = RE_KCPP_PROMPT.exec(raw))) {
    return { ...ev('kcppPrompt', 'koboldcpp', null, null, null), processed: +m[2], progress: +m[2] > 0 ? +m[1] / +m[2] : 1 };
  }
  if ((raw.includes('CtxLimit') || raw.includes('ContextLimit')) && (m = RE_KCPP_CTX.exec(raw))) return kcppSummary(raw, m);
  if (raw.includes('Context Shifting') && (m = RE_KCPP_SHIFT.exec(raw))) return { ...ev('kcppShift', 'koboldcpp', null, null, null), size: +m[1], keep: +m[2] };
  if ((m = RE_KCPP_GEN.exec(raw))) return { ...ev('kcppGen', 'koboldcpp', null, null, null), size: +m[1] };
  if (raw.includes('[Debug: embd_inp') && (m = RE_KCPP_DEBUG.exec(raw))) {
    return { ...ev('kcppDebug', 'koboldcpp', null, null, null), promptTokens: +m[1], nPast: +m[2] };
  }
  if (raw.includes(': ...') && (m = RE_DEBUG_BARE.exec(raw))) {
    return { ...ev('divergence', null, m[1] ?? null, null, null), side: m[2] as 'old' | 'new', text: m[3] };
  }
  // the slot prefix stripped (a paste of the messages only, or a wrapper that drops it): the n_past line still
  // names its slot as seq_id (llama-server uses the slot id as the sequence id), the release line names none
  if (raw.includes('.size() = ') && (m = RE_BARE_NPAST.exec(raw))) {
    const e: LogEvent = { ...ev('nPastBefore', raw.includes('cache_tokens') ? 'may-2025' : 'oct-2025', routerInstance(raw.slice(0, m.index + 1)), +m[3], null), nPast: +m[1], slotTokens: +m[2] };
    const n = RE_NSWA.exec(raw);
    if (n) e.nSwa = +n[1];
    return e;
  }
  if (raw.includes('stop processing') && (m = RE_BARE_STOP.exec(raw))) return { ...ev('release', null, routerInstance(raw.slice(0, m.index + 1)), null, null), slotTokens: +m[1] };
  if (raw.includes('prompt eval time') && !/llama_(?:perf_context_print|print_timings)/.test(raw) && (m = RE_TIMING.exec(raw))) {
    // headless timing line: 2023's `print_timings: prompt eval time = ...`, or the continuation of a
    // multi-line `slot print_timing: id 0 | task 3 |` block (late 2024 – 2025)
    return timing(ev('promptEval', null, routerInstance(raw.slice(0, m.index + 1)), null, null), m);
  }
  return null;
}
