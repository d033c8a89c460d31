import { backendProfile, type Backend } from './backends.js';
import { cacheConfigFor, type CacheConfig } from './cache.js';
import { finishRender, prepare, type PrepareOptions, type TemplateCaps } from './normalize.js';
import type { ModelInfo, ModelSourceInfo } from './model/types.js';
import type { RequestBody } from './payload/body.js';
import type { Processed, Processor } from './processor.js';
import { ChatTemplate, detectCaps } from './render.js';
import { analyzeTemplate, type ReasoningMarkers, type TemplateAnalysis } from './jinja/reasoning.js';
import { detectChatFormat } from './chat-formats.js';
import { KvdiffError } from './errors.js';
import { rawPrompt, tokenizePieces, toChat } from './dialect/index.js';
import { PromptTokenizer, type Tokens } from './tokenize/prompt.js';
import type { Deadline } from './deadline.js';

export interface EngineOptions {
  model: ModelInfo;
  backend: Backend;
  /** Server cache settings; defaults to the backend's with the model's memory facts. */
  cache?: Partial<CacheConfig>;
  /** The clock templates see. */
  now: Date;
  /** The command's overall deadline (`--timeout`); none for library calls unless given. */
  deadline?: Deadline;
}

/**
 * dialect → normalize → render → tokenize for one model and backend, set up once and reused for every request and
 * every what-if variant the attribution renders.
 */
export class Engine implements Processor {
  readonly template: ChatTemplate;
  readonly caps: TemplateCaps;
  readonly tokenizer: PromptTokenizer;
  private readonly model: ModelInfo;
  private readonly prep: PrepareOptions;
  private readonly addSpecial: boolean;
  private readonly deadline?: Deadline;
  readonly cache: CacheConfig;

  readonly source: ModelSourceInfo;
  readonly backend: Backend;
  readonly now: Date;

  constructor(options: EngineOptions) {
    const { model, backend, now } = options;
    this.model = model;
    this.source = model.source;
    this.backend = backend;
    this.now = now;
    this.deadline = options.deadline;
    const label = model.source.templateName ? `${model.source.name} (${model.source.templateName})` : model.source.name;
    this.template = new ChatTemplate(model.chatTemplate, label, now);
    this.template.deadline = options.deadline;
    this.caps = detectCaps(this.template);
    this.tokenizer = new PromptTokenizer(model);
    this.prep = { backend, model, caps: this.caps, now, reasoning: () => this.reasoningMarkers() };
    this.addSpecial = backendProfile(backend).addSpecialTokens;
    this.cache = cacheConfigFor(backend, model.memory, options.cache);
  }

  private analysis?: TemplateAnalysis;

  /** llama.cpp's differential analysis of the template, worked out on first use (a few probe renders). */
  private analyze(): TemplateAnalysis {
    this.analysis ??= analyzeTemplate((vars) => this.template.tryRender(vars), this.model.chatTemplate, this.caps, this.model.bosToken, this.model.eosToken);
    return this.analysis;
  }

  /** The reasoning markers llama.cpp's template analysis finds. */
  reasoningMarkers(): ReasoningMarkers {
    return this.analyze().markers;
  }

  /** The prompt text the backend would tokenize. `side` names the request in errors. */
  render(body: RequestBody, side: string): string {
    return this.renderAs(this.backend, body, side);
  }

  /** The same template and model, rendered as another backend would (llama.cpp ↔ raw). */
  renderAs(backend: Backend, body: RequestBody, side: string): string {
    const raw = rawPrompt(body);
    if (raw) return tokenizePieces(raw, this.rawTokenizer).rendered;
    const prep = backend === this.backend ? this.prep : { ...this.prep, backend };
    // chat.cpp: a template llama.cpp does not know by name goes through the differential analysis on every request
    // (and once at start-up); when that fails, llama-server refuses the template
    if (backend === 'llama.cpp' && !detectChatFormat(this.model.chatTemplate)) {
      const failure = this.analyze().failure;
      if (failure) {
        throw new KvdiffError(
          `llama-server would refuse this chat template (it does not start with it): Unable to generate parser for this template. Automatic parser generation failed: ${failure}`,
        );
      }
    }
    return finishRender(this.template.render(prepare(toChat(body, backend), prep), side), prep);
  }

  /** Raw prompts (completion bodies, prompt files) are tokenized with add_special and parse_special, no template. */
  private readonly rawTokenizer = {
    encode: (text: string, addSpecial: boolean) => this.tokenizer.encode(text, addSpecial),
    piece: (id: number) => this.tokenizer.piece(id),
  };

  tokenize(rendered: string): Tokens {
    this.deadline?.check('tokenizing');
    return this.tokenizer.encode(rendered, this.addSpecial);
  }

  process(body: RequestBody, side: string): Processed {
    const raw = rawPrompt(body);
    if (raw) return tokenizePieces(raw, this.rawTokenizer);
    const rendered = this.render(body, side);
    return { rendered, tokens: this.tokenize(rendered) };
  }

  processAfter(body: RequestBody, side: string, base: Processed): Processed {
    const raw = rawPrompt(body);
    if (raw) return tokenizePieces(raw, this.rawTokenizer);
    const rendered = this.render(body, side);
    this.deadline?.check('tokenizing');
    return { rendered, tokens: this.tokenizer.encodeAfter(rendered, { text: base.rendered, tokens: base.tokens }, this.addSpecial) };
  }

  piece(id: number): string {
    return this.tokenizer.piece(id);
  }

  firstTextToken(p: Processed): number {
    const { addBos, bosToken } = this.model;
    const added = this.addSpecial && addBos && p.tokens.ids[0] === this.tokenizer.bosId && !p.rendered.startsWith(bosToken);
    return added ? 1 : 0;
  }

  encodeReply(text: string): number[] {
    const eos = this.model.eosToken;
    const cut = eos && text.includes(eos) ? text.slice(0, text.indexOf(eos)) : text;
    return this.tokenizer.encode(cut, false).ids;
  }
}
