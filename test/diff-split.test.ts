import { describe, expect, it } from 'vitest';
import { diffSplit, segmentize } from '../src/jinja/diff-split.js';

// Cases and expected values from llama.cpp's own tests of its analysis helpers (tests/test-chat-auto-parser.cpp,
// `test_marker_separation` and `test_calculate_diff_split_*`), as [left, right, prefix, left, right, suffix].
const SPLITS: [string, string, string, string, string, string][] = [
  ['hello world', 'hello test', 'hello ', 'world', 'test', ''],
  ['abc', 'xyz', '', 'abc', 'xyz', ''],
  ['prefixA suffix', 'prefixB suffix', 'prefix', 'A', 'B', ' suffix'],
  ['hello', 'hello', 'hello', '', '', ''],
  ['', '', '', '', '', ''],
  ['<row><row><row><your><boat><gently>', '<row><row><row><your><boat><gently>', '<row><row><row><your><boat><gently>', '', '', ''],
  ['abcdef', 'abcxyz', 'abc', 'def', 'xyz', ''],
  ['same', 'sameagain', 'same', '', 'again', ''],
  ['123end', '456end', '', '123', '456', 'end'],
  ['start', 'end', '', 'start', 'end', ''],
  ['helloXworld', 'helloYworld', 'hello', 'X', 'Y', 'world'],
  ['aa', 'ab', 'a', 'a', 'b', ''],
  ['', 'hello', '', '', 'hello', ''],
  ['hello', '', '', 'hello', '', ''],
  ['left', 'right', '', 'lef', 'righ', 't'],
  ['a', 'ab', 'a', '', 'b', ''],
  ['ab', 'a', 'a', 'b', '', ''],
  ['testing', 'test', 'test', 'ing', '', ''],
  ['Xtest', 'Ytest', '', 'X', 'Y', 'test'],
  ['abc', 'cba', '', 'abc', 'cba', ''],
  ['prefix<tag>', 'prefix</tag>suffix', 'prefix', '<tag>', '</tag>suffix', ''],
  ['prefix<div>content</div>', 'prefix<div>different</div>', 'prefix<div>', 'cont', 'differ', 'ent</div>'],
  ['<tag>left</tag>', '<tag>righ</tag>', '<tag>', 'left', 'righ', '</tag>'],
  ['PREFIX</think>Sure', 'PREFIX<think>Lemme think</think>Sure', 'PREFIX', '', '<think>Lemme think', '</think>Sure'],
  ['<|im_start|>user\nHello<|im_end|>\n', '<|im_start|>user\nHello<|im_end|>\n<|im_start|>assistant\n<think>\n', '<|im_start|>user\nHello<|im_end|>\n', '', '<|im_start|>assistant\n<think>\n', ''],
];

describe("llama.cpp's diff split of two probe renders", () => {
  for (const [l, r, prefix, left, right, suffix] of SPLITS) {
    it(`${JSON.stringify(l)} vs ${JSON.stringify(r)}`, () => {
      expect(diffSplit(l, r)).toEqual({ prefix, left, right, suffix });
    });
  }
  it('moves the |> of special tokens out of the suffix (the Command-R case)', () => {
    const suffix = '|><|END_OF_TURN_TOKEN|><|START_OF_TURN_TOKEN|><|CHATBOT_TOKEN|>';
    const d = diffSplit(`SOME_PREFIX<|START_RESPONSE|>Let me help you.<|END_RESPONSE${suffix}`, `SOME_PREFIX<|START_THINKING|><|END_THINKING|><|START_ACTION|>[\n    {"tool_call_id": "0"}\n]<|END_ACTION${suffix}`);
    expect(d.prefix).toBe('SOME_PREFIX');
    expect(d.left).toBe('<|START_RESPONSE|>Let me help you.<|END_RESPONSE|>');
    expect(d.right).toContain('<|END_ACTION|>');
    expect(d.suffix).toBe('<|END_OF_TURN_TOKEN|><|START_OF_TURN_TOKEN|><|CHATBOT_TOKEN|>');
  });
});

describe("llama.cpp's marker segmentation", () => {
  const seg = (s: string) => segmentize(s).map((x) => (x.marker ? `M:${x.value}` : `T:${x.value}`));
  it('cuts markers out of text', () => {
    expect(seg('pre_marker[marker]post_marker')).toEqual(['T:pre_marker', 'M:[marker]', 'T:post_marker']);
    expect(seg('pre_marker<marker>post_marker')).toEqual(['T:pre_marker', 'M:<marker>', 'T:post_marker']);
    expect(seg('<hello>world</hello>')).toEqual(['M:<hello>', 'T:world', 'M:</hello>']);
    expect(seg('<hello>[hello]<world>[world]')).toEqual(['M:<hello>', 'M:[hello]', 'M:<world>', 'M:[world]']);
    expect(seg('im<blue>daba<dee>da[hey]')).toEqual(['T:im', 'M:<blue>', 'T:daba', 'M:<dee>', 'T:da', 'M:[hey]']);
  });
});
