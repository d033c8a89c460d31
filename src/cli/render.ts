import { Command } from 'commander';
import type { CliContext } from './context.js';
import { hasControls, safeText } from '../report/visible.js';
import { addEngineOptions, buildEngine, readBodyArg, type EngineCliOptions } from './shared.js';

/** `kvdiff render BODY` and `kvdiff tokens BODY`: what the server would template and tokenize. */
export function registerRenderCommands(program: Command, ctx: CliContext): void {
  const render = new Command('render')
    .description('print the rendered prompt exactly, adding nothing')
    .argument('<body>', 'request body (file, or - for stdin)')
    .action(async (body: string, opts: EngineCliOptions) => {
      const engine = await buildEngine(opts, ctx);
      const b = await readBodyArg(body, ctx);
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
      const b = await readBodyArg(body, ctx);
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
