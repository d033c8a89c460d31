/**
 * Renders explained requests twice from the same data: a rustc-like human report (chalk passed in,
 * never built here) and the `--json` contract of issue 5 (`schemaVersion: 1`).
 */
import type { ChalkInstance } from 'chalk';
import { fmtDuration, fmtInt, fmtTps, plural, type ExplainedRequest, type LogSummary } from './explain.js';

export const LOGS_SCHEMA_VERSION = 1;

export interface JsonRequest {
  slot: number | null;
  task: number | null;
  promptTokens: number | null;
  cachedTokens: number | null;
  commonPrefix: number | null;
  reused: number | null;
  processed: number | null;
  fullReprocess: boolean | null;
  verdict: string;
  // more fields (allowed by the contract)
  instance: string | null;
  format: string | null;
  lines: [number, number];
  slotTokensBefore: number | null;
  selection: string | null;
  checkpoints: {
    restored: { posMin: number; posMax: number; nTokens: number | null } | null;
    erased: number;
    created: number;
    forcedFull: boolean;
  };
  promptEvalMs: number | null;
  promptTps: number | null;
  lostTokens: number;
  lostSeconds: number | null;
  message: string;
  hint: string | null;
}

export function jsonRequest(x: ExplainedRequest): JsonRequest {
  const r = x.record;
  const c = r.restoredCheckpoint;
  return {
    slot: r.slot,
    task: r.task,
    promptTokens: x.promptTokens,
    cachedTokens: x.cachedTokens,
    commonPrefix: x.commonPrefix,
    reused: x.reused,
    processed: x.processed,
    fullReprocess: x.fullReprocess,
    verdict: x.verdict,
    instance: r.instance,
    format: r.format,
    lines: [r.firstLine, r.lastLine],
    slotTokensBefore: x.slotTokensBefore,
    selection: r.selection,
    checkpoints: {
      restored: c ? { posMin: c.posMin, posMax: c.posMax, nTokens: c.nTokens } : null,
      erased: r.checkpointsErased,
      created: r.checkpointsCreated,
      forcedFull: r.forcedFull,
    },
    promptEvalMs: r.promptEvalMs,
    promptTps: r.promptTps,
    lostTokens: x.lostTokens,
    lostSeconds: x.lostSeconds,
    message: x.message,
    hint: x.hint,
  };
}

export function jsonReport(xs: ExplainedRequest[], summary: LogSummary): string {
  return `${JSON.stringify({ schemaVersion: LOGS_SCHEMA_VERSION, requests: xs.map(jsonRequest), summary }, null, 2)}\n`;
}

/** One request, rustc-style: `warning[CODE]: headline`, a `-->` pointer, `= note:` lines, `help:`. */
export function humanRequest(x: ExplainedRequest, c: ChalkInstance): string {
  const r = x.record;
  const level = x.severity === 'warning' ? c.yellow.bold('warning') : x.severity === 'ok' ? c.green.bold('ok') : c.cyan.bold('note');
  const lines: string[] = [`${level}${c.bold(`[${x.verdict}]`)}: ${c.bold(x.message)}`];
  const where = [
    r.firstLine === r.lastLine ? `line ${r.firstLine}` : `lines ${r.firstLine}-${r.lastLine}`,
    r.instance !== null ? `instance ${r.instance}` : null,
    r.slot !== null ? `slot ${r.slot}` : null,
    r.task !== null ? `task ${r.task}` : null,
    r.format ? `${r.format} format` : null,
  ].filter((s) => s !== null);
  lines.push(`  ${c.blue('-->')} ${where.join(' · ')}`);
  const nums = [
    x.promptTokens !== null ? `prompt ${fmtInt(x.promptTokens)}` : null,
    x.commonPrefix !== null ? `common prefix ${fmtInt(x.commonPrefix)}` : null,
    x.reused !== null ? `reused ${fmtInt(x.reused)}` : null,
    x.processed !== null ? `processed ${fmtInt(x.processed)}` : null,
  ].filter((s) => s !== null);
  if (nums.length) lines.push(`   ${c.blue('=')} ${c.bold('note')}: ${nums.join(', ')}`);
  for (const n of x.notes) lines.push(`   ${c.blue('=')} ${c.bold('note')}: ${n}`);
  if (x.hint) lines.push(`   ${c.blue('=')} ${c.green.bold('help')}: ${x.hint}`);
  return `${lines.join('\n')}\n`;
}

export function humanSummary(s: LogSummary, c: ChalkInstance): string {
  const parts = [
    plural(s.requests, 'request'),
    `${plural(s.reusedTokens, 'token')} reused`,
    `${fmtInt(s.processedTokens)} processed`,
  ];
  let out = `${c.bold('summary')}: ${parts.join(', ')}\n`;
  if (s.lostTokens > 0) {
    const time = s.lostSeconds !== null ? `, about ${fmtDuration(s.lostSeconds)}${s.promptTps ? ` at ${fmtTps(s.promptTps)} t/s` : ''}` : '';
    out += `   ${c.blue('=')} ${c.bold('note')}: ${plural(s.lostTokens, 'token')} re-processed that a stable prefix would have kept${time}\n`;
  } else {
    out += `   ${c.blue('=')} ${c.bold('note')}: no tokens lost to an unstable prefix\n`;
  }
  const counts = Object.entries(s.verdicts).map(([k, v]) => `${k} ${v}`);
  if (counts.length) out += `   ${c.blue('=')} ${c.bold('note')}: verdicts: ${counts.join(', ')}\n`;
  return out;
}

/** When not a single line was recognised. */
export function humanNothing(s: LogSummary, c: ChalkInstance): string {
  return (
    `${c.yellow.bold('warning')}: recognised no llama-server cache lines in ${fmtInt(s.lines)} line${s.lines === 1 ? '' : 's'}\n` +
    `   ${c.blue('=')} ${c.bold('note')}: kvdiff logs reads llama-server's slot lines (\`slot update_slots: id 0 | task 3 | ...\`), \`prompt eval time\` lines, and JSON responses with \`timings\`/\`usage\`\n` +
    `   ${c.blue('=')} ${c.green.bold('help')}: paste the server's own output (stderr); start it with -lv 4 (or -v) to log n_past and checkpoints\n`
  );
}

export function humanReport(xs: ExplainedRequest[], summary: LogSummary, c: ChalkInstance): string {
  if (xs.length === 0) return humanNothing(summary, c);
  return `${xs.map((x) => humanRequest(x, c)).join('\n')}\n${humanSummary(summary, c)}`;
}
