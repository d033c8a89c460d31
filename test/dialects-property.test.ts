import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { KvdiffError } from '../src/errors.js';
import { chatBody, convertedPaths, convert, rawPrompt, readClientBody } from '../src/dialect/index.js';
import { diffBodies } from '../src/attribute/diff.js';
import { parseJson } from '../src/payload/json.js';

// Any JSON in any dialect ends in a converted body or a one-line KvdiffError (a refusal), never a crash; and the
// item alignment of the attribution never loses a difference: applying all of them to A gives B's items.
function onlyKvdiffErrors(f: () => unknown): boolean {
  try {
    f();
    return true;
  } catch (err) {
    if (err instanceof KvdiffError && !err.message.includes('\n')) return true;
    throw err;
  }
}

const block = fc.oneof(
  fc.jsonValue({ maxDepth: 2 }),
  fc.record({ type: fc.constantFrom('text', 'thinking', 'redacted_thinking', 'tool_use', 'tool_result', 'image', 'x'), text: fc.jsonValue({ maxDepth: 1 }), input: fc.jsonValue({ maxDepth: 2 }), content: fc.jsonValue({ maxDepth: 2 }), source: fc.jsonValue({ maxDepth: 1 }) }, { requiredKeys: ['type'] }),
);
const item = fc.oneof(
  fc.jsonValue({ maxDepth: 2 }),
  fc.record(
    {
      type: fc.constantFrom('message', 'reasoning', 'function_call', 'function_call_output', 'x'),
      role: fc.constantFrom('user', 'assistant', 'system', 'developer', 'tool'),
      content: fc.oneof(fc.string(), fc.array(fc.record({ type: fc.constantFrom('input_text', 'output_text', 'refusal', 'input_image', 'reasoning_text'), text: fc.jsonValue({ maxDepth: 1 }) }), { maxLength: 3 })),
      summary: fc.jsonValue({ maxDepth: 1 }),
      arguments: fc.oneof(fc.string(), fc.jsonValue({ maxDepth: 1 })),
      call_id: fc.oneof(fc.string(), fc.constant(null)),
      name: fc.string(),
      output: fc.oneof(fc.string(), fc.jsonValue({ maxDepth: 2 })),
    },
    { requiredKeys: [] },
  ),
);

describe('dialect conversions on arbitrary bodies', () => {
  it('/v1/messages', () => {
    fc.assert(
      fc.property(
        fc.record({ system: fc.jsonValue({ maxDepth: 2 }), messages: fc.array(fc.record({ role: fc.constantFrom('user', 'assistant', 'x'), content: fc.oneof(fc.string(), fc.array(block, { maxLength: 4 })) }, { requiredKeys: [] }), { maxLength: 4 }), tools: fc.jsonValue({ maxDepth: 3 }), thinking: fc.jsonValue({ maxDepth: 1 }), metadata: fc.jsonValue({ maxDepth: 1 }) }, { requiredKeys: [] }),
        (b) =>
          onlyKvdiffErrors(() => {
            const body = readClientBody(JSON.stringify(b), 'B', 'messages');
            const c = convert(body, { billingHeader: true })!;
            convertedPaths(c, ['messages', 0, 'content', 0]);
            chatBody(body, { billingHeader: true });
          }),
      ),
      { numRuns: 400, seed: 10 },
    );
  });
  it('/v1/responses', () => {
    fc.assert(
      fc.property(
        fc.record({ instructions: fc.jsonValue({ maxDepth: 1 }), input: fc.oneof(fc.string(), fc.array(item, { maxLength: 5 }), fc.jsonValue({ maxDepth: 1 })), tools: fc.jsonValue({ maxDepth: 2 }), previous_response_id: fc.jsonValue({ maxDepth: 0 }), max_output_tokens: fc.jsonValue({ maxDepth: 0 }) }, { requiredKeys: [] }),
        (b) =>
          onlyKvdiffErrors(() => {
            const body = readClientBody(JSON.stringify(b), 'B', 'responses');
            chatBody(body, { billingHeader: true });
          }),
      ),
      { numRuns: 400, seed: 10 },
    );
  });
  it('completion prompts', () => {
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 2 }), (prompt) => onlyKvdiffErrors(() => rawPrompt(readClientBody(JSON.stringify({ prompt }), 'B', 'completion')))),
      { numRuns: 400, seed: 10 },
    );
  });
  it('aligned item differences, applied together, turn A into B', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 5 }), { maxLength: 8 }), fc.array(fc.integer({ min: 0, max: 5 }), { maxLength: 8 }), (xs, ys) => {
        const a = parseJson(JSON.stringify({ input: xs.map((x) => ({ v: x })) }), 'A');
        const b = parseJson(JSON.stringify({ input: ys.map((y) => ({ v: y })) }), 'B');
        const diffs = diffBodies(a, b);
        // removals and additions each apply alone to A; every item of B is reached by A's kept items or an added one
        const kept = diffs.filter((d) => d.code === 'ITEM_REMOVED').length;
        const added = diffs.filter((d) => d.code === 'ITEM_ADDED' || d.code === 'MESSAGES_APPENDED').reduce((n, d) => n + (d.code === 'MESSAGES_APPENDED' ? d.appended : 1), 0);
        expect(xs.length - kept + added).toBe(ys.length);
      }),
      { numRuns: 500, seed: 10 },
    );
  });
});
