// A generated llama-server log (current -lv 4 wording with llama-server's own prefix): requests on four slots, each
// with its prompt-processing, checkpoint, timing and release lines, every fifth one a full re-process. Used by
// bench/logs.js and bench/targets.js.
import { createWriteStream } from 'node:fs';
import { once } from 'node:events';

const SLOTS = 4;

/** One request's worth of lines, in the current (2026, -lv 4) wording with llama-server's own prefix. */
export function requestLines(task, slot, t) {
  const id = `id  ${slot} | task ${task} |`;
  const ts = () => {
    t.ms += 3;
    const s = Math.floor(t.ms / 1000);
    return `${Math.floor(s / 60)}.${String(s % 60).padStart(2, '0')}.${String(t.ms % 1000).padStart(3, '0')}.${String(task % 1000).padStart(3, '0')}`;
  };
  const prompt = 2000 + ((task * 7919) % 30000);
  const cached = task % 5 === 0 ? 0 : Math.floor(prompt * 0.8);
  const out = [
    `${ts()} I srv  params_from_: Chat format: peg-native`,
    `${ts()} I slot get_availabl: id  ${slot} | task -1 |  - checking sim = 0.800 (${cached}/${prompt}) > 0.100`,
    `${ts()} I slot get_availabl: id  ${slot} | task -1 | selected slot by LCP similarity, f_sim_best = 0.800 (> 0.100 thold), f_keep = 0.950`,
    `${ts()} I slot launch_slot_: ${id} processing task, is_child = 0`,
    `${ts()} T slot update_slots: ${id} new prompt, n_ctx_slot = 65536, n_keep = 0, task.n_tokens = ${prompt}`,
  ];
  for (let n = cached; n < prompt; n += 512) {
    out.push(`${ts()} T slot update_slots: ${id} cached n_tokens = ${n}, memory_seq_rm [${n}, end)`);
    if (n % 2048 === 0) out.push(`${ts()} I slot update_slots: ${id} prompt processing, n_tokens = ${n}, progress = 0.50, t = 3.10 s / 660.00 tokens per second`);
  }
  out.push(
    `${ts()} T slot create_check: ${id} created context checkpoint 2 of 32 (pos_min = ${prompt - 600}, pos_max = ${prompt - 5}, n_tokens = ${prompt - 4}, size = 0.040 MiB)`,
    `${ts()} I slot print_timing: ${id} prompt eval time =    1234.56 ms / ${String(prompt - cached).padStart(5)} tokens (    1.37 ms per token,   730.55 tokens per second)`,
    `${ts()} I slot print_timing: ${id}        eval time =    4000.00 ms /   250 tokens (   16.00 ms per token,    62.50 tokens per second)`,
    `${ts()} I slot print_timing: ${id}       total time =    5234.56 ms / ${prompt + 250} tokens`,
    `${ts()} I slot      release: ${id} stop processing: n_tokens = ${prompt + 249}, truncated = 0`,
    `${ts()} I srv  log_server_r: done request: POST /v1/chat/completions 127.0.0.1 200`,
  );
  return out;
}

/** Writes about `mb` MB of log to `path`; returns how many requests it holds. */
export async function generateLog(path, mb, slots = SLOTS) {
  const ws = createWriteStream(path);
  const target = mb * 1024 * 1024;
  let bytes = 0;
  let task = 1;
  const t = { ms: 0 };
  let requests = 0;
  while (bytes < target) {
    const chunk = `${requestLines(task, task % slots, t).join('\n')}\n`;
    bytes += Buffer.byteLength(chunk);
    task++;
    requests++;
    if (!ws.write(chunk)) await once(ws, 'drain');
  }
  ws.end();
  await once(ws, 'finish');
  return requests;
}

