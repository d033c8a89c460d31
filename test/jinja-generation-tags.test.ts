import { describe, expect, it } from 'vitest';
import { Engine } from '../src/engine.js';
import { loadBuiltinModel } from '../src/model/builtin.js';
import { nodeFs } from '../src/node/fs.js';
import { bodyFromObject } from '../src/payload/body.js';

// {% generation %} / {% endgeneration %} (transformers' training markers) are blocks that do nothing in llama.cpp's
// parser, with whitespace control around them as around any block. The expected prompt is llama-server's own
// (de3ff81, --jinja, POST /apply-template, recorded with scripts/server-oracle/record-templates.py), not kvdiff's.
const TEMPLATE = "{%- for message in messages %}\n    {%- if message.role == \"assistant\" %}\n  {%- generation -%}\n  [{{ message.content }}]\n  {% endgeneration -%}\n   |\n  {% generation %}  x  {%- endgeneration %}\n  {% generation %}\n  {{- message.content }}\n  {% endgeneration %}\n  {%- if true %}!{% endif %}\n    {%- else %}\n<{{ message.role }}:{{ message.content }}>\n    {% endif %}\n{%- endfor %}\n{%- if add_generation_prompt %}{% generation %}\nGEN{% endgeneration %}\n{% endif %}\n";
const SERVER = "<user:hi>\n[yo]\n|\n  xyo\n!<user:q>\nGEN";

describe('generation markers', () => {
  it('render as llama-server renders them: -, lstrip_blocks and trim_blocks around them, the newline an expression leaves kept', async () => {
    const qwen3 = await loadBuiltinModel(nodeFs, 'qwen3');
    const engine = new Engine({ model: { ...qwen3, chatTemplate: TEMPLATE }, backend: 'llama.cpp', now: new Date(Date.UTC(2026, 11, 2)) });
    const messages = [{ role: 'user', content: 'hi' }, { role: 'assistant', content: 'yo' }, { role: 'user', content: 'q' }];
    expect(engine.render(bodyFromObject({ messages }, 'a'), 'a')).toBe(SERVER);
  });
});
