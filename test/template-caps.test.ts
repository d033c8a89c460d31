import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { Engine } from '../src/engine.js';
import { loadBuiltinModel } from '../src/model/builtin.js';
import type { ModelInfo } from '../src/model/types.js';
import { nodeFs } from '../src/node/fs.js';
import { bodyFromObject } from '../src/payload/body.js';
import { ChatTemplate, detectCaps } from '../src/render.js';
import { HAVE_SHARED, NO_SHARED_REASON, SHARED } from './shared.js';

// llama-server reports what caps.cpp found for each template (`caps` in the recorded fixtures); kvdiff's probes
// must find the same, since the polyfills and message handling depend on them.
const RECORDED = ['llama-server-templates', 'llama-server-templates-more'];
const CAPS: [string, keyof ReturnType<typeof detectCaps>][] = [
  ['supports_system_role', 'systemRole'],
  ['supports_object_arguments', 'objectArguments'],
  ['supports_string_content', 'stringContent'],
  ['supports_typed_content', 'typedContent'],
  ['supports_tools', 'tools'],
  ['supports_tool_calls', 'toolCalls'],
  ['supports_parallel_tool_calls', 'parallelToolCalls'],
];

describe.skipIf(!HAVE_SHARED)(`template capabilities as llama-server detects them (${HAVE_SHARED ? '' : NO_SHARED_REASON})`, () => {
  it('every recorded template gets the caps llama-server reported', () => {
    const differences: string[] = [];
    let checked = 0;
    for (const dir of RECORDED) {
      const path = join(SHARED, 'fixtures', dir);
      for (const f of readdirSync(path).filter((f) => f.endsWith('.json') && f !== 'conversations.json')) {
        const fx = JSON.parse(readFileSync(join(path, f), 'utf8'));
        const caps = detectCaps(new ChatTemplate(fx.template, f, new Date(0)));
        for (const [recorded, ours] of CAPS) {
          if (!(recorded in fx.caps)) continue;
          checked++;
          if (fx.caps[recorded] !== caps[ours]) differences.push(`${dir}/${f} ${recorded}: recorded ${fx.caps[recorded]}, kvdiff ${caps[ours]}`);
        }
      }
    }
    expect(checked).toBeGreaterThan(400);
    expect(differences).toEqual([]);
  });
});

// A Gemma-2 style template: it raises on a system message before reading it, so caps.cpp finds no system role and
// llama-server (chat.cpp `workaround::system_message_not_supported`) prepends the system text to the next message
// with a newline, or drops it when it is the only message.
const NO_SYSTEM = "{% for m in messages %}{% if m.role == 'system' %}{{ raise_exception('System role not supported') }}{% endif %}"
  + '<{{ m.role }}>{{ m.content }}</{{ m.role }}>{% endfor %}';

describe('system role polyfill (chat.cpp system_message_not_supported)', () => {
  let model: ModelInfo;
  beforeAll(async () => {
    model = await loadBuiltinModel(nodeFs, 'qwen3');
  });
  const render = (template: string, messages: unknown[]) =>
    new Engine({ model: { ...model, chatTemplate: template }, backend: 'llama.cpp', now: new Date(0) })
      .render(bodyFromObject({ messages, add_generation_prompt: false }, 'test'), 'test');

  it('detects the missing system role by the probe, not by the template text', () => {
    expect(detectCaps(new ChatTemplate(NO_SYSTEM, 't', new Date(0))).systemRole).toBe(false);
    expect(detectCaps(new ChatTemplate('{% for m in messages %}{{ m.content }}{% endfor %}', 't', new Date(0))).systemRole).toBe(true);
  });

  it('merges a leading system message into the next one', () => {
    expect(render(NO_SYSTEM, [{ role: 'system', content: 'Be brief.' }, { role: 'user', content: 'Hi' }])).toBe('<user>Be brief.\nHi</user>');
  });

  it('drops a system message that is the only one', () => {
    expect(render(NO_SYSTEM, [{ role: 'system', content: 'Be brief.' }])).toBe('');
  });

  it('leaves a later system message to the template (which refuses it)', () => {
    expect(() => render(NO_SYSTEM, [{ role: 'user', content: 'Hi' }, { role: 'system', content: 'late' }])).toThrow('System role not supported');
  });
});
