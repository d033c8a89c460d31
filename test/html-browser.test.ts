import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { runCli } from './cli-harness.js';
import { tempFiles } from './tmp.js';
import { hostilePair } from './html-fixtures.js';

/**
 * The HTML pages in a real headless Chromium (Debian's `chromium`, which `.ci/run` installs). Set KVDIFF_CHROMIUM to
 * use another build; KVDIFF_SCREENSHOTS=1 also writes the README's screenshots to docs/.
 */
const CHROMIUM = [process.env.KVDIFF_CHROMIUM, '/usr/bin/chromium', '/usr/bin/chromium-browser'].find((p): p is string => !!p && existsSync(p));
const NO_CHROMIUM = 'no Chromium found: apt-get install chromium, or set KVDIFF_CHROMIUM to its executable';
const DATE = ['--date', '2026-11-27'];
const files = tempFiles('html-browser');

async function page(args: string[], name: string): Promise<string> {
  const out = join(files.dir, name);
  const r = await runCli([...args, ...DATE, '--out', out]);
  if (r.code === 2) throw new Error(r.stderr);
  return pathToFileURL(out).href;
}

/** Opens a page, recording console errors, uncaught exceptions, dialogs and every request but the page itself. */
async function open(browser: Browser, url: string) {
  const p = await browser.newPage({ viewport: { width: 1280, height: 860 } });
  const problems: string[] = [];
  const requests: string[] = [];
  p.on('console', (m) => void (m.type() === 'error' && problems.push(`console: ${m.text()}`)));
  p.on('pageerror', (e) => void problems.push(`exception: ${e.message}`));
  p.on('dialog', (d) => void (problems.push(`dialog: ${d.message()}`), d.dismiss()));
  p.on('request', (r) => void (r.url() !== url && requests.push(r.url())));
  await p.goto(url, { waitUntil: 'load' });
  return { p, problems, requests };
}

/** The browser's window, seen from code that runs in the page (the tests are type-checked without the DOM library). */
interface PageWindow {
  innerHeight: number;
  innerWidth: number;
  scrollTo(x: number, y: number): void;
  __pwned?: unknown;
}

/** Whether an element is inside the window and inside every scrolling box around it. */
function inView(p: Page, selector: string): Promise<boolean> {
  return p.$eval(selector, (el) => {
    const w = globalThis as unknown as PageWindow;
    const r = el.getBoundingClientRect();
    if (r.width === 0 || r.bottom < 0 || r.top > w.innerHeight || r.right < 0 || r.left > w.innerWidth) return false;
    for (let box = el.parentElement; box; box = box.parentElement) {
      if (box.scrollHeight <= box.clientHeight) continue;
      const b = box.getBoundingClientRect();
      if (r.bottom < b.top || r.top > b.bottom) return false;
    }
    return true;
  });
}

describe.skipIf(!CHROMIUM)(`html pages in headless Chromium${CHROMIUM ? '' : ` (${NO_CHROMIUM})`}`, () => {
  let browser: Browser;
  let diffUrl: string;
  let sessionUrl: string;
  const loop = 'samples/session-reload/loop.json';
  const reload = 'samples/session-reload/reload.json';

  beforeAll(async () => {
    const { chromium } = await import('playwright-core');
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
    diffUrl = await page([loop, reload, '--format', 'html'], 'diff.html');
    // a five-request session (test/html-session continues the reload sample): a break, two turns that reuse all, a clock
    const session = ['3-answer.json', '4-fixed.json', '5-clock.json'].map((f) => `test/html-session/${f}`);
    sessionUrl = await page(['check', loop, reload, ...session, '--format', 'html', '--pp-rate', '500'], 'session.html');
  }, 60_000);
  afterAll(async () => browser?.close());

  it('the diff page loads with no console error and no request', async () => {
    const { p, problems, requests } = await open(browser, diffUrl);
    expect(problems).toEqual([]);
    expect(requests).toEqual([]);
    await expect(p.title()).resolves.toContain('loop.json');
    await p.close();
  });

  it('the first-difference marker is visible and scrolled into view, on both sides', async () => {
    const { p } = await open(browser, diffUrl);
    const tokens = JSON.parse((await runCli([loop, reload, '--json', ...DATE])).stdout).firstDivergence.token;
    for (const side of ['a', 'b']) {
      const sel = `#first-${side}-d-data`;
      await expect(p.isVisible(sel)).resolves.toBe(true);
      await expect(p.getAttribute(sel, 'data-i')).resolves.toBe(String(tokens));
    }
    await expect(inView(p, '#first-b-d-data')).resolves.toBe(true);
    if (process.env.KVDIFF_SCREENSHOTS) {
      mkdirSync('docs', { recursive: true });
      await p.screenshot({ path: 'docs/html-diff.png' });
    }
    await p.close();
  });

  it('expanding the folded prefix draws every token of A, in order, with the prompt text', async () => {
    const { p } = await open(browser, diffUrl);
    const pane = '[data-side="a"] .txt';
    const before = await p.$$eval(`${pane} [data-i]`, (els) => els.length);
    // by keyboard: the fold is a button
    await p.focus(`${pane} .fold`);
    await expect(p.getAttribute(`${pane} .fold`, 'aria-expanded')).resolves.toBe('false');
    await p.keyboard.press('Enter');
    await expect(p.$(`${pane} .fold`)).resolves.toBeNull();
    await expect(p.$('[data-side="b"] .txt .fold')).resolves.toBeNull();
    // each token's own text: whitespace glyphs carry the characters they stand for (data-c), the ▶ marker none
    const drawn = await p.$$eval(`${pane} [data-i]`, (els) =>
      els.map((e) => {
        let t = '';
        type Node = { getAttribute?: (k: string) => string | null; textContent: string | null };
        for (const n of Array.from(e.childNodes as unknown as ArrayLike<Node>)) t += n.getAttribute ? (n.getAttribute('data-c') ?? '') : (n.textContent ?? '');
        return [Number(e.getAttribute('data-i')), t] as [number, string];
      }),
    );
    expect(drawn.length).toBeGreaterThan(before);
    expect(drawn.map(([i]) => i)).toEqual(drawn.map((_, i) => i));
    // the drawn text, whitespace marks taken out again, is A's rendered prompt (from `kvdiff render`)
    const rendered = (await runCli(['render', loop, ...DATE])).stdout;
    const text = drawn.map(([, t]) => t).join('');
    expect(rendered.startsWith(text)).toBe(true);
    expect(text.length).toBeGreaterThan(rendered.length / 2);
    await p.close();
  });

  it('later differences are marked: the token where the second cause changes A sits in a marked line', async () => {
    const { p } = await open(browser, diffUrl);
    const causes = JSON.parse((await runCli([loop, reload, '--json', ...DATE])).stdout).causes;
    expect(causes.length).toBe(2);
    await expect(p.textContent('.diff')).resolves.toContain('after the first difference: 1 more place where the text differs');
    await expect(p.$eval(`[data-side="a"] [data-i="${causes[1].token}"]`, (e) => e.classList.contains('chg'))).resolves.toBe(true);
    // and a line both sides still share after the break is not marked
    const unmarked = await p.$$eval('[data-side="b"] .after:not(.chg)', (e) => e.length);
    expect(unmarked).toBeGreaterThan(0);
    await p.close();
  });

  it('a cause link reveals and flashes its token', async () => {
    const { p } = await open(browser, diffUrl);
    const token = await p.getAttribute('.causes [data-token]', 'data-token');
    await p.click('.causes [data-token]');
    await expect(p.$eval(`[data-side="b"] [data-i="${token}"]`, (e) => e.classList.contains('flash'))).resolves.toBe(true);
    await expect(inView(p, `[data-side="b"] [data-i="${token}"]`)).resolves.toBe(true);
    await p.close();
  });

  it('the session page loads clean; clicking a step opens that step and only that step', async () => {
    const { p, problems, requests } = await open(browser, sessionUrl);
    await expect(p.$$eval('.bar', (b) => b.length)).resolves.toBe(4);
    await expect(p.$$eval('.bar.brk', (b) => b.map((x) => x.getAttribute('data-step')))).resolves.toEqual(['1', '4']);
    await expect(p.isVisible('#step-1')).resolves.toBe(false);
    await p.click('.bar[data-step="1"]');
    await expect(p.isVisible('#step-1')).resolves.toBe(true);
    await expect(p.isVisible('#step-2')).resolves.toBe(false);
    await expect(p.textContent('#step-1 h1')).resolves.toMatch(/cache break at token/);
    await expect(inView(p, '#first-b-s1-data')).resolves.toBe(true);
    // the keyboard: focus the first bar, arrow to the second, Enter opens it
    await p.focus('.bar[data-step="1"]');
    await p.keyboard.press('ArrowRight');
    await p.keyboard.press('Enter');
    await expect(p.isVisible('#step-2')).resolves.toBe(true);
    await expect(p.isVisible('#step-1')).resolves.toBe(false);
    await expect(p.textContent('#step-2 h1')).resolves.toMatch(/^ok: B reuses all/);
    await expect(p.getAttribute('.bar[data-step="2"]', 'aria-pressed')).resolves.toBe('true');
    expect(problems).toEqual([]);
    expect(requests).toEqual([]);
    if (process.env.KVDIFF_SCREENSHOTS) {
      await p.click('.bar[data-step="1"]');
      await p.evaluate(() => (globalThis as unknown as PageWindow).scrollTo(0, 0));
      await p.screenshot({ path: 'docs/html-session.png' });
    }
    await p.close();
  });

  it('prints: controls hidden, every step of a session drawn', async () => {
    const { p, problems } = await open(browser, sessionUrl);
    await p.emulateMedia({ media: 'print' });
    await p.evaluate(() => (globalThis as unknown as { dispatchEvent(e: Event): void }).dispatchEvent(new Event('beforeprint')));
    await expect(p.isVisible('#step-4')).resolves.toBe(true);
    await expect(p.isVisible('.bar')).resolves.toBe(true);
    await expect(p.isVisible('#step-4 .tools')).resolves.toBe(false);
    await expect(p.$$eval('#step-4 [data-side="b"] [data-i]', (e) => e.length)).resolves.toBeGreaterThan(0);
    expect((await p.pdf()).length).toBeGreaterThan(1000);
    expect(problems).toEqual([]);
    await p.close();
  });

  it('spaces at the end of a line are shown, so a trimmed line is visible', async () => {
    const body = (content: string) => ({ model: 'm', messages: [{ role: 'user', content }, { role: 'assistant', content: 'ok' }] });
    const url = await page([files.write('ws-a.json', body('first line   \nsecond')), files.write('ws-b.json', body('first line\nsecond')), '--format', 'html'], 'ws.html');
    const { p, problems } = await open(browser, url);
    const dots = (side: string) => p.$$eval(`[data-side="${side}"] .ws`, (e) => e.map((x) => x.textContent).filter((t) => t?.startsWith('·')));
    await expect(dots('a')).resolves.toEqual(['···']);
    await expect(dots('b')).resolves.toEqual([]);
    expect(problems).toEqual([]);
    await p.close();
  });

  it('hostile prompt text runs nothing and loads nothing', async () => {
    const { a, b } = hostilePair();
    const url = await page([files.write('h-a.json', a), files.write('h-b.json', b), '--format', 'html'], 'hostile.html');
    const { p, problems, requests } = await open(browser, url);
    await p.click('[data-side="a"] .txt .fold').catch(() => undefined);
    await p.check('[data-toggle]');
    await p.click('.causes [data-token]');
    expect(problems).toEqual([]);
    expect(requests).toEqual([]);
    await expect(p.evaluate(() => (globalThis as unknown as PageWindow).__pwned)).resolves.toBeUndefined();
    await expect(p.$$eval('img,svg,iframe', (e) => e.length)).resolves.toBe(0);
    // the text is shown as text
    await expect(p.textContent('[data-side="b"] .txt')).resolves.toContain('<img src=x onerror=');
    await p.close();
  });
});
