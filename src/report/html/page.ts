import type { DiffReport } from '../../analyze.js';
import type { JsonNode } from '../../payload/json.js';
import { diffSection } from './section.js';
import { documentShell, footer } from './shell.js';

/** The HTML reports: `page.ts` for a pair, `session.ts` for `kvdiff check`; `section.ts` draws one diff of either. */
export { htmlSessionPage, type SessionStep } from './session.js';

/** `kvdiff A B --format html`: the whole of both prompts and both bodies, in one self-contained page. */
export function htmlDiffPage(r: DiffReport, bodies?: { a: JsonNode; b: JsonNode }): string {
  return documentShell(`kvdiff: ${r.a.label} → ${r.b.label}`, `<main>${diffSection(r, 'd', { bodies, main: true })}</main>\n${footer(r)}`);
}

