import type { DiffReport } from '../../analyze.js';
import { formatPath } from '../../payload/path.js';
import { num, plural } from '../format.js';
import { escAttr, escText } from './escape.js';
import { diffSection } from './section.js';
import { documentShell, footer } from './shell.js';
import type { ViewWindow } from './view.js';

/** What a session page keeps of each step's prompts: enough to see the break, small enough for a long session. */
export const STEP_WINDOW: ViewWindow = { before: 4000, after: 8000 };

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
