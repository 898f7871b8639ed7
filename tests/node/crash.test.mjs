// File: tests/node/crash.test.mjs
//
// The host killed mid-stream (SIGKILL: no grace, nothing saved on the way
// out) and started again on the same database: the accepted user message is
// there, and the reply it was streaming is marked interrupted.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startHost } from './host.mjs';

test('a reply cut by a crash is marked interrupted at the next start', async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'switchboard-crash-'));
  try {
    let host = await startHost({ dir });
    const config = await host.api('POST', '/api/configs',
      { name: 'slow', provider: 'mock', model_name: 'mock-tokens', options: { tokens: 500, delay_ms: 20 } });
    const session = await host.api('POST', '/api/sessions', { config_id: config.json.id });
    const res = await fetch(`${host.base}/api/chat/stream`, {
      method: 'POST',
      headers: host.headers({ 'Content-Type': 'application/json' }),
      body: JSON.stringify({ session_id: session.json.id, user_message: 'keep going' }),
    });
    const reader = res.body.getReader();
    let seen = '';
    while (!seen.includes('event: delta')) seen += new TextDecoder().decode((await reader.read()).value);
    await host.kill();
    await reader.cancel().catch(() => {});

    host = await startHost({ dir });
    const { json } = await host.api('GET', `/api/sessions/${session.json.id}/messages`);
    assert.equal(json.messages.length, 2);
    assert.equal(json.messages[0].content, 'keep going', 'the accepted user message survived');
    assert.equal(json.messages[0].status, 'complete');
    assert.equal(json.messages[1].status, 'interrupted');
    assert.equal(json.messages[1].llm_model_name, 'mock-tokens');
    assert.equal(await host.stop(), 0);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
