// The analysis process of `kvdiff record`: builds the engine once from the command's options, then analyses each
// job it is sent, one at a time in order, and sends the line back. It runs at a lower CPU priority than the proxy,
// so analysing never slows the traffic; it ignores Ctrl-C (the proxy decides when it stops) and ends with the proxy.
import { Chalk } from 'chalk';
import { KvdiffError } from '../errors.js';
import { buildEngine, type EngineCliOptions } from './shared.js';
import type { CliContext } from './context.js';
import type { Processor } from '../processor.js';
import { analyseRequest } from '../node/record/analysis.js';
import type { FromAnalysis, ToAnalysis } from '../node/record/analyzer.js';

const send = (m: FromAnalysis) => process.send!(m);
const ctx: CliContext = {
  stdout: () => {},
  stderr: (text) => send({ type: 'log', text }),
  readStdin: async () => '',
  env: process.env,
  isTTY: false,
  colors: () => new Chalk({ level: 0 }),
  exitCode: 0,
};

process.on('SIGINT', () => {});
process.on('disconnect', () => process.exit(0));

let engine: Promise<Processor> | null = null;
let chain: Promise<void> = Promise.resolve();
process.on('message', (m: ToAnalysis) => {
  if (m.type === 'init') {
    engine = buildEngine(m.engineOptions as EngineCliOptions, ctx);
    engine.catch((err: Error) => send({ type: 'fatal', message: err.message, hint: err instanceof KvdiffError ? err.hint : undefined }));
    return;
  }
  chain = chain.then(async () => {
    try {
      send({ type: 'line', line: await analyseRequest(await engine!, m.job) });
    } catch (err) {
      send({ type: 'error', job: m.job, message: (err as Error).message });
    }
  });
});
