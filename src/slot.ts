import type { Processed, Processor } from './processor.js';
import type { RequestBody } from './payload/body.js';
import type { JsonNode } from './payload/json.js';
import type { GeneratedResponse } from './payload/response.js';

/** What llama-server's slot holds after answering A: A's prompt plus the generated tokens fed back. */
export interface SlotContents {
  ids: number[];
  /** Generated tokens kept in the slot (every sampled token but the last). */
  generatedKept: number;
  /** Tokens the server says it sampled, when the response tells. */
  sampled: number | null;
  /** Tokens kvdiff gets by re-tokenizing the generated text (plus the end-of-turn token when it stopped). */
  retokenized: number;
  /** The sampled tokens are not what a re-tokenization of their text gives: the slot holds ids no re-render reproduces. */
  mismatch: boolean;
}

const KEEP_IN_MESSAGE = new Set(['role', 'content', 'reasoning_content', 'tool_calls']);

/**
 * The slot after A (`--response`): llama-server appends every sampled token except the last to the cache
 * (`handle_last_sampled_token`). The generated text is the reply's content (or, with reasoning or tool calls, the
 * template's rendering of the reply after A's prompt, up to the end-of-turn token); its tokens are a
 * re-tokenization, so when their count differs from what the server sampled, the report says so.
 */
export function slotAfter(engine: Processor & Required<Pick<Processor, 'encodeReply'>>, a: RequestBody, pa: Processed, response: GeneratedResponse): SlotContents {
  const reply: JsonNode =
    response.message.type === 'object'
      ? { type: 'object', entries: response.message.entries.filter((e) => KEEP_IN_MESSAGE.has(e.key)) }
      : response.message;
  const root = a.root.type === 'object' ? a.root : { type: 'object' as const, entries: [] };
  const withReply: RequestBody = {
    label: `${a.label} + ${response.label}`,
    root: {
      type: 'object',
      entries: [
        ...root.entries.filter((e) => e.key !== 'messages' && e.key !== 'add_generation_prompt'),
        {
          key: 'messages',
          value: { type: 'array', items: [...(root.entries.find((e) => e.key === 'messages')?.value as { items: JsonNode[] }).items, reply] },
        },
        { key: 'add_generation_prompt', value: { type: 'boolean', value: false } },
      ],
    },
  };
  // a plain reply is its content; with reasoning or tool calls, how the template writes the reply after A's
  // prompt is the best guess at the text the model produced
  const plain = reply.type === 'object' && !reply.entries.some((e) => (e.key === 'reasoning_content' || e.key === 'tool_calls') && e.value.type !== 'null');
  const rendered = plain ? '' : engine.render(withReply, `A with its reply (${response.label})`);
  const text = !plain && rendered.startsWith(pa.rendered) ? rendered.slice(pa.rendered.length) : contentOf(reply);
  const stopped = response.finishReason !== 'length';
  const generated = engine.encodeReply(text);
  const retokenized = generated.length + (stopped ? 1 : 0);
  const sampled = response.completionTokens;
  const kept = Math.max(0, Math.min(generated.length, (sampled ?? retokenized) - 1));
  return {
    ids: [...pa.tokens.ids, ...generated.slice(0, kept)],
    generatedKept: kept,
    sampled,
    retokenized,
    mismatch: sampled !== null && sampled !== retokenized,
  };
}

function contentOf(message: JsonNode): string {
  const c = message.type === 'object' ? message.entries.find((e) => e.key === 'content')?.value : undefined;
  return c?.type === 'string' ? c.value : '';
}
