import type { ChalkInstance } from 'chalk';
import type { CheckResult } from '../check.js';
import { formatPath } from '../payload/path.js';
import { causeHelp } from './hints.js';
import { helpTarget } from './dialect.js';
import { num, plural, safeText } from './format.js';

/** The human `kvdiff check` report: one line per step, `help:` for a break, a summary. */
export function humanCheckReport({ steps, breaks }: CheckResult, c: ChalkInstance): string {
  const out: string[] = [];
  let lost = 0;
  for (const { report: r, ok } of steps) {
    const cmp = r.comparison;
    const head = safeText(`${r.a.label} → ${r.b.label}`);
    if (r.reusesAll) {
      out.push(`${c.green('ok')}    ${head}: reuses all ${num(cmp.tokensA)} tokens (n_past ${num(cmp.nPast)} of ${num(cmp.tokensB)})`);
      continue;
    }
    const first = r.causes.find((f) => f.breaks) ?? r.causes[0];
    const where = first ? `: ${first.code} ${safeText(formatPath(first.path))}` : '';
    const tag = ok ? c.yellow('allow') : c.red.bold('break');
    out.push(`${tag} ${head}: n_past ${num(cmp.nPast)} of ${num(cmp.tokensB)}, cache break at token ${num(cmp.firstDivergence!.token)}${where}`);
    if (first && !ok) out.push(`      ${c.green.bold('help')}: ${safeText(causeHelp(helpTarget(first), r.backend))}`);
    if (!ok) lost += cmp.tokensA - Math.min(cmp.commonPrefix, cmp.nPast);
  }
  const summary = breaks
    ? `${c.red.bold('error')}: ${plural(breaks, 'break')} in ${plural(steps.length, 'step')}: ${plural(lost, 'cached token')} thrown away (run kvdiff A B on a pair for the full report)`
    : `${c.green.bold('ok')}: ${plural(steps.length, 'step')}, every request reuses all of the one before`;
  return `${out.join('\n')}\n${summary}\n`;
}

/** The `kvdiff check --json` contract (schemaVersion 1). */
export function jsonCheckReport({ steps, breaks }: CheckResult, redacted?: boolean): string {
  return `${JSON.stringify(
    {
      schemaVersion: 1,
      ...(redacted ? { redacted: true } : {}),
      breaks,
      steps: steps.map(({ report: r, ok }) => ({
        a: r.a.label,
        b: r.b.label,
        ok,
        nPast: r.comparison.nPast,
        tokens: { a: r.comparison.tokensA, b: r.comparison.tokensB },
        reusesAll: r.reusesAll,
        firstDivergence: r.comparison.firstDivergence ? { token: r.comparison.firstDivergence.token, char: r.comparison.firstDivergence.char } : null,
        causes: r.causes.map((f) => ({ code: f.code, path: formatPath(f.path), token: f.token, breaks: f.breaks })),
      })),
    },
    null,
    2,
  )}\n`;
}
