// File: tests/node/openai_client.test.mjs
//
// The official `openai` npm client against the real host with the mock
// plugin: list models, a whole completion, a streamed one assembled from its
// chunks, include_usage, an unknown model raising the client's 404 error,
// and aborting a stream half way with the host still answering after.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import OpenAI from 'openai';
import { startHost } from './host.mjs';

let host;
let client;

before(async () => {
  host = await startHost();
  const tokens = await host.api('POST', '/api/configs',
    { name: 'tokens', provider: 'mock', model_name: 'mock-tokens', options: { tokens: 6 } });
  assert.equal(tokens.status, 201);
  const slow = await host.api('POST', '/api/configs',
    { name: 'slow', provider: 'mock', model_name: 'mock-tokens', options: { tokens: 200, delay_ms: 20 } });
  assert.equal(slow.status, 201);
  // The five lines of the README:
  client = new OpenAI({ baseURL: `${host.base}/v1`, apiKey: host.key });
});

after(async () => {
  assert.equal(await host.stop(), 0, 'the host exits 0 on SIGTERM');
});

test('lists one model per config', async () => {
  const ids = [];
  for await (const model of client.models.list()) ids.push(model.id);
  assert.deepEqual(ids.slice(0, 3), ['mock-echo', 'tokens', 'slow']);
});

test('a whole completion', async () => {
  const completion = await client.chat.completions.create({
    model: 'mock-echo',
    messages: [{ role: 'system', content: 'echo' }, { role: 'user', content: 'Hello from the official client' }],
  });
  assert.equal(completion.object, 'chat.completion');
  assert.equal(completion.choices[0].message.content, 'Hello from the official client');
  assert.equal(completion.choices[0].finish_reason, 'stop');
  assert.equal(completion.usage.completion_tokens, 5);
});

test('a streamed completion assembled from its chunks', async () => {
  const stream = await client.chat.completions.create({
    model: 'tokens', stream: true, messages: [{ role: 'user', content: 'count' }],
  });
  let text = '';
  let finish = null;
  let role = null;
  let chunks = 0;
  for await (const chunk of stream) {
    chunks += 1;
    assert.equal(chunk.object, 'chat.completion.chunk');
    const choice = chunk.choices[0];
    role ??= choice.delta.role ?? null;
    text += choice.delta.content ?? '';
    finish = choice.finish_reason ?? finish;
  }
  assert.equal(role, 'assistant');
  assert.equal(text, 'tok1 tok2 tok3 tok4 tok5 tok6');
  assert.equal(finish, 'stop');
  assert.ok(chunks >= 8, `role + 6 deltas + finish, got ${chunks}`);
});

test('a streamed completion with include_usage', async () => {
  const stream = await client.chat.completions.create({
    model: 'tokens', stream: true, stream_options: { include_usage: true },
    messages: [{ role: 'user', content: 'count to six' }],
  });
  let usage = null;
  for await (const chunk of stream) if (chunk.usage) usage = chunk.usage;
  assert.deepEqual(usage, { prompt_tokens: 3, completion_tokens: 6, total_tokens: 9 });
});

test('an unknown model raises the client 404 error', async () => {
  await assert.rejects(
    client.chat.completions.create({ model: 'gpt-does-not-exist', messages: [{ role: 'user', content: 'x' }] }),
    (error) => {
      assert.ok(error instanceof OpenAI.NotFoundError, `got ${error?.constructor?.name}`);
      assert.equal(error.status, 404);
      assert.equal(error.code, 'model_not_found');
      return true;
    });
});

test('aborting a stream half way leaves the host answering', async () => {
  const controller = new AbortController();
  const stream = await client.chat.completions.create(
    { model: 'slow', stream: true, messages: [{ role: 'user', content: 'go' }] },
    { signal: controller.signal });
  let deltas = 0;
  try {
    for await (const chunk of stream) {
      if (chunk.choices[0]?.delta?.content) deltas += 1;
      if (deltas === 5) controller.abort();
    }
  } catch (error) {
    // Depending on timing the client ends the loop quietly or with its abort error.
    assert.ok(['APIUserAbortError', 'AbortError'].includes(error.name), `got ${error.name}`);
  }
  assert.equal(deltas, 5, 'no delta arrives after the abort');
  const next = await client.chat.completions.create({ model: 'mock-echo', messages: [{ role: 'user', content: 'still there?' }] });
  assert.equal(next.choices[0].message.content, 'still there?');
});

test('a wrong key raises the client\'s AuthenticationError', async () => {
  const stranger = new OpenAI({ baseURL: `${host.base}/v1`, apiKey: 'sbk_not-a-key-0123456789abcdefghijklmn', maxRetries: 0 });
  await assert.rejects(stranger.models.list(), (e) => e instanceof OpenAI.AuthenticationError && e.status === 401);
});

test('the README\'s tool loop, against the mock\'s tool-calling model', async () => {
  const made = await host.api('POST', '/api/configs', { name: 'mock-tools', provider: 'mock', model_name: 'mock-tools' });
  assert.equal(made.status, 201);
  const tools = [{ type: 'function', function: { name: 'get_weather',
    parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] } } }];
  const messages = [{ role: 'user', content: 'Paris' }];
  const first = await client.chat.completions.create({ model: 'mock-tools', messages, tools });
  assert.equal(first.choices[0].finish_reason, 'tool_calls');
  const call = first.choices[0].message.tool_calls[0];
  const { city } = JSON.parse(call.function.arguments);
  assert.equal(city, 'Paris');
  messages.push(first.choices[0].message,
    { role: 'tool', tool_call_id: call.id, content: `18 C and sunny in ${city}` });
  const answer = await client.chat.completions.create({ model: 'mock-tools', messages, tools });
  assert.equal(answer.choices[0].message.content, 'The get_weather tool said: 18 C and sunny in Paris');
});
