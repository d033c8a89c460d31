import type { ChalkInstance } from 'chalk';
import { diffChars } from 'diff';
import type { Finding } from '../attribute/attribute.js';
import type { DiffReport } from '../analyze.js';
import { formatPath as rawPath, type JsonPath } from '../payload/path.js';
import { causeHelp as rawHelp, ignoredNote as rawNote, shownValues } from './hints.js';
import { dialectCauseNotes, dialectIgnoredNote, dialectIgnoredWhere, helpTarget } from './dialect.js';
import { reuseStepText } from './steps.js';
import { num, plural, quotePiece, safeText, visible } from './format.js';

// Everything below quotes inputs (file names, JSON keys and values, template messages): each goes through safeText,
// so no input byte reaches the terminal as a control character.
const formatPath = (p: JsonPath) => safeText(rawPath(p));
const causeHelp = (...args: Parameters<typeof rawHelp>) => safeText(rawHelp(...args));
const ignoredNote = (...args: Parameters<typeof rawNote>) => safeText(rawNote(...args));
const quoted = (s: string | undefined) => (s === undefined ? undefined : safeText(s));

/** Characters of rendered text shown on each side of the divergence. */
export const CONTEXT_CHARS = 48;
/** Tokens shown before and after the first differing one. */
export const CONTEXT_TOKENS = 3;

/** The rustc-shaped human report. `c` decides colour; pass a level-0 chalk for plain text. */
export function humanReport(r: DiffReport, c: ChalkInstance): string {
  const out: string[] = [];
  const cmp = r.comparison;
  const d = cmp.firstDivergence;
  const reprocessed = cmp.tokensB - cmp.nPast;
  if (!d) {
    out.push(
      `${c.green.bold('ok')}${c.bold(`: B reuses all ${num(cmp.tokensA)} tokens of A's prompt`)} (n_past = ${num(cmp.nPast)} of ${num(cmp.tokensB)}, ${plural(reprocessed, 'new token')} to process)`,
    );
  } else {
    out.push(
      `${c.red.bold('error')}${c.bold(`: cache break at token ${num(d.token)}: n_past = ${num(cmp.nPast)} of ${num(cmp.tokensB)}, ${plural(reprocessed, 'token')} re-processed`)}`,
    );
    // after a checkpoint fallback the server keeps less than the common prefix
    const lost = cmp.tokensA - Math.min(cmp.commonPrefix, cmp.nPast);
    out.push(`  ${c.dim('=')} ${c.bold('note')}: ${num(lost)} of A's ${num(cmp.tokensA)} cached tokens are thrown away`);
    const first = r.causes[0];
    if (first) out.push(`  ${c.blue('-->')} ${sideLabel(r, first)} ${c.cyan(formatPath(first.path))} ${c.dim(`(${first.code})`)}`);
    out.push(...renderedSnippet(r, c));
    out.push(...tokenContext(r, c));
  }
  for (const step of cmp.steps.slice(1)) {
    out.push(`  ${c.dim('=')} ${c.bold('note')}: ${reuseStepText(step)} → n_past = ${num(step.nPast)}`);
  }
  const breaking = r.causes.filter((f) => f.breaks);
  const later = r.causes.filter((f) => !f.breaks);
  breaking.forEach((f, i) => out.push('', ...cause(r, f, `cause ${i + 1} of ${breaking.length}`, c)));
  later.forEach((f) => out.push('', ...cause(r, f, 'changes the prompt after the cached part', c)));
  if (r.ignored.length) {
    const one = r.ignored.length === 1;
    out.push('', `${c.bold(`ignored: ${plural(r.ignored.length, 'difference')} that ${one ? 'does' : 'do'} not change the rendered prompt`)}`);
    for (const f of r.ignored) {
      out.push(`  ${c.dim('=')} ${f.code} ${sideLabel(r, f)} ${c.cyan(formatPath(f.path))}${f.from ? c.dim(` (was "${quoted(f.from)}")`) : ''}`);
      out.push(`      ${c.dim(quoted(dialectIgnoredNote(f) ?? undefined) ?? ignoredNote(f))}`);
      const where = dialectIgnoredWhere(f);
      if (where) out.push(`      ${c.dim(safeText(where))}`);
    }
  }
  for (const g of r.growth) {
    out.push('', `${c.dim('=')} ${c.bold('note')}: B appends ${quoted(shownValues(g).b) ?? 'messages'} from ${formatPath(g.path)}; they extend A's prompt without changing it`);
  }
  if (r.slot) out.push('', ...slotLines(r, c));
  if (r.logged) out.push('', ...loggedLines(r, c));
  out.push('', c.dim(safeText(modelLine(r))));
  return `${out.join('\n')}\n`;
}

function sideLabel(r: DiffReport, f: Finding): string {
  return safeText(f.side === 'a' ? r.a.label : r.b.label);
}

function cause(r: DiffReport, f: Finding, title: string, c: ChalkInstance): string[] {
  const where = f.token === null ? '' : ` at token ${num(f.token)}`;
  const lines = [`${c.yellow.bold(title)}${c.bold(`: ${f.code}${where}`)}`];
  lines.push(`  ${c.blue('-->')} ${sideLabel(r, f)} ${c.cyan(formatPath(f.path))}${f.from ? c.dim(` (A: "${quoted(f.from)}")`) : ''}`);
  const shown = shownValues(f);
  if (shown.a !== undefined && shown.b !== undefined) {
    const [a, b] = markedPair(safeText(shown.a), safeText(shown.b), c);
    lines.push(`  ${c.dim('=')} A: ${a}`, `  ${c.dim('=')} B: ${b}`);
  } else {
    if (shown.a !== undefined) lines.push(`  ${c.dim('=')} A: ${quoted(shown.a)}`);
    if (shown.b !== undefined) lines.push(`  ${c.dim('=')} B: ${quoted(shown.b)}`);
  }
  for (const note of dialectCauseNotes(f)) lines.push(`  ${c.dim('=')} ${c.bold('note')}: ${safeText(note)}`);
  if (f.error) lines.push(`  ${c.dim('=')} ${c.bold('note')}: could not be tested alone: ${quoted(f.error)}`);
  if (f.elsewhere && !f.elsewhere.changesRender) {
    lines.push(`  ${c.dim('=')} ${c.bold('note')}: under --backend ${f.elsewhere.backend} this difference does not change the prompt`);
  }
  lines.push(`  ${c.green.bold('help')}: ${causeHelp(helpTarget(f), r.backend)}`);
  return lines;
}

/**
 * The two value snippets with what differs marked (jsdiff's character diff): `[-removed-]` on A's side and
 * `{+added+}` on B's, coloured on a terminal, so a trimmed `\n\n` or a changed digit is visible either way.
 */
function markedPair(a: string, b: string, c: ChalkInstance): [string, string] {
  let left = '';
  let right = '';
  for (const part of diffChars(a, b)) {
    if (part.added) right += c.green(`{+${part.value}+}`);
    else if (part.removed) left += c.red(`[-${part.value}-]`);
    else {
      left += part.value;
      right += part.value;
    }
  }
  return [left, right];
}

/** Both rendered prompts around the first differing character, aligned, with a caret under it. */
function renderedSnippet(r: DiffReport, c: ChalkInstance): string[] {
  const at = r.comparison.firstDivergence!.utf16;
  const from = Math.max(0, at - CONTEXT_CHARS);
  const show = (text: string) => {
    const head = visible(text.slice(from, at));
    const tail = visible(text.slice(at, at + CONTEXT_CHARS));
    return { head, tail, more: text.length > at + CONTEXT_CHARS };
  };
  const a = show(r.a.rendered);
  const b = show(r.b.rendered);
  const pre = from > 0 ? '…' : '';
  const col = [...pre].length + [...a.head].length;
  return [
    `   ${c.blue('|')}`,
    ` ${c.blue('A |')} ${pre}${a.head}${c.red(a.tail)}${a.more ? '…' : ''}`,
    ` ${c.blue('B |')} ${pre}${b.head}${c.green(b.tail)}${b.more ? '…' : ''}`,
    `   ${c.blue('|')} ${' '.repeat(col)}${c.red.bold('^')} ${c.dim(`first difference (character ${num(r.comparison.firstDivergence!.char)})`)}`,
  ];
}

/** The token ids and pieces around the first differing token, on each side. */
function tokenContext(r: DiffReport, c: ChalkInstance): string[] {
  const t = r.comparison.firstDivergence!.token;
  const from = Math.max(0, t - CONTEXT_TOKENS);
  const side = (ids: number[]) => {
    const parts: string[] = [];
    for (let i = from; i < Math.min(ids.length, t + CONTEXT_TOKENS + 1); i++) {
      // --redact replaces ids that would decode to message text by negative stand-ins
      const text = `${ids[i] < 0 ? 'redacted' : ids[i]} ${safeText(quotePiece(r.piece(ids[i])))}`;
      parts.push(i === t ? c.bold.underline(`[${i}] ${text}`) : text);
    }
    if (t >= ids.length) parts.push(c.dim('(end of prompt)'));
    return parts.join(c.dim(' · '));
  };
  return [`  ${c.dim('=')} ${c.bold('note')}: A tokens: ${side(r.a.ids)}`, `  ${c.dim('=')} ${c.bold('note')}: B tokens: ${side(r.b.ids)}`];
}

function modelLine(r: DiffReport): string {
  const m = r.model;
  const tpl = m.templateName ? `, template "${m.templateName}"` : '';
  return `model ${m.name} (${m.kind}${tpl}, template sha256 ${m.templateSha256.slice(0, 12)}) · backend ${r.backend} · date ${r.date}`;
}

function loggedLines(r: DiffReport, c: ChalkInstance): string[] {
  const l = { ...r.logged!, file: safeText(r.logged!.file) };
  if (l.reused === null) return [`${c.dim('=')} ${c.bold('note')}: ${l.file} has no request with a logged n_past`];
  const where = l.task === null ? '' : ` (task ${l.task}${l.slot === null ? '' : `, slot ${l.slot}`})`;
  const lines = [`${c.dim('=')} ${c.bold('note')}: ${l.file} logged n_past = ${num(l.reused)}${where}; kvdiff predicts ${num(r.comparison.nPast)}`];
  if (l.agrees) return lines;
  const sizes = l.promptTokens !== null && l.promptTokens !== r.comparison.tokensB ? ` (the logged prompt has ${num(l.promptTokens)} tokens, B renders to ${num(r.comparison.tokensB)})` : '';
  lines.push(
    `${c.yellow.bold('warning')}: the log and the prediction disagree${sizes}: likely a different template, tokenizer or backend flag (--cache-reuse, SWA checkpoints), or another request used the slot in between`,
  );
  return lines;
}

function slotLines(r: DiffReport, c: ChalkInstance): string[] {
  const s = r.slot!;
  const sampled = s.sampled === null ? '' : `${num(s.sampled)} sampled, `;
  const lines = [`${c.dim('=')} ${c.bold('note')}: A's reply: ${sampled}${num(s.generatedKept)} kept in the slot after A's ${num(r.comparison.tokensA)} prompt tokens`];
  if (s.mismatch) {
    lines.push(
      `${c.dim('=')} ${c.bold('note')}: re-tokenizing the reply's text gives ${num(s.retokenized)} tokens, not ${num(s.sampled!)}: the slot holds the tokens the model sampled, which no re-rendered text reproduces; expect the cache to stop where the reply starts`,
    );
  }
  return lines;
}
