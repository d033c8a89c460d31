/**
 * The seed excerpt of issue 9, and the logs parts of issue 15: bounded line length (a skipped line is
 * counted, never a RangeError), --json written in pieces, pipes and devices read like files, and log
 * text made visible before it reaches a terminal.
 */
import { capturingContext } from './cli-harness.js';
import { execFileSync } from 'node:child_process';
import { createWriteStream, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Chalk } from 'chalk';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { boundedLines, MAX_READ_LINE_BYTES, runLogs } from '../src/cli/logs.ts';
import { KvdiffError } from '../src/errors.ts';
import { explainLogText } from '../src/logs/index.ts';
import { humanReport } from '../src/logs/report.ts';

/** hermes-agent #4555 as pasted into issue 9, byte for byte. */
const SEED = [
  'slot update_slots: id  0 | task 240 | n_past = 62, slot.prompt.tokens.size() = 100449',
  'slot update_slots: id  0 | task 240 | forcing full prompt re-processing due to lack of cache data',
  'slot update_slots: id  0 | task 240 | erased invalidated context checkpoint (pos_min = 32767, ...)',
  '  (three more erased lines)',
].join('\n');

const ctx = capturingContext;

const dir = mkdtempSync(join(tmpdir(), 'kvdiff-logs-rel-'));
const REQUEST = [
  'slot launch_slot_: id  0 | task 18 | processing task, is_child = 0',
  'slot update_slots: id  0 | task 18 | new prompt, n_ctx_slot = 16384, n_keep = 0, task.n_tokens = 429',
  'slot update_slots: id  0 | task 18 | cached n_tokens = 410, memory_seq_rm [410, end)',
];

describe('the seed excerpt (hermes-agent #4555)', () => {
  it('prefix break at token 62 of 100,449 cached, 100,387 lost, full re-processing, help: the client', async () => {
    const { requests, summary } = explainLogText(SEED);
    expect(requests).toHaveLength(1);
    const x = requests[0];
    expect(x.verdict).toBe('PREFIX_BREAK');
    expect(x).toMatchObject({ cachedTokens: 100449, commonPrefix: 62, reused: 0, fullReprocess: true, lostTokens: 100387 });
    expect(x.notes).toContainEqual({ code: 'FALLBACK', commonPrefix: 62, reused: 0, forced: true, model: null });
    expect(x.help).toEqual(['CLIENT_PREFIX']);
    expect(summary.lostTokens).toBe(100387);
    const human = humanReport(requests, summary, new Chalk({ level: 0 }));
    expect(human).toContain('kvdiff A B');
    expect(human).not.toContain('--swa-full');
    expect(human).toMatch(/^warning\[PREFIX_BREAK\]: prefix break at token 62 of 100,449 cached: 100,387 cached tokens lost/);
  });
});

describe('bounded lines', () => {
  async function collect(chunks: (string | Buffer)[], max: number): Promise<(string | null)[]> {
    const out: (string | null)[] = [];
    for await (const l of boundedLines((async function* () { yield* chunks; })(), max)) out.push(l);
    return out;
  }

  it('splits across chunks, keeps multi-byte characters whole, and skips over-long lines as null', async () => {
    const euro = Buffer.from('€');
    expect(await collect(['ab', 'c\nde', 'f\n', Buffer.concat([euro.subarray(0, 1)]), Buffer.concat([euro.subarray(1), Buffer.from('\n')])], 10)).toEqual(['abc', 'def', '€']);
    expect(await collect(['short\n', 'x'.repeat(8), 'x'.repeat(8), '\nafter'], 10)).toEqual(['short', null, 'after']);
    expect(await collect(['', '\n\n'], 10)).toEqual(['', '']);
  });

  it('any bytes in any chunks: the lines of splitting the whole input on byte 10 and decoding each line', async () => {
    // bytes rich in newlines, multi-byte characters and invalid UTF-8; chunks cut anywhere, limits below and above
    const piece = fc.oneof(
      fc.constantFrom(...['\n', '\r\n', 'a', 'slot ', '€', '😀', 'é'].map((x) => Buffer.from(x))),
      fc.uint8Array({ maxLength: 6 }).map((a) => Buffer.from(a)),
    );
    await fc.assert(
      fc.asyncProperty(fc.array(piece, { maxLength: 40 }), fc.array(fc.nat(), { maxLength: 6 }), fc.oneof(fc.integer({ min: 0, max: 24 }), fc.constant(MAX_READ_LINE_BYTES)), async (pieces, cuts, max) => {
        const all = Buffer.concat(pieces);
        const at = [...new Set(cuts.map((c) => (all.length ? c % all.length : 0)))].sort((a, b) => a - b);
        const chunks = [0, ...at].map((from, i, xs) => all.subarray(from, i + 1 < xs.length ? xs[i + 1] : all.length));
        const want: (string | null)[] = [];
        let from = 0;
        for (let nl = all.indexOf(10); nl >= 0; nl = all.indexOf(10, from)) {
          want.push(nl - from > max ? null : all.subarray(from, nl).toString('utf8'));
          from = nl + 1;
        }
        if (from < all.length) want.push(all.length - from > max ? null : all.subarray(from).toString('utf8'));
        expect(await collect(chunks, max)).toEqual(want);
      }),
      { numRuns: 500 },
    );
  });

  it('a line longer than the limit is counted in the summary and the next request still parses', async () => {
    const file = join(dir, 'long.log');
    writeFileSync(file, `${'x'.repeat(MAX_READ_LINE_BYTES + 10)}\n${REQUEST.join('\n')}\n`);
    const c = ctx();
    await runLogs(file, { json: true }, c);
    const doc = JSON.parse(c.out.join(''));
    expect(doc.summary.skippedLongLines).toBe(1);
    expect(doc.summary.lines).toBe(1 + REQUEST.length);
    expect(doc.requests).toHaveLength(1);
    expect(doc.requests[0]).toMatchObject({ task: 18, reused: 410, promptTokens: 429 });
  });
});

describe('--json is written in pieces', () => {
  it('many requests: several writes, one valid document', async () => {
    const file = join(dir, 'many.log');
    const lines: string[] = [];
    for (let t = 0; t < 2000; t++) lines.push(...REQUEST.map((l) => l.replace('task 18', `task ${t}`)));
    writeFileSync(file, lines.join('\n'));
    const c = ctx();
    await runLogs(file, { json: true }, c);
    expect(c.out.length).toBeGreaterThan(10);
    expect(Math.max(...c.out.map((s) => s.length))).toBeLessThan(256 * 1024);
    const doc = JSON.parse(c.out.join(''));
    expect(doc.requests).toHaveLength(2000);
    expect(doc.summary.requests).toBe(2000);
  });
});

describe('pipes and devices', () => {
  it('/dev/null is an empty log, not an error', async () => {
    const c = ctx();
    await runLogs('/dev/null', {}, c);
    expect(c.out.join('')).toMatch(/^warning: recognised no llama-server cache lines in 0 lines/);
  });

  it('a FIFO (what `logs <(cat x)` and named pipes give)', async () => {
    const fifo = join(dir, 'pipe');
    try {
      execFileSync('mkfifo', [fifo]);
    } catch {
      return; // no mkfifo on this system: nothing to test
    }
    const w = createWriteStream(fifo);
    w.end(`${REQUEST.join('\n')}\n`);
    const c = ctx();
    await runLogs(fifo, { json: true }, c);
    expect(JSON.parse(c.out.join('')).requests[0]).toMatchObject({ task: 18, reused: 410 });
  });

  it('a directory is one clear error', async () => {
    await expect(runLogs(dir, {}, ctx())).rejects.toThrow(KvdiffError);
    await expect(runLogs(dir, {}, ctx())).rejects.toThrow(/not a file/);
  });
});

describe('log text cannot drive the terminal', () => {
  const CONTROL = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f]/;

  it('slots-debug text with escape sequences is shown escaped, and kept exact in --json', async () => {
    // (colour sequences such as ESC [ 2 J are stripped before matching, like any wrapper's colours;
    // what stays in the text must still never reach the terminal raw)
    const evil = 'a\u0007b\u009b2Jc\u001bd';
    const text = [...REQUEST, `slot update_slots: id  0 | task 18 | old: ... ${evil} | x`, `slot update_slots: id  0 | task 18 | new: ... ${evil} | y`].join('\n');
    const file = join(dir, 'evil.log');
    writeFileSync(file, text);
    const human = ctx();
    await runLogs(file, {}, human);
    const out = human.out.join('');
    expect(out).not.toMatch(CONTROL);
    expect(out).toContain('a\\x07b\\x9b2Jc\\x1bd');
    const json = ctx();
    await runLogs(file, { json: true }, json);
    expect(JSON.parse(json.out.join('')).requests[0].divergence).toEqual({ old: `${evil} | x`, new: `${evil} | y` });
  });

  it('no input byte reaches the human report as a control character', () => {
    const anyText = fc.string({ unit: 'binary', maxLength: 40 });
    fc.assert(
      fc.property(anyText, anyText, anyText, (a, b, junk) => {
        const text = [...REQUEST, `slot update_slots: id  0 | task 18 | old: ... ${a}`, `slot update_slots: id  0 | task 18 | new: ... ${b}`, junk].join('\n');
        const { requests, summary } = explainLogText(text);
        expect(humanReport(requests, summary, new Chalk({ level: 0 }))).not.toMatch(CONTROL);
      }),
      { numRuns: 500 },
    );
  });
});
