import { describe, expect, it } from 'vitest';
import { tempFiles } from './tmp.js';
import { runCli } from './cli-harness.js';

// Differences of one systematic kind are tested together first; when the group changes the render, each one is
// still tested alone, so only the ones that matter become causes.
const { write } = tempFiles('groups');
const turns = (withCallId: boolean) => ({
  messages: [0, 1, 2, 3].flatMap((i) => [
    { role: 'user', content: `q${i}` },
    { role: 'assistant', content: `a${i}`, ...(withCallId ? { call_id: `c${i}` } : {}) },
  ]),
});
const a = write('a.json', turns(false));
const b = write('b.json', turns(true));

describe('systematic differences', () => {
  it('a key the template never prints: every instance is listed as ignored, in document order', async () => {
    const t = write('plain.jinja', '{% for m in messages %}<{{ m.role }}>{{ m.content }}{% endfor %}');
    const j = JSON.parse((await runCli([a, b, '--template', t, '--backend', 'raw', '--json'])).stdout);
    expect(j.causes).toEqual([]);
    expect(j.ignored.map((x: { path: string }) => x.path)).toEqual([1, 3, 5, 7].map((i) => `$.messages[${i}].call_id`));
  });
  it('a key printed for one message only: that one is the cause, the others are ignored', async () => {
    const t = write('third.jinja', '{% for m in messages %}<{{ m.role }}>{{ m.content }}{% if loop.index0 == 5 %}{{ m.call_id }}{% endif %}{% endfor %}');
    const j = JSON.parse((await runCli([a, b, '--template', t, '--backend', 'raw', '--json'])).stdout);
    expect(j.causes.map((x: { code: string; path: string }) => `${x.code} ${x.path}`)).toEqual(['EXTRA_FIELD $.messages[5].call_id']);
    expect(j.ignored.map((x: { path: string }) => x.path)).toEqual([1, 3, 7].map((i) => `$.messages[${i}].call_id`));
  });
});
