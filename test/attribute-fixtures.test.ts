import { describe, expect, it } from 'vitest';
import { analyze } from '../src/analyze.js';
import { Engine } from '../src/engine.js';
import { loadBuiltinModel } from '../src/model/builtin.js';
import { nodeFs } from '../src/node/fs.js';
import { bodyFromObject } from '../src/payload/body.js';
import { formatPath } from '../src/payload/path.js';
import { HAVE_SHARED, NO_SHARED_REASON, loadFixtures, type Fixture } from './shared.js';

// The token where each cause breaks the prefix must be where llama-server's cache actually broke: the
// recorded n_past. Which codes apply follows the recorded behaviour in ../shared/docs/llama-server-behaviour.md §d.
const qwen3 = loadFixtures().filter((f) => f.model === 'tiny-qwen3.gguf' && !f.server_args.includes('--cache-reuse') && f.rendered_b !== undefined && !f.error_b);

describe.skipIf(!HAVE_SHARED)(`attribution on llama-server recordings (${HAVE_SHARED ? '' : NO_SHARED_REASON})`, async () => {
  const model = HAVE_SHARED ? await loadBuiltinModel(nodeFs, 'qwen3') : undefined;
  const engine = model && new Engine({ model, backend: 'llama.cpp', now: new Date(Date.UTC(2026, 10, 27)) });
  const run = (f: Fixture) => analyze(engine!, bodyFromObject(f.request_a, 'a.json'), bodyFromObject(f.request_b, 'b.json'));
  const byCase = (name: string) => qwen3.find((f) => f.case === name)!;
  const codes = (list: { code: string; path: readonly (string | number)[] }[]) => list.map((c) => `${c.code} ${formatPath(c.path)}`);

  for (const f of qwen3) {
    it(`${f.case}: nPast and the first cause's token equal the logged n_past (${f.n_past_logged})`, () => {
      const r = run(f);
      expect(r.comparison.nPast).toBe(f.n_past_logged);
      if (r.comparison.firstDivergence) {
        expect(r.causes[0].token).toBe(f.n_past_logged);
        expect(r.causes[0].code).not.toBe('UNEXPLAINED');
      }
    });
  }

  it('bug i: call_id and response_item_id inside tool_calls are dropped by llama-server (ignored)', () => {
    const r = run(byCase('qwen3_bug_i_toolcall_extra_fields'));
    expect(r.reusesAll).toBe(true);
    expect(codes(r.ignored)).toEqual(expect.arrayContaining(['EXTRA_FIELD $.messages[2].tool_calls[0].call_id', 'EXTRA_FIELD $.messages[2].tool_calls[0].response_item_id']));
    expect(r.causes.filter((c) => c.breaks)).toEqual([]);
  });
  it('bug ii: the trimmed "\\n\\n" is a WHITESPACE cause', () => {
    expect(run(byCase('qwen3_bug_ii_trailing_newlines_trimmed')).causes[0].code).toBe('WHITESPACE');
  });
  it('bug iii: reasoning_content stored as reasoning is a FIELD_RENAMED cause', () => {
    const c = run(byCase('qwen3_bug_iii_reasoning_content_vs_reasoning')).causes[0];
    expect([c.code, c.from]).toEqual(['FIELD_RENAMED', 'reasoning_content']);
  });
  it("Qwen3's template drops earlier <think> blocks on a new user turn", () => {
    const c = run(byCase('qwen3_template_drops_think_on_new_user_turn')).causes[0];
    expect(c.code).toBe('TEMPLATE_REWRITES_HISTORY');
  });
  it('a changed system timestamp, swapped tools and reordered argument keys are named', () => {
    expect(codes(run(byCase('qwen3_system_timestamp_changed')).causes)[0]).toBe('VALUE_CHANGED $.messages[0].content');
    expect(codes(run(byCase('qwen3_tools_order_swapped')).causes)[0]).toBe('ARRAY_ORDER $.tools');
    expect(run(byCase('qwen3_toolcall_args_key_order')).causes[0].code).toBe('JSON_KEY_ORDER');
  });
  it('argument spacing is normalised away by llama-server (ignored)', () => {
    const r = run(byCase('qwen3_toolcall_args_spacing'));
    expect(r.reusesAll).toBe(true);
    expect(r.ignored.map((c) => c.code)).toContain('JSON_REFORMATTED');
  });
});
