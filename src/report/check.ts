import type { ChalkInstance } from 'chalk';
import type { CheckProblem, CheckResult, CheckStep, SessionOutcome } from '../check.js';
import type { Finding } from '../attribute/attribute.js';
import { formatPath, type JsonPath } from '../payload/path.js';
import { causeHelp } from './hints.js';
import { helpTarget } from './dialect.js';
import { num, plural, safeText } from './format.js';

/** Where a request's JSON path is, for pointers and annotations (the shell reads the files; the reporter only asks). */
export type Locate = (label: string, path: JsonPath) => { file: string; line?: number };

const noLocate: Locate = (label) => ({ file: label });

/** The finding that explains a step: the first that breaks, else the first. */
function firstCause(s: CheckStep): Finding | undefined {
  return s.report.causes.find((f) => f.breaks) ?? s.report.causes[0];
}

function causeFile(s: CheckStep, f: Finding): string {
  return f.side === 'a' ? s.report.a.label : s.report.b.label;
}

function pct(reused: number, tokens: number): string {
  return tokens ? `${((100 * reused) / tokens).toFixed(1)}%` : '-';
}

/** One line for a session-level problem. */
export function problemText(p: CheckProblem): string {
  switch (p.code) {
    case 'STALE_EXPECTATION':
      return `step ${p.step} (${p.label}) is declared as a break${p.reason ? ` (${p.reason})` : ''} but reuses all of the request before it: remove steps[${JSON.stringify(p.key)}] from the expectations`;
    case 'UNKNOWN_STEP':
      return `the expectations name step ${JSON.stringify(p.key)}, which is not a step of this session (steps 2 to ${p.steps}, or a request's file name)`;
    case 'REUSE_BELOW_MINIMUM':
      return `the session reuses ${(100 * p.ratio).toFixed(1)}% of its prompt tokens, below the declared minReuse of ${(100 * p.min).toFixed(1)}%`;
  }
}

/** The per-session table: step, tokens, reused, %, (what the recording logged,) first cause. */
function table(r: CheckResult, c: ChalkInstance): string[] {
  const logged = r.first.logged !== undefined || r.steps.some((s) => s.logged !== undefined);
  const opt = (v: number | undefined) => (logged ? [v === undefined ? '-' : num(v)] : []);
  const rows: string[][] = [['step', 'tokens', 'reused', '%', ...(logged ? ['logged'] : []), 'first cause']];
  rows.push(['1', num(r.first.tokens), '0', '-', ...opt(r.first.logged), '(first request)']);
  for (const s of r.steps) {
    const cmp = s.report.comparison;
    const f = s.report.reusesAll ? undefined : firstCause(s);
    const cause = f ? `${f.code} ${formatPath(f.path)}` : s.report.reusesAll ? '' : 'no JSON difference found';
    const tag = s.status === 'ok' ? '' : `[${s.status}] `;
    rows.push([String(s.step), num(cmp.tokensB), num(cmp.nPast), pct(cmp.nPast, cmp.tokensB), ...opt(s.logged), safeText(tag + cause)]);
  }
  const widths = rows[0].map((_, i) => Math.max(...rows.map((row) => row[i].length)));
  return rows.map((row, k) => {
    const line = row.map((cell, i) => (i === row.length - 1 ? cell : cell.padStart(widths[i]))).join('  ');
    return `  ${k === 0 ? c.dim(line) : line}`.trimEnd();
  });
}

/** The human `kvdiff check` report: per session a table, a block for each failing step, a summary. */
export function humanCheckReport(sessions: SessionOutcome[] | CheckResult, c: ChalkInstance, locate: Locate = noLocate): string {
  const list = Array.isArray(sessions) ? sessions : [{ name: 'requests', result: sessions }];
  const out: string[] = [];
  let failed = 0;
  let errors = 0;
  for (const s of list) {
    if (s.error) {
      errors++;
      out.push(`${c.red.bold('error')}: ${safeText(s.name)}: ${safeText(s.error.message)}`);
      if (s.error.hint) out.push(`  ${c.green.bold('help')}: ${safeText(s.error.hint)}`);
      continue;
    }
    const r = s.result!;
    if (!r.ok) failed++;
    out.push(`${c.bold('session')} ${safeText(s.name)}: ${plural(r.steps.length + 1, 'request')}, ${pct(r.reuse.reused, r.reuse.tokens)} of the tokens after the first reused`);
    out.push(...table(r, c));
    for (const st of r.steps) {
      if (st.status === 'ok') continue;
      const cmp = st.report.comparison;
      const head = safeText(`step ${st.step}: ${st.report.a.label} → ${st.report.b.label}`);
      if (st.status === 'stale') continue; // worded with the problems below
      const tag = st.status === 'break' ? c.red.bold('break') : c.yellow(st.status);
      out.push(`${tag} ${head}: n_past ${num(cmp.nPast)} of ${num(cmp.tokensB)}, cache break at token ${num(cmp.firstDivergence!.token)}`);
      if (st.status === 'expected') {
        out.push(`  = note: declared as an expected break${st.expectation?.reason ? `: ${safeText(st.expectation.reason)}` : ''}`);
        continue;
      }
      const f = firstCause(st);
      if (!f) continue;
      const at = locate(causeFile(st, f), f.path);
      out.push(`  ${c.blue('-->')} ${safeText(at.file)}${at.line ? `:${at.line}` : ''} ${safeText(formatPath(f.path))} (${f.code})`);
      if (st.status === 'break') out.push(`  ${c.green.bold('help')}: ${safeText(causeHelp(helpTarget(f), st.report.backend))}`);
    }
    for (const st of r.steps) {
      if (st.logged !== undefined && st.logged !== st.report.comparison.nPast) {
        out.push(`  = note: step ${st.step}: the recording logged ${num(st.logged)} tokens reused, kvdiff predicts ${num(st.report.comparison.nPast)} (another client on the slot, a restart, or a different model or server setting)`);
      }
    }
    for (const p of r.problems) out.push(`${c.red.bold('error')}: ${safeText(problemText(p))}`);
  }
  const checked = list.length - errors;
  const summary =
    failed || errors
      ? `${c.red.bold('error')}: ${[failed && `${plural(failed, 'session')} failed`, errors && `${plural(errors, 'session')} could not be checked`].filter(Boolean).join(', ')} (of ${list.length}; run kvdiff A B on a pair for the full report)`
      : `${c.green.bold('ok')}: ${plural(list.reduce((n, s) => n + s.result!.steps.length, 0), 'step')} in ${plural(checked, 'session')}, every request reuses all of the one before (or breaks as declared)`;
  return `${out.join('\n')}\n${summary}\n`;
}

function stepJson(s: CheckStep, session: string) {
  const r = s.report;
  return {
    a: r.a.label,
    b: r.b.label,
    ok: s.ok,
    nPast: r.comparison.nPast,
    tokens: { a: r.comparison.tokensA, b: r.comparison.tokensB },
    reusesAll: r.reusesAll,
    firstDivergence: r.comparison.firstDivergence ? { token: r.comparison.firstDivergence.token, char: r.comparison.firstDivergence.char } : null,
    causes: r.causes.map((f) => ({ code: f.code, path: formatPath(f.path), token: f.token, breaks: f.breaks, side: f.side })),
    // added after schemaVersion 1's first release: each is optional for readers
    session,
    step: s.step,
    status: s.status,
    ...(s.expectation ? { expectation: s.expectation } : {}),
    ...(s.logged !== undefined ? { logged: s.logged } : {}),
  };
}

/** The JSON form of one session. */
export function sessionJson(s: SessionOutcome) {
  if (s.error) return { name: s.name, ok: false, error: s.error };
  return resultJson(s.name, s.result!, s.expectationsFrom);
}

/** The JSON form of one checked session (what the library's `checkSession` returns). */
export function resultJson(name: string, r: CheckResult, expectationsFrom?: string[]) {
  const s = { name, expectationsFrom };
  return {
    name: s.name,
    ok: r.ok,
    breaks: r.breaks,
    first: r.first,
    reuse: r.reuse,
    ...(s.expectationsFrom?.length ? { expectationsFrom: s.expectationsFrom } : {}),
    problems: r.problems.map((p) => ({ ...p, message: problemText(p) })),
    steps: r.steps.map((st) => stepJson(st, s.name)),
  };
}

/**
 * The `kvdiff check --json` contract (schemaVersion 1): `breaks` and `steps` as first released (every session's
 * steps in order), plus `ok`, `sessions` and per-step `session`, `step`, `status`.
 */
export function jsonCheckReport(sessions: SessionOutcome[] | CheckResult, redacted?: boolean): string {
  const list = Array.isArray(sessions) ? sessions : [{ name: 'requests', result: sessions }];
  const done = list.filter((s) => s.result);
  return `${JSON.stringify(
    {
      schemaVersion: 1,
      ...(redacted ? { redacted: true } : {}),
      ok: list.every((s) => s.result?.ok),
      breaks: done.reduce((n, s) => n + s.result!.breaks, 0),
      steps: done.flatMap((s) => s.result!.steps.map((st) => stepJson(st, s.name))),
      sessions: list.map(sessionJson),
    },
    null,
    2,
  )}\n`;
}

/** Workflow-command escaping, after control characters from inputs are made visible (CI logs render ANSI too). */
function escapeData(s: string): string {
  return safeText(s).replace(/%/g, '%25').replace(/\r/g, '%0D').replace(/\n/g, '%0A');
}
function escapeProp(s: string): string {
  return escapeData(s).replace(/:/g, '%3A').replace(/,/g, '%2C');
}
function annotation(kind: 'error' | 'notice', props: { file?: string; line?: number; title: string }, message: string): string {
  const p = [props.file !== undefined && `file=${escapeProp(props.file)}`, props.line && `line=${props.line}`, `title=${escapeProp(props.title)}`].filter(Boolean).join(',');
  return `::${kind} ${p}::${escapeData(message)}`;
}

/** `--format github`: one `::error` per failing step, at the request file and the line of its JSON path. */
export function githubCheckReport(sessions: SessionOutcome[], locate: Locate = noLocate, declaredAt?: (session: string, key?: string) => { file: string; line?: number } | undefined): string {
  const lines: string[] = [];
  for (const s of sessions) {
    if (s.error) {
      lines.push(annotation('error', { file: s.name, title: 'kvdiff check: bad input' }, `${s.error.message}${s.error.hint ? ` (${s.error.hint})` : ''}`));
      continue;
    }
    const r = s.result!;
    for (const st of r.steps) {
      if (st.status !== 'break') continue;
      const cmp = st.report.comparison;
      const breaking = st.report.causes.filter((f) => f.breaks);
      if (!breaking.length) {
        lines.push(annotation('error', { file: locate(st.report.b.label, []).file, title: `kvdiff cache break at step ${st.step}` }, `n_past ${cmp.nPast} of ${cmp.tokensB}: no JSON difference explains it (run kvdiff A B)`));
      }
      for (const f of breaking) {
        const at = locate(causeFile(st, f), f.path);
        const msg = `step ${st.step}: n_past ${cmp.nPast} of ${cmp.tokensB} (${cmp.tokensB - cmp.nPast} tokens re-processed); ${formatPath(f.path)}: ${causeHelp(helpTarget(f), st.report.backend)}`;
        lines.push(annotation('error', { file: at.file, ...(at.line ? { line: at.line } : {}), title: `kvdiff ${f.code} at step ${st.step}` }, msg));
      }
    }
    for (const p of r.problems) {
      const at = declaredAt?.(s.name, p.code === 'REUSE_BELOW_MINIMUM' ? undefined : p.key) ?? { file: p.code === 'STALE_EXPECTATION' ? p.label : s.name };
      lines.push(annotation('error', { file: at.file, ...(at.line ? { line: at.line } : {}), title: `kvdiff ${p.code}` }, problemText(p)));
    }
    if (r.ok) lines.push(annotation('notice', { title: 'kvdiff check' }, `${s.name}: ${r.steps.length + 1} requests, ${pct(r.reuse.reused, r.reuse.tokens)} of the tokens after the first reused`));
  }
  return `${lines.join('\n')}\n`;
}
