// File: tests/node/crash.test.mjs
//
// The host killed mid-stream (SIGKILL: no grace, nothing saved on the way
// out) and started again on the same database: every accepted user message is
// there, each reply it was streaming is marked interrupted and keeps the text
// its client had been sent up to one checkpoint interval (1 s) before the
// kill, and the next turn's history is well-formed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startHost } from './host.mjs';

const kCheckpointMs = 1000;

// Streams one turn, recording what the client was shown and when.
async function streamTurn(host, sessionId, message) {
  const res = await fetch(`${host.base}/api/chat/stream`, {
    method: 'POST',
    headers: host.headers({ 'Content-Type': 'application/json' }),
    body: JSON.stringify({ session_id: sessionId, user_message: message }),
  });
  const reader = res.body.getReader();
  const decoder = new TextDecoder();
  const turn = { shown: [], reader, done: null };
  turn.done = (async () => {
    let buffer = '';
    let text = '';
    for (;;) {
      let chunk;
      try {
        chunk = await reader.read();
      } catch {
        return;  // the host died
      }
      if (chunk.done) return;
      buffer += decoder.decode(chunk.value, { stream: true });
      let end;
      while ((end = buffer.indexOf('\n\n')) >= 0) {
        const event = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const data = event.split('\n').find((l) => l.startsWith('data: '));
        if (!event.startsWith('event: delta') || !data) continue;
        text += JSON.parse(data.slice(6)).content;
        turn.shown.push({ at: Date.now(), text });
      }
    }
  })();
  return turn;
}

// What the client had been shown at `when` (ms since the epoch).
function shownAt(turn, when) {
  let text = '';
  for (const s of turn.shown) if (s.at <= when) text = s.text;
  return text;
}

test('a crash keeps each streaming reply up to a checkpoint, and the next history is well-formed', async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'switchboard-crash-'));
  try {
    let host = await startHost({ dir });
    const slow = await host.api('POST', '/api/configs',
      { name: 'slow', provider: 'mock', model_name: 'mock-tokens', options: { tokens: 2000, delay_ms: 10 } });
    const inspect = await host.api('POST', '/api/configs',
      { name: 'inspect', provider: 'mock', model_name: 'mock-inspect' });
    const sessions = [];
    for (let i = 0; i < 4; i++)
      sessions.push((await host.api('POST', '/api/sessions', { config_id: slow.json.id })).json.id);
    // One session had a complete turn before, so the history has an earlier turn too.
    const earlier = await host.api('POST', '/api/chat',
      { session_id: sessions[0], user_message: 'before', config_id: inspect.json.id });
    assert.equal(earlier.status, 200);

    const turns = await Promise.all(sessions.map((id, i) => streamTurn(host, id, `keep going ${i}`)));
    await new Promise((r) => setTimeout(r, 2500));
    const killedAt = Date.now();
    await host.kill();
    await Promise.all(turns.map((t) => t.done));

    host = await startHost({ dir });
    let seen = 0;
    let kept = 0;
    for (const [i, id] of sessions.entries()) {
      const { json } = await host.api('GET', `/api/sessions/${id}/messages`);
      const reply = json.messages.at(-1);
      const user = json.messages.at(-2);
      assert.equal(user.content, `keep going ${i}`, 'the accepted user message survived');
      assert.equal(user.status, 'complete');
      assert.equal(reply.status, 'interrupted');
      assert.equal(reply.llm_model_name, 'mock-tokens');
      const shown = turns[i].shown.at(-1)?.text ?? '';
      const floor = shownAt(turns[i], killedAt - kCheckpointMs);
      assert.ok(floor.length > 0, 'the client had been shown text a second before the kill');
      assert.ok(reply.content.startsWith(floor),
        `reply ${reply.id} kept ${reply.content.length} characters, less than the ${floor.length} shown a second before the kill`);
      assert.ok(shown.startsWith(reply.content), 'nothing kept that the client was not shown');
      seen += shown.length;
      kept += reply.content.length;
    }
    console.log(`characters shown to the clients: ${seen}, kept after kill -9: ${kept} (${(100 * kept / seen).toFixed(1)} %)`);

    // The next turn sends the earlier turn, the interrupted one with its kept text, and the new message, each once.
    const next = await host.api('POST', '/api/chat',
      { session_id: sessions[0], user_message: 'and now?', config_id: inspect.json.id });
    assert.equal(next.status, 200);
    const sent = JSON.parse(next.json.assistant_message.content).messages;
    assert.deepEqual(sent.map((m) => m.role), ['user', 'assistant', 'user', 'assistant', 'user']);
    assert.equal(sent[0].content, 'before');
    assert.equal(sent[2].content, 'keep going 0');
    assert.ok(sent[3].content.length > 0);
    assert.equal(sent[4].content, 'and now?');
    assert.equal(await host.stop(), 0);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
