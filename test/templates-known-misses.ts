/**
 * Template × body pairs where kvdiff's render differs from llama-server's, each with the reason (also in the
 * README). A pair that starts matching should be removed from here.
 */

/**
 * llama-server continues a trailing assistant message (and, for some formats, renders an assistant turn's
 * `reasoning_content`) through its chat-format layer (common/chat.cpp: per-format handlers and the template
 * analysis that infers thinking tags such as `<think>`/`</think>`, `<|START_THINKING|>`, `<|channel>thought`,
 * `[THINK]`). It writes the continued message's reasoning back with those tags even when the template itself never
 * prints `reasoning_content`. kvdiff continues by rendering the template twice (without and with the message) and
 * keeps only what the template prints, so the reasoning (or its exact tag spacing) is missing.
 */
const THINKING_TAGS = 'continued/in-progress assistant reasoning re-inserted by llama.cpp with thinking tags it infers from the template (common/chat.cpp chat-format analysis); kvdiff only prints what the template renders';

/** common/chat.cpp `convert_tool_responses_gemma4`: tool results folded into the assistant turn before templating. */
const GEMMA4_TOOLS = 'llama.cpp folds tool results into the preceding assistant turn for Gemma-4 templates (common/chat.cpp convert_tool_responses_gemma4); not reproduced';

/** The Mistral/Devstral chat format rewrites an assistant turn that has reasoning_content; not reproduced. */
const DEVSTRAL_REASONING = "llama.cpp's Devstral/Mistral format handler rewrites assistant turns carrying reasoning_content (the recorded render drops that turn's content and prints [THINK]…[/THINK] for the continued one); not reproduced";

export const KNOWN_TEMPLATE_MISSES: Record<string, string> = {
  'CohereForAI-c4ai-command-r7b-12-2024-tool_use c9': THINKING_TAGS,
  'Kimi-K2-Instruct c9': THINKING_TAGS,
  'LFM2.5-8B-A1B c5': THINKING_TAGS,
  'LFM2.5-8B-A1B c9': THINKING_TAGS,
  'NVIDIA-Nemotron-Nano-v2 c9': THINKING_TAGS,
  'deepseek-ai-DeepSeek-R1-Distill-Llama-8B c9': THINKING_TAGS,
  'deepseek-ai-DeepSeek-V3.1 c9': THINKING_TAGS,
  'google-gemma-4-31B-it-interleaved c9': THINKING_TAGS,
  'ibm-granite-granite-3.3-2B-Instruct c9': THINKING_TAGS,
  'llama-cpp-rwkv-world c9': THINKING_TAGS,
  'poolside-Laguna-XS-2.1 c9': THINKING_TAGS,
  'google-gemma-4-31B-it-interleaved c3': GEMMA4_TOOLS,
  'google-gemma-4-31B-it-interleaved c4': GEMMA4_TOOLS,
  'google-gemma-4-31B-it-interleaved c5': GEMMA4_TOOLS,
  'google-gemma-4-31B-it-interleaved c10': GEMMA4_TOOLS,
  'unsloth-mistral-Devstral-Small-2507 c5': DEVSTRAL_REASONING,
  'unsloth-mistral-Devstral-Small-2507 c9': DEVSTRAL_REASONING,
};
