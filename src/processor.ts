import type { Backend } from './backends.js';
import type { CacheConfig } from './cache.js';
import type { ModelSourceInfo } from './model/types.js';
import type { RequestBody } from './payload/body.js';
import type { Tokens } from './tokenize/prompt.js';

/** A rendered and tokenized request. */
export interface Processed {
  rendered: string;
  tokens: Tokens;
}

/**
 * What the later stages (compare, attribute, report) need from rendering and tokenizing, done by kvdiff itself
 * (`Engine`) or by a running llama-server (`RemoteEngine`). The optional members are capabilities a processor
 * may lack; stages test for the member, never for a class.
 */
export interface Processor {
  readonly source: ModelSourceInfo;
  readonly backend: Backend;
  /** The clock templates see. */
  readonly now: Date;
  /** The cache rules B is predicted under. */
  readonly cache: CacheConfig;
  /** The prompt text the backend would tokenize. `side` names the request in errors. */
  render(body: RequestBody, side: string): string;
  process(body: RequestBody, side: string): Processed;
  /**
   * `process(body, side)` for a request that differs little from one already processed (`base`): only the tokens
   * from the last special token before the first changed character are computed again. Same result as `process`.
   */
  processAfter?(body: RequestBody, side: string, base: Processed): Processed;
  /** Display text of a token id. */
  piece(id: number): string;
  /** Index of the first token that stands for text of the prompt (1 after a BOS the tokenizer added). */
  firstTextToken(p: Processed): number;

  /** The same request rendered as another backend would (for the note on what a difference does there). */
  renderAs?(backend: Backend, body: RequestBody, side: string): string;
  /** Token ids of a generated reply's text: no special tokens added, cut at the model's end-of-turn token. */
  encodeReply?(text: string): number[];
  /** Sends the requests ahead (a live server answers asynchronously; the stages after it read synchronously). */
  prefetch?(bodies: RequestBody[]): Promise<void>;
}

/** A processor that tokenizes a generated reply itself (kvdiff's own engine; a remote server does not offer it). */
export function encodesReplies(p: Processor): p is Processor & Required<Pick<Processor, 'encodeReply'>> {
  return typeof p.encodeReply === 'function';
}
