import { describe, expect, it } from 'vitest';
import { conversationOf, generationDialect, clientSessionKey } from '../src/node/record/routes.js';
import { SessionRouter, slug } from '../src/node/record/sessions.js';
import { StreamCounters, countersFromBody } from '../src/node/record/counters.js';
import { Redactor } from '../src/node/record/secrets.js';

const sys = (content: string) => ({ role: 'system', content });
const user = (content: string) => ({ role: 'user', content });
const asst = (content: string) => ({ role: 'assistant', content });
const chat = (...messages: object[]) => conversationOf('chat', { tools: [{ type: 'function', function: { name: 't' } }], messages });

describe('session routing', () => {
  it('a changed system prompt (a timestamp) stays in its conversation, so its break is seen', () => {
    const r = new SessionRouter();
    const a = r.assign('chat', chat(sys('now: 10:00'), user('fix the bug')), null, null);
    const b = r.assign('chat', chat(sys('now: 10:01'), user('fix the bug'), asst('done'), user('thanks')), null, null);
    expect(b).toMatchObject({ seq: 2, by: 'prefix' });
    expect(b.session).toBe(a.session);
  });

  it("two conversations of one agent (same tools and system prompt) are kept apart, interleaved", () => {
    const r = new SessionRouter();
    const names: string[] = [];
    for (let t = 1; t <= 3; t++) {
      for (const topic of ['docs', 'tests']) {
        const turns = [user(`work on ${topic}`), ...Array.from({ length: t - 1 }, (_, i) => [asst(`${topic} ${i}`), user('go on')]).flat()];
        names.push(r.assign('chat', chat(sys('agent'), ...turns), null, null).session.name);
      }
    }
    expect(names).toEqual(['chat-session-1', 'chat-session-2', 'chat-session-1', 'chat-session-2', 'chat-session-1', 'chat-session-2']);
  });

  it('an explicit key wins over the prefix; client fields per dialect; dialects never share a session', () => {
    const r = new SessionRouter();
    const conv = chat(user('x'));
    expect(r.assign('chat', conv, null, 'u1').by).toBe('client-field');
    expect(r.assign('chat', conv, 'h', 'u1')).toMatchObject({ by: 'header', seq: 1 });
    expect(r.assign('chat', conv, null, null).by).toBe('new'); // keyed sessions are not joined by prefix
    expect(r.assign('anthropic', conversationOf('anthropic', { messages: [user('x')] }), null, null)).toMatchObject({ by: 'new', seq: 1 });
    expect(clientSessionKey('anthropic', { metadata: { user_id: 'user_abc_session_1' } })).toBe('user_abc_session_1');
    expect(clientSessionKey('responses', { prompt_cache_key: 'conv-9', user: 'u' })).toBe('conv-9');
    expect(clientSessionKey('chat', { user: 'u' })).toBe('u');
    expect(clientSessionKey('completion', { user: 'u' })).toBeNull();
  });

  it('bodies without turns (not JSON, no messages) gather in one session instead of one each', () => {
    const r = new SessionRouter();
    const empty = conversationOf('chat', null);
    expect(r.assign('chat', empty, null, null)).toMatchObject({ by: 'unrouted', seq: 1 });
    expect(r.assign('chat', empty, null, null)).toMatchObject({ by: 'unrouted', seq: 2, session: { name: 'chat-other' } });
  });

  it('names are safe folder names and never reuse a folder of an earlier run', () => {
    const r = new SessionRouter((n) => n === 'chat-session-1' || n === 'chat-a_b');
    expect(r.assign('chat', chat(user('1')), null, null).session.name).toBe('chat-session-2');
    expect(r.assign('chat', chat(user('2')), null, 'a/b').session.name).toBe('chat-a_b-2');
    expect(slug('../..')).toBe('key');
    expect(slug('..x')).toBe('x');
  });

  it('generation routes by path, query ignored; other routes and methods are not captured', () => {
    expect(generationDialect('POST', '/v1/messages?beta=true')).toBe('anthropic');
    expect(generationDialect('POST', '/v1/chat/completions')).toBe('chat');
    expect(generationDialect('POST', '/completion')).toBe('completion');
    expect(generationDialect('POST', '/v1/responses')).toBe('responses');
    expect(generationDialect('GET', '/v1/chat/completions')).toBeNull();
    expect(generationDialect('POST', '/v1/messages/count_tokens')).toBeNull();
    expect(generationDialect('POST', '/tokenize')).toBeNull();
  });
});

describe('server counters', () => {
  it('a stream split anywhere gives the final chunk counters and the assembled reply', () => {
    const events = [
      { choices: [{ delta: { role: 'assistant', content: null, tool_calls: [{ index: 0, id: 'c1', type: 'function', function: { name: 'read', arguments: '' } }] } }] },
      { choices: [{ delta: { tool_calls: [{ index: 0, function: { arguments: '{"p":' } }] } }] },
      { choices: [{ delta: { tool_calls: [{ index: 0, function: { arguments: '"é"}' } }] } }] },
      { choices: [{ delta: {}, finish_reason: 'tool_calls' }], timings: { cache_n: 40, prompt_n: 2 }, usage: { prompt_tokens: 42, completion_tokens: 9 } },
    ];
    const bytes = Buffer.from(events.map((e) => `data: ${JSON.stringify(e)}\r\n\r\n`).join('') + 'data: [DONE]\n\n');
    for (const size of [1, 3, 7, 64, bytes.length]) {
      const s = new StreamCounters();
      for (let i = 0; i < bytes.length; i += size) s.push(bytes.subarray(i, i + size));
      const c = s.end();
      expect(c).toMatchObject({ reused: 40, reusedField: 'timings.cache_n', promptTokens: 42, finishReason: 'tool_calls' });
      expect(c.message).toEqual({ role: 'assistant', content: '', tool_calls: [{ id: 'c1', type: 'function', function: { name: 'read', arguments: '{"p":"é"}' } }] });
    }
  });

  it('Anthropic: input_tokens leaves the cached part out', () => {
    expect(countersFromBody('{"usage":{"input_tokens":5,"cache_read_input_tokens":20}}')).toMatchObject({ reused: 20, promptTokens: 25 });
    expect(countersFromBody('not json')).toMatchObject({ reused: null });
  });
});

describe('redaction', () => {
  it('credential headers and query values are left out; the rest is kept', () => {
    const r = new Redactor(['X-Team']);
    const { kept, redacted } = r.headers(['Authorization', 'Bearer x', 'X-Api-Key', 'k', 'Cookie', 'c', 'X-Team', 't', 'X-Access-Token', 'a', 'User-Agent', 'agent/1']);
    expect(kept).toEqual({ 'user-agent': 'agent/1' });
    expect(redacted).toEqual(['authorization', 'x-api-key', 'cookie', 'x-team', 'x-access-token']);
    expect(r.path('/v1/models?key=abc&x=1&api_key=z')).toBe('/v1/models?key=REDACTED&x=1&api_key=REDACTED');
  });
});

describe('analysis queue', () => {
  it(`refuses jobs beyond MAX_PENDING_ANALYSES instead of queueing without end`, async () => {
    const { InlineAnalyzer, MAX_PENDING_ANALYSES } = await import('../src/node/record/analyzer.js');
    const stuck = new InlineAnalyzer(new Promise(() => {}), () => {}, () => {}); // an engine that never loads
    const job = { session: 's', seq: 1, current: { label: 'x', dialect: 'chat' as const, body: '{}' }, previous: null, reported: { reused: null, field: null, promptTokens: null } };
    let accepted = 0;
    for (let i = 0; i < MAX_PENDING_ANALYSES + 50; i++) if (stuck.submit({ ...job, seq: i }) === null) accepted++;
    expect(accepted).toBe(MAX_PENDING_ANALYSES);
    expect(await stuck.close(10)).toBeGreaterThan(0);
  });
});
