import type { ChalkInstance } from 'chalk';
import { num, safeText } from '../../report/format.js';
import type { RecordLine } from './analysis.js';

/** Control characters of untrusted text (paths, notes) shown as escapes, never sent to the terminal. */
const plain = safeText;

/** The human line (or two, when prediction and server disagree) for one request. */
export function humanLine(l: RecordLine, c: ChalkInstance): string {
  const head = `${c.bold(plain(`${l.session} #${l.seq}`))}`;
  const tokens = l.tokens === null ? '' : ` ${num(l.tokens)} tokens`;
  const server = l.reported === null ? '' : `, server ${num(l.reported)}`;
  let status: string;
  if (l.tokens === null) status = `${c.dim('-')} not analysed${l.reported === null ? '' : `, server reused ${num(l.reported)}`}`;
  else if (l.predicted === null) status = `${c.dim('·')}${tokens}${l.reported === null ? '' : `, server reused ${num(l.reported)}`}`;
  else if (l.break) {
    const where = l.break.path ? `: ${c.cyan(plain(l.break.path))} ${c.dim(l.break.code ?? '')}` : '';
    status = `${c.red('✗')}${tokens}, reuse ${num(l.predicted)} predicted${server}; break at token ${num(l.break.token)} of ${num(l.break.of)}${where}`;
  } else status = `${c.green('✓')}${tokens}, reuse ${num(l.predicted)} predicted${server}`;
  const out = [`${head} ${status}`];
  if (l.note) out.push(`  ${c.dim('= note:')} ${plain(l.note)}`);
  if (l.agrees === false) {
    out.push(
      `  ${c.yellow('! disagree:')} server reused ${num(l.reported!)} (${l.reportedField}), kvdiff predicted ${num(l.predicted!)}` +
        c.dim(' (another conversation in the slot, a different template or tokenizer, or a cache setting kvdiff was not told)'),
    );
  }
  return `${out.join('\n')}\n`;
}

/** The JSON line for one request (`--json`). */
export function jsonLine(l: RecordLine): string {
  return `${JSON.stringify(l)}\n`;
}
