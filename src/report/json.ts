import type { Finding } from '../attribute/attribute.js';
import type { DiffReport } from '../analyze.js';
import { formatPath } from '../payload/path.js';
import { dialectJson } from './dialect.js';
import { shownValues } from './hints.js';
import { jsonReuseSteps } from './steps.js';

function finding(f: Finding) {
  const out: Record<string, unknown> = { code: f.code, path: formatPath(f.path), side: f.side };
  if (f.token !== null) out.token = f.token;
  out.breaks = f.breaks;
  if (f.from !== undefined) out.from = f.from;
  if (f.message !== undefined) out.message = f.message;
  const { a, b } = shownValues(f);
  if (a !== undefined) out.a = a;
  if (b !== undefined) out.b = b;
  if (f.error !== undefined) out.error = f.error;
  if (f.elsewhere) out.elsewhere = f.elsewhere;
  if (f.dialect) out.dialect = dialectJson(f);
  return out;
}

/** The `--json` contract (schemaVersion 1); more fields may be added, none removed or renamed. */
export function jsonReport(r: DiffReport): string {
  return `${JSON.stringify(toJsonReport(r), null, 2)}\n`;
}

/** The `--json` report as an object (what the library's `diffRequests` returns). */
export function toJsonReport(r: DiffReport) {
  const cmp = r.comparison;
  const body = {
    schemaVersion: 1,
    nPast: cmp.nPast,
    commonPrefix: cmp.commonPrefix,
    reuseSteps: jsonReuseSteps(cmp.steps),
    tokens: { a: cmp.tokensA, b: cmp.tokensB },
    reprocessed: cmp.tokensB - cmp.nPast,
    reusesAll: r.reusesAll,
    firstDivergence: cmp.firstDivergence ? { token: cmp.firstDivergence.token, char: cmp.firstDivergence.char } : null,
    causes: r.causes.map(finding),
    ignored: r.ignored.map((f) => {
      const { code, path, side, from, elsewhere } = f;
      return { code, path: formatPath(path), side, ...(from ? { from } : {}), ...(elsewhere ? { elsewhere } : {}), ...(f.dialect ? { dialect: dialectJson(f) } : {}) };
    }),
    growth: r.growth.map(finding),
    backend: r.backend,
    date: r.date,
    model: r.model,
    files: { a: r.a.label, b: r.b.label },
    ...(r.logged ? { logged: r.logged } : {}),
    ...(r.slot ? { slot: { tokens: r.slot.ids.length, generatedKept: r.slot.generatedKept, sampled: r.slot.sampled, retokenized: r.slot.retokenized, mismatch: r.slot.mismatch } } : {}),
  };
  return body;
}
