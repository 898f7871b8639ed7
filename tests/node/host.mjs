// File: tests/node/host.mjs
//
// Starts the real switchboard binary on a free loopback port with a fresh
// database, for tests written in JavaScript; stops it afterwards.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

export function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

// `dir` keeps the database across starts (the caller removes it); by default
// each host gets a fresh directory, removed when it stops.
export async function startHost({ dir: keptDir } = {}) {
  const bin = process.env.SWITCHBOARD_BIN ?? path.join(repo, 'build', 'switchboard');
  const pluginDir = process.env.SWITCHBOARD_PLUGIN_DIR ?? path.join(repo, 'build', 'plugins');
  const dir = keptDir ?? mkdtempSync(path.join(os.tmpdir(), 'switchboard-node-'));
  const port = await freePort();
  const child = spawn(bin, [`--port=${port}`, `--db=${path.join(dir, 'test.db')}`,
    `--plugins=${path.join(repo, 'plugins.json')}`, `--plugin-dir=${pluginDir}`, '--log-level=warning'],
  { stdio: ['ignore', 'inherit', 'inherit'] });
  const base = `http://127.0.0.1:${port}`;
  for (let i = 0; ; i++) {
    try {
      if ((await fetch(`${base}/healthz`)).ok) break;
    } catch { /* not up yet */ }
    if (i > 200 || child.exitCode !== null) throw new Error(`switchboard did not start (${bin})`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    base,
    async api(method, route, body) {
      const res = await fetch(`${base}${route}`, {
        method,
        headers: body ? { 'Content-Type': 'application/json' } : {},
        body: body ? JSON.stringify(body) : undefined,
      });
      return { status: res.status, json: await res.json() };
    },
    async stop() {
      child.kill('SIGTERM');
      await new Promise((r) => (child.exitCode !== null ? r() : child.once('exit', r)));
      if (!keptDir) rmSync(dir, { recursive: true, force: true });
      return child.exitCode;
    },
    // Dies as a crash would: no grace, nothing saved on the way out.
    async kill() {
      child.kill('SIGKILL');
      await new Promise((r) => (child.exitCode !== null || child.signalCode !== null ? r() : child.once('exit', r)));
    },
  };
}
