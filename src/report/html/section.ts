import { reuseStepText } from '../steps.js';
import type { DiffReport } from '../../analyze.js';
import type { Finding } from '../../attribute/attribute.js';
import type { JsonNode } from '../../payload/json.js';
import { formatPath } from '../../payload/path.js';
import { causeHelp, ignoredNote } from '../hints.js';
import { dialectCauseNotes, dialectIgnoredNote, helpTarget } from '../dialect.js';
import { num, plural } from '../format.js';
import { escText, scriptJson } from './escape.js';
import { prettyJson, type Marks } from './json.js';
import { viewData, type ViewWindow } from './view.js';

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
    .map((s) => `<li>${escText(reuseStepText(s))} → n_past = ${num(s.nPast)}</li>`)
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
    (f) => `<li><span class="tag">${escText(f.code)}</span> ${escText(sideLabel(r, f))} <code>${escText(formatPath(f.path))}</code>: <span class="sub">${escText(dialectIgnoredNote(f) ?? ignoredNote(f))}</span></li>`,
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

