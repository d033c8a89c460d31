import { addsSpecialTokens, finishRender, prepare, type BackendName, type PrepareOptions, type TemplateCaps } from './normalize.js';
import type { ModelInfo } from './model/types.js';
import type { RequestBody } from './payload/body.js';
import { ChatTemplate, detectCaps } from './render.js';
import { PromptTokenizer, type Tokens } from './tokenize.js';

/** A rendered and tokenized request. */
export interface Processed {
  rendered: string;
  tokens: Tokens;
}

export interface EngineOptions {
  model: ModelInfo;
  backend: BackendName;
  /** The clock templates see. */
  now: Date;
}

/**
 * normalize → render → tokenize for one model and backend, set up once and reused for every request and every
 * what-if variant the attribution renders.
 */
export class Engine {
  readonly template: ChatTemplate;
  readonly caps: TemplateCaps;
  readonly tokenizer: PromptTokenizer;
  private readonly prep: PrepareOptions;
  private readonly addSpecial: boolean;

  constructor(readonly options: EngineOptions) {
    const { model, backend, now } = options;
    const label = model.source.templateName ? `${model.source.name} (${model.source.templateName})` : model.source.name;
    this.template = new ChatTemplate(model.chatTemplate, label, now);
    this.caps = detectCaps(this.template);
    this.tokenizer = new PromptTokenizer(model);
    this.prep = { backend, model, caps: this.caps, now };
    this.addSpecial = addsSpecialTokens(backend);
  }

  /** The prompt text the backend would tokenize. `side` names the request in errors. */
  render(body: RequestBody, side: string): string {
    return finishRender(this.template.render(prepare(body, this.prep), side), this.prep);
  }

  tokenize(rendered: string): Tokens {
    return this.tokenizer.encode(rendered, this.addSpecial);
  }

  process(body: RequestBody, side: string): Processed {
    const rendered = this.render(body, side);
    return { rendered, tokens: this.tokenize(rendered) };
  }
}
