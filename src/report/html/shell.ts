import { createHash } from 'node:crypto';
import type { DiffReport } from '../../analyze.js';
import { PAGE_CSS, PAGE_JS } from './assets.js';
import { escText } from './escape.js';

/** A whole HTML document. The policy blocks every fetch and every script but the page's own (by hash). */
export function documentShell(title: string, body: string): string {
  const hash = createHash('sha256').update(PAGE_JS).digest('base64');
  const csp = `default-src 'none'; style-src 'unsafe-inline'; script-src 'sha256-${hash}'; img-src data:; form-action 'none'; base-uri 'none'`;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="${csp}">
<meta name="viewport" content="width=device-width,initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>${escText(title)}</title>
<style>${PAGE_CSS}</style></head>
<body>
${body}
<script>${PAGE_JS}</script>
</body></html>
`;
}

export function footer(r: DiffReport): string {
  const m = r.model;
  const tpl = m.templateName ? `, template "${m.templateName}"` : '';
  return `<footer>model ${escText(m.name)} (${escText(m.kind)}${escText(tpl)}, template sha256 ${escText(m.templateSha256.slice(0, 12))}) · backend ${escText(r.backend)} · date ${escText(r.date)} · made by kvdiff; this file loads nothing from the network</footer>`;
}

