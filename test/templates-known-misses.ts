/**
 * Template × body pairs where kvdiff's render differs from llama-server's, each with the reason (also in the
 * README). A pair that starts matching should be removed from here.
 */

/**
 * llama-server writes the reasoning of a continued (or in-progress) assistant message through its chat-format
 * layer (common/chat.cpp: per-format handlers and a template analysis that infers the thinking tags). kvdiff
 * re-inserts it before the content in the tags it finds in the template text (`<think>`, `<|START_THINKING|>`,
 * `<|channel>thought`), which matches most formats; these ones format it differently: Command-R7b drops its
 * `<|START_RESPONSE|>` (its handler passes reasoning as `tool_plan`), RWKV-world keeps a newline before `</think>`,
 * poolside-Laguna prints it without the newlines its own template uses, and LFM2.5 re-inserts it for an
 * in-progress tool-call turn (c5), not only a continued one.
 */
const THINKING_TAGS = "llama.cpp's chat-format layer writes this message's reasoning in a format-specific way kvdiff does not reproduce (common/chat.cpp per-format handlers)";

/** The Mistral/Devstral chat format rewrites an assistant turn that has reasoning_content; not reproduced. */
const DEVSTRAL_REASONING = "llama.cpp's Devstral/Mistral format handler rewrites assistant turns carrying reasoning_content (the recorded render drops that turn's content and prints [THINK]…[/THINK] for the continued one); not reproduced";

export const KNOWN_TEMPLATE_MISSES: Record<string, string> = {
  'CohereForAI-c4ai-command-r7b-12-2024-tool_use c9': THINKING_TAGS,
  'LFM2.5-8B-A1B c5': THINKING_TAGS,
  'llama-cpp-rwkv-world c9': THINKING_TAGS,
  'poolside-Laguna-XS-2.1 c9': THINKING_TAGS,
  'unsloth-mistral-Devstral-Small-2507 c5': DEVSTRAL_REASONING,
  'unsloth-mistral-Devstral-Small-2507 c9': DEVSTRAL_REASONING,
};
