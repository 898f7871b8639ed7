// File: tests/node/frameworks.test.mjs
//
// The agent frameworks people build on — the Vercel AI SDK
// (@ai-sdk/openai-compatible, and @ai-sdk/openai's .chat()) and LangChain JS
// (@langchain/openai) — run the
// same code twice: straight to the fake OpenAI upstream, and through
// Switchboard. A full tool loop (AI SDK stopWhen, LangChain bindTools),
// streamed and not, structured output with a JSON schema, an image part and
// embeddings must come out the same.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { embedMany, generateText, jsonSchema, Output, stepCountIs, streamText, tool } from 'ai';
import { createOpenAICompatible } from '@ai-sdk/openai-compatible';
import { createOpenAI } from '@ai-sdk/openai';
import { ChatOpenAI, OpenAIEmbeddings } from '@langchain/openai';
import { HumanMessage, ToolMessage } from '@langchain/core/messages';
import { startHost } from './host.mjs';
import { startFakeOpenAi } from './fake_openai.mjs';

globalThis.AI_SDK_LOG_WARNINGS = false;

let host;
let fake;
let targets;

const weatherSchema = { type: 'object', properties: { city: { type: 'string' } }, required: ['city'], additionalProperties: false };
const answerSchema = {
  type: 'object', title: 'weather',
  properties: { city: { type: 'string' }, words: { type: 'integer' } },
  required: ['city', 'words'], additionalProperties: false,
};

before(async () => {
  fake = await startFakeOpenAi();
  host = await startHost();
  const made = await host.api('POST', '/api/configs', {
    name: 'gpt-fake', provider: 'openai_compatible', model_name: 'gpt-fake', base_url: fake.url, options: { api_key_env: '' },
  });
  assert.equal(made.status, 201, JSON.stringify(made.json));
  targets = { direct: { url: fake.url, key: 'sk-fake' }, switchboard: { url: `${host.base}/v1`, key: host.key } };
});

after(async () => {
  assert.equal(await host.stop(), 0);
  await fake.close();
});

// Runs `fn(target)` straight and through Switchboard and checks both agree.
async function same(fn) {
  const direct = await fn(targets.direct);
  const switchboard = await fn(targets.switchboard);
  assert.deepEqual(switchboard, direct);
  return direct;
}

describe('Vercel AI SDK (@ai-sdk/openai-compatible), direct and through Switchboard', () => {
  const provider = ({ url, key }) =>
    createOpenAICompatible({ name: 'sb', baseURL: url, apiKey: key, supportsStructuredOutputs: true });
  const weather = tool({
    description: 'The weather in a city',
    inputSchema: jsonSchema(weatherSchema),
    execute: async ({ city }) => `18 C in ${city}`,
  });

  test('a tool loop with stopWhen, whole', async () => {
    const result = await same(async (t) => {
      const r = await generateText({ model: provider(t).chatModel('gpt-fake'), prompt: 'Paris',
        tools: { get_weather: weather }, stopWhen: stepCountIs(3) });
      return { text: r.text, steps: r.steps.length, calls: r.steps[0].toolCalls.map((c) => [c.toolName, c.input]),
        finish: r.steps.map((s) => s.finishReason) };
    });
    assert.deepEqual(result, { text: 'The answer is 18 C in Paris', steps: 2, calls: [['get_weather', { city: 'Paris' }]],
      finish: ['tool-calls', 'stop'] });
  });

  test('a tool loop with stopWhen, streamed', async () => {
    const result = await same(async (t) => {
      const s = streamText({ model: provider(t).chatModel('gpt-fake'), prompt: 'Oslo',
        tools: { get_weather: weather }, stopWhen: stepCountIs(3) });
      const steps = await s.steps;
      return { text: await s.text, steps: steps.length, calls: steps[0].toolCalls.map((c) => [c.toolName, c.input]) };
    });
    assert.deepEqual(result, { text: 'The answer is 18 C in Oslo', steps: 2, calls: [['get_weather', { city: 'Oslo' }]] });
  });

  test('structured output with a JSON schema', async () => {
    const result = await same(async (t) => {
      const r = await generateText({ model: provider(t).chatModel('gpt-fake'), prompt: 'rainy Bergen',
        output: Output.object({ schema: jsonSchema(answerSchema) }) });
      return r.output;
    });
    assert.deepEqual(result, { city: 'rainy Bergen', words: 2 });
    assert.equal(fake.requests.at(-1).body.response_format.type, 'json_schema');
  });

  test('an image part', async () => {
    const result = await same(async (t) => (await generateText({ model: provider(t).chatModel('gpt-fake'),
      messages: [{ role: 'user', content: [{ type: 'text', text: 'What is this?' },
        { type: 'image', image: new URL('data:image/png;base64,iVBORw0KGgo='), mediaType: 'image/png' }] }] })).text);
    assert.equal(result, 'I see 1 image(s)');
  });

  test('embeddings', async () => {
    const result = await same(async (t) =>
      (await embedMany({ model: provider(t).textEmbeddingModel('gpt-fake'), values: ['one', 'two words'] })).embeddings);
    assert.equal(result.length, 2);
  });
});

describe('Vercel AI SDK (@ai-sdk/openai .chat()), direct and through Switchboard', () => {
  const chat = ({ url, key }) => createOpenAI({ baseURL: url, apiKey: key }).chat('gpt-fake');
  const weather = tool({
    description: 'The weather in a city',
    inputSchema: jsonSchema(weatherSchema),
    execute: async ({ city }) => `18 C in ${city}`,
  });

  for (const streamed of [false, true]) {
    test(`a tool loop with stopWhen, ${streamed ? 'streamed' : 'whole'}`, async () => {
      const result = await same(async (t) => {
        const options = { model: chat(t), prompt: 'Paris', tools: { get_weather: weather }, stopWhen: stepCountIs(3) };
        if (!streamed) {
          const r = await generateText(options);
          return { text: r.text, steps: r.steps.length };
        }
        const s = streamText(options);
        return { text: await s.text, steps: (await s.steps).length };
      });
      assert.deepEqual(result, { text: 'The answer is 18 C in Paris', steps: 2 });
    });
  }

  test('structured output with a JSON schema', async () => {
    const result = await same(async (t) => (await generateText({ model: chat(t), prompt: 'rainy Bergen',
      output: Output.object({ schema: jsonSchema(answerSchema) }) })).output);
    assert.deepEqual(result, { city: 'rainy Bergen', words: 2 });
  });
});

describe('LangChain JS (@langchain/openai), direct and through Switchboard', () => {
  const chat = ({ url, key }) => new ChatOpenAI({ model: 'gpt-fake', apiKey: key, configuration: { baseURL: url }, maxRetries: 0 });
  const tools = [{ type: 'function', function: { name: 'get_weather', description: 'The weather in a city', parameters: weatherSchema } }];

  for (const streamed of [false, true]) {
    test(`a tool loop with bindTools, ${streamed ? 'streamed' : 'whole'}`, async () => {
      const result = await same(async (t) => {
        const bound = chat(t).bindTools(tools);
        const call = async (messages) => {
          if (!streamed) return bound.invoke(messages);
          let whole = null;
          for await (const c of await bound.stream(messages)) whole = whole ? whole.concat(c) : c;
          return whole;
        };
        const messages = [new HumanMessage('Paris')];
        const first = await call(messages);
        const toolCall = first.tool_calls[0];
        messages.push(first, new ToolMessage({ tool_call_id: toolCall.id, content: `18 C in ${toolCall.args.city}` }));
        const final = await call(messages);
        return { call: { name: toolCall.name, args: toolCall.args, id: toolCall.id }, answer: final.content };
      });
      assert.deepEqual(result, { call: { name: 'get_weather', args: { city: 'Paris' }, id: 'call_fake_1' },
        answer: 'The answer is 18 C in Paris' });
    });
  }

  test('withStructuredOutput with a JSON schema', async () => {
    const result = await same(async (t) =>
      chat(t).withStructuredOutput(answerSchema, { method: 'jsonSchema', strict: true }).invoke('rainy Bergen'));
    assert.deepEqual(result, { city: 'rainy Bergen', words: 2 });
  });

  test('an image part', async () => {
    const result = await same(async (t) => (await chat(t).invoke([new HumanMessage({ content: [
      { type: 'text', text: 'What is this?' },
      { type: 'image_url', image_url: { url: 'data:image/png;base64,iVBORw0KGgo=' } }] })])).content);
    assert.equal(result, 'I see 1 image(s)');
  });

  test('embeddings', async () => {
    const result = await same(async ({ url, key }) =>
      new OpenAIEmbeddings({ model: 'gpt-fake', apiKey: key, configuration: { baseURL: url } }).embedDocuments(['one', 'two words']));
    assert.equal(result.length, 2);
  });
});
