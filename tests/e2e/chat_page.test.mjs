// File: tests/e2e/chat_page.test.mjs
//
// The chat page in a real browser (Debian's chromium, driven by
// playwright-core) against the real host with the mock plugin: the sign-in
// screen (a wrong key refused, the first-start "#key=" link), then, signed in
// as the admin: create a session, watch a reply grow token by token, reload
// and find it, stop a slow reply and find it marked stopped, see a mock
// failure, see a <script> shown as text; then the users & keys panel, a user
// signing in with a pasted key who sees no admin tools but can chat, reload,
// sign-out and a revoked key. No step may trip the host's
// Content-Security-Policy. Screenshots of each step land in tests/e2e/artifacts/.
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
// What the browser reported that the page must never cause.
const cspViolations = [];
const pageErrors = [];
// The key the admin makes for alice in the Users panel.
let aliceKey;

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
  page.on('console', (message) => {
    if (message.text().includes('Content Security Policy')) cspViolations.push(message.text());
  });
  page.on('pageerror', (error) => pageErrors.push(String(error)));
});

const signedInAs = async () => [await page.getByTestId('whoami-name').textContent(),
  await page.getByTestId('whoami-role').textContent()];
const storedKey = () => page.evaluate(() => localStorage.getItem('switchboard.key'));

async function signInByPasting(key) {
  await page.waitForSelector('body[data-view=signin]');
  await page.getByTestId('signin-key').fill(key);
  await page.getByTestId('signin-submit').click();
}

async function signOut() {
  await page.getByTestId('sign-out').click();
  await page.waitForSelector('body[data-view=signin]');
  await page.waitForFunction(() => document.querySelector('[data-testid=signin-message]').textContent.includes('Signed out'));
}

after(async () => {
  await browser?.close();
  if (host) await host.stop();
});

test('the page is served by the host with its content types and its Content-Security-Policy', async () => {
  const index = await fetch(`${host.base}/`);
  assert.equal(index.status, 200, 'the page itself needs no key');
  assert.equal(index.headers.get('content-type'), 'text/html; charset=utf-8');
  assert.match(index.headers.get('content-security-policy'), /script-src 'self'; style-src 'self'/);
  const html = await index.text();
  assert.doesNotMatch(html, /<script(?![^>]*\bsrc=)[^>]*>/, 'no inline script');
  assert.doesNotMatch(html, /<style|\sstyle=|\son[a-z]+=/i, 'no inline style or handler');
  const js = await fetch(`${host.base}/web/app.js`);
  assert.match(js.headers.get('content-type'), /^text\/javascript/);
  assert.ok(js.headers.get('etag'));
  const again = await fetch(`${host.base}/web/app.js`, { headers: { 'If-None-Match': js.headers.get('etag') } });
  assert.equal(again.status, 304);
  assert.equal((await fetch(`${host.base}/api/sessions`)).status, 401, 'the API does need one');
});

test('without a key the sign-in screen appears', async () => {
  await page.goto(host.base);
  await page.waitForSelector('body[data-view=signin]');
  assert.equal(await page.getByTestId('signin').isVisible(), true);
  assert.equal(await page.getByTestId('app').isVisible(), false);
  assert.equal(await page.getByTestId('signin-key').getAttribute('type'), 'password');
  await shot('00-sign-in');
});

test('a wrong key shows the error and stays on sign-in', async () => {
  await signInByPasting('sbk_this-is-not-a-key');
  await page.waitForFunction(() => document.querySelector('[data-testid=signin-message]').textContent.includes('not accepted'));
  assert.equal(await page.getByTestId('signin').isVisible(), true);
  assert.equal(await page.getByTestId('app').isVisible(), false);
  assert.equal(await storedKey(), null, 'a refused key is not kept');
  await shot('00-wrong-key');
});

test('the first-start link signs in with #key= and takes the key out of the address bar', async () => {
  await page.goto('about:blank');
  await page.goto(`${host.base}/#key=${host.key}`);
  await page.waitForSelector('body[data-ready=true]');
  assert.equal(page.url(), `${host.base}/`, 'the key is gone from the address bar');
  assert.deepEqual(await signedInAs(), ['admin', 'admin']);
  assert.equal(await storedKey(), host.key);
  assert.equal(await page.getByTestId('add-config').isVisible(), true, 'an admin sees the config form');
  assert.equal(await page.getByTestId('open-users').isVisible(), true, 'and the users panel button');
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
  assert.equal(await page.locator('[data-testid=message-user] [data-testid=message-body]').first().textContent(), 'Count for me, slowly.');
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
  assert.equal(await page.locator('[data-testid=message-user] [data-testid=message-body]').first().textContent(), evil);
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

test('the admin adds users, makes and revokes keys, and deletes a user in the Users panel', async () => {
  await page.getByTestId('open-users').click();
  await page.waitForSelector('[data-testid=users-panel][open]');
  await page.waitForSelector('[data-testid=user-row][data-user-name=admin]');

  for (const name of ['alice', 'bob']) {
    await page.getByTestId('new-user-name').fill(name);
    await page.getByTestId('new-user-role').selectOption('user');
    await page.getByTestId('new-user-add').click();
    await page.waitForSelector(`[data-testid=user-row][data-user-name=${name}]`);
  }
  const users = (await host.api('GET', '/api/users')).json.users;
  const alice = users.find((u) => u.name === 'alice');
  const bob = users.find((u) => u.name === 'bob');
  assert.equal(alice.role, 'user');

  // A spare key for alice, then the one she signs in with.
  const makeKey = async (name) => {
    await page.getByTestId('new-key-user').selectOption(String(alice.id));
    await page.getByTestId('new-key-name').fill(name);
    await page.getByTestId('new-key-make').click();
    await page.waitForFunction((n) => document.querySelector('[data-testid=new-key-owner]').textContent === 'alice' &&
      !document.querySelector('[data-testid=new-key]').hidden &&
      [...document.querySelectorAll('[data-testid=key-row]')].some((r) => r.textContent.includes(n)), name);
    const key = await page.getByTestId('new-key-value').inputValue();
    assert.match(key, /^sbk_/);
    return key;
  };
  const spare = await makeKey('spare');
  aliceKey = await makeKey('alice laptop');
  assert.notEqual(spare, aliceKey);
  assert.match(await page.getByTestId('new-key').textContent(), /will not be shown again/);
  await shot('10-users-panel');

  const keys = (await host.api('GET', '/api/keys')).json.keys.filter((k) => k.user_id === alice.id);
  assert.equal(keys.length, 2);
  assert.ok(keys.every((k) => k.active));
  assert.ok(!JSON.stringify(keys).includes(aliceKey), 'the list never carries the key itself');
  const spareRecord = keys.find((k) => k.name === 'spare');
  assert.ok(spare.startsWith(spareRecord.prefix), 'the list shows the prefix of the key');

  await page.locator(`[data-testid=key-row][data-key-id="${spareRecord.id}"] [data-testid=key-revoke]`).click();
  await page.waitForFunction((id) => document.querySelector(`[data-testid=key-row][data-key-id="${id}"] [data-testid=key-state]`)
    ?.textContent === 'revoked', spareRecord.id);
  const afterRevoke = await fetch(`${host.base}/api/me`, { headers: { Authorization: `Bearer ${spare}` } });
  assert.equal(afterRevoke.status, 401, 'a revoked key is refused');

  await page.locator(`[data-testid=user-row][data-user-id="${bob.id}"] [data-testid=user-delete]`).click();
  await page.waitForFunction((id) => !document.querySelector(`[data-testid=user-row][data-user-id="${id}"]`), bob.id);
  assert.ok(!(await host.api('GET', '/api/users')).json.users.some((u) => u.name === 'bob'));
  assert.equal(await page.locator('[data-testid=user-row][data-user-name=admin] [data-testid=user-delete]').isDisabled(), true,
    'an admin cannot delete themself');

  await page.getByTestId('users-close').click();
  await page.waitForFunction(() => !document.querySelector('[data-testid=users-panel]').open);
  assert.equal(await page.getByTestId('new-key-value').inputValue(), '', 'the new key is not kept once the panel closes');
});

test('sign-out returns to sign-in and forgets the key', async () => {
  await signOut();
  assert.equal(await page.getByTestId('app').isVisible(), false);
  assert.equal(await storedKey(), null);
  await shot('11-signed-out');
});

test('a user signs in by pasting a key: no config form, no users panel, but chat works', async () => {
  await signInByPasting(aliceKey);
  await page.waitForSelector('body[data-ready=true]');
  assert.deepEqual(await signedInAs(), ['alice', 'user']);
  assert.equal(await page.getByTestId('add-config').isVisible(), false, 'no config form');
  assert.equal(await page.getByTestId('open-users').isVisible(), false, 'no users panel button');
  assert.equal(await page.getByTestId('users-panel').isVisible(), false, 'no users panel');
  assert.equal(await page.getByTestId('session-item').count(), 0, "the admin's chats are not hers");
  assert.equal((await fetch(`${host.base}/api/users`, { headers: { Authorization: `Bearer ${aliceKey}` } })).status, 403);

  await page.getByTestId('new-session').click();
  await page.waitForFunction(() => document.querySelector('[data-testid=session-title]').textContent === 'New chat');
  assert.ok(await page.locator('[data-testid=config-select] option').count() > 0, 'she can pick a config');
  const echo = (await host.api('GET', '/api/configs')).json.configs.find((c) => c.model_name === 'mock-echo' && c.shared);
  await page.getByTestId('config-select').selectOption(String(echo.id));
  await page.waitForFunction((id) => document.querySelector('[data-testid=config-select]').value === String(id), echo.id);
  await page.getByTestId('input').fill('Hello from alice');
  await page.getByTestId('input').press('Enter');
  await page.waitForSelector('[data-testid=message-assistant][data-status=complete]');
  assert.match((await bodies())[0], /Hello from alice/);
  await page.waitForFunction(() => document.querySelector('[data-testid=session-title]').textContent === 'Hello from alice');
  await shot('12-user-chat');
});

test('a reload keeps the sign-in', async () => {
  await page.reload();
  await page.waitForSelector('body[data-ready=true]');
  assert.deepEqual(await signedInAs(), ['alice', 'user']);
  await page.waitForSelector('[data-testid=message-user]');
  assert.equal(await page.locator('[data-testid=message-user] [data-testid=message-body]').first().textContent(), 'Hello from alice');
});

test('after sign-out a reload stays on sign-in', async () => {
  await signOut();
  await page.reload();
  await page.waitForSelector('body[data-view=signin]');
  assert.equal(await page.getByTestId('app').isVisible(), false);
  assert.equal(await page.getByTestId('signin-message').textContent(), '');
});

test('a key revoked while signed in sends the page back to sign-in', async () => {
  await signInByPasting(aliceKey);
  await page.waitForSelector('body[data-ready=true]');
  const id = (await host.api('GET', '/api/keys')).json.keys.find((k) => k.name === 'alice laptop').id;
  assert.equal((await host.api('DELETE', `/api/keys/${id}`)).status, 200);
  await page.getByTestId('new-session').click();
  await page.waitForSelector('body[data-view=signin]');
  await page.waitForFunction(() => document.querySelector('[data-testid=signin-message]').textContent.includes('not accepted'));
  assert.equal(await storedKey(), null);
  assert.equal(await page.getByTestId('session-item').count(), 0, "nothing of hers is left on the page");
  await shot('13-key-revoked');
});

test('no step tripped the Content-Security-Policy or threw in the page', () => {
  assert.deepEqual(cspViolations, []);
  assert.deepEqual(pageErrors, []);
});
