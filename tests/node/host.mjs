// File: tests/node/host.mjs
//
// Starts the real switchboard binary on a free loopback port with a fresh
// database, for tests written in JavaScript; stops it afterwards.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
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

// The admin key every test host is provisioned with: the host's first start
// takes the content of its --admin-key-file as the admin's key.
export const adminKey = 'sbk_node-admin-0123456789abcdefghijklmnopqrstuvwx';

// `dir` keeps the database across starts (the caller removes it); by default
// each host gets a fresh directory, removed when it stops. `host.key` is the
// admin key; `host.headers()` the headers that carry it.
export async function startHost({ dir: keptDir } = {}) {
  const bin = process.env.SWITCHBOARD_BIN ?? path.join(repo, 'build', 'switchboard');
  const pluginDir = process.env.SWITCHBOARD_PLUGIN_DIR ?? path.join(repo, 'build', 'plugins');
  const dir = keptDir ?? mkdtempSync(path.join(os.tmpdir(), 'switchboard-node-'));
  const port = await freePort();
  const keyFile = path.join(dir, 'admin.key');
  if (!existsSync(keyFile)) writeFileSync(keyFile, `${adminKey}\n`, { mode: 0o600 });
  const child = spawn(bin, [`--port=${port}`, `--db=${path.join(dir, 'test.db')}`, `--admin-key-file=${keyFile}`,
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
  const headers = (extra = {}) => ({ Authorization: `Bearer ${adminKey}`, ...extra });
  return {
    base,
    key: adminKey,
    headers,
    async api(method, route, body) {
      const res = await fetch(`${base}${route}`, {
        method,
        headers: headers(body ? { 'Content-Type': 'application/json' } : {}),
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
