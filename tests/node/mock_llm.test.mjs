// File: tests/node/mock_llm.test.mjs
//
// Our reading of the OpenAI streaming protocol checked against someone else's
// writing of it: @dwmkerr/mock-llm (an OpenAI-compatible mock server from
// npm) as the upstream of the real host's openai_compatible plugin. A session
// bound to it streams a reply that arrives in several deltas and is saved
// with its llm_provider / llm_model_name snapshot.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import OpenAI from 'openai';
import { freePort, startHost } from './host.mjs';

const require = createRequire(import.meta.url);
let host;
let upstream;
let upstreamDir;

async function startMockLlm() {
  const port = await freePort();
  upstreamDir = mkdtempSync(path.join(os.tmpdir(), 'mock-llm-'));
  // Small chunks, a little apart, so a reply arrives in several deltas.
  writeFileSync(path.join(upstreamDir, 'mock-llm.yaml'), `streaming:
  chunkSize: 6
  chunkIntervalMs: 20
rules:
  - path: "/v1/chat/completions"
    method: "POST"
    match: "@"
    response:
      status: 200
      content: |
        {
          "id": "chatcmpl-{{timestamp}}",
          "object": "chat.completion",
          "model": "{{jmes request body.model}}",
          "choices": [{
            "message": {"role": "assistant", "content": "{{jmes request body.messages[-1].content}}"},
            "finish_reason": "stop"
          }]
        }
`);
  const main = require.resolve('@dwmkerr/mock-llm/dist/main.js');
  const child = spawn(process.execPath, [main, '--config', path.join(upstreamDir, 'mock-llm.yaml')], {
    env: { ...process.env, HOST: '127.0.0.1', PORT: String(port) },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const base = `http://127.0.0.1:${port}`;
  for (let i = 0; ; i++) {
    try {
      const res = await fetch(`${base}/health`);
      if (res.ok) break;
    } catch { /* not up yet */ }
    if (i > 200 || child.exitCode !== null) throw new Error('mock-llm did not start');
    await new Promise((r) => setTimeout(r, 50));
  }
  return { base, child };
}

// Reads /api/chat/stream's events as they arrive.
async function streamTurn(sessionId, text) {
  const res = await fetch(`${host.base}/api/chat/stream`, {
    method: 'POST',
    headers: host.headers({ 'Content-Type': 'application/json' }),
    body: JSON.stringify({ session_id: sessionId, user_message: text }),
  });
  assert.equal(res.status, 200);
  const decoder = new TextDecoder();
  const events = [];
  let buffer = '';
  for await (const bytes of res.body) {
    buffer += decoder.decode(bytes, { stream: true });
    let end;
    while ((end = buffer.indexOf('\n\n')) !== -1) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      const name = /^event: (.*)$/m.exec(block)?.[1];
      const data = /^data: (.*)$/m.exec(block)?.[1];
      if (name && data) events.push({ name, data: JSON.parse(data) });
    }
  }
  return events;
}

before(async () => {
  upstream = await startMockLlm();
  host = await startHost();
});

after(async () => {
  await host.stop();
  upstream.child.kill('SIGTERM');
  rmSync(upstreamDir, { recursive: true, force: true });
});

test('a session bound to an OpenAI-compatible upstream streams token by token and keeps the snapshot', async () => {
  const config = await host.api('POST', '/api/configs', {
    name: 'mock-llm', provider: 'openai_compatible', model_name: 'gpt-4', base_url: `${upstream.base}/v1`,
    api_key: 'sk-not-needed',
  });
  assert.equal(config.status, 201, JSON.stringify(config.json));
  const session = await host.api('POST', '/api/sessions', { config_id: config.json.id });
  assert.equal(session.status, 201);

  const text = 'Switchboard reads what mock-llm writes, chunk by chunk.';
  const events = await streamTurn(session.json.id, text);
  const names = events.map((e) => e.name);
  assert.equal(names[0], 'start');
  assert.equal(names.at(-1), 'done', JSON.stringify(events.at(-1)));
  const deltas = events.filter((e) => e.name === 'delta');
  assert.ok(deltas.length >= 5, `a reply in several deltas, got ${deltas.length}`);
  assert.equal(deltas.map((e) => e.data.content).join(''), text);
  assert.equal(events[0].data.provider, 'openai_compatible');
  assert.equal(events[0].data.model, 'gpt-4');

  const saved = await host.api('GET', `/api/sessions/${session.json.id}/messages`);
  assert.equal(saved.json.messages.length, 2);
  for (const m of saved.json.messages) {
    assert.equal(m.llm_provider, 'openai_compatible');
    assert.equal(m.llm_model_name, 'gpt-4');
    assert.equal(m.status, 'complete');
  }
  assert.equal(saved.json.messages[1].content, text);
});

test('the official client through the host to mock-llm', async () => {
  const client = new OpenAI({ baseURL: `${host.base}/v1`, apiKey: host.key });
  const stream = await client.chat.completions.create({
    model: 'mock-llm', stream: true, messages: [{ role: 'user', content: 'relayed twice over' }],
  });
  let text = '';
  let finish = null;
  for await (const chunk of stream) {
    text += chunk.choices[0]?.delta?.content ?? '';
    finish = chunk.choices[0]?.finish_reason ?? finish;
  }
  assert.equal(text, 'relayed twice over');
  assert.equal(finish, 'stop');
});
