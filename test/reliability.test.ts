/**
 * Issue 15: every hostile input gets one clear line and exit 2 (or the right answer), in bounded time and memory,
 * and nothing from an input reaches the terminal as a control character. One test per failure the sweep found.
 */
import { spawnSync } from 'node:child_process';
import { openSync, readdirSync, readFileSync, symlinkSync, mkdirSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli, type CliResult } from './cli-harness.js';
import { tempFiles } from './tmp.js';
import { MAX_SERVER_RESPONSE_BYTES } from '../src/remote.js';
import { MAX_BODY_BYTES } from '../src/payload/json.js';
import { MAX_RENDER_CHARS } from '../src/render.js';
import { MAX_TOKENIZE_CHARS, PromptTokenizer } from '../src/tokenize/prompt.js';
import { tinyModel } from './tiny-tokenizer.js';

const A = 'samples/system-timestamp/a.json';
const HOSTILE = join(import.meta.dirname, 'hostile');
const { dir, write } = tempFiles('reliability');

/** Exit 2, nothing on stdout, one `error:` line (plus at most a `help:` line), no stack, no raw control characters. */
export function expectOneLine(r: CliResult, pattern: RegExp): void {
  expect(r.code, r.stderr).toBe(2);
  expect(r.stdout).toBe('');
  const lines = r.stderr.trimEnd().split('\n');
  expect(lines[0]).toMatch(/^error: /);
  expect(lines.length).toBeLessThanOrEqual(2);
  if (lines[1]) expect(lines[1]).toMatch(/^help: /);
  expect(r.stderr).toMatch(pattern);
  expect(r.stderr).not.toMatch(/internal error|\n\s+at /);
  expect(r.stderr).not.toMatch(/[\u0000-\u0009\u000b-\u001f\u007f-\u009f]/);
}

function writeBytes(name: string, bytes: Buffer): string {
  const p = join(dir, name);
  writeFileSync(p, bytes);
  return p;
}

describe('malformed tokenizer.json: one line naming the file (via --tokenizer and --hf)', () => {
  const files = readdirSync(join(HOSTILE, 'tokenizer')).filter((f) => f.endsWith('.json'));
  it('has the hostile files', () => expect(files.length).toBeGreaterThanOrEqual(13));
  for (const f of files) {
    const path = join(HOSTILE, 'tokenizer', f);
    it(`--tokenizer ${f}`, async () => expectOneLine(await runCli([A, A, '--tokenizer', path]), /tokenizer/));
    it(`--hf folder with ${f}`, async () => {
      const folder = join(dir, `hf-${f}`);
      mkdirSync(folder);
      write(`hf-${f}/tokenizer.json`, readFileSync(path, 'utf8'));
      write(`hf-${f}/tokenizer_config.json`, { chat_template: '{% for m in messages %}{{ m.content }}{% endfor %}' });
      expectOneLine(await runCli([A, A, '--hf', folder]), /tokenizer/);
    });
  }
});

describe('request bodies: what llama-server refuses is refused, what it accepts is accepted', () => {
  it('a tool_calls item that is a number, string, boolean or array: "Missing tool call type", as llama-server says', async () => {
    for (const item of [5, 'x', true, [1]]) {
      const b = write(`tc-${typeof item}.json`, { messages: [{ role: 'user', content: 'hi' }, { role: 'assistant', content: '', tool_calls: [item] }] });
      expectOneLine(await runCli([A, b]), /tool_calls\[0\]: Missing tool call type/);
    }
  });
  it('invalid UTF-8 names the byte (nlohmann::json: ill-formed UTF-8 byte)', async () => {
    const head = '{"messages": [{"role": "user", "content": "caf';
    const b = writeBytes('latin1.json', Buffer.concat([Buffer.from(head), Buffer.from([0xe9]), Buffer.from('"}]}')]));
    expectOneLine(await runCli([A, b]), new RegExp(`invalid UTF-8 at byte ${head.length} \\(0xe9\\)`));
  });
  it('an overlong encoding and an encoded surrogate are invalid UTF-8 too', async () => {
    const head = '{"messages": [{"role": "user", "content": "';
    for (const bad of [[0xc0, 0xaf], [0xed, 0xa0, 0x80], [0xf4, 0x90, 0x80, 0x80]]) {
      const b = writeBytes('bad-utf8.json', Buffer.concat([Buffer.from(head), Buffer.from(bad), Buffer.from('"}]}')]));
      expectOneLine(await runCli([A, b]), new RegExp(`invalid UTF-8 at byte ${head.length} `));
    }
  });
  it('escaped lone surrogates are refused as llama-server refuses them; a pair is fine', async () => {
    expectOneLine(await runCli([A, write('hi.json', '{"messages": [{"role": "user", "content": "\\ud800"}]}')]), /surrogate U\+D800\.\.U\+DBFF must be followed by U\+DC00\.\.U\+DFFF/);
    expectOneLine(await runCli([A, write('lo.json', '{"messages": [{"role": "user", "content": "x\\udc00"}]}')]), /surrogate U\+DC00\.\.U\+DFFF must follow U\+D800\.\.U\+DBFF/);
    expectOneLine(await runCli([A, write('hix.json', '{"messages": [{"role": "user", "content": "\\ud800\\u0041"}]}')]), /surrogate/);
    const pair = await runCli(['render', write('pair.json', '{"messages": [{"role": "user", "content": "\\ud83d\\ude00"}]}')]);
    expect(pair.code).toBe(0);
    expect(pair.stdout).toContain('😀');
  });
  it('numbers longer than 400 characters are valid JSON; a number past the double range is refused (number overflow)', async () => {
    const long = `0.${'0'.repeat(500)}1`;
    const ok = await runCli(['render', write('long.json', `{"messages": [{"role": "user", "content": "hi"}], "temperature": ${long}, "seed": 1${'0'.repeat(300)}}`)]);
    expect(ok.code, ok.stderr).toBe(0);
    expectOneLine(await runCli([A, write('huge.json', `{"messages": [{"role": "user", "content": "hi"}], "seed": 1${'0'.repeat(400)}}`)]), /number overflow parsing '1000/);
    expectOneLine(await runCli([A, write('e999.json', '{"messages": [{"role": "user", "content": "hi"}], "seed": 1e999}')]), /number overflow parsing '1e999'/);
  });
});

describe('file-system errors are one line', () => {
  it('--gguf on a folder', async () => expectOneLine(await runCli([A, A, '--gguf', dir]), /is not a regular file/));
  it('--gguf on a device', async () => expectOneLine(await runCli([A, A, '--gguf', '/dev/null']), /not a GGUF file|not a regular file/));
  it('--template and --tokenizer on /dev/zero stop at the size limit', async () => {
    expectOneLine(await runCli([A, A, '--template', '/dev/zero']), /\/dev\/zero is more than \d+ bytes/);
    expectOneLine(await runCli([A, A, '--tokenizer', '/dev/zero']), /\/dev\/zero is more than \d+ bytes/);
  });
  it('check on a missing .jsonl', async () => expectOneLine(await runCli(['check', join(dir, 'missing.jsonl')]), /cannot read .*missing\.jsonl: no such file/));
  it('check on a link to /dev/zero', async () => {
    const link = join(dir, 'zero.json');
    symlinkSync('/dev/zero', link);
    expectOneLine(await runCli(['check', link, A]), /zero\.json is more than \d+ bytes/);
  });
  it.skipIf(process.getuid?.() === 0)('an unreadable folder and an unreadable file (skipped as root, which reads everything)', async () => {
    const { chmodSync } = await import('node:fs');
    const locked = join(dir, 'locked');
    mkdirSync(locked);
    chmodSync(locked, 0o000);
    expectOneLine(await runCli(['check', locked]), /permission denied/);
    const f = write('locked.gguf', 'GGUF');
    chmodSync(f, 0o000);
    expectOneLine(await runCli([A, A, '--gguf', f]), /permission denied/);
  });
  it('a file name with escape sequences is shown escaped in the error line', async () => {
    expectOneLine(await runCli([A, join(dir, 'evil\u001b[2J\u0007.json')]), /evil\\x1b\[2J\\x07\.json: no such file/);
  });
});

describe('nothing from an input drives the terminal', () => {
  const ESC = '\u001b[2J\u001b]0;pwned\u0007\u009b31m';
  it('excerpt lines, cause lines and file names in a diff report', async () => {
    const b = write(`b${'\u001b[31m'}.json`, { messages: [{ role: 'system', content: `evil ${ESC}\nline` }, { role: 'user', content: 'hi' }] });
    const r = await runCli([A, b]);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/B \| .*evil \\x1b\[2J\\x1b\]0;pwned\\x07\\x9b31m/);
    expect(r.stdout).toContain('b\\x1b[31m.json');
    expect(r.stdout).not.toMatch(/[\u0000-\u0009\u000b-\u001f\u007f-\u009f]/);
  });
  it('a raise_exception message, multi-line, is one escaped line', async () => {
    const tpl = write('raise.jinja', `{{ raise_exception('bad\\n${'\\x1b'}[2J fake\\nok: all good') }}`);
    expectOneLine(await runCli([A, A, '--template', tpl]), /raised an error .*"bad\\nok|raised an error .*bad\\n\\x1b\[2J fake\\nok: all good/);
  });
  it('check lines show file names escaped', async () => {
    const one = write('one\u001b[2J.json', { messages: [{ role: 'user', content: 'a' }] });
    const two = write('two\u0007.json', { messages: [{ role: 'user', content: 'b' }] });
    const r = await runCli(['check', one, two]);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('one\\x1b[2J.json → ');
    expect(r.stdout).not.toMatch(/[\u0000-\u0009\u000b-\u001f\u007f-\u009f]/);
  });
  it('--format github escapes them in annotations; --json keeps the exact strings', async () => {
    const b = write('gh.json', { messages: [{ role: 'system', content: `x${ESC}` }, { role: 'user', content: 'hi' }] });
    const gh = await runCli([A, b, '--format', 'github']);
    expect(gh.stdout).not.toMatch(/[\u0000-\u0009\u000b-\u001f\u007f-\u009f]/);
    const json = await runCli([A, b, '--json']);
    const cause = (JSON.parse(json.stdout) as { causes: { path: string; b: string }[] }).causes.find((c) => c.path === '$.messages[0].content')!;
    expect(JSON.parse(cause.b)).toBe(`x${ESC}`);
  });
  it('render prints raw text, but warns on a terminal', async () => {
    const b = write('ctl.json', { messages: [{ role: 'user', content: `x${ESC}` }] });
    const plain = await runCli(['render', b]);
    expect(plain.stdout).toContain(ESC);
    expect(plain.stderr).toBe('');
    const tty = await runCli(['render', b], '', { isTTY: true });
    expect(tty.stdout).toContain(ESC);
    expect(tty.stderr).toMatch(/^warning: the rendered prompt holds control characters/);
  });
});

describe('--server faults', () => {
  async function standIn(handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<{ url: string; close: () => Promise<void> }> {
    const server = createServer(handler);
    await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
    return {
      url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
      close: () => new Promise<void>((ok) => (server.closeAllConnections(), server.close(() => ok()))),
    };
  }
  it('an error body with escape sequences is one escaped line', async () => {
    const s = await standIn((_q, res) => res.writeHead(500, { 'content-type': 'application/json' }).end(JSON.stringify({ error: { message: 'boom\u001b[2J\nall good' } })));
    try {
      expectOneLine(await runCli([A, A, '--server', s.url]), /HTTP 500: boom\\x1b\[2J\\nall good/);
    } finally {
      await s.close();
    }
  });
  it('an answer over MAX_SERVER_RESPONSE_BYTES is refused without reading it', async () => {
    const s = await standIn((_q, res) => {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': String(MAX_SERVER_RESPONSE_BYTES + 1) });
      res.write('{"chat_template": "');
    });
    try {
      expectOneLine(await runCli([A, A, '--server', s.url]), new RegExp(`is ${MAX_SERVER_RESPONSE_BYTES + 1} bytes, more than kvdiff accepts`));
    } finally {
      await s.close();
    }
  });
  it('connection refused says so (not "fetch failed")', async () => {
    const s = await standIn(() => undefined);
    await s.close();
    expectOneLine(await runCli([A, A, '--server', s.url]), /connection refused/);
  });
});

describe('the real binary', () => {
  const bin = join(import.meta.dirname, '..', 'bin', 'kvdiff.js');
  it('kvdiff - b.json < /dev/zero stops at MAX_BODY_BYTES with one line', () => {
    const r = spawnSync('node', [bin, '-', A], { stdio: [openSync('/dev/zero', 'r'), 'pipe', 'pipe'], encoding: 'utf8', timeout: 60_000 });
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(new RegExp(`^error: standard input is more than ${MAX_BODY_BYTES} bytes`));
  });
  it('a full disk on stdout (/dev/full) is one line and exit 2', () => {
    const r = spawnSync('node', [bin, 'render', A], { stdio: ['ignore', openSync('/dev/full', 'w'), 'pipe'], encoding: 'utf8' });
    expect(r.status).toBe(2);
    expect(r.stderr).toBe('error: cannot write the output: ENOSPC (no space left on the device)\n');
  });
});

describe('bounded time and memory after the body is read', () => {
  it("{{ '2026' * 16000000 }} is refused at the render limit instead of running out of heap while tokenizing", async () => {
    const tpl = write('huge.jinja', "{{ '2026' * 16000000 }}");
    expectOneLine(await runCli([A, A, '--template', tpl]), new RegExp(`more than ${MAX_RENDER_CHARS} characters`));
  });
  it('tokenizing has its own character limit, tied to the render limit (library callers tokenize text directly)', () => {
    expect(MAX_TOKENIZE_CHARS).toBe(MAX_RENDER_CHARS);
    const t = new PromptTokenizer(tinyModel());
    expect(() => t.encode('x'.repeat(MAX_TOKENIZE_CHARS + 1))).toThrow(/MAX_TOKENIZE_CHARS/);
  });
  it("strftime_now('%Y' * 1000000) counts against the template budget", async () => {
    const tpl = write('strftime.jinja', "{{ strftime_now('%Y' * 1000000) }}");
    expectOneLine(await runCli([A, A, '--template', tpl]), /strftime_now\(\) was given a format of 2000000 characters.*MAX_STRFTIME_FORMAT_CHARS/);
  });
  it('one deadline for the whole command: renders do not each get their own (--timeout)', async () => {
    // every render of this template takes a while; attribution renders many
    const tpl = write('slow.jinja', '{% for a in range(800) %}{% for b in range(800) %}{% endfor %}{% endfor %}{% for m in messages %}{{ m.content }}{% endfor %}');
    expectOneLine(await runCli([A, 'samples/system-timestamp/b.json', '--template', tpl, '--timeout', '1']), /stopped after 1 s \(--timeout\)/);
  });
  it('--timeout takes seconds above 0', async () => expectOneLine(await runCli([A, A, '--timeout', '0']), /--timeout takes a number of seconds/));
});

describe('smaller faults', () => {
  // llama.cpp's runtime.h gather_string_parts_recursive prints nothing for a function, and value_func_t has no
  // as_string ("Function is not a string value") for concatenation: never the interpreter's JavaScript source
  it('{{ range }} prints nothing as in llama.cpp, and a function in a string concatenation fails, instead of printing JavaScript source', async () => {
    for (const t of ['{{ range }}', "{{ 'x'.upper }}", '{{ messages.append }}']) {
      const r = await runCli(['render', A, '--template', write('fn.jinja', t)]);
      expect(r.code).toBe(0);
      expect(r.stdout).toBe('');
    }
    for (const t of ["{{ range ~ 'x' }}", "{{ 'x' + 'x'.upper }}"]) {
      expectOneLine(await runCli(['render', A, '--template', write('fn.jinja', t)]), /Function is not a string value/);
    }
  });
  it('tojson with a huge indent fails at once (MAX_TOJSON_INDENT_CHARS) instead of allocating the pad first', async () => {
    const r = await runCli(['render', A, '--template', write('indent.jinja', '{{ messages | tojson(indent=100000000) }}')]);
    expectOneLine(r, /MAX_TOJSON_INDENT_CHARS/);
  });
  it('a cache folder under /proc does not spin: the cache write fails and is skipped', async () => {
    const { nodeFs } = await import('../src/node/fs.js');
    await expect(nodeFs.writeFileAtomic('/proc/kvdiff-test/x/entry.bin', 'x')).rejects.toThrow(/ENOENT/);
  });
  it('temp files an interrupted write left behind are removed when they are stale, fresh ones kept', async () => {
    const { nodeFs } = await import('../src/node/fs.js');
    const { utimesSync, existsSync } = await import('node:fs');
    const cache = join(dir, 'cache');
    mkdirSync(cache);
    const stale = write('cache/entry.bin.0123456789ab.tmp', 'half');
    const fresh = write('cache/entry.bin.ba9876543210.tmp', 'half');
    const old = new Date(Date.now() - 2 * 60 * 60 * 1000);
    utimesSync(stale, old, old);
    await nodeFs.writeFileAtomic(join(cache, 'other.bin'), 'whole');
    expect(existsSync(stale)).toBe(false);
    expect(existsSync(fresh)).toBe(true);
    expect(readFileSync(join(cache, 'other.bin'), 'utf8')).toBe('whole');
  });
  it('an internal error (a kvdiff bug) shows its stack and asks to be reported', async () => {
    const { main, BUG_REPORT_HINT } = await import('../src/cli/main.js');
    let stderr = '';
    const code = await main(['node', 'kvdiff', A, A], {
      stdout: () => undefined,
      stderr: (s) => void (stderr += s),
      readStdin: async () => '',
      env: {},
      isTTY: false,
      colors: () => {
        throw new TypeError('boom \u001b[2J');
      },
      exitCode: 0,
    });
    expect(code).toBe(2);
    expect(stderr).toMatch(/^error: internal error: boom \\x1b\[2J\n/);
    expect(stderr).toMatch(/\n\s+at /);
    expect(stderr.trimEnd().split('\n').at(-1)).toBe(BUG_REPORT_HINT);
  });
});

describe('hostile files kept as data (test/hostile/*/expect.json gives each one its exit code)', () => {
  const cases = (kind: string) => {
    const { exit } = JSON.parse(readFileSync(join(HOSTILE, kind, 'expect.json'), 'utf8')) as { exit: Record<string, number> };
    const files = readdirSync(join(HOSTILE, kind)).filter((f) => f !== 'expect.json');
    expect(Object.keys(exit).sort()).toEqual(files.sort());
    return Object.entries(exit);
  };
  async function expectContract(r: CliResult, code: number): Promise<void> {
    if (code === 2) return expectOneLine(r, /./);
    expect(r.code, r.stderr).toBe(code);
    expect(r.stdout.replace(/\n/g, '')).not.toMatch(/[\u0000-\u001f\u007f-\u009f]/);
  }
  for (const [file, code] of cases('bodies')) {
    it(`body ${file}: exit ${code}`, async () => expectContract(await runCli([A, join(HOSTILE, 'bodies', file)]), code));
  }
  for (const [file, code] of cases('templates')) {
    it(`template ${file}: exit ${code}`, async () =>
      expectContract(await runCli([A, 'samples/system-timestamp/b.json', '--template', join(HOSTILE, 'templates', file), '--timeout', '5']), code));
  }
});

describe('side files and folders', () => {
  it('--response and --log on /dev/zero stop at the size limit', async () => {
    expectOneLine(await runCli([A, A, '--response', '/dev/zero']), /response \/dev\/zero is more than \d+ bytes/);
    expectOneLine(await runCli([A, A, '--log', '/dev/zero']), /log \/dev\/zero is more than \d+ bytes/);
  });
  it('check DIR reads its files one at a time: 300 files under ulimit -n 64', () => {
    const folder = join(dir, 'many');
    mkdirSync(folder);
    for (let i = 0; i < 300; i++) writeFileSync(join(folder, `${i}.json`), JSON.stringify({ messages: [{ role: 'user', content: 'same' }] }));
    const bin = join(import.meta.dirname, '..', 'bin', 'kvdiff.js');
    const r = spawnSync('sh', ['-c', `ulimit -n 64 && exec node "${bin}" check "${folder}"`], { encoding: 'utf8' });
    expect(r.stderr).not.toMatch(/EMFILE/);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/ok: 299 steps/);
  });
});

describe('usage errors quote the argument escaped', () => {
  it('an unknown option or a bad choice with escape sequences', async () => {
    const unknown = await runCli([A, A, '--\u001b[2Jx']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain("unknown option '--\\x1b[2Jx'");
    const choice = await runCli([A, A, '--backend', '\u001b]0;t\u0007']);
    expect(choice.code).toBe(2);
    expect(choice.stderr).toContain("'\\x1b]0;t\\x07' is invalid");
    expect(unknown.stderr + choice.stderr).not.toMatch(/[\u0000-\u0009\u000b-\u001f\u007f-\u009f]/);
  });
});

/** Whether `probe` fails with EACCES here (so the test can use the path even when it runs as root). */
function deniedHere(probe: () => unknown): boolean {
  try {
    probe();
    return false;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EACCES';
  }
}

describe('unreadable paths that stay unreadable for root (Linux /proc)', () => {
  const folder = '/proc/1/map_files';
  const file = '/proc/sys/vm/compact_memory';
  it.skipIf(!deniedHere(() => readdirSync(folder)))(`check on an unreadable folder (${folder})`, async () =>
    expectOneLine(await runCli(['check', folder]), /cannot read folder \/proc\/1\/map_files: permission denied/));
  it.skipIf(!deniedHere(() => readFileSync(file)))(`a body and a template that cannot be opened (${file})`, async () => {
    expectOneLine(await runCli(['check', file, A]), /cannot read \/proc\/sys\/vm\/compact_memory: permission denied/);
    expectOneLine(await runCli([A, A, '--template', file]), /permission denied/);
  });
});
