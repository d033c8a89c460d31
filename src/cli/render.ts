import { Command } from 'commander';
import type { CliContext } from './context.js';
import { chatBody } from '../dialect/index.js';
import { prettyJson } from '../dialect/pretty.js';
import { hasControls, safeText } from '../report/format.js';
import { addEngineOptions, buildEngine, readBodyArg, type EngineCliOptions } from './shared.js';

/** `kvdiff render BODY` and `kvdiff tokens BODY`: what the server would template and tokenize. */
export function registerRenderCommands(program: Command, ctx: CliContext): void {
  const render = new Command('render')
    .description('print the rendered prompt exactly, adding nothing')
    .argument('<body>', 'request body (file, or - for stdin)')
    .option('--converted', 'print the chat-completions body llama-server builds from a /v1/messages or /v1/responses body instead')
    .action(async (body: string, opts: EngineCliOptions & { converted?: boolean }) => {
      if (opts.converted) {
        const b = await readBodyArg(body, ctx, opts.api);
        ctx.stdout(`${prettyJson(chatBody(b, { billingHeader: opts.backend === 'llama.cpp' }).root)}\n`);
        return;
      }
      const engine = await buildEngine(opts, ctx);
      const b = await readBodyArg(body, ctx, opts.api);
      await engine.prefetch?.([b]);
      const text = engine.render(b, body);
      // raw by design (it is what the server tokenizes), but a terminal would act on escape sequences in it
      if (ctx.isTTY && hasControls(text)) {
        ctx.stderr('warning: the rendered prompt holds control characters (escape sequences) from the request; they are printed raw\nhelp: redirect to a file, or run kvdiff tokens to see them escaped\n');
      }
      ctx.stdout(text);
    });
  addEngineOptions(render);
  program.addCommand(render);

  const tokens = new Command('tokens')
    .description('print the token ids the server would see (BOS included where the model adds it), with pieces')
    .argument('<body>', 'request body (file, or - for stdin)')
    .option('--json', 'print {"ids": [...], "pieces": [...]}')
    .action(async (body: string, opts: EngineCliOptions & { json?: boolean }) => {
      const engine = await buildEngine(opts, ctx);
      const b = await readBodyArg(body, ctx, opts.api);
      await engine.prefetch?.([b]);
      const { tokens: t } = engine.process(b, body);
      const pieces = t.ids.map((id) => engine.piece(id));
      if (opts.json) {
        ctx.stdout(`${JSON.stringify({ ids: t.ids, pieces })}\n`);
      } else {
        ctx.stdout(t.ids.map((id, i) => `${String(i).padStart(6)}  ${String(id).padStart(7)}  ${safeText(JSON.stringify(pieces[i]))}`).join('\n') + '\n');
      }
    });
  addEngineOptions(tokens);
  program.addCommand(tokens);
}
