import { backendProfile, type Backend } from './backends.js';
import { cacheConfigFor, type CacheConfig } from './cache.js';
import { finishRender, prepare, type PrepareOptions, type TemplateCaps } from './normalize.js';
import type { ModelInfo, ModelSourceInfo } from './model/types.js';
import type { RequestBody } from './payload/body.js';
import type { Processed, Processor } from './processor.js';
import { ChatTemplate, detectCaps } from './render.js';
import { PromptTokenizer, type Tokens } from './tokenize/prompt.js';

export interface EngineOptions {
  model: ModelInfo;
  backend: Backend;
  /** Server cache settings; defaults to the backend's with the model's memory facts. */
  cache?: Partial<CacheConfig>;
  /** The clock templates see. */
  now: Date;
}

/**
 * normalize → render → tokenize for one model and backend, set up once and reused for every request and every
 * what-if variant the attribution renders.
 */
export class Engine implements Processor {
  readonly template: ChatTemplate;
  readonly caps: TemplateCaps;
  readonly tokenizer: PromptTokenizer;
  private readonly model: ModelInfo;
  private readonly prep: PrepareOptions;
  private readonly addSpecial: boolean;
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
    const label = model.source.templateName ? `${model.source.name} (${model.source.templateName})` : model.source.name;
    this.template = new ChatTemplate(model.chatTemplate, label, now);
    this.caps = detectCaps(this.template);
    this.tokenizer = new PromptTokenizer(model);
    this.prep = { backend, model, caps: this.caps, now };
    this.addSpecial = backendProfile(backend).addSpecialTokens;
    this.cache = cacheConfigFor(backend, model.memory, options.cache);
  }

  /** The prompt text the backend would tokenize. `side` names the request in errors. */
  render(body: RequestBody, side: string): string {
    return finishRender(this.template.render(prepare(body, this.prep), side), this.prep);
  }

  /** The same template and model, rendered as another backend would (llama.cpp ↔ raw). */
  renderAs(backend: Backend, body: RequestBody, side: string): string {
    const prep = { ...this.prep, backend };
    return finishRender(this.template.render(prepare(body, prep), side), prep);
  }

  tokenize(rendered: string): Tokens {
    return this.tokenizer.encode(rendered, this.addSpecial);
  }

  process(body: RequestBody, side: string): Processed {
    const rendered = this.render(body, side);
    return { rendered, tokens: this.tokenize(rendered) };
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
