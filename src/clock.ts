import { KvdiffError } from './errors.js';

const MONTHS = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October', 'November', 'December'];
const DAYS = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];

/**
 * C `strftime` over the wall-clock fields of `d` (read as UTC: `--date 2026-11-27` means that calendar day
 * wherever kvdiff runs), in the C locale as llama.cpp and Python use.
 */
export function strftime(d: Date, fmt: string): string {
  const p2 = (n: number) => String(n).padStart(2, '0');
  return fmt.replace(/%([a-zA-Z%])/g, (m, c: string) => {
    switch (c) {
      case 'Y': return String(d.getUTCFullYear());
      case 'y': return p2(d.getUTCFullYear() % 100);
      case 'm': return p2(d.getUTCMonth() + 1);
      case 'd': return p2(d.getUTCDate());
      case 'e': return String(d.getUTCDate()).padStart(2, ' ');
      case 'b': case 'h': return MONTHS[d.getUTCMonth()].slice(0, 3);
      case 'B': return MONTHS[d.getUTCMonth()];
      case 'a': return DAYS[d.getUTCDay()].slice(0, 3);
      case 'A': return DAYS[d.getUTCDay()];
      case 'H': return p2(d.getUTCHours());
      case 'I': return p2(((d.getUTCHours() + 11) % 12) + 1);
      case 'p': return d.getUTCHours() < 12 ? 'AM' : 'PM';
      case 'M': return p2(d.getUTCMinutes());
      case 'S': return p2(d.getUTCSeconds());
      case 'j': {
        const start = Date.UTC(d.getUTCFullYear(), 0, 1);
        return String(Math.floor((d.getTime() - start) / 86_400_000) + 1).padStart(3, '0');
      }
      case 'F': return `${d.getUTCFullYear()}-${p2(d.getUTCMonth() + 1)}-${p2(d.getUTCDate())}`;
      case 'T': return `${p2(d.getUTCHours())}:${p2(d.getUTCMinutes())}:${p2(d.getUTCSeconds())}`;
      case '%': return '%';
      default: return m;
    }
  });
}

/** Parses `--date` (`YYYY-MM-DD` or an ISO date-time) into the wall clock templates see. */
export function parseDate(text: string): Date {
  const m = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2}))?)?$/.exec(text.trim());
  if (!m) throw new KvdiffError(`--date ${JSON.stringify(text)} is not a date`, 'write it as YYYY-MM-DD or YYYY-MM-DDTHH:MM');
  const [, y, mo, d, h = '0', mi = '0', s = '0'] = m;
  const date = new Date(Date.UTC(+y, +mo - 1, +d, +h, +mi, +s));
  if (date.getUTCMonth() !== +mo - 1 || date.getUTCDate() !== +d) throw new KvdiffError(`--date ${text} is not a calendar date`);
  return date;
}
