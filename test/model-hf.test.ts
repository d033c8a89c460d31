import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { mkdtemp, mkdir, writeFile, rm, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { loadHfFolder } from '../src/model/hf/folder.ts';
import { readSpecialTokens } from '../src/model/hf/special.ts';
import { nodeFs } from '../src/node/fs.ts';
import { kvError } from './expect-error.js';
import { QWEN3_CONFIG_BYTES, QWEN3_TOKENIZER_BYTES } from './qwen3-files.ts';


let root: string;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'kvdiff-hf-'));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

let n = 0;
/** A folder with the given files (string values written as-is, objects as JSON). */
async function folder(files: Record<string, string | object>): Promise<string> {
  const dir = join(root, `m${n++}`);
  await mkdir(dir, { recursive: true });
  for (const [name, content] of Object.entries(files)) {
    await mkdir(join(dir, name, '..'), { recursive: true });
    await writeFile(join(dir, name), typeof content === 'string' ? content : JSON.stringify(content));
  }
  return dir;
}

const TOK = { version: '1.0', added_tokens: [], model: { type: 'BPE', vocab: {}, merges: [] } };
const sha = (s: string) => createHash('sha256').update(s, 'utf8').digest('hex');


describe('loadHfFolder on the real Qwen3 files', () => {
  it('reads the template, tokenizer and special tokens', async () => {
    const dir = join(root, 'qwen3');
    await mkdir(dir);
    await writeFile(join(dir, 'tokenizer.json'), QWEN3_TOKENIZER_BYTES);
    await writeFile(join(dir, 'tokenizer_config.json'), QWEN3_CONFIG_BYTES);
    const config = JSON.parse(await readFile(join(dir, 'tokenizer_config.json'), 'utf8'));

    const info = await loadHfFolder(nodeFs, dir);
    expect(info.chatTemplate).toBe(config.chat_template);
    expect(info.chatTemplate).toContain('<|im_start|>');
    expect(info.bosToken).toBe('');
    expect(info.eosToken).toBe('<|im_end|>');
    expect(info.addBos).toBe(false);
    expect(info.addEos).toBe(false);
    expect(info.tokenizer.config.eos_token).toBe('<|im_end|>');
    expect((info.tokenizer.json.model as { type: string }).type).toBe('BPE');
    expect(info.namedTemplates).toBeUndefined();
    expect(info.source).toEqual({
      kind: 'hf',
      name: dir,
      templateFile: join(dir, 'tokenizer_config.json'),
      tokenizerFile: join(dir, 'tokenizer.json'),
      templateSha256: sha(config.chat_template),
    });
  });
});

describe('template precedence (as transformers)', () => {
  const config = { chat_template: 'from-config', eos_token: '</s>' };

  it('chat_template.jinja wins over chat_template.json and tokenizer_config.json', async () => {
    const dir = await folder({
      'tokenizer.json': TOK,
      'tokenizer_config.json': config,
      'chat_template.json': { chat_template: 'from-json' },
      'chat_template.jinja': 'from-jinja\n',
    });
    const info = await loadHfFolder(nodeFs, dir);
    expect(info.chatTemplate).toBe('from-jinja\n');
    expect(info.source.templateFile).toBe(join(dir, 'chat_template.jinja'));
    expect(info.source.templateSha256).toBe(sha('from-jinja\n'));
  });

  it('chat_template.json wins over tokenizer_config.json', async () => {
    const dir = await folder({
      'tokenizer.json': TOK,
      'tokenizer_config.json': config,
      'chat_template.json': { chat_template: 'from-json' },
    });
    const info = await loadHfFolder(nodeFs, dir);
    expect(info.chatTemplate).toBe('from-json');
    expect(info.source.templateFile).toBe(join(dir, 'chat_template.json'));
  });

  it('falls back to tokenizer_config.json', async () => {
    const dir = await folder({ 'tokenizer.json': TOK, 'tokenizer_config.json': config });
    expect((await loadHfFolder(nodeFs, dir)).chatTemplate).toBe('from-config');
  });

  it('named templates in tokenizer_config.json: default, --template-name, unknown name', async () => {
    const dir = await folder({
      'tokenizer.json': TOK,
      'tokenizer_config.json': {
        chat_template: [
          { name: 'default', template: 'D' },
          { name: 'tool_use', template: 'T' },
        ],
      },
    });
    const def = await loadHfFolder(nodeFs, dir);
    expect(def.chatTemplate).toBe('D');
    expect(def.source.templateName).toBe('default');
    expect(def.namedTemplates).toEqual({ default: 'D', tool_use: 'T' });

    const tool = await loadHfFolder(nodeFs, dir, { templateName: 'tool_use' });
    expect(tool.chatTemplate).toBe('T');
    expect(tool.source.templateName).toBe('tool_use');
    expect(tool.source.templateSha256).toBe(sha('T'));

    const err = await kvError(loadHfFolder(nodeFs, dir, { templateName: 'rag' }));
    expect(err.message).toContain('"rag"');
    expect(err.message).toContain('default, tool_use');
  });

  it('a list without "default" needs --template-name', async () => {
    const dir = await folder({
      'tokenizer.json': TOK,
      'tokenizer_config.json': { chat_template: [{ name: 'a', template: 'A' }, { name: 'b', template: 'B' }] },
    });
    const err = await kvError(loadHfFolder(nodeFs, dir));
    expect(err.message).toContain('a, b');
    expect(err.hint).toContain('--template-name');
    expect((await loadHfFolder(nodeFs, dir, { templateName: 'b' })).chatTemplate).toBe('B');
  });

  it('additional_chat_templates/*.jinja are named templates beside chat_template.jinja', async () => {
    const dir = await folder({
      'tokenizer.json': TOK,
      'tokenizer_config.json': config,
      'chat_template.jinja': 'D',
      'additional_chat_templates/tool_use.jinja': 'T',
    });
    const info = await loadHfFolder(nodeFs, dir, { templateName: 'tool_use' });
    expect(info.chatTemplate).toBe('T');
    expect(info.source.templateFile).toBe(join(dir, 'additional_chat_templates', 'tool_use.jinja'));
    expect(info.namedTemplates).toEqual({ default: 'D', tool_use: 'T' });
  });

  it('a single template answers only to "default"', async () => {
    const dir = await folder({ 'tokenizer.json': TOK, 'tokenizer_config.json': config });
    expect((await loadHfFolder(nodeFs, dir, { templateName: 'default' })).source.templateName).toBe('default');
    const err = await kvError(loadHfFolder(nodeFs, dir, { templateName: 'tool_use' }));
    expect(err.message).toContain('it has: default');
  });
});

describe('special tokens', () => {
  it('bos/eos as AddedToken dicts, add flags from the TemplateProcessing post-processor', async () => {
    const dir = await folder({
      'tokenizer.json': {
        ...TOK,
        post_processor: {
          type: 'Sequence',
          processors: [
            { type: 'ByteLevel' },
            {
              type: 'TemplateProcessing',
              single: [{ SpecialToken: { id: '<|begin_of_text|>', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }],
            },
          ],
        },
      },
      'tokenizer_config.json': {
        chat_template: 'x',
        bos_token: { __type: 'AddedToken', content: '<|begin_of_text|>', special: true },
        eos_token: { content: '<|eot_id|>' },
      },
    });
    const info = await loadHfFolder(nodeFs, dir);
    expect(info).toMatchObject({ bosToken: '<|begin_of_text|>', eosToken: '<|eot_id|>', addBos: true, addEos: false });
  });

  it('a trailing eos in the post-processor sets addEos; add_*_token in the config overrides', () => {
    const json = {
      post_processor: {
        type: 'TemplateProcessing',
        single: [{ SpecialToken: { id: '<s>' } }, { Sequence: { id: 'A' } }, { SpecialToken: { id: '</s>' } }],
      },
    };
    expect(readSpecialTokens({ bos_token: '<s>', eos_token: '</s>' }, json)).toEqual({
      bosToken: '<s>',
      eosToken: '</s>',
      addBos: true,
      addEos: true,
    });
    expect(readSpecialTokens({ bos_token: '<s>', eos_token: '</s>', add_bos_token: false, add_eos_token: false }, json))
      .toMatchObject({ addBos: false, addEos: false });
    expect(readSpecialTokens({ bos_token: '<bos>', add_bos_token: true }, {})).toMatchObject({
      bosToken: '<bos>',
      addBos: true,
    });
  });

  it('special_tokens_map.json fills tokens the config does not name', async () => {
    const dir = await folder({
      'tokenizer.json': TOK,
      'tokenizer_config.json': { chat_template: 'x', eos_token: '<end>' },
      'special_tokens_map.json': { bos_token: { content: '<start>' }, eos_token: '<other>' },
    });
    const info = await loadHfFolder(nodeFs, dir);
    expect(info.bosToken).toBe('<start>');
    expect(info.eosToken).toBe('<end>');
  });
});

describe('bad folders: one clear line', () => {
  it('not a folder', async () => {
    const err = await kvError(loadHfFolder(nodeFs, join(root, 'nope')));
    expect(err.message).toContain('is not a folder');
  });

  it('no tokenizer files names what is missing and what to pass instead', async () => {
    const dir = await folder({ 'config.json': {} });
    const err = await kvError(loadHfFolder(nodeFs, dir));
    expect(err.message).toContain('tokenizer.json or tokenizer_config.json');
    expect(err.hint).toContain('--gguf');
    const only = await folder({ 'tokenizer.json': TOK });
    expect((await kvError(loadHfFolder(nodeFs, only))).message).toContain('has no tokenizer_config.json;');
  });

  it('invalid JSON names the file', async () => {
    const dir = await folder({ 'tokenizer.json': '{"version": ', 'tokenizer_config.json': { chat_template: 'x' } });
    const err = await kvError(loadHfFolder(nodeFs, dir));
    expect(err.message).toContain(join(dir, 'tokenizer.json'));
    expect(err.message).toContain('not valid JSON');
    const arr = await folder({ 'tokenizer.json': TOK, 'tokenizer_config.json': '[1]' });
    expect((await kvError(loadHfFolder(nodeFs, arr))).message).toContain('not a JSON object');
  });

  it('no chat template anywhere', async () => {
    const dir = await folder({ 'tokenizer.json': TOK, 'tokenizer_config.json': {} });
    expect((await kvError(loadHfFolder(nodeFs, dir))).message).toContain('has no chat template');
  });

  it('chat_template of the wrong type, chat_template.json without the key', async () => {
    const bad = await folder({ 'tokenizer.json': TOK, 'tokenizer_config.json': { chat_template: 42 } });
    expect((await kvError(loadHfFolder(nodeFs, bad))).message).toContain('must be a string or a list');
    const nokey = await folder({ 'tokenizer.json': TOK, 'tokenizer_config.json': {}, 'chat_template.json': {} });
    expect((await kvError(loadHfFolder(nodeFs, nokey))).message).toContain('no "chat_template" key');
  });
});
