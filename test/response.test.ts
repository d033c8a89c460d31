import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempFiles } from './tmp.js';
import { runCli } from './cli-harness.js';
import { HAVE_SHARED, NO_SHARED_REASON, SHARED, loadFixtures } from './shared.js';

const { write } = tempFiles('response');

describe.skipIf(!HAVE_SHARED)(`--response: A's generated tokens in the slot (${HAVE_SHARED ? '' : NO_SHARED_REASON})`, () => {
  it('the recorded round trip: sampled tokens that re-tokenize differently are reported, n_past as logged', async () => {
    const f = loadFixtures().find((x) => x.case === 'qwen3_generated_tokens_roundtrip')!;
    const response = f.response_a as { usage: { completion_tokens: number } };
    const r = await runCli([write('a.json', f.request_a), write('b.json', f.request_b), '--response', write('r.json', response), '--gguf', join(SHARED, 'models', 'tiny-qwen3.gguf'), '--json']);
    const j = JSON.parse(r.stdout);
    expect(j.nPast).toBe(f.n_past_logged);
    expect(j.slot.sampled).toBe(response.usage.completion_tokens);
    expect(j.slot.retokenized).toBe((f.generated_text_retokenized as { ids: number[] }).ids.length);
    expect(j.slot.mismatch).toBe(true);
  });
});

describe('--response (embedded model)', () => {
  const a = { messages: [{ role: 'user', content: 'Say hello.' }] };
  const b = { messages: [...a.messages, { role: 'assistant', content: 'Hello there.' }, { role: 'user', content: 'Again.' }] };
  const response = { choices: [{ index: 0, finish_reason: 'stop', message: { role: 'assistant', content: 'Hello there.' } }] };
  it("a reply resent unchanged is reused from the slot beyond A's prompt", async () => {
    const without = JSON.parse((await runCli([write('a2.json', a), write('b2.json', b), '--json'])).stdout);
    const withReply = JSON.parse((await runCli([write('a2.json', a), write('b2.json', b), '--response', write('r2.json', response), '--json'])).stdout);
    expect(withReply.slot.mismatch).toBe(false);
    expect(withReply.nPast).toBe(without.nPast + withReply.slot.generatedKept);
    expect(withReply.slot.generatedKept).toBeGreaterThan(0);
  });
  it('a file that is not a response is bad input', async () => {
    const r = await runCli([write('a3.json', a), write('b3.json', b), '--response', write('bad.json', { hello: 1 })]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/no choices\[0\]\.message/);
  });
});
