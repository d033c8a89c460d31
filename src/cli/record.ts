import { Command, Option } from 'commander';
import { KvdiffError } from '../errors.js';
import type { Analyzer } from '../node/record/analyzer.js';
import { DEFAULT_MAX_BODY_BYTES } from '../node/record/proxy.js';
import type { CliContext } from './context.js';
import { addEngineOptions, buildEngine, type EngineCliOptions } from './shared.js';

interface RecordOptions extends EngineCliOptions {
  upstream: string;
  listen: string;
  out: string;
  json?: boolean;
  redact: string[];
  maxBody: number;
  color?: boolean;
}

/** Hosts that keep the proxy on this machine; anything else must be asked for with --listen. */
const LOOPBACK = new Set(['127.0.0.1', 'localhost', '::1', '[::1]']);

function parseUpstream(v: string): URL {
  let u: URL;
  try {
    u = new URL(v);
  } catch {
    throw new KvdiffError(`--upstream takes a URL, got ${JSON.stringify(v)}`, 'e.g. --upstream http://127.0.0.1:8080');
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new KvdiffError(`--upstream must be http:// or https://, got ${u.protocol}`);
  if (u.search || u.hash) throw new KvdiffError('--upstream takes a base URL without a query or fragment');
  return u;
}

export function parseListen(v: string): { host: string; port: number } {
  const m = /^(?:(\[[^\]]+\]|[^:]+):)?(\d{1,5})$/.exec(v);
  if (!m || Number(m[2]) > 65535) throw new KvdiffError(`--listen takes HOST:PORT or PORT, got ${JSON.stringify(v)}`, 'e.g. --listen 127.0.0.1:8081');
  return { host: (m[1] ?? '127.0.0.1').replace(/^\[|\]$/g, ''), port: Number(m[2]) };
}

function byteCount(v: string): number {
  const m = /^(\d+)([kmg]?)b?$/i.exec(v.trim());
  if (!m) throw new KvdiffError(`--max-body takes a size in bytes (e.g. 32m), got ${JSON.stringify(v)}`);
  return Number(m[1]) * 1024 ** ' kmg'.indexOf((m[2] || ' ').toLowerCase());
}

/** `kvdiff record`: a recording proxy in front of llama-server (or any OpenAI / Anthropic-compatible server). */
export function registerRecordCommand(program: Command, ctx: CliContext): void {
  const cmd = new Command('record')
    .description("a proxy that records an agent's requests into sessions and flags each cache break as it happens")
    .requiredOption('--upstream <url>', 'the server to forward to (e.g. http://127.0.0.1:8080)')
    .option('--listen <[host:]port>', 'where to listen (loopback unless a host is given)', '127.0.0.1:8081')
    .option('--out <dir>', 'folder for the recorded sessions (one subfolder each, read by kvdiff check)', 'kvdiff-record')
    .option('--json', 'print one JSON line per request instead of the human line')
    .addOption(new Option('--redact <header...>', 'more headers never to write (Authorization, api-key, x-api-key and cookies never are)').default([]))
    .addOption(new Option('--max-body <bytes>', 'largest request body captured (bigger ones are forwarded, not captured)').argParser(byteCount).default(DEFAULT_MAX_BODY_BYTES, '32m'))
    .option('--no-color', 'plain text even on a terminal')
    .addHelpText(
      'after',
      '\nEach conversation is a folder of request bodies (0001.json, 0002.json, ...) plus responses/ with what the server\n' +
        'answered (timings, usage, cache counters). Sessions are told apart by an x-kvdiff-session header, a client field\n' +
        '(user, metadata.user_id, prompt_cache_key), or else the longest shared prefix. Check one afterwards with\n' +
        '  kvdiff check kvdiff-record/chat-session-1\n' +
        'Ctrl-C stops the proxy after writing what it has.',
    )
    .action(async (opts: RecordOptions) => {
      const upstream = parseUpstream(opts.upstream);
      const { host, port } = parseListen(opts.listen);
      const c = ctx.colors({ json: opts.json, color: opts.color });
      const note = (text: string) => ctx.stderr(`${c.dim('kvdiff record:')} ${text}\n`);
      // the proxy loads when it runs, not for `--help`
      const [{ InlineAnalyzer, ProcessAnalyzer, analysisScript }, { humanLine, jsonLine }, { Recorder }, { displayUrl }] = await Promise.all([
        import('../node/record/analyzer.js'),
        import('../node/record/line.js'),
        import('../node/record/recorder.js'),
        import('../node/record/secrets.js'),
      ]);
      const script = analysisScript();
      const engineOptions: EngineCliOptions = { ...opts };
      const recorder = new Recorder({
        upstream,
        out: opts.out,
        maxBodyBytes: opts.maxBody,
        redact: opts.redact,
        analyzer: (onLine, onError): Analyzer =>
          script
            ? new ProcessAnalyzer(script, engineOptions, onLine, onError, (t) => ctx.stderr(t), (m, hint) => note(`analysis off: ${m}${hint ? ` (${hint})` : ''}; still recording`))
            : new InlineAnalyzer(buildEngine(opts, ctx), onLine, onError),
        onLine: (line) => (opts.json ? ctx.stdout(jsonLine(line)) : ctx.stderr(humanLine(line, c))),
        onNote: note,
      });
      let addr;
      try {
        addr = await recorder.listen(port, host);
      } catch (err) {
        await recorder.close(0);
        const code = (err as NodeJS.ErrnoException).code;
        throw new KvdiffError(`cannot listen on ${opts.listen}: ${code ?? (err as Error).message}`, code === 'EADDRINUSE' ? 'pick another port with --listen' : undefined);
      }
      const shown = addr.family === 'IPv6' ? `[${addr.address}]:${addr.port}` : `${addr.address}:${addr.port}`;
      if (!LOOPBACK.has(host)) note(`listening on ${host}, not loopback: anyone who can reach it can use the upstream through it`);
      note(`http://${shown} → ${displayUrl(upstream)}, sessions in ${opts.out}/ (Ctrl-C to stop)`);
      // a second Ctrl-C finds no listener left and ends the process at once
      await new Promise<void>((resolve) => {
        process.once('SIGINT', resolve);
        process.once('SIGTERM', resolve);
      });
      note('stopping: finishing requests in flight and writing captures');
      const { unanalysed } = await recorder.close();
      const s = recorder.stats;
      note(`${s.captured} requests captured, ${s.skipped} over the size limit, ${s.lines} analysed${unanalysed + s.unanalysed ? `, ${unanalysed + s.unanalysed} left unanalysed` : ''}`);
    });
  addEngineOptions(cmd);
  program.addCommand(cmd);
}
