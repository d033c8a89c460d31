import type { DiffReport } from '../analyze.js';
import { formatPath } from '../payload/path.js';
import { causeHelp } from './hints.js';
import { safeText } from './format.js';

/** Workflow-command escaping, after control characters from inputs are made visible (CI logs render ANSI too). */
function escapeData(s: string): string {
  return safeText(s).replace(/%/g, '%25').replace(/\r/g, '%0D').replace(/\n/g, '%0A');
}
function escapeProp(s: string): string {
  return escapeData(s).replace(/:/g, '%3A').replace(/,/g, '%2C');
}

/** GitHub Actions workflow commands: one `::error` per cause, so a CI run annotates the capture files. */
export function githubReport(r: DiffReport): string {
  const cmp = r.comparison;
  if (!cmp.firstDivergence) return `::notice title=kvdiff::B reuses all ${cmp.tokensA} tokens of A's prompt (n_past ${cmp.nPast})\n`;
  const lines = r.causes
    .filter((f) => f.breaks)
    .map((f) => {
      const file = f.side === 'a' ? r.a.label : r.b.label;
      const title = `kvdiff ${f.code} at token ${f.token}`;
      return `::error file=${escapeProp(file)},title=${escapeProp(title)}::${escapeData(`${formatPath(f.path)}: ${causeHelp(f, r.backend)}`)}`;
    });
  lines.unshift(`::error title=kvdiff cache break::${escapeData(`n_past = ${cmp.nPast} of ${cmp.tokensB}; ${cmp.tokensB - cmp.nPast} tokens re-processed`)}`);
  return `${lines.join('\n')}\n`;
}
