import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from './cli-harness.js';
import { tempFiles } from './tmp.js';
import { SECRET_WORDS, hostilePair, secretPair } from './html-fixtures.js';
import { maskOccurrences, maskText } from '../src/report/redact.js';
import { escAttr, escText, scriptJson } from '../src/report/html/escape.js';

const DATE = ['--date', '2026-11-27'];
const files = tempFiles('html');
const secret = secretPair();
const sa = files.write('secret-a.json', secret.a);
const sb = files.write('secret-b.json', secret.b);

describe('html escaping', () => {
  it('text, attributes and script data cannot break out of their place', () => {
    expect(escText('<b>&"')).toBe('&lt;b&gt;&amp;"');
    expect(escAttr(`"'<>&`)).not.toMatch(/["'<>]/);
    const s = scriptJson({ x: '</script><!--\u2028' });
    expect(s).not.toMatch(/[<>\u2028]/);
    expect(JSON.parse(s)).toEqual({ x: '</script><!--\u2028' });
  });

  it('a page built from hostile prompt text and keys holds no markup from it', async () => {
    const { a, b } = hostilePair();
    const out = join(files.dir, 'hostile.html');
    const r = await runCli([files.write('hostile-a.json', a), files.write('hostile-b.json', b), '--format', 'html', '--out', out, ...DATE]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(1);
    const page = readFileSync(out, 'utf8');
    // exactly the page's own elements: one script, one data block, no element from the input
    expect(page.match(/<script/g)).toHaveLength(2);
    expect(page).not.toMatch(/<(img|svg|iframe)\b/i);
    expect(page).not.toContain('window.__pwned=1</script>');
    // the text is there, escaped
    expect(page).toContain('&lt;/script&gt;&lt;script&gt;window.__pwned=1&lt;/script&gt;');
    expect(page).toContain(`default-src 'none'`);
  });
});

describe('--redact', () => {
  const unredactedWords = SECRET_WORDS;
  it('the pair really contains the words, unredacted', async () => {
    const r = await runCli([sa, sb, ...DATE, '--format', 'html']);
    for (const w of unredactedWords) expect(r.stdout).toContain(w);
  });

  for (const format of ['human', 'json', 'html', 'github']) {
    it(`--format ${format}: none of the message text is left, the numbers are those of the real prompts`, async () => {
      const red = await runCli([sa, sb, ...DATE, '--format', format, '--redact']);
      expect(red.stderr).toBe('');
      expect(red.code).toBe(1);
      for (const w of SECRET_WORDS) {
        expect(red.stdout).not.toContain(w);
        expect(red.stdout.toLowerCase()).not.toContain(w.toLowerCase().slice(0, 6));
      }
      // nor any digit of the timestamps
      expect(red.stdout).not.toMatch(/2026-11-27T10/);
    });
  }

  it('keeps token counts, n_past, the break position and the causes', async () => {
    const plain = JSON.parse((await runCli([sa, sb, ...DATE, '--json'])).stdout);
    const red = JSON.parse((await runCli([sa, sb, ...DATE, '--json', '--redact'])).stdout);
    expect(red.redacted).toBe(true);
    for (const k of ['nPast', 'commonPrefix', 'tokens', 'reprocessed', 'firstDivergence', 'reuseSteps']) expect(red[k]).toEqual(plain[k]);
    const shape = (j: { causes: { code: string; path: string; token: number }[] }) => j.causes.map((c) => [c.code, c.path, c.token]);
    expect(shape(red)).toEqual(shape(plain));
    expect(red.causes.length).toBeGreaterThan(0);
  });

  it('check --redact in JSON and HTML', async () => {
    const sc = files.write('secret-c.json', { ...(secret.b as object) });
    for (const format of ['json', 'html']) {
      const r = await runCli(['check', sa, sb, sc, ...DATE, '--format', format, '--redact']);
      expect(r.code).toBe(1);
      for (const w of SECRET_WORDS) expect(r.stdout).not.toContain(w);
    }
  });

  it('placeholders keep the length and the whitespace', () => {
    const s = 'a\u00e9 b\n\t😀9';
    expect(maskText(s)).toHaveLength(s.length);
    expect(maskText(s)).toBe('xx x\n\txx0');
    expect(maskOccurrences('<|im_start|>user\nhello world<|im_end|>', ['hello world'])).toBe('<|im_start|>user\nxxxxx xxxxx<|im_end|>');
  });
});

describe('--out', () => {
  it('writes the file whole and leaves no temporary file', async () => {
    const { dir } = tempFiles('html-out');
    const out = join(dir, 'page.html');
    const r = await runCli([sa, sb, ...DATE, '--format', 'html', '--out', out]);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(readFileSync(out, 'utf8')).toMatch(/<\/html>\n$/);
    expect(readdirSync(dir)).toEqual(['page.html']);
  });

  it('an unwritable place is one line and exit 2, with nothing left behind', async () => {
    const out = join(files.dir, 'no-such-dir', 'page.html');
    const r = await runCli([sa, sb, ...DATE, '--format', 'html', '--out', out]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^error: cannot write .*no-such-dir.*\n$/);
    expect(existsSync(out)).toBe(false);
  });

  it('--pp-rate refuses what is not a rate', async () => {
    const r = await runCli(['check', sa, sb, '--format', 'html', '--pp-rate', 'fast']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--pp-rate takes tokens per second/);
  });
});


describe('packed token starts', () => {
  it('unpack(pack(starts)) gives the starts back, a token longer than the packing limit too', async () => {
    const { viewData, unpack } = await import('../src/report/html/view.js');
    const text = `${'a'.repeat(70_000)}bc`;
    const side = { label: 'x', rendered: text, ids: [1, 2, 3, 4], starts: [0, 0, 70_000, 70_001] };
    const r = { a: side, b: { ...side, rendered: `${'a'.repeat(70_000)}bd`, ids: [1, 2, 3, 5], starts: [0, 0, 70_000, 70_001] }, comparison: { commonPrefix: 3, firstDivergence: { token: 3, char: 70_001, utf16: 70_001 } } };
    const v = viewData(r as never, 'v');
    expect(unpack(v.a.starts)).toEqual(side.starts);
    expect(unpack(v.b.starts)).toEqual([70_001]);
    expect(v.shared).toBe(70_001);
    expect(unpack({ first: -1, d: '' })).toEqual([]);
  });
});

describe('session page numbers', () => {
  const pair = ['samples/session-reload/loop.json', 'samples/session-reload/reload.json'];
  it('cached tokens thrown away and the time they cost at --pp-rate, or at the speed a server log measured', async () => {
    const d = JSON.parse((await runCli([...pair, ...DATE, '--json'])).stdout);
    const lost = d.tokens.a - Math.min(d.commonPrefix, d.nPast);
    expect(lost).toBeGreaterThan(0);
    const page = (await runCli(['check', ...pair, ...DATE, '--format', 'html', '--pp-rate', '10'])).stdout;
    expect(page).toContain(`cached tokens thrown away<b>${lost}</b>`);
    expect(page).toContain(`time lost<b>${(lost / 10).toFixed(lost / 10 >= 10 ? 0 : 1)} s</b>`);
    // the log's own summary says what speed it measured
    const log = 'test/logs-corpus/10-2024-info-text.log';
    const tps = JSON.parse((await runCli(['logs', log, '--json'])).stdout).summary.promptTps;
    const timed = (await runCli(['check', ...pair, ...DATE, '--format', 'html', '--timings', log])).stdout;
    expect(timed).toContain(`at ${Math.round(tps)} tokens/s, as measured in ${log}`);
    const none = await runCli(['check', ...pair, ...DATE, '--format', 'html', '--timings', 'samples/session-reload/loop.json']);
    expect(none.code).toBe(2);
    expect(none.stderr).toMatch(/logs no prompt speed/);
  });
});

describe('--redact on other dialects', () => {
  /** Every line (12 characters or more) of every string in a body but roles, types, model and tool names (kept as structure). */
  function lines(v: unknown, key = ''): string[] {
    if (typeof v === 'string') return ['role', 'type', 'model', 'name'].includes(key) ? [] : v.split('\n').map((l) => l.trim()).filter((l) => l.length >= 12);
    if (Array.isArray(v)) return v.flatMap((x) => lines(x));
    if (v && typeof v === 'object') return Object.entries(v).flatMap(([k, x]) => lines(x, k));
    return [];
  }
  for (const dir of ['claude-code-session', 'codex-session']) {
    it(`${dir}: no line of the client's text is left in the page or the text report`, async () => {
      const pair = [`samples/${dir}/a.json`, `samples/${dir}/b.json`];
      const bodies = pair.map((f) => readFileSync(f, 'utf8'));
      // a value that is also a key somewhere (a `required` list naming a property) stays visible as that key
      const keys = new Set(bodies.flatMap((t) => [...t.matchAll(/"((?:[^"\\]|\\.)*)"\s*:/g)].map((m) => JSON.parse(`"${m[1]}"`) as string)));
      const texts = bodies.flatMap((t) => lines(JSON.parse(t))).filter((t) => !keys.has(t));
      expect(texts.length).toBeGreaterThan(10);
      const plain = await runCli([...pair, ...DATE, '--format', 'html']);
      // the unredacted page shows them (so the check below is not vacuous)
      expect(texts.filter((t) => plain.stdout.includes(escText(t))).length).toBeGreaterThan(5);
      for (const format of ['html', 'human']) {
        const red = await runCli([...pair, ...DATE, '--format', format, '--redact']);
        expect(red.code).toBe(plain.code);
        const left = texts.filter((t) => red.stdout.includes(t) || red.stdout.includes(escText(t)) || red.stdout.includes(JSON.stringify(t).slice(1, -1)));
        expect(left).toEqual([]);
      }
    });
  }
});
