// File: tests/e2e/chat_page.test.mjs
//
// The chat page in a real browser (Debian's chromium, driven by
// playwright-core) against the real host with the mock plugin: create a
// session, watch a reply grow token by token, reload and find it, stop a slow
// reply and find it marked stopped, see a mock failure, and see a <script>
// shown as text. Screenshots of each step land in tests/e2e/artifacts/.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { startHost } from '../node/host.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const artifacts = path.join(here, 'artifacts');
let host;
let browser;
let page;

const shot = (name) => page.screenshot({ path: path.join(artifacts, `${name}.png`) });

async function bodies() {
  return page.locator('[data-testid=message-assistant] [data-testid=message-body]').allTextContents();
}

async function makeConfig(name, options, model = 'mock-tokens') {
  const r = await host.api('POST', '/api/configs', { name, provider: 'mock', model_name: model, options });
  assert.equal(r.status, 201, JSON.stringify(r.json));
  return r.json.id;
}

async function newSessionWithConfig(configId) {
  const before = await page.getByTestId('session-item').count();
  await page.getByTestId('new-session').click();
  await page.waitForFunction((n) => document.querySelectorAll('[data-testid=session-item]').length === n + 1, before);
  await page.waitForFunction(() => document.querySelector('[data-testid=session-title]').textContent === 'New chat');
  await page.getByTestId('config-select').selectOption(String(configId));
  await page.waitForFunction((id) => document.querySelector('[data-testid=config-select]').value === String(id), configId);
}

before(async () => {
  mkdirSync(artifacts, { recursive: true });
  host = await startHost();
  // playwright gives the browser a fresh, empty profile of its own.
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync', '--disable-quic'],
  });
  page = await browser.newPage({ viewport: { width: 1200, height: 800 } });
  // Accept every confirm(); a test that answers a prompt() registers its own answer.
  page.on('dialog', (dialog) => (dialog.type() === 'confirm' ? dialog.accept() : undefined));
  await page.goto(host.base);
  await page.waitForSelector('body[data-ready=true]');
});

after(async () => {
  await browser?.close();
  if (host) await host.stop();
});

test('the page is served by the host with its content types', async () => {
  const index = await fetch(`${host.base}/`);
  assert.equal(index.headers.get('content-type'), 'text/html; charset=utf-8');
  const js = await fetch(`${host.base}/web/app.js`);
  assert.match(js.headers.get('content-type'), /^text\/javascript/);
  assert.ok(js.headers.get('etag'));
  const again = await fetch(`${host.base}/web/app.js`, { headers: { 'If-None-Match': js.headers.get('etag') } });
  assert.equal(again.status, 304);
  await shot('01-empty');
});

test('a reply grows token by token, then survives a reload', async () => {
  const slow = await makeConfig('slow', { tokens: 30, delay_ms: 80 });
  await newSessionWithConfig(slow);
  await page.getByTestId('input').fill('Count for me, slowly.');
  await page.getByTestId('input').press('Enter');

  // At least three growing observations before the reply is complete.
  const lengths = [];
  for (let i = 0; i < 60 && lengths.length < 4; i++) {
    await page.waitForTimeout(150);
    const [text = ''] = await bodies();
    if (text.length > (lengths.at(-1) ?? 0)) lengths.push(text.length);
    if (lengths.length === 2) await shot('02-mid-stream');
  }
  assert.ok(lengths.length >= 3, `observed lengths ${lengths}`);
  await page.waitForSelector('[data-testid=message-assistant][data-status=complete]', { timeout: 15000 });
  const [done] = await bodies();
  assert.ok(done.length > lengths[2], 'the reply kept growing after the third observation');
  assert.ok(done.startsWith('tok1 tok2 tok3'));
  assert.match(await page.locator('[data-testid=message-assistant] .meta').textContent(), /mock · mock-tokens/);
  await page.waitForFunction(() => document.querySelector('[data-testid=session-title]').textContent === 'Count for me, slowly.');
  await shot('03-complete');

  await page.reload();
  await page.waitForSelector('body[data-ready=true]');
  await page.waitForSelector('[data-testid=message-user]');
  assert.equal(await page.getByTestId('message-user').first().textContent(), 'Count for me, slowly.');
  assert.equal((await bodies())[0], done);
  await shot('04-after-reload');
});

test('Stop keeps the partial reply, marked stopped after a reload', async () => {
  const slower = await makeConfig('slower', { tokens: 200, delay_ms: 60 });
  await newSessionWithConfig(slower);
  await page.getByTestId('input').fill('Go on and on.');
  await page.getByTestId('send').click();
  await page.waitForFunction(() => {
    const b = document.querySelector('[data-testid=message-assistant] [data-testid=message-body]');
    return b && b.textContent.length > 20;
  });
  await page.getByTestId('stop').click();
  await page.waitForSelector('[data-testid=message-assistant][data-status=cancelled]');
  await page.waitForTimeout(300);  // the host notices the closed stream and saves the reply

  await page.reload();
  await page.waitForSelector('body[data-ready=true]');
  await page.waitForSelector('[data-testid=message-assistant]');
  const status = await page.locator('[data-testid=message-assistant]').first().getAttribute('data-status');
  assert.equal(status, 'cancelled');
  assert.equal(await page.getByTestId('message-status').first().textContent(), 'stopped');
  const [partial] = await bodies();
  assert.ok(partial.startsWith('tok1 '), partial);
  assert.ok(!partial.includes('tok200'), 'the reply was stopped before its end');
  await shot('05-stopped');
});

test('a failing model shows its error in the reply', async () => {
  const failing = await makeConfig('failing', { tokens: 10, fail_after: 2 });
  await newSessionWithConfig(failing);
  await page.getByTestId('input').fill('This will break.');
  await page.getByTestId('input').press('Enter');
  await page.waitForSelector('[data-testid=message-assistant][data-status=error]');
  const error = await page.getByTestId('message-error').textContent();
  assert.match(error, /mock failure after 2 deltas/);
  assert.equal((await bodies())[0], 'tok1 tok2 ');
  await shot('06-error');
});

test('a <script> in a message is shown as text, never run', async () => {
  const echo = (await host.api('GET', '/api/configs')).json.configs.find((c) => c.model_name === 'mock-echo').id;
  await newSessionWithConfig(echo);
  const evil = '<script>window.__pwned=1</script> **bold** and `code`';
  await page.getByTestId('input').fill(evil);
  await page.getByTestId('input').press('Enter');
  await page.waitForSelector('[data-testid=message-assistant][data-status=complete]');
  assert.equal(await page.getByTestId('message-user').first().textContent(), evil);
  const reply = page.locator('[data-testid=message-assistant] [data-testid=message-body]').first();
  assert.match(await reply.textContent(), /<script>window.__pwned=1<\/script>/);
  assert.equal(await reply.locator('script').count(), 0);
  assert.equal(await reply.locator('strong').textContent(), 'bold', 'Markdown is still rendered');
  assert.equal(await page.evaluate(() => window.__pwned), undefined);
  await shot('07-script-as-text');
});

test('add a config in the form, make it the default, rename and delete a chat', async () => {
  await page.locator('[data-testid=add-config] summary').click();
  await page.getByTestId('config-provider').selectOption('mock');
  await page.getByTestId('config-name').fill('from-the-form');
  await page.getByTestId('config-model').fill('mock-echo');
  await page.getByTestId('config-api-key').fill('sk-form-secret-42');
  await page.getByTestId('config-save').click();
  await page.waitForFunction(() => document.getElementById('config-status').textContent.includes('key stored'));
  assert.equal(await page.getByTestId('config-api-key').inputValue(), '', 'the key field is cleared');
  const listed = (await host.api('GET', '/api/configs')).json.configs.find((c) => c.name === 'from-the-form');
  assert.ok(listed?.has_api_key);
  assert.ok(!JSON.stringify(listed).includes('sk-form-secret-42'), 'the key is never sent back');

  await newSessionWithConfig(listed.id);
  await page.getByTestId('make-default').click();
  await page.waitForFunction(() => [...document.querySelectorAll('[data-testid=config-select] option')]
    .some((o) => o.textContent.startsWith('from-the-form') && o.textContent.endsWith('★')));
  assert.equal((await host.api('GET', '/api/preferences')).json.default_config_id, listed.id);

  page.once('dialog', (dialog) => dialog.accept('Renamed in the browser'));
  await page.getByTestId('rename-session').click();
  await page.waitForFunction(() => document.querySelector('[data-testid=session-title]').textContent === 'Renamed in the browser');
  const renamedId = Number(await page.locator('[data-testid=session-item].active').getAttribute('data-session-id'));
  await shot('08-renamed');

  await page.getByTestId('delete-session').click();
  await page.waitForFunction((id) => !document.querySelector(`[data-testid=session-item][data-session-id="${id}"]`), renamedId);
  assert.equal((await host.api('GET', `/api/sessions/${renamedId}`)).status, 404);
});

test('the 4000-character limit is shown before sending', async () => {
  await page.getByTestId('input').fill('字'.repeat(4001));
  assert.equal(await page.getByTestId('counter').textContent(), '4001 / 4000');
  assert.equal(await page.getByTestId('send').isDisabled(), true);
  await page.getByTestId('input').fill('字'.repeat(4000));
  assert.equal(await page.getByTestId('send').isDisabled(), false);
  await page.getByTestId('input').fill('');
  await shot('09-limit');
});
