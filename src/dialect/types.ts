import type { JsonNode } from '../payload/json.js';
import type { JsonPath } from '../payload/path.js';

import type { Api } from '../payload/body.js';

export type { Api };
/** What `--api` accepts (`prompt`: rendered prompt text, also recognised by a `.txt` name). */
export const API_CHOICES: readonly Api[] = ['chat', 'messages', 'responses', 'completion', 'prompt'];

/** Where a node of the converted body came from in the client's body. */
export interface Origin {
  /** Path in the chat-completions body the server builds. */
  to: JsonPath;
  /** Path in the client's body. */
  from: JsonPath;
  /**
   * The node was copied as it is (paths below it carry over); false when the client's value was turned into
   * text (a `tool_use.input` dumped into `arguments`, system blocks concatenated).
   */
  copy: boolean;
}

/** Rewrites llama-server applies while converting (they make a client difference vanish). */
export type RewriteRule = 'BILLING_CCH';

/** A client body converted to the chat-completions body llama-server builds from it. */
export interface Conversion {
  api: 'messages' | 'responses';
  root: JsonNode;
  origins: Origin[];
  rewrites: { from: JsonPath; rule: RewriteRule }[];
}

export interface ConvertOptions {
  /** llama-server rewrites the Claude Code billing header's `cch=` stamp; other servers do not. */
  billingHeader: boolean;
}
