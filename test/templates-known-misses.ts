/**
 * Template × body pairs where kvdiff's render differs from llama-server's, each with the reason (also in the
 * README). A pair that starts matching must be removed from here (the fixture test fails otherwise).
 *
 * Empty: the last three (continued messages on llama.cpp's generic path, whose reasoning is written between the
 * markers its differential template analysis finds) are reproduced by src/jinja/reasoning.ts.
 */
export const KNOWN_TEMPLATE_MISSES: Record<string, string> = {};
