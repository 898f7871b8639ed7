// File: tests/node/tool_loop.test.mjs
//
// The official `openai` client, the same code run twice: straight to a fake
// OpenAI upstream, and through Switchboard (the openai_compatible plugin
// pointed at that upstream). A full tool loop (call → tool result → answer),
// streamed and not; structured output with a json_schema; an image part;
// embeddings. Both runs must give the same results, and the upstream must
// receive the same request body from both: every extra parameter unchanged,
// nothing added.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import OpenAI from 'openai';
import { startHost } from './host.mjs';
import { startFakeOpenAi } from './fake_openai.mjs';

let host;
let fake;
const clients = {};

const weatherTool = {
  type: 'function',
  function: {
    name: 'get_weather',
    description: 'The weather in a city',
    parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'], additionalProperties: false },
  },
};
const weather = ({ city }) => `18 C and sunny in ${city}`;

before(async () => {
  fake = await startFakeOpenAi();
  host = await startHost();
  const made = await host.api('POST', '/api/configs', {
    name: 'gpt-fake', provider: 'openai_compatible', model_name: 'gpt-fake', base_url: fake.url, options: { api_key_env: '' },
  });
  assert.equal(made.status, 201, JSON.stringify(made.json));
  clients.direct = new OpenAI({ baseURL: fake.url, apiKey: 'sk-fake', maxRetries: 0 });
  clients.switchboard = new OpenAI({ baseURL: `${host.base}/v1`, apiKey: host.key, maxRetries: 0 });
});

after(async () => {
  assert.equal(await host.stop(), 0);
  await fake.close();
});

// Runs `fn(client)` straight and through Switchboard; returns both results and
// the request body the upstream received last in each run.
async function both(fn) {
  const out = {};
  for (const [name, client] of Object.entries(clients)) {
    const result = await fn(client);
    out[name] = { result, upstream: fake.requests[fake.requests.length - 1] };
  }
  return out;
}

async function complete(client, stream, request) {
  if (!stream) return client.chat.completions.create(request);
  return client.chat.completions.stream(request).finalChatCompletion();
}

async function toolLoop(client, stream) {
  const messages = [{ role: 'system', content: 'Use the tools.' }, { role: 'user', content: 'Paris' }];
  const first = await complete(client, stream, { model: 'gpt-fake', messages, tools: [weatherTool] });
  const { message, finish_reason: firstFinish } = first.choices[0];
  assert.equal(message.tool_calls.length, 1);
  const call = message.tool_calls[0];
  messages.push({
    role: 'assistant', content: message.content ?? null,
    tool_calls: [{ id: call.id, type: 'function', function: { name: call.function.name, arguments: call.function.arguments } }],
  });
  messages.push({ role: 'tool', tool_call_id: call.id, content: weather(JSON.parse(call.function.arguments)) });
  const second = await complete(client, stream, { model: 'gpt-fake', messages, tools: [weatherTool] });
  return {
    firstFinish,
    firstContent: message.content,
    call: { id: call.id, name: call.function.name, arguments: JSON.parse(call.function.arguments) },
    answer: second.choices[0].message.content,
    finish: second.choices[0].finish_reason,
  };
}

describe('the official openai client, direct and through Switchboard', () => {
  for (const stream of [false, true]) {
    test(`a full tool loop, ${stream ? 'streamed' : 'whole'}`, async () => {
      const runs = await both((client) => toolLoop(client, stream));
      assert.deepEqual(runs.switchboard.result, runs.direct.result);
      assert.deepEqual(runs.direct.result, {
        firstFinish: 'tool_calls',
        firstContent: null,
        call: { id: 'call_fake_1', name: 'get_weather', arguments: { city: 'Paris' } },
        answer: 'The answer is 18 C and sunny in Paris',
        finish: 'stop',
      });
      if (!stream) assert.deepEqual(runs.switchboard.upstream, runs.direct.upstream, 'the same request reached the upstream');
    });
  }

  test('structured output with a json_schema', async () => {
    const schema = {
      type: 'object',
      properties: { city: { type: 'string' }, words: { type: 'integer' }, sunny: { type: 'boolean' } },
      required: ['city', 'words', 'sunny'],
      additionalProperties: false,
    };
    const runs = await both(async (client) => {
      const completion = await client.chat.completions.create({
        model: 'gpt-fake',
        messages: [{ role: 'user', content: 'rainy Bergen' }],
        response_format: { type: 'json_schema', json_schema: { name: 'weather', strict: true, schema } },
      });
      return JSON.parse(completion.choices[0].message.content);
    });
    assert.deepEqual(runs.direct.result, { city: 'rainy Bergen', words: 2, sunny: true });
    assert.deepEqual(runs.switchboard.result, runs.direct.result);
    assert.deepEqual(runs.switchboard.upstream, runs.direct.upstream);
  });

  test('an image part', async () => {
    const runs = await both(async (client) => {
      const completion = await client.chat.completions.create({
        model: 'gpt-fake',
        messages: [{ role: 'user', content: [
          { type: 'text', text: 'What is this?' },
          { type: 'image_url', image_url: { url: 'data:image/png;base64,iVBORw0KGgo=', detail: 'low' } }] }],
      });
      return completion.choices[0].message.content;
    });
    assert.equal(runs.direct.result, 'I see 1 image(s)');
    assert.equal(runs.switchboard.result, runs.direct.result);
    assert.deepEqual(runs.switchboard.upstream, runs.direct.upstream);
  });

  test('every extra parameter arrives unchanged and nothing is added', async () => {
    const runs = await both(async (client) => {
      const completion = await client.chat.completions.create({
        model: 'gpt-fake',
        messages: [{ role: 'user', content: 'hi', name: 'erin' }],
        seed: 42, temperature: 0.2, top_p: 0.9, presence_penalty: 0.5, frequency_penalty: -0.5,
        logit_bias: { 50256: -100 }, user: 'user-1234', metadata: { trace: 'abc' }, store: false,
        max_completion_tokens: 64, stop: ['END'], parallel_tool_calls: false, tools: [weatherTool], tool_choice: 'none',
      });
      return completion.choices[0].message.content;
    });
    assert.equal(runs.switchboard.result, runs.direct.result);
    assert.deepEqual(runs.switchboard.upstream, runs.direct.upstream);
    assert.equal(runs.switchboard.upstream.body.max_completion_tokens, 64);
    assert.ok(!('max_tokens' in runs.switchboard.upstream.body));
  });

  test('embeddings', async () => {
    const runs = await both(async (client) => {
      const result = await client.embeddings.create({ model: 'gpt-fake', input: ['one', 'two words'] });
      return { vectors: result.data.map((d) => Array.from(d.embedding)), usage: result.usage };
    });
    assert.equal(runs.direct.result.vectors.length, 2);
    assert.deepEqual(runs.switchboard.result, runs.direct.result);
  });
});
