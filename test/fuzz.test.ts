/**
 * The reliability contract under fuzzing (issue 15), one property per input kind: request bodies (chat completions),
 * raw body bytes, tokenizer.json, GGUF headers, chat templates, and the human output of random strings.
 *
 * Contract: each input gives a result (exit 0 or 1) or a KvdiffError (exit 2, one line); any other exception is a
 * kvdiff bug and fails the property. Human output never holds a control character that came from an input. Time is
 * bounded by a deadline per case; memory by the heap check after each property.
 *
 * Size: KVDIFF_FUZZ_RUNS cases per kind (default 60 in `npm test`; `npm run fuzz` runs 10,000 per kind).
 * KVDIFF_FUZZ_SEED replays a failure. Also: Anthropic /v1/messages and OpenAI /v1/responses bodies through the
 * dialect stage, pasted logs through the log parser, explainer and both log reports, and the recording proxy's
 * request parsing (route, session key, conversation, streaming flag, counters of a response body or stream), and
 * HAR files as `kvdiff check` reads them.
 */
import fc from 'fast-check';
import { Chalk } from 'chalk';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { analyze, type DiffReport } from '../src/analyze.js';
import { Deadline } from '../src/deadline.js';
import { Engine } from '../src/engine.js';
import { KvdiffError } from '../src/errors.js';
import { ggufModelFromMetadata } from '../src/model/gguf/model.js';
import { parseGgufBytes } from '../src/model/gguf/header.js';
import type { ModelInfo } from '../src/model/types.js';
import { decodeUtf8, readBody } from '../src/payload/body.js';
import { readClientBody } from '../src/dialect/index.js';
import { explainLines, humanReport as logsHuman, jsonReport as logsJson } from '../src/logs/index.js';
import { clientSessionKey, conversationOf, generationDialect, isStreamed } from '../src/node/record/routes.js';
import { countersFromBody } from '../src/node/record/counters.js';
import { harBodies } from '../src/cli/check-input.js';
import { readdirSync, readFileSync } from 'node:fs';
import { githubReport } from '../src/report/github.js';
import { humanReport } from '../src/report/human.js';
import { PromptTokenizer } from '../src/tokenize/prompt.js';
import { runCli } from './cli-harness.js';
import { tinyModel } from './tiny-tokenizer.js';
import { gguf, tinyGgufEntries } from './gguf-writer.js';

const RUNS = Number(process.env.KVDIFF_FUZZ_RUNS ?? 60);
const SEED = process.env.KVDIFF_FUZZ_SEED === undefined ? undefined : Number(process.env.KVDIFF_FUZZ_SEED);
/** Wall time one fuzz case may take (its Engine deadline): a case past it is a hang the contract forbids. */
const CASE_DEADLINE_MS = 10_000;
/** The deadline of a template case: short, so the rare runaway loop costs a second, not MAX_RENDER_MS. */
const TEMPLATE_DEADLINE_MS = 1_000;
/** Heap the fuzzer may hold after a property: far above what a few thousand small cases need, far below a leak. */
const MAX_HEAP_BYTES = 2 * 1024 ** 3;
const NOW = new Date(Date.UTC(2026, 10, 27));
const plain = new Chalk({ level: 0 });
const coloured = new Chalk({ level: 1 });

/** Control characters of any kind except the newline that separates report lines. */
const CONTROL = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f]/;
/** The SGR colour sequences kvdiff's own chalk writes (and nothing else). */
const OWN_SGR = /\u001b\[[0-9;]*m/g;

const tally: Record<string, Record<string, number>> = {};
function count(kind: string, outcome: string): void {
  (tally[kind] ??= {})[outcome] = (tally[kind][outcome] ?? 0) + 1;
}
afterAll(() => {
  // the numbers `npm run fuzz` reports (cases per kind and how they ended)
  for (const [kind, outcomes] of Object.entries(tally)) {
    const total = Object.values(outcomes).reduce((a, b) => a + b, 0);
    console.log(`fuzz ${kind}: ${total} cases (${Object.entries(outcomes).map(([k, v]) => `${k} ${v}`).join(', ')})`);
  }
});

/** Runs one case: a value, or a KvdiffError; anything else is a kvdiff bug and fails the property. */
function contract<T>(kind: string, run: () => T): T | undefined {
  try {
    const v = run();
    count(kind, 'ok');
    return v;
  } catch (err) {
    if (err instanceof KvdiffError) {
      count(kind, 'refused');
      if (process.env.KVDIFF_FUZZ_DEBUG) count(`${kind} refusals`, err.message.replace(/^[^:]*: /, '').slice(0, 50));
      return undefined;
    }
    throw err;
  }
}

async function contractAsync<T>(kind: string, run: () => Promise<T>): Promise<T | undefined> {
  try {
    const v = await run();
    count(kind, 'ok');
    return v;
  } catch (err) {
    if (err instanceof KvdiffError) {
      count(kind, 'refused');
      return undefined;
    }
    throw err;
  }
}

/** Human and GitHub output of a report: no control character but kvdiff's own colour codes. */
function expectSafeOutput(r: DiffReport): void {
  for (const out of [humanReport(r, plain), humanReport(r, coloured).replace(OWN_SGR, ''), githubReport(r)]) {
    const bad = CONTROL.exec(out);
    expect(bad, bad ? `control character U+${bad[0].charCodeAt(0).toString(16)} in output:\n${out}` : '').toBeNull();
  }
}

function engineFor(model: ModelInfo, ms = CASE_DEADLINE_MS): Engine {
  return new Engine({ model, backend: 'llama.cpp', now: NOW, deadline: new Deadline(ms) });
}

const assertOpts = () => ({ numRuns: RUNS, ...(SEED === undefined ? {} : { seed: SEED }) });
const testTimeout = () => Math.max(60_000, RUNS * 200);
afterAll(() => {
  expect(process.memoryUsage().heapUsed).toBeLessThan(MAX_HEAP_BYTES);
});

// ---- arbitraries ------------------------------------------------------------------------------------------------

/** Strings an attacker would try: escape sequences, C1 controls, lone surrogates, special tokens, template syntax. */
const HOSTILE = [
  '\u001b[2J', '\u001b]0;title\u0007', '\u001b]8;;http://x\u001b\\link\u001b]8;;\u001b\\', '\u009b31m', '\u0085', '\u007f',
  '\u0000', '\r', '\r\n', '\t', '\u202e', '\u2066', '\ufeff', '<|im_start|>', '<|im_end|>', '<s>',
  '<|sep|>', '{{ 1 }}', '{%', '"', '\\', '\n\n', '😀', 'é', ' ',
];
// lone surrogates and other binary strings are rare per string: a body holds dozens of strings, and one lone
// surrogate makes the whole body one the server refuses (the raw-bytes property covers those)
const text = fc.oneof(
  { weight: 30, arbitrary: fc.string({ unit: 'grapheme', maxLength: 40 }) },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 40 }) },
  { weight: 1, arbitrary: fc.constantFrom('\ud800', 'x\udc00', '\ud83d\ude00') },
  { weight: 30, arbitrary: fc.array(fc.oneof(fc.constantFrom(...HOSTILE), fc.string({ maxLength: 8 })), { maxLength: 8 }).map((a) => a.join('')) },
);
const toolCall = fc.oneof(
  { weight: 10, arbitrary: fc.record({ id: text, type: fc.constant('function'), function: fc.record({ name: text, arguments: fc.oneof(text, fc.constant('{"a": 1}'), fc.jsonValue({ maxDepth: 2 })) }) }) },
  { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 2 }) },
);
const message = fc.record(
  {
    role: fc.oneof({ weight: 30, arbitrary: fc.constantFrom('system', 'user', 'assistant', 'tool', 'developer') }, text, fc.jsonValue({ maxDepth: 1 })),
    content: fc.oneof(
      { weight: 20, arbitrary: text },
      fc.constant(null),
      fc.array(fc.oneof({ weight: 4, arbitrary: fc.record({ type: fc.constant('text'), text }) }, fc.jsonValue({ maxDepth: 2 })), { maxLength: 3 }),
      fc.jsonValue({ maxDepth: 2 }),
    ),
    tool_calls: fc.oneof({ weight: 10, arbitrary: fc.array(toolCall, { maxLength: 2 }) }, fc.jsonValue({ maxDepth: 1 })),
    reasoning_content: text,
    name: text,
  },
  { requiredKeys: ['role'] },
);
const body = fc.record(
  {
    messages: fc.array(message, { minLength: 1, maxLength: 4 }),
    tools: fc.array(fc.oneof({ weight: 10, arbitrary: fc.record({ type: fc.constant('function'), function: fc.record({ name: text, parameters: fc.jsonValue({ maxDepth: 2 }) }) }) }, fc.jsonValue({ maxDepth: 2 })), { maxLength: 2 }),
    add_generation_prompt: fc.oneof({ weight: 20, arbitrary: fc.boolean() }, fc.jsonValue({ maxDepth: 1 })),
    chat_template_kwargs: fc.oneof({ weight: 20, arbitrary: fc.record({ enable_thinking: fc.boolean() }) }, fc.jsonValue({ maxDepth: 1 })),
    extra: fc.jsonValue({ maxDepth: 2 }),
  },
  { requiredKeys: ['messages'], noNullPrototype: true },
);
/** B: A with one change (a message appended, edited or removed), or unrelated. */
const pair = body.chain((a) =>
  fc.tuple(
    fc.constant(a),
    fc.oneof(
      message.map((m) => ({ ...a, messages: [...a.messages, m] })),
      fc.tuple(fc.nat(a.messages.length - 1), text).map(([i, t]) => ({ ...a, messages: a.messages.map((m, k) => (k === i ? { ...m, content: t } : m)) })),
      fc.constant({ ...a, messages: a.messages.slice(1) }),
      body,
    ),
  ),
);

// ---- properties --------------------------------------------------------------------------------------------------

describe(`fuzz: ${RUNS} cases per input kind`, () => {
  // a dependency that writes to the console puts input text on the user's terminal: that breaks the contract
  beforeAll(() => {
    for (const m of ['log', 'warn', 'error', 'info'] as const) {
      vi.spyOn(console, m).mockImplementation((...args: unknown[]) => {
        throw new Error(`a dependency wrote to the console (${m}): ${String(args[0]).slice(0, 80)}`);
      });
    }
  });
  afterAll(() => vi.restoreAllMocks());
  // a fresh engine (and deadline) per case: the deadline is per command, and each case stands for one
  const tiny = () => engineFor(tinyModel());

  it('request bodies: a result or one KvdiffError, and output with no input control characters', async () => {
    await fc.assert(
      fc.asyncProperty(pair, async ([a, b]) => {
        const report = contract('bodies', () => analyze(tiny(), readBody(JSON.stringify(a), 'a.json'), readBody(JSON.stringify(b), 'b\u001b[2J.json')));
        if (report) expectSafeOutput(report);
      }),
      assertOpts(),
    );
  }, testTimeout());

  it('raw body bytes: parsed, or refused with one KvdiffError (invalid UTF-8, lone surrogates, bad JSON, deep nesting)', async () => {
    const valid = JSON.stringify({ messages: [{ role: 'user', content: 'hi "there"' }], tools: [], n: 1.5e3 });
    const bytes = fc.oneof(
      fc.uint8Array({ maxLength: 200 }),
      fc.tuple(fc.nat(valid.length), fc.uint8Array({ minLength: 1, maxLength: 6 })).map(([at, junk]) => {
        const v = Buffer.from(valid);
        return Buffer.concat([v.subarray(0, at), Buffer.from(junk), v.subarray(at)]);
      }),
      fc.tuple(fc.nat(400), fc.constantFrom('[', '{"a":')).map(([n, open]) => Buffer.from(open.repeat(n))),
      fc.string({ unit: 'binary', maxLength: 60 }).map((s) => Buffer.from(`{"messages": [{"role": "user", "content": ${JSON.stringify(s)}}], "x": ${s.length}${'0'.repeat(s.length * 7)}}`)),
    );
    await fc.assert(
      fc.asyncProperty(bytes, async (b) => {
        contract('body bytes', () => readBody(decodeUtf8(b, 'fuzz.json'), 'fuzz.json'));
      }),
      assertOpts(),
    );
  }, testTimeout());

  it('tokenizer.json: usable, or refused with one KvdiffError naming the file', async () => {
    const paths: (string | number)[][] = [
      ['model'], ['model', 'type'], ['model', 'vocab'], ['model', 'merges'], ['model', 'merges', 0], ['model', 'vocab', 'h'],
      ['model', 'byte_fallback'], ['model', 'unk_token'], ['added_tokens'], ['added_tokens', 0], ['added_tokens', 0, 'id'],
      ['added_tokens', 0, 'content'], ['normalizer'], ['pre_tokenizer'], ['pre_tokenizer', 'pretokenizers', 0, 'pattern', 'Regex'],
      ['pre_tokenizer', 'pretokenizers', 0, 'type'], ['pre_tokenizer', 'pretokenizers'], ['decoder'], ['decoder', 'type'], ['post_processor'],
    ];
    const component = fc.record({ type: fc.constantFrom('Sequence', 'Replace', 'Split', 'ByteLevel', 'Metaspace', 'NFC', 'Strip', 'Prepend', 'Bogus', 'BPE', 'Unigram', 'WordPiece'), pattern: fc.jsonValue({ maxDepth: 1 }), content: fc.jsonValue({ maxDepth: 1 }) }, { requiredKeys: ['type'] });
    const value = fc.oneof(fc.jsonValue({ maxDepth: 2 }), component, fc.constantFrom(-1, 1e300, '(?<', '[', '\\', null, [], {}, 'h e'));
    await fc.assert(
      fc.asyncProperty(fc.array(fc.tuple(fc.constantFrom(...paths), value), { minLength: 1, maxLength: 3 }), text, async (edits, sample) => {
        const model = tinyModel();
        const json = structuredClone(model.tokenizer.json) as Record<string, unknown>;
        for (const [path, v] of edits) setPath(json, path, v);
        contract('tokenizer.json', () => {
          const t = new PromptTokenizer({ ...model, tokenizer: { json, config: {} }, source: { ...model.source, tokenizerFile: 'fuzz/tokenizer.json' } });
          const { ids } = t.encode(`<|sep|>${sample}`);
          for (const id of ids) t.piece(id);
        });
      }),
      assertOpts(),
    );
  }, testTimeout());

  it('GGUF headers: a model, or one KvdiffError; a model that loads renders and tokenizes or refuses cleanly', async () => {
    const base = gguf(tinyGgufEntries());
    const mutation = fc.oneof(
      // overwrite bytes, cut the file, or write a 64-bit value (a length, a count, a type) somewhere
      fc.tuple(fc.nat(base.length - 1), fc.uint8Array({ minLength: 1, maxLength: 8 })).map(([at, junk]) => (b: Uint8Array) => {
        if (at < b.length) b.set(junk.subarray(0, b.length - at), at);
        return b;
      }),
      fc.nat(base.length).map((cut) => (b: Uint8Array) => b.slice(0, cut)),
      fc.tuple(fc.nat(base.length - 8), fc.bigInt({ min: 0n, max: 2n ** 64n - 1n })).map(([at, v]) => (b: Uint8Array) => {
        if (at + 8 <= b.length) new DataView(b.buffer, b.byteOffset).setBigUint64(at, v, true);
        return b;
      }),
    );
    const doc = readBody(JSON.stringify({ messages: [{ role: 'user', content: 'hello world' }] }), 'a.json');
    await fc.assert(
      fc.asyncProperty(fc.array(mutation, { minLength: 1, maxLength: 3 }), async (muts) => {
        let bytes: Uint8Array = base.slice();
        for (const m of muts) bytes = m(bytes);
        await contractAsync('gguf', async () => {
          const { metadata } = await parseGgufBytes(bytes, 'fuzz.gguf');
          const engine = engineFor(ggufModelFromMetadata(metadata, 'fuzz.gguf'));
          const p = engine.process(doc, 'A');
          for (const id of p.tokens.ids) engine.piece(id);
        });
      }),
      assertOpts(),
    );
  }, testTimeout());

  it('chat templates: a render, or one KvdiffError (parse errors, raised errors, limits, the deadline)', async () => {
    const fragments = [
      '{% for m in messages %}', '{% endfor %}', '{% if m.role == "user" %}', '{% elif loop.first %}', '{% else %}', '{% endif %}',
      '{{ m.content }}', '{{ m["content"][::-1] }}', '{{ messages | tojson }}', '{{ tools | tojson(indent=2) }}', '{{ bos_token }}',
      '{{ raise_exception("no\u001b[2J\\nway") }}', '{{ range }}', '{{ strftime_now("%Y-%m-%d") }}', '{{ strftime_now("%Y" * 600) }}',
      "{{ 'ab' * 5000 }}", '{% set ns = namespace(x=1) %}', '{% set ns.x = ns.x + 1 %}', '{{ ns.x }}', '{% set x = messages[0] %}', '{{ x.role | upper }}',
      '{% macro f(a) %}[{{ a }}]{% endmacro %}', '{{ f(1) }}', '{% for i in range(30) %}', '{{ i }}', '{{ messages | length }}', '{{ (m.content or "") | trim }}',
      '{{ m.tool_calls | map(attribute="function") | list }}', '{{ add_generation_prompt }}', '{{ m.content.split("\\n") }}', '{{ "%s" % 1 }}',
      '{% for k, v in m.items() %}{{ k }}={{ v }}{% endfor %}', '{{ undefined_thing.attr }}', '{{ 1 / 0 }}', '{%- ', ' -%}', '{{', '}}', '{#', '#}',
    ];
    // a runaway loop is rare: each one runs until the case's deadline
    const runaway = '{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}';
    const template = fc
      .array(fc.oneof({ weight: 200, arbitrary: fc.constantFrom(...fragments) }, { weight: 50, arbitrary: text }, { weight: 1, arbitrary: fc.constant(runaway) }), { maxLength: 14 })
      .map((a) => a.join(''));
    const a = readBody(JSON.stringify({ messages: [{ role: 'system', content: 'sys \u001b[2J' }, { role: 'user', content: 'hi' }] }), 'a.json');
    const b = readBody(JSON.stringify({ messages: [{ role: 'system', content: 'sys 2' }, { role: 'user', content: 'hi' }, { role: 'assistant', content: 'x', tool_calls: [{ type: 'function', function: { name: 'f', arguments: '{}' } }] }] }), 'b.json');
    await fc.assert(
      fc.asyncProperty(template, async (source) => {
        const report = contract('templates', () => analyze(engineFor({ ...tinyModel(), chatTemplate: source }, TEMPLATE_DEADLINE_MS), a, b));
        if (report) expectSafeOutput(report);
      }),
      assertOpts(),
    );
  }, testTimeout() * 4);

  it('no input byte produces ESC or another control character in human output (random strings as contents and names)', async () => {
    await fc.assert(
      fc.asyncProperty(fc.string({ unit: 'binary', minLength: 1, maxLength: 30 }), fc.string({ unit: 'binary', maxLength: 30 }), fc.string({ unit: 'binary', maxLength: 10 }), async (x, y, label) => {
        const a = readBody(JSON.stringify({ messages: [{ role: 'system', content: x }, { role: 'user', content: 'q' }] }), `a${label}`);
        const b = readBody(JSON.stringify({ messages: [{ role: 'system', content: y }, { role: 'user', content: 'q' }] }), `b${label}`);
        const report = contract('output strings', () => analyze(tiny(), a, b));
        if (report) expectSafeOutput(report);
      }),
      assertOpts(),
    );
  }, testTimeout());

  it('/v1/messages and /v1/responses bodies: converted and analysed, or one KvdiffError (the server refuses it)', async () => {
    const block = fc.oneof(
      { weight: 6, arbitrary: fc.record({ type: fc.constant('text'), text }) },
      { weight: 2, arbitrary: fc.record({ type: fc.constant('thinking'), thinking: text, signature: text }, { requiredKeys: ['type'] }) },
      { weight: 3, arbitrary: fc.record({ type: fc.constant('tool_use'), id: text, name: text, input: fc.jsonValue({ maxDepth: 2 }) }, { requiredKeys: ['type'] }) },
      { weight: 3, arbitrary: fc.record({ type: fc.constant('tool_result'), tool_use_id: text, content: fc.oneof(text, fc.array(fc.record({ type: fc.constant('text'), text }), { maxLength: 2 })), is_error: fc.boolean() }, { requiredKeys: ['type'] }) },
      { weight: 1, arbitrary: fc.record({ type: fc.constantFrom('redacted_thinking', 'image', 'document', 'server_tool_use'), data: text }) },
      { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 2 }) },
    );
    const anthropicMessage = fc.record({ role: fc.oneof({ weight: 20, arbitrary: fc.constantFrom('user', 'assistant') }, text), content: fc.oneof(text, fc.array(block, { maxLength: 3 }), fc.jsonValue({ maxDepth: 1 })) });
    const messagesBody = fc.record(
      {
        model: fc.constant('claude'),
        max_tokens: fc.oneof(fc.nat(), fc.jsonValue({ maxDepth: 0 })),
        system: fc.oneof(text, fc.array(fc.record({ type: fc.constant('text'), text, cache_control: fc.constant({ type: 'ephemeral' }) }, { requiredKeys: ['type', 'text'] }), { maxLength: 2 }), fc.jsonValue({ maxDepth: 1 })),
        messages: fc.array(anthropicMessage, { minLength: 1, maxLength: 4 }),
        tools: fc.array(fc.oneof({ weight: 5, arbitrary: fc.record({ name: text, description: text, input_schema: fc.jsonValue({ maxDepth: 2 }) }) }, fc.jsonValue({ maxDepth: 1 })), { maxLength: 2 }),
        thinking: fc.oneof(fc.record({ type: fc.constantFrom('enabled', 'disabled'), budget_tokens: fc.nat() }), fc.jsonValue({ maxDepth: 1 })),
      },
      { requiredKeys: ['messages'], noNullPrototype: true },
    );
    const item = fc.oneof(
      { weight: 6, arbitrary: fc.record({ type: fc.constant('message'), role: fc.constantFrom('user', 'assistant', 'system', 'developer'), content: fc.oneof(text, fc.array(fc.record({ type: fc.constantFrom('input_text', 'output_text'), text }), { maxLength: 2 })) }, { requiredKeys: ['role'] }) },
      { weight: 3, arbitrary: fc.record({ type: fc.constant('function_call'), call_id: text, name: text, arguments: fc.oneof(text, fc.constant('{"a": 1}')) }, { requiredKeys: ['type'] }) },
      { weight: 3, arbitrary: fc.record({ type: fc.constant('function_call_output'), call_id: text, output: text }, { requiredKeys: ['type'] }) },
      { weight: 2, arbitrary: fc.record({ type: fc.constant('reasoning'), summary: fc.array(fc.record({ type: fc.constant('summary_text'), text }), { maxLength: 2 }), content: fc.array(fc.record({ type: fc.constant('reasoning_text'), text }), { maxLength: 2 }), encrypted_content: text }, { requiredKeys: ['type'] }) },
      { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 2 }) },
    );
    const responsesBody = fc.record(
      {
        model: fc.constant('gpt'),
        instructions: fc.oneof(text, fc.jsonValue({ maxDepth: 1 })),
        input: fc.oneof({ weight: 10, arbitrary: fc.array(item, { minLength: 1, maxLength: 4 }) }, text),
        tools: fc.array(fc.oneof({ weight: 5, arbitrary: fc.record({ type: fc.constant('function'), name: text, parameters: fc.jsonValue({ maxDepth: 2 }) }) }, fc.jsonValue({ maxDepth: 1 })), { maxLength: 2 }),
        reasoning: fc.oneof(fc.record({ effort: fc.constantFrom('low', 'medium', 'high'), summary: fc.constant('auto') }), fc.jsonValue({ maxDepth: 1 })),
        previous_response_id: text,
      },
      { requiredKeys: ['input'], noNullPrototype: true },
    );
    const dialectPair = fc.oneof(
      messagesBody.chain((a) => fc.tuple(fc.constant(a), fc.oneof(fc.constant(a), anthropicMessage.map((m) => ({ ...a, messages: [...a.messages, m] })), messagesBody))),
      responsesBody.chain((a) => fc.tuple(fc.constant(a), fc.oneof(fc.constant(a), item.map((i) => ({ ...a, input: Array.isArray(a.input) ? [...a.input, i] : [i] })), responsesBody))),
    );
    await fc.assert(
      fc.asyncProperty(dialectPair, async ([a, b]) => {
        const report = contract('dialect bodies', () => analyze(tiny(), readClientBody(JSON.stringify(a), 'a.json'), readClientBody(JSON.stringify(b), 'b\u001b[2J.json')));
        if (report) expectSafeOutput(report);
      }),
      assertOpts(),
    );
  }, testTimeout());

  it('pasted logs: every line is read or passed over, and both log reports hold no control character from the log', async () => {
    // real pasted lines (the corpus) as seeds, mutated: numbers changed, hostile text inserted, lines cut and shuffled
    const corpus = ['logs-corpus', 'logs-heldout', 'logs-heldout-2'].flatMap((d) => {
      const dir = new URL(`./${d}/`, import.meta.url);
      try {
        return readdirSync(dir).filter((n) => n.endsWith('.log')).flatMap((n) => readFileSync(new URL(n, dir), 'utf8').split(/\r?\n/));
      } catch {
        return [];
      }
    });
    expect(corpus.length).toBeGreaterThan(100);
    const line = fc.oneof(
      { weight: 10, arbitrary: fc.constantFrom(...corpus) },
      { weight: 6, arbitrary: fc.tuple(fc.constantFrom(...corpus), fc.integer({ min: -5, max: 10_000_000 })).map(([l, n]) => l.replace(/\d+/g, (d) => (d.length > 1 ? String(n) : d))) },
      { weight: 4, arbitrary: fc.tuple(fc.constantFrom(...corpus), fc.nat(200), text).map(([l, at, t]) => l.slice(0, at) + t + l.slice(at)) },
      { weight: 2, arbitrary: fc.tuple(fc.constantFrom(...corpus), fc.nat(200)).map(([l, at]) => l.slice(0, at)) },
      { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 120 }) },
    );
    await fc.assert(
      fc.property(fc.array(line, { maxLength: 40 }), (lines) => {
        const { requests, summary } = contract('logs', () => explainLines(lines))!;
        const human = logsHuman(requests, summary, plain);
        const bad = CONTROL.exec(human);
        expect(bad, bad ? `control character U+${bad[0].charCodeAt(0).toString(16)} in:\n${human}` : '').toBeNull();
        JSON.parse(logsJson(requests, summary));
      }),
      assertOpts(),
    );
  }, testTimeout());

  it("the recording proxy's request parsing: any method, path, body or response never throws", async () => {
    const paths = ['/v1/chat/completions', '/chat/completions', '/v1/messages', '/v1/responses', '/completion', '/v1/completions', '/health', '/v1/models'];
    const url = fc.oneof(fc.constantFrom(...paths), fc.constantFrom('constructor', '/__proto__', 'toString', 'hasOwnProperty'), fc.tuple(fc.constantFrom(...paths), fc.string({ maxLength: 20 })).map(([p, q]) => `${p}?${q}`), fc.string({ maxLength: 40 }));
    const anyBody = fc.oneof(fc.jsonValue({ maxDepth: 3 }), body, fc.constant(undefined));
    const sse = fc.array(fc.oneof(fc.jsonValue({ maxDepth: 3 }).map((v) => `data: ${JSON.stringify(v)}\n\n`), fc.constant('data: [DONE]\n\n'), fc.string({ maxLength: 30 })), { maxLength: 5 }).map((a) => a.join(''));
    await fc.assert(
      fc.property(fc.oneof({ weight: 4, arbitrary: fc.constant('POST') }, fc.constantFrom('GET', 'PUT', 'OPTIONS', undefined)), url, anyBody, fc.oneof(sse, fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.stringify(v)), fc.string({ unit: 'binary', maxLength: 80 })), (method, u, b, response) => {
        const dialect = generationDialect(method, u);
        expect([null, 'chat', 'anthropic', 'responses', 'completion']).toContain(dialect);
        if (dialect) {
          clientSessionKey(dialect, b);
          conversationOf(dialect, b);
        }
        isStreamed(b);
        countersFromBody(response);
        count('proxy parsing', dialect ? `route ${dialect}` : 'other route');
      }),
      assertOpts(),
    );
  }, testTimeout());

  it('HAR files (kvdiff check): the generation requests in order, or one KvdiffError', async () => {
    const entry = fc.record(
      {
        request: fc.oneof(
          { weight: 8, arbitrary: fc.record({ method: fc.constantFrom('POST', 'GET', 'OPTIONS'), url: fc.constantFrom('http://127.0.0.1:8080/v1/chat/completions', 'https://x/v1/messages?beta=true', '/v1/responses', 'http://h/completion', 'http://h/tokenize', 'not a url', 'http://h/constructor'), postData: fc.oneof(fc.record({ mimeType: fc.constant('application/json'), text: fc.oneof(body.map((b) => JSON.stringify(b)), text, fc.jsonValue({ maxDepth: 1 })) }), fc.jsonValue({ maxDepth: 1 })) }, { requiredKeys: ['method', 'url'] }) },
          { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 2 }) },
        ),
      },
      { requiredKeys: [] },
    );
    const har = fc.oneof(
      { weight: 10, arbitrary: fc.array(entry, { maxLength: 5 }).map((entries) => JSON.stringify({ log: { version: '1.2', entries } })) },
      { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.stringify(v)) },
      { weight: 1, arbitrary: fc.string({ maxLength: 60 }) },
    );
    await fc.assert(
      fc.property(har, (t) => {
        contract('har', () => harBodies(t, 'session\u001b[2J.har', new Map()));
      }),
      assertOpts(),
    );
  }, testTimeout());

  it('the CLI keeps the contract on a sample of hostile bodies: exit 0, 1 or 2, one line for 2, no control characters', async () => {
    const { write } = (await import('./tmp.js')).tempFiles('fuzz-cli');
    await fc.assert(
      fc.asyncProperty(pair, async ([a, b]) => {
        const r = await runCli([write('a.json', a), write('b.json', b), '--tokenizer', write('tokenizer.json', tinyModel().tokenizer.json), '--template', 'test/hostile/templates/plain.jinja'], '', { isTTY: true });
        count('cli', `exit ${r.code}`);
        expect([0, 1, 2]).toContain(r.code);
        if (r.code === 2) {
          const lines = r.stderr.trimEnd().split('\n');
          expect(lines[0]).toMatch(/^error: /);
          expect(lines.length).toBeLessThanOrEqual(2);
        }
        expect(CONTROL.test(r.stdout.replace(/\n/g, '')) || CONTROL.test(r.stderr.replace(/\n/g, ''))).toBe(false);
      }),
      { ...assertOpts(), numRuns: Math.min(RUNS, 300) },
    );
  }, testTimeout());
});

function setPath(root: Record<string, unknown>, path: (string | number)[], value: unknown): void {
  let at: unknown = root;
  for (const seg of path.slice(0, -1)) {
    if (!at || typeof at !== 'object') return;
    at = (at as Record<string | number, unknown>)[seg];
  }
  if (at && typeof at === 'object') (at as Record<string | number, unknown>)[path.at(-1)!] = value;
}
