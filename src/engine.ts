import { renderBackend, type Backend } from './backends.js';
import { DEFAULT_CACHE_CONFIG, type CacheConfig } from './cache.js';
import { commonTextPrefix } from './compare.js';
import { addsSpecialTokens, finishRender, prepare, type BackendName, type PrepareOptions, type TemplateCaps } from './normalize.js';
import type { ModelInfo, ModelSourceInfo } from './model/types.js';
import type { RequestBody } from './payload/body.js';
import { ChatTemplate, detectCaps } from './render.js';
import { chatBody, rawPrompt, tokenizePieces } from './dialect/index.js';
import { PromptTokenizer, type Tokens } from './tokenize.js';
import type { Deadline } from './deadline.js';
import { TemplateLimitError } from './jinja/compat.js';

/** A rendered and tokenized request. */
export interface Processed {
  rendered: string;
  tokens: Tokens;
}

export interface EngineOptions {
  model: ModelInfo;
  backend: Backend;
  /** Server cache settings; defaults to llama-server's with the model's memory facts. */
  cache?: Partial<CacheConfig>;
  /** The clock templates see. */
  now: Date;
  /** The command's overall deadline (`--timeout`); none for library calls unless given. */
  deadline?: Deadline;
}

/**
 * What the later stages (compare, attribute, report) need from rendering and tokenizing: done here
 * (`Engine`) or by a running llama-server (`RemoteEngine`).
 */
export interface Processor {
  readonly source: ModelSourceInfo;
  readonly backend: Backend;
  /** The clock templates see. */
  readonly now: Date;
  readonly cache: CacheConfig;
  /** The prompt text the backend would tokenize. `side` names the request in errors. */
  render(body: RequestBody, side: string): string;
  process(body: RequestBody, side: string): Processed;
  /** Display text of a token id. */
  piece(id: number): string;
  /** Index of the first token that stands for text of the prompt (1 after a BOS the tokenizer added). */
  firstTextToken(p: Processed): number;
}

/**
 * normalize → render → tokenize for one model and backend, set up once and reused for every request and every
 * what-if variant the attribution renders.
 */
export class Engine implements Processor {
  readonly template: ChatTemplate;
  readonly caps: TemplateCaps;
  readonly tokenizer: PromptTokenizer;
  private readonly prep: PrepareOptions;
  private readonly addSpecial: boolean;
  readonly cache: CacheConfig;

  readonly source: ModelSourceInfo;
  readonly backend: Backend;
  readonly now: Date;

  constructor(readonly options: EngineOptions) {
    const { model, backend, now } = options;
    this.source = model.source;
    this.backend = backend;
    this.now = now;
    const label = model.source.templateName ? `${model.source.name} (${model.source.templateName})` : model.source.name;
    this.template = new ChatTemplate(model.chatTemplate, label, now);
    this.template.deadline = options.deadline;
    this.caps = detectCaps(this.template);
    this.tokenizer = new PromptTokenizer(model);
    this.prep = { backend: renderBackend(backend), model, caps: this.caps, now };
    this.addSpecial = addsSpecialTokens(this.prep.backend);
    this.cache = {
      ...DEFAULT_CACHE_CONFIG,
      nSwa: model.memory?.nSwa ?? 0,
      recurrent: model.memory?.recurrent ?? false,
      server: backend === 'vllm' || backend === 'sglang' ? backend : 'llama.cpp',
      blockSize: backend === 'sglang' ? 1 : DEFAULT_CACHE_CONFIG.blockSize,
      ...options.cache,
    };
  }

  /** The prompt text the backend would tokenize. `side` names the request in errors. */
  render(body: RequestBody, side: string): string {
    const raw = rawPrompt(body);
    if (raw) return tokenizePieces(raw, this.rawTokenizer).rendered;
    return finishRender(this.template.render(prepare(this.toChat(body), this.prep), side), this.prep);
  }

  /** The same template and model, rendered as the other message handling would (llama.cpp ↔ raw). */
  renderUnder(backend: BackendName, body: RequestBody, side: string): string {
    const raw = rawPrompt(body);
    if (raw) return tokenizePieces(raw, this.rawTokenizer).rendered;
    const prep = { ...this.prep, backend };
    return finishRender(this.template.render(prepare(chatBody(body, { billingHeader: backend === 'llama.cpp' }), prep), side), prep);
  }

  /** The chat-completions body this backend templates: other dialects converted as llama-server converts them. */
  toChat(body: RequestBody): RequestBody {
    return chatBody(body, { billingHeader: this.prep.backend === 'llama.cpp' });
  }

  /** Raw prompts (completion bodies, prompt files) are tokenized with add_special and parse_special, no template. */
  private readonly rawTokenizer = {
    encode: (text: string, addSpecial: boolean) => this.tokenizer.encode(text, addSpecial),
    piece: (id: number) => this.tokenizer.piece(id),
  };

  tokenize(rendered: string): Tokens {
    this.options.deadline?.check('tokenizing');
    return this.tokenizer.encode(rendered, this.addSpecial);
  }

  process(body: RequestBody, side: string): Processed {
    const raw = rawPrompt(body);
    if (raw) return tokenizePieces(raw, this.rawTokenizer);
    const rendered = this.render(body, side);
    return { rendered, tokens: this.tokenize(rendered) };
  }

  piece(id: number): string {
    return this.tokenizer.piece(id);
  }

  firstTextToken(p: Processed): number {
    const { addBos, bosToken } = this.options.model;
    const added = this.addSpecial && addBos && p.tokens.ids[0] === this.tokenizer.bosId && !p.rendered.startsWith(bosToken);
    return added ? 1 : 0;
  }
}

/**
 * Token positions where the user messages of `body` start in its rendered prompt (llama-server takes SWA
 * checkpoints there): each message's start is where the render of the messages before it stops agreeing with
 * the full render.
 */
export function userMessageStarts(engine: Processor, body: RequestBody, p: Processed): number[] {
  if (rawPrompt(body)) return [];
  const root = engine instanceof Engine ? engine.toChat(body).root : body.root;
  if (root.type !== 'object') return [];
  const msgs = root.entries.find((e) => e.key === 'messages')?.value;
  if (msgs?.type !== 'array') return [];
  const starts: number[] = [];
  msgs.items.forEach((m, k) => {
    const role = m.type === 'object' ? m.entries.find((e) => e.key === 'role')?.value : undefined;
    if (role?.type !== 'string' || role.value !== 'user') return;
    const prefixRoot = {
      type: 'object' as const,
      entries: [
        ...root.entries.filter((e) => e.key !== 'messages' && e.key !== 'add_generation_prompt'),
        { key: 'messages', value: { type: 'array' as const, items: msgs.items.slice(0, k) } },
        { key: 'add_generation_prompt', value: { type: 'boolean' as const, value: false } },
      ],
    };
    let text: string;
    try {
      text = k === 0 ? '' : engine.render({ label: body.label, root: prefixRoot }, 'a message prefix');
    } catch (err) {
      if (err instanceof TemplateLimitError) throw err;
      return; // templates that refuse a partial conversation: no checkpoint position known there
    }
    const at = commonTextPrefix(text, p.rendered);
    // a BOS the tokenizer added has no text of its own: it never starts a message
    const from = engine.firstTextToken(p);
    const found = p.tokens.starts.slice(from).findIndex((s) => s >= at);
    const token = found < 0 ? -1 : found + from;
    if (token >= 0) starts.push(token);
  });
  return starts;
}
