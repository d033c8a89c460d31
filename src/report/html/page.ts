import { createHash } from 'node:crypto';
import type { DiffReport } from '../../analyze.js';
import type { Finding } from '../../attribute/attribute.js';
import { nodesEqual, type JsonNode } from '../../payload/json.js';
import { formatPath } from '../../payload/path.js';
import { causeHelp, ignoredNote } from '../hints.js';
import { dialectCauseNotes, dialectIgnoredNote, helpTarget } from '../dialect.js';
import { num, plural } from '../visible.js';
import { PAGE_CSS, PAGE_JS } from './assets.js';
import { escAttr, escText, scriptJson } from './escape.js';
import { viewData, type ViewWindow } from './view.js';

/** What a session page keeps of each step's prompts: enough to see the break, small enough for a long session. */
export const STEP_WINDOW: ViewWindow = { before: 4000, after: 8000 };

/** A whole HTML document. The policy blocks every fetch and every script but the page's own (by hash). */
function documentShell(title: string, body: string): string {
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

/** Where each highlighted JSON path is drawn: its class and the id of its `<mark>` on each side. */
interface Marks {
  byPath: Map<string, { cls: string; k: number }>;
  /** Paths that hold a marked path below them (drawn open). */
  ancestors: Set<string>;
  /** ids emitted, per side. */
  emitted: { a: Set<number>; b: Set<number> };
}

function pathSeg(seg: string | number): string {
  return formatPath([seg]).slice(1);
}

/** Longest equal string shown whole in the JSON panel; longer ones are cut (they are in the prompts anyway). */
const SAME_STRING_CHARS = 80;

/**
 * Pretty JSON (2-space indent, key order and number text as written) with the marked paths wrapped in `<mark>`.
 * What is the same in both requests and holds no marked path is folded to one line (`{… 4 keys}`), so two 100K-token
 * bodies do not make the page twice their size.
 */
function prettyJson(root: JsonNode, other: JsonNode, marks: Marks, side: 'a' | 'b', prefix: string): string {
  const out: string[] = [];
  const walk = (node: JsonNode, twin: JsonNode | undefined, path: string, ind: string) => {
    const m = marks.byPath.get(path);
    if (!m && !marks.ancestors.has(path) && twin && nodesEqual(node, twin)) {
      out.push(`<span class="same" title="the same in A and B">${escText(folded(node))}</span>`);
      return;
    }
    if (m) {
      out.push(`<mark class="${m.cls}" id="${prefix}-${side}-${m.k}" tabindex="-1" title="${escAttr(path)}">`);
      marks.emitted[side].add(m.k);
    }
    switch (node.type) {
      case 'object':
        if (!node.entries.length) out.push('{}');
        else {
          out.push('{\n');
          node.entries.forEach((e, i) => {
            out.push(`${ind}  ${escText(JSON.stringify(e.key))}: `);
            const t = twin?.type === 'object' ? twin.entries.find((x) => x.key === e.key)?.value : undefined;
            walk(e.value, t, path + pathSeg(e.key), `${ind}  `);
            out.push(i < node.entries.length - 1 ? ',\n' : '\n');
          });
          out.push(`${ind}}`);
        }
        break;
      case 'array':
        if (!node.items.length) out.push('[]');
        else {
          out.push('[\n');
          node.items.forEach((v, i) => {
            out.push(`${ind}  `);
            walk(v, twin?.type === 'array' ? twin.items[i] : undefined, path + pathSeg(i), `${ind}  `);
            out.push(i < node.items.length - 1 ? ',\n' : '\n');
          });
          out.push(`${ind}]`);
        }
        break;
      case 'string':
        out.push(escText(JSON.stringify(node.value)));
        break;
      case 'number':
        out.push(escText(node.raw));
        break;
      default:
        out.push(node.type === 'null' ? 'null' : String(node.value));
    }
    if (m) out.push('</mark>');
  };
  walk(root, other, '$', '');
  return out.join('');
}

/** One line for a subtree that is the same on both sides. */
function folded(node: JsonNode): string {
  switch (node.type) {
    case 'object': {
      const role = node.entries.find((e) => e.key === 'role' && e.value.type === 'string');
      const tag = role?.value.type === 'string' ? ` role ${JSON.stringify(role.value.value)},` : '';
      return `{…${tag} ${node.entries.length} ${node.entries.length === 1 ? 'key' : 'keys'}}`;
    }
    case 'array':
      return `[… ${node.items.length} ${node.items.length === 1 ? 'item' : 'items'}]`;
    case 'string': {
      const j = JSON.stringify(node.value);
      return j.length > SAME_STRING_CHARS ? `${j.slice(0, SAME_STRING_CHARS)}…" (${node.value.length} chars)` : j;
    }
    case 'number':
      return node.raw;
    default:
      return node.type === 'null' ? 'null' : String(node.value);
  }
}

function sideLabel(r: DiffReport, f: Finding): string {
  return f.side === 'a' ? r.a.label : r.b.label;
}

function headline(r: DiffReport): string {
  const cmp = r.comparison;
  const reprocessed = cmp.tokensB - cmp.nPast;
  if (!cmp.firstDivergence) {
    return `<h1><span class="ok">ok</span>: B reuses all ${num(cmp.tokensA)} tokens of A's prompt</h1>
<p class="sub">n_past = <b>${num(cmp.nPast)}</b> of ${num(cmp.tokensB)} · ${plural(reprocessed, 'new token')} to process</p>`;
  }
  const lost = cmp.tokensA - Math.min(cmp.commonPrefix, cmp.nPast);
  const steps = cmp.steps
    .slice(1)
    .map((s) => `<li>${escText(s.detail)} → n_past = ${num(s.nPast)}</li>`)
    .join('');
  return `<h1><span class="bad">cache break</span> at token ${num(cmp.firstDivergence.token)}: n_past = ${num(cmp.nPast)} of ${num(cmp.tokensB)}, ${plural(reprocessed, 'token')} re-processed</h1>
<p class="sub">${num(lost)} of A's ${num(cmp.tokensA)} cached tokens are thrown away · first difference at character ${num(cmp.firstDivergence.char)}</p>${steps ? `<ul class="sub">${steps}</ul>` : ''}`;
}

function causeItem(r: DiffReport, f: Finding, title: string, viewId: string, marks: Marks | null): string {
  const path = formatPath(f.path);
  const where = f.token === null ? '' : ` at token ${num(f.token)}`;
  const vals: string[] = [];
  if (f.from) vals.push(`was "${f.from}" in A`);
  if (f.a !== undefined) vals.push(`A: ${f.a}`);
  if (f.b !== undefined) vals.push(`B: ${f.b}`);
  const notes = dialectCauseNotes(f).map((n) => `<div class="sub">note: ${escText(n)}</div>`);
  if (f.error) notes.push(`<div class="sub">note: could not be tested alone: ${escText(f.error)}</div>`);
  const links: string[] = [];
  if (f.token !== null) links.push(`<a href="#" data-token="${f.token}">show in the prompts</a>`);
  const m = marks?.byPath.get(path);
  if (m) {
    const side = marks!.emitted[f.side].has(m.k) ? f.side : f.side === 'a' ? 'b' : 'a';
    if (marks!.emitted[side].has(m.k)) links.push(`<a href="#${viewId}-j-${side}-${m.k}" data-json="${viewId}-j-${side}-${m.k}">show in the JSON</a>`);
  }
  return `<li><b>${escText(title)}</b>: <span class="tag">${escText(f.code)}</span>${where} · ${escText(sideLabel(r, f))} <code>${escText(path)}</code>
${vals.length ? `<div class="vals mono">${escText(vals.join('\n'))}</div>` : ''}${notes.join('')}
${f.code === 'MESSAGES_APPENDED' && !f.breaks ? '<div class="sub">they extend A\'s prompt without changing it</div>' : `<div class="help"><b>help</b>: ${escText(causeHelp(helpTarget(f), r.backend))}</div>`}
<div>${links.join(' · ')}</div></li>`;
}

function markTable(r: DiffReport): Marks {
  const byPath = new Map<string, { cls: string; k: number }>();
  const ancestors = new Set<string>();
  const add = (fs: Finding[], cls: string) => {
    for (const f of fs) {
      const p = formatPath(f.path);
      if (!byPath.has(p)) byPath.set(p, { cls, k: byPath.size });
      for (let i = 0; i < f.path.length; i++) ancestors.add(formatPath(f.path.slice(0, i)));
    }
  };
  add(r.causes, 'cause');
  add(r.growth, 'grow');
  add(r.ignored, 'ign');
  return { byPath, ancestors, emitted: { a: new Set(), b: new Set() } };
}

/** One diff: headline, causes, the two prompts (drawn by the script), and optionally both request bodies. */
export function diffSection(r: DiffReport, id: string, opts: { bodies?: { a: JsonNode; b: JsonNode }; window?: ViewWindow; main?: boolean } = {}): string {
  const marks = opts.bodies ? markTable(r) : null;
  const json =
    opts.bodies && marks
      ? `<details class="json" open><summary><h2 style="display:inline">Request JSON</h2> <span class="sub">(<mark class="cause">cause</mark> <mark class="grow">appended</mark> <mark class="ign">ignored</mark>; what is the same in both and holds none of these is folded to one line)</span></summary>
<div class="cols"><div><h3>A: ${escText(r.a.label)}</h3><pre tabindex="0">${prettyJson(opts.bodies.a, opts.bodies.b, marks, 'a', `${id}-j`)}</pre></div>
<div><h3>B: ${escText(r.b.label)}</h3><pre tabindex="0">${prettyJson(opts.bodies.b, opts.bodies.a, marks, 'b', `${id}-j`)}</pre></div></div></details>`
      : '';
  const breaking = r.causes.filter((f) => f.breaks);
  const later = r.causes.filter((f) => !f.breaks);
  const items = [
    ...breaking.map((f, i) => causeItem(r, f, `cause ${i + 1} of ${breaking.length}`, id, marks)),
    ...later.map((f) => causeItem(r, f, 'changes the prompt after the cached part', id, marks)),
    ...r.growth.map((f) => causeItem(r, f, 'appended', id, marks)),
  ];
  const ignored = r.ignored.map(
    (f) => `<li><span class="tag">${escText(f.code)}</span> ${escText(sideLabel(r, f))} <code>${escText(formatPath(f.path))}</code>: <span class="sub">${escText(dialectIgnoredNote(f) ?? ignoredNote(f, r.backend))}</span></li>`,
  );
  const redacted = (r as { redacted?: boolean }).redacted ? '<p class="sub"><b>redacted</b>: message text is replaced by placeholders of the same length; token counts and positions are those of the real prompts</p>' : '';
  const data = viewData(r, `${id}-data`, opts.window);
  const laterNote =
    !r.comparison.firstDivergence
      ? ''
      : data.hunks === null
        ? '<p class="sub">after the first difference the prompts differ too much to mark each later difference</p>'
        : `<p class="sub">after the first difference: ${data.hunks <= 1 ? 'no other place differs' : `${plural(data.hunks - 1, 'more place')} where the text differs`} (lines marked with a wavy underline; the dotted underline is what the server re-processes)</p>`;
  return `<div class="diff" data-view="${id}-data"${opts.main ? ' data-main' : ''}>
${headline(r)}${redacted}
${items.length ? `<h2>Causes</h2><ol class="causes">${items.join('\n')}</ol>` : r.comparison.firstDivergence ? '<p class="sub">no JSON difference was tested as a cause (rendered prompts, or nothing differs in the JSON)</p>' : ''}
${ignored.length ? `<details><summary>${plural(ignored.length, 'difference')} that do not change the rendered prompt</summary><ul>${ignored.join('')}</ul></details>` : ''}
<h2>Rendered prompts</h2>${laterNote}
<div class="tools"><label><input type="checkbox" data-toggle> show token boundaries</label> <a href="#" data-token="${r.comparison.commonPrefix}">go to the first difference</a><span class="status" aria-live="polite"></span></div>
<div class="prompts">
<div class="pane" data-side="a"><h3>A: ${escText(r.a.label)} <span class="sub">(${plural(r.comparison.tokensA, 'token')})</span></h3><pre class="txt" tabindex="0"></pre></div>
<div class="pane" data-side="b"><h3>B: ${escText(r.b.label)} <span class="sub">(${plural(r.comparison.tokensB, 'token')})</span></h3><pre class="txt" tabindex="0"></pre></div>
</div>
${json}
<script type="application/json" id="${id}-data">${scriptJson(data)}</script>
</div>`;
}

function footer(r: DiffReport): string {
  const m = r.model;
  const tpl = m.templateName ? `, template "${m.templateName}"` : '';
  return `<footer>model ${escText(m.name)} (${escText(m.kind)}${escText(tpl)}, template sha256 ${escText(m.templateSha256.slice(0, 12))}) · backend ${escText(r.backend)} · date ${escText(r.date)} · made by kvdiff; this file loads nothing from the network</footer>`;
}

/** `kvdiff A B --format html`: the whole of both prompts and both bodies, in one self-contained page. */
export function htmlDiffPage(r: DiffReport, bodies?: { a: JsonNode; b: JsonNode }): string {
  return documentShell(`kvdiff: ${r.a.label} → ${r.b.label}`, `<main>${diffSection(r, 'd', { bodies, main: true })}</main>\n${footer(r)}`);
}

/** One step of a checked session. */
export interface SessionStep {
  report: DiffReport;
  ok: boolean;
}

function seconds(tokens: number, rate: number): string {
  const s = tokens / rate;
  return s >= 120 ? `${(s / 60).toFixed(1)} min` : `${s.toFixed(s >= 10 ? 0 : 1)} s`;
}

/** `kvdiff check --format html`: a bar per step (reused, re-processed), a summary, and each step's diff on a click. */
export function htmlSessionPage(steps: SessionStep[], opts: { ppRate?: number; rateFrom?: string } = {}): string {
  const max = Math.max(1, ...steps.map((s) => s.report.comparison.tokensB));
  let reused = 0;
  let reprocessed = 0;
  let lost = 0;
  let total = 0;
  const breaks = steps.filter((s) => !s.ok).length;
  const bars: string[] = [];
  const axis: string[] = [];
  const rows: string[] = [];
  const sections: string[] = [];
  steps.forEach(({ report: r, ok }, i) => {
    const n = i + 1;
    const cmp = r.comparison;
    const redo = cmp.tokensB - cmp.nPast;
    const thrown = cmp.firstDivergence ? cmp.tokensA - Math.min(cmp.commonPrefix, cmp.nPast) : 0;
    reused += cmp.nPast;
    reprocessed += redo;
    lost += thrown;
    total += cmp.tokensB;
    const first = r.causes.find((f) => f.breaks) ?? r.causes[0];
    const verdict = r.reusesAll ? 'reuses all' : ok ? 'break (allowed)' : 'break';
    const label = `step ${n}: ${r.a.label} → ${r.b.label}: ${verdict}, n_past ${num(cmp.nPast)} of ${num(cmp.tokensB)}, ${num(redo)} re-processed`;
    bars.push(
      `<button type="button" class="bar${r.reusesAll ? '' : ' brk'}" data-step="${n}" aria-pressed="false" aria-label="${escAttr(label)}" title="${escAttr(label)}"><span class="r" style="height:${((cmp.nPast / max) * 100).toFixed(2)}%"></span><span class="p" style="height:${((redo / max) * 100).toFixed(2)}%"></span></button>`,
    );
    axis.push(`<span>${n}</span>`);
    rows.push(
      `<tr><td>${n}</td><td><a href="#step-${n}" data-step="${n}">${escText(r.a.label)} → ${escText(r.b.label)}</a></td><td>${escText(verdict)}</td><td>${num(cmp.tokensB)}</td><td>${num(cmp.nPast)}</td><td>${num(redo)}</td><td>${num(thrown)}</td><td>${first ? `${escText(first.code)} <code>${escText(formatPath(first.path))}</code>` : ''}</td></tr>`,
    );
    sections.push(`<section class="stepdiff" id="step-${n}" hidden><p class="sub">step ${n} of ${steps.length}: ${escText(r.a.label)} → ${escText(r.b.label)}</p>${diffSection(r, `s${n}`, { window: STEP_WINDOW })}</section>`);
  });
  const rate = opts.ppRate;
  const time = rate ? `<div>time lost<b>${seconds(lost, rate)}</b><span class="sub">at ${num(Math.round(rate))} tokens/s${opts.rateFrom ? `, as measured in ${escText(opts.rateFrom)}` : ''} (re-processing all: ${seconds(reprocessed, rate)})</span></div>` : '<div>time lost<b>–</b><span class="sub">pass --pp-rate &lt;tokens/s&gt; or --timings &lt;server log&gt;</span></div>';
  const head = breaks
    ? `<h1><span class="bad">${plural(breaks, 'break')}</span> in ${plural(steps.length, 'step')}</h1>`
    : `<h1><span class="ok">ok</span>: ${plural(steps.length, 'step')}, every request reuses all of the one before</h1>`;
  const first = steps[0]?.report;
  const body = `<main>${head}
<div class="summary"><div>prompt tokens<b>${num(total)}</b></div><div>reused (n_past)<b>${num(reused)}</b></div><div>re-processed<b>${num(reprocessed)}</b></div><div>cached tokens thrown away<b>${num(lost)}</b></div>${time}</div>
<h2>Reuse per step</h2>
<p class="legend sub"><span style="background:var(--reused)"></span>reused <span style="background:repeating-linear-gradient(45deg,var(--redo) 0 4px,#f6d28a 4px 7px)"></span>re-processed · ✕ cache break · click a step (or focus it and press Enter; arrow keys move) to open its diff</p>
<div class="chart" role="group" aria-label="tokens per step">${bars.join('')}</div>
<div class="axis" aria-hidden="true">${axis.join('')}</div>
<table class="steps"><thead><tr><th>step</th><th>requests</th><th>verdict</th><th>tokens</th><th>reused</th><th>re-processed</th><th>thrown away</th><th>first cause</th></tr></thead><tbody>${rows.join('')}</tbody></table>
${sections.join('\n')}
</main>
${first ? footer(first) : ''}`;
  return documentShell(`kvdiff check: ${plural(steps.length, 'step')}`, body);
}
