// The analysis thread of `kvdiff record`: builds the engine once from the command's options, then analyses each
// job it is sent and posts the line back. Nothing here touches the proxy's sockets.
import { parentPort, workerData } from 'node:worker_threads';
import { Chalk } from 'chalk';
import { KvdiffError } from '../errors.js';
import { buildEngine, type EngineCliOptions } from '../cli/shared.js';
import type { CliContext } from '../cli/context.js';
import { analyseRequest } from './analysis.js';
import type { FromWorker, ToWorker } from './analyzer.js';

const port = parentPort!;
const send = (m: FromWorker) => port.postMessage(m);
const ctx: CliContext = {
  stdout: () => {},
  stderr: (text) => send({ type: 'log', text }),
  readStdin: async () => '',
  env: process.env,
  isTTY: false,
  colors: () => new Chalk({ level: 0 }),
  exitCode: 0,
};

const engine = buildEngine((workerData as { engineOptions: EngineCliOptions }).engineOptions, ctx);
engine.catch((err: Error) => send({ type: 'fatal', message: err.message, hint: err instanceof KvdiffError ? err.hint : undefined }));

// one job at a time, in the order sent (an engine asking a live server awaits between stages)
let chain: Promise<void> = Promise.resolve();
port.on('message', (m: ToWorker) => {
  chain = chain.then(async () => {
    try {
      send({ type: 'line', line: await analyseRequest(await engine, m.job) });
    } catch (err) {
      send({ type: 'error', job: m.job, message: (err as Error).message });
    }
  });
});
