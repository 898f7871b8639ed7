// File: tests/e2e/chat_tools.test.mjs
//
// The chat page as a new user meets it, on a phone (390×844) and a desktop
// (1280×800), in Debian's chromium against the real host with the mock
// plugin: the first message starts a chat, the drawer, nothing wider than the
// screen, Markdown with tables, links and highlighted code, model output that
// tries to run script, following a stream only from the bottom, copy,
// regenerate, edit-and-resend, the reuse of an unused chat, search, export,
// the keyboard, dark mode, and axe-core with no serious or critical
// violation. No step may trip the Content-Security-Policy. Screenshots of each
// step land in tests/e2e/artifacts/; the README shows two of them.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { startHost } from '../node/host.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const artifacts = path.join(here, 'artifacts');
const axeSource = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');
const PHONE = { width: 390, height: 844 };
const DESKTOP = { width: 1280, height: 800 };

let host;
let browser;
let context;
let page;
const cspViolations = [];
const pageErrors = [];
const dialogs = [];
const promptAnswers = [];  // what the next window.prompt() is answered with, in order

const shot = (name) => page.screenshot({ path: path.join(artifacts, `${name}.png`) });
const replies = () => page.locator('[data-testid=message-assistant]');
const userText = (i = 0) => page.locator('[data-testid=message-user] [data-testid=message-body]').nth(i).textContent();
// Configs the tests switch to, made before the page loads its list.
const configs = {};
const lastReplyBody = () => replies().last().locator('[data-testid=message-body]');

async function makeConfig(name, options, model = 'mock-tokens') {
  const r = await host.api('POST', '/api/configs', { name, provider: 'mock', model_name: model, options });
  assert.equal(r.status, 201, JSON.stringify(r.json));
  return r.json.id;
}

async function activeSessionId() {
  return Number(await page.locator('[data-testid=session-item].active').getAttribute('data-session-id'));
}

async function newChat() {
  await page.getByTestId('new-session').click();
  await page.waitForFunction(() => document.querySelector('[data-testid=session-title]').textContent === 'New chat');
}

async function useConfig(id) {
  const select = page.getByTestId('config-select');
  if (!(await select.isVisible())) await page.getByTestId('actions-toggle').click();
  await select.selectOption(String(id));
  await page.waitForFunction((v) => document.querySelector('[data-testid=config-select]').value === String(v), id);
}

// Sends `text` with Enter and waits until the last reply is complete.
async function say(text) {
  const before = await replies().count();
  await page.getByTestId('input').fill(text);
  await page.getByTestId('input').press('Enter');
  await page.waitForFunction((n) => {
    const all = document.querySelectorAll('[data-testid=message-assistant]');
    return all.length > n && all[all.length - 1].dataset.status === 'complete' &&
      !document.querySelector('[data-testid=stop]:not([hidden])');
  }, before);
}

// Elements that reach past the viewport's sides (a closed drawer is off-screen on purpose,
// and a code block's or table's content scrolls inside its box).
async function overflowing() {
  return page.evaluate(() => {
    const width = document.documentElement.clientWidth;
    const out = [];
    for (const e of document.querySelectorAll('body *')) {
      const r = e.getBoundingClientRect();
      if (!r.width || !r.height || e.closest('pre, .table-wrap')) continue;
      if (e.closest('.sidebar') && !document.querySelector('.app.drawer-open')) continue;
      if (r.right > width + 0.5 || r.left < -0.5) out.push(`${e.tagName}.${e.className} ${Math.round(r.left)}..${Math.round(r.right)}`);
    }
    if (document.documentElement.scrollWidth > width) out.push(`page scrollWidth ${document.documentElement.scrollWidth}`);
    return out;
  });
}

async function inViewport(testid) {
  const box = await page.getByTestId(testid).boundingBox();
  const { width, height } = page.viewportSize();
  return box && box.x >= 0 && box.y >= 0 && box.x + box.width <= width && box.y + box.height <= height;
}

// axe-core, evaluated through the DevTools protocol (the page's CSP still
// applies to everything the page itself does).
async function axeViolations(label) {
  if (!(await page.evaluate(() => Boolean(window.axe)))) await page.evaluate(`${axeSource}\n;true`);
  const result = await page.evaluate(() => window.axe.run(document, { resultTypes: ['violations'] }));
  const bad = result.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  return bad.map((v) => `${label}: ${v.id} (${v.impact}): ${v.nodes.slice(0, 3).map((n) => n.target.join(' ')).join(', ')}`);
}

before(async () => {
  mkdirSync(artifacts, { recursive: true });
  host = await startHost();
  configs.slowEcho = await makeConfig('slow-echo', { delay_ms: 40 }, 'mock-echo');
  configs.inspect = await makeConfig('inspect', {}, 'mock-inspect');
  configs.slowTokens = await makeConfig('slow-tokens', { tokens: 300, delay_ms: 40 });
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync', '--disable-quic'],
  });
  context = await browser.newContext({ viewport: PHONE, colorScheme: 'light' });
  await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: host.base });
  page = await context.newPage();
  page.on('dialog', (dialog) => {
    dialogs.push(dialog.message());
    if (dialog.type() === 'prompt' && promptAnswers.length) return dialog.accept(promptAnswers.shift());
    return dialog.type() === 'confirm' ? dialog.accept() : dialog.dismiss();
  });
  page.on('console', (message) => {
    if (message.text().includes('Content Security Policy')) cspViolations.push(message.text());
  });
  page.on('pageerror', (error) => pageErrors.push(String(error)));
});

after(async () => {
  await browser?.close();
  if (host) await host.stop();
});

// --- phone ------------------------------------------------------------------------

test('phone: on a fresh page the first message starts a chat, with Send on screen while typing', async () => {
  await page.goto(`${host.base}/#key=${host.key}`);
  await page.waitForSelector('body[data-ready=true]');
  assert.equal(await page.getByTestId('session-item').count(), 0);
  assert.equal(await page.getByTestId('sidebar').isVisible(), false, 'the list is a closed drawer');
  await page.getByTestId('input').click();
  await page.keyboard.type('Hello from a phone');
  assert.equal(await page.getByTestId('send').isDisabled(), false, 'no "New chat" click needed');
  assert.ok(await inViewport('send'), 'Send is on screen while typing');
  assert.ok(await inViewport('input'));
  assert.deepEqual(await overflowing(), []);
  await shot('20-phone-typing');
  await page.getByTestId('input').press('Enter');
  await page.waitForSelector('[data-testid=message-assistant][data-status=complete]');
  await page.waitForFunction(() => document.querySelector('[data-testid=session-title]').textContent === 'Hello from a phone');
  assert.equal((await host.api('GET', '/api/sessions')).json.total, 1);
  assert.match(await lastReplyBody().textContent(), /Hello from a phone/);
  assert.equal(await page.getByTestId('reply-status').textContent(), 'Reply complete.', 'told to screen readers');
});

test('phone: a long code line scrolls inside its block and nothing is wider than the screen', async () => {
  const long = `\`\`\`js\nconst line = "${'x'.repeat(300)}"; // the end\n\`\`\`\n\n| a | b | c |\n|---|---|---|\n| ${'wide '.repeat(30)} | 2 | 3 |`;
  await say(long);
  const pre = replies().last().locator('pre');
  const { scroll, client, right } = await pre.evaluate((p) => ({
    scroll: p.scrollWidth, client: p.clientWidth, right: p.getBoundingClientRect().right }));
  assert.ok(scroll > client, `the block scrolls (${scroll} > ${client})`);
  assert.ok(right <= PHONE.width, 'the block itself fits');
  assert.deepEqual(await overflowing(), []);
  await shot('21-phone-code');
});

test('phone: the drawer opens from the menu button and switches sessions', async () => {
  const other = (await host.api('POST', '/api/sessions', { title: 'Second chat' })).json.id;
  await host.api('POST', '/api/chat', { session_id: other, user_message: 'a message in the second chat' });
  const first = await activeSessionId();
  assert.equal(await page.getByTestId('menu').getAttribute('aria-expanded'), 'false');
  await page.getByTestId('menu').click();
  await page.waitForFunction(() => document.querySelector('.app').classList.contains('drawer-open'));
  await page.waitForTimeout(300);  // the slide-in
  assert.equal(await page.getByTestId('sidebar').isVisible(), true);
  assert.equal(await page.getByTestId('menu').getAttribute('aria-expanded'), 'true');
  assert.equal(await page.evaluate(() => document.getElementById('chat').inert), true, 'the chat behind is out of reach');
  assert.ok(await inViewport('new-session'), 'the drawer is on screen');
  assert.deepEqual(await overflowing(), []);
  await page.waitForSelector(`[data-testid=session-item][data-session-id="${other}"]`);
  await shot('22-phone-drawer');
  await page.locator(`[data-testid=session-item][data-session-id="${other}"]`).click();
  await page.waitForFunction(() => document.querySelector('[data-testid=session-title]').textContent === 'Second chat');
  await page.waitForFunction(() => !document.querySelector('.app').classList.contains('drawer-open'));
  assert.match(await userText(), /second chat/);

  // Back again; Escape closes the drawer too.
  await page.getByTestId('menu').click();
  await page.waitForFunction(() => document.querySelector('.app').classList.contains('drawer-open'));
  await page.keyboard.press('Escape');
  await page.waitForFunction(() => !document.querySelector('.app').classList.contains('drawer-open'));
  await page.getByTestId('menu').click();
  await page.locator(`[data-testid=session-item][data-session-id="${first}"]`).click();
  await page.waitForFunction(() => document.querySelector('[data-testid=session-title]').textContent === 'Hello from a phone');
  await shot('23-phone-chat');
});

test('phone: no serious or critical accessibility violation, light and dark', async () => {
  const found = await axeViolations('phone light');
  await page.getByTestId('menu').click();
  await page.waitForTimeout(300);
  found.push(...await axeViolations('phone drawer'));
  await page.keyboard.press('Escape');
  await page.emulateMedia({ colorScheme: 'dark' });
  found.push(...await axeViolations('phone dark'));
  await shot('24-phone-dark');
  await page.emulateMedia({ colorScheme: 'light' });
  assert.deepEqual(found, []);
});

// --- desktop ----------------------------------------------------------------------

test('desktop: Markdown tables, lists, links and highlighted code', async () => {
  await page.setViewportSize(DESKTOP);
  await newChat();
  await say([
    '## Results', '', '| name | score |', '|------|------:|', '| ada | 3 |', '| bob | 5 |', '',
    '- first', '- second', '', '3. three', '4. four', '',
    'See [the docs](https://example.com/docs).', '',
    '```python', 'def add(a, b):', '    return a + b  # sum', '```',
  ].join('\n'));
  const body = lastReplyBody();
  assert.equal(await body.locator('table tbody tr').count(), 2);
  assert.equal(await body.locator('th').first().textContent(), 'name');
  assert.equal(await body.locator('ul li').count(), 2);
  assert.equal(await body.locator('ol li').count(), 2);
  assert.equal(await body.locator('ol').getAttribute('start'), '3', 'a list keeps its first number');
  assert.equal(await body.locator('th').nth(1).getAttribute('align'), 'right', 'a column keeps its alignment');
  const link = body.locator('a', { hasText: 'the docs' });
  assert.equal(await link.getAttribute('href'), 'https://example.com/docs');
  assert.equal(await link.getAttribute('rel'), 'noopener noreferrer');
  assert.equal(await link.getAttribute('target'), '_blank');
  assert.equal(await body.locator('pre code.hljs').count(), 1);
  assert.equal(await body.locator('pre code .hljs-keyword').first().textContent(), 'def');
  assert.equal(await body.locator('pre code .hljs-comment').textContent(), '# sum');
  await shot('30-desktop-markdown');
});

test('model output that tries to run script runs nothing', async () => {
  await newChat();
  await page.evaluate(() => { delete window.__pwned; });
  const evil = [
    '<img src=x onerror="window.__pwned=\'img\'">',
    '[click me](javascript:window.__pwned=\'link\')',
    '<a href="javascript:window.__pwned=\'a\'">raw link</a>',
    '<svg onload="window.__pwned=\'svg\'"></svg>',
    '<iframe src="javascript:parent.__pwned=\'iframe\'"></iframe>',
    '![pic](javascript:window.__pwned=\'image\')',
    '[data](data:text/html,<script>parent.__pwned=1</script>)',
  ].join('\n\n');
  await say(evil);
  const body = lastReplyBody();
  for (const tag of ['img', 'svg', 'iframe', 'script']) {
    assert.equal(await body.locator(tag).count(), 0, `no <${tag}> in the reply`);
  }
  assert.match(await body.textContent(), /<img src=x onerror=/, 'raw HTML shows as text');
  const hrefs = await body.locator('a').evaluateAll((as) => as.map((a) => a.getAttribute('href')));
  assert.ok(hrefs.every((h) => h === null || /^https?:|^mailto:|^#/.test(h)), `hrefs ${hrefs}`);
  await body.locator('a', { hasText: 'click me' }).click();
  await page.waitForTimeout(300);
  assert.equal(await page.evaluate(() => window.__pwned), undefined);
  assert.equal(context.pages().length, 1, 'no window was opened');
  await shot('31-sanitised');
});

test('the conversation follows a stream only while the reader is at the bottom', async () => {
  const { slowEcho } = configs;
  await newChat();
  await useConfig(slowEcho);
  const lines = Array.from({ length: 70 }, (_, i) => `line ${i + 1}`).join('\n\n');
  await page.getByTestId('input').fill(lines);
  await page.getByTestId('send').click();
  const box = page.getByTestId('messages');
  await page.waitForFunction(() => {
    const m = document.querySelector('[data-testid=messages]');
    return m.scrollHeight > m.clientHeight + 400 && document.querySelector('[data-testid=message-assistant][data-status=streaming]');
  });
  const following = await box.evaluate((m) => m.scrollHeight - m.scrollTop - m.clientHeight);
  assert.ok(following < 40, 'at the bottom, the page follows the stream');
  await box.evaluate((m) => { m.scrollTop = 0; });
  await page.waitForTimeout(1000);
  assert.ok(await page.locator('[data-testid=message-assistant][data-status=streaming]').count(), 'still streaming');
  assert.ok(await box.evaluate((m) => m.scrollTop) < 5, 'scrolled up, the reader stays where they are');
  assert.equal(await page.getByTestId('jump-latest').isVisible(), true);
  await shot('32-jump-to-latest');
  await page.getByTestId('jump-latest').click();
  assert.ok(await box.evaluate((m) => m.scrollHeight - m.scrollTop - m.clientHeight) < 40);
  assert.equal(await page.getByTestId('jump-latest').isVisible(), false);
  await page.waitForSelector('[data-testid=message-assistant][data-status=complete]', { timeout: 30000 });
  assert.ok(await box.evaluate((m) => m.scrollHeight - m.scrollTop - m.clientHeight) < 40, 'and follows again');
});

test("a chat's system prompt and temperature are set from the header, shown there, and sent with each turn", async () => {
  const { inspect } = configs;
  await newChat();
  await useConfig(inspect);
  await say('first');
  const session = await activeSessionId();
  const openActions = async () => {
    if (!(await page.getByTestId('session-temperature').isVisible())) await page.getByTestId('actions-toggle').click();
  };
  await openActions();
  promptAnswers.push('Answer as a haiku.');
  await page.getByTestId('system-prompt').click();
  await page.waitForFunction(() => document.querySelector('[data-testid=session-system]')?.textContent === 'System: Answer as a haiku.');
  await openActions();
  promptAnswers.push('1.4');
  await page.getByTestId('session-temperature').click();
  await page.waitForFunction(() => document.querySelector('[data-testid=session-temperature-summary]')?.textContent === 'Temperature 1.4');
  await shot('34-session-settings');
  const stored = (await host.api('GET', `/api/sessions/${session}`)).json;
  assert.equal(stored.system_prompt, 'Answer as a haiku.');
  assert.equal(stored.temperature, 1.4);
  await say('second');
  const last = (await host.api('GET', `/api/sessions/${session}/messages`)).json.messages.at(-1);
  const seen = JSON.parse(last.content);  // mock-inspect: what the turn sent the model
  assert.equal(seen.temperature, 1.4, 'the turn went out with the chat\'s temperature');
  assert.deepEqual(seen.messages[0], { role: 'system', content: 'Answer as a haiku.' });
  // Emptied, the temperature goes back to the default and leaves the header.
  await openActions();
  promptAnswers.push('');
  await page.getByTestId('session-temperature').click();
  await page.waitForFunction(() => !document.querySelector('[data-testid=session-temperature-summary]'));
  assert.equal((await host.api('GET', `/api/sessions/${session}`)).json.temperature, null);
});

test('copy puts the raw Markdown of a message on the clipboard', async () => {
  const echo = (await host.api('GET', '/api/configs')).json.configs.find((c) => c.name === 'mock-echo').id;
  await useConfig(echo);
  const source = 'Some **bold** and a [link](https://example.com)\n\n- item';
  await say(source);
  await replies().last().getByTestId('copy-message').click();
  await page.waitForFunction(() => [...document.querySelectorAll('[data-testid=copy-message]')].some((b) => b.textContent === 'Copied'));
  assert.equal(await page.evaluate(() => navigator.clipboard.readText()), source);
  await page.getByTestId('message-user').last().getByTestId('copy-message').click();
  assert.equal(await page.evaluate(() => navigator.clipboard.readText()), source);
});

test('regenerate answers the last message again and keeps the old reply as 1 / 2', async () => {
  const { inspect } = configs;
  await newChat();
  await useConfig(inspect);
  await say('What do you see?');
  await say('And now?');
  const session = await activeSessionId();
  const firstText = await lastReplyBody().textContent();
  assert.equal(await replies().last().getByTestId('regenerate').count(), 1);
  assert.equal(await replies().first().getByTestId('regenerate').count(), 0, 'only the last reply regenerates');
  await replies().last().getByTestId('regenerate').click();
  await page.waitForFunction(() => document.querySelector('[data-testid=reply-count]')?.textContent === '2 / 2');
  const stored = (await host.api('GET', `/api/sessions/${session}/messages`)).json.messages;
  const answers = stored.filter((m) => m.role === 'assistant' && m.reply_to === stored.findLast((u) => u.role === 'user').id);
  assert.equal(answers.length, 2, 'both replies are stored');
  assert.deepEqual(answers.map((m) => m.superseded), [true, false]);
  await shot('33-regenerated');
  await page.getByTestId('reply-prev').click();
  assert.equal(await page.getByTestId('reply-count').textContent(), '1 / 2');
  assert.equal(await lastReplyBody().textContent(), firstText);
  assert.equal(Number(await replies().last().getAttribute('data-message-id')), answers[0].id);
  await page.getByTestId('reply-next').click();
  assert.equal(await page.getByTestId('reply-count').textContent(), '2 / 2');
  assert.equal(Number(await replies().last().getAttribute('data-message-id')), answers[1].id);
  await page.reload();
  await page.waitForSelector('body[data-ready=true]');
  await page.waitForFunction(() => document.querySelector('[data-testid=reply-count]')?.textContent === '2 / 2');
});

test('edit and resend replaces the later messages after a confirmation', async () => {
  const echo = (await host.api('GET', '/api/configs')).json.configs.find((c) => c.name === 'mock-echo').id;
  await newChat();
  await useConfig(echo);
  await say('first question');
  await say('second question');
  const session = await activeSessionId();
  assert.equal(await page.getByTestId('message-user').count(), 2);
  dialogs.length = 0;
  await page.getByTestId('message-user').first().getByTestId('edit-message').click();
  await page.getByTestId('edit-input').fill('first question, edited');
  await shot('34-editing');
  await page.getByTestId('edit-save').click();
  await page.waitForFunction(() => document.querySelectorAll('[data-testid=message-user]').length === 1 &&
    document.querySelector('[data-testid=message-assistant]')?.dataset.status === 'complete');
  assert.match(dialogs.join(' '), /3 later messages .* replaced/);
  assert.equal(await userText(), 'first question, edited');
  assert.equal((await lastReplyBody().textContent()).trim(), 'first question, edited');
  const stored = (await host.api('GET', `/api/sessions/${session}/messages`)).json.messages;
  assert.deepEqual(stored.map((m) => m.content), ['first question, edited', 'first question, edited']);
  await shot('35-edited');
});

test('an unused new chat is reused instead of piling up', async () => {
  const before = (await host.api('GET', '/api/sessions')).json.total;
  await page.getByTestId('new-session').click();
  await page.waitForFunction(() => document.querySelector('[data-testid=session-title]').textContent === 'New chat');
  const fresh = await activeSessionId();
  await page.getByTestId('new-session').click();
  await page.waitForTimeout(300);
  assert.equal(await activeSessionId(), fresh);
  // Elsewhere and back: still the same unused chat.
  await page.getByTestId('session-item').last().click();
  await page.waitForFunction(() => document.querySelector('[data-testid=session-title]').textContent !== 'New chat');
  await page.getByTestId('new-session').click();
  await page.waitForFunction(() => document.querySelector('[data-testid=session-title]').textContent === 'New chat');
  assert.equal(await activeSessionId(), fresh);
  assert.equal((await host.api('GET', '/api/sessions')).json.total, before + 1);
});

test('search filters the list by title and by content, on the host', async () => {
  await page.getByTestId('session-search').fill('second chat');
  await page.waitForFunction(() => document.querySelectorAll('[data-testid=session-item]').length === 1);
  assert.equal(await page.getByTestId('session-item').textContent(), 'Second chatmock-echo');
  await page.getByTestId('session-search').fill('FIRST QUESTION');  // only in the messages, any case
  await page.waitForFunction(() => document.querySelectorAll('[data-testid=session-item]').length === 1 &&
    document.querySelector('[data-testid=session-item]').textContent.startsWith('first question'));
  await shot('36-search');
  await page.getByTestId('session-search').fill('no such words anywhere');
  await page.waitForSelector('[data-testid=no-match]');
  await page.getByTestId('session-search').fill('');
  await page.waitForFunction(() => document.querySelectorAll('[data-testid=session-item]').length > 3);
});

test('a session exports as Markdown and as JSON', async () => {
  await page.locator('[data-testid=session-item]', { hasText: 'first question' }).click();
  await page.waitForFunction(() => document.querySelector('[data-testid=session-title]').textContent.startsWith('first question'));
  const session = await activeSessionId();
  await page.locator('[data-testid=export-menu] summary').click();
  const [md] = await Promise.all([page.waitForEvent('download'), page.getByTestId('export-markdown').click()]);
  const markdown = readFileSync(await md.path(), 'utf8');
  assert.match(md.suggestedFilename(), /\.md$/);
  assert.match(markdown, /^# first question/);
  assert.match(markdown, /## User\n\nfirst question, edited\n/);
  assert.match(markdown, /## Assistant \(mock · mock-echo\)/);
  await page.locator('[data-testid=export-menu] summary').click();
  const [js] = await Promise.all([page.waitForEvent('download'), page.getByTestId('export-json').click()]);
  const json = JSON.parse(readFileSync(await js.path(), 'utf8'));
  assert.equal(json.session.id, session);
  assert.equal(json.messages.length, 2);
});

test('keyboard: Shift+Enter is a new line, Enter sends, Escape stops a stream; focus is visible', async () => {
  const slow = configs.slowTokens;
  await newChat();
  await useConfig(slow);
  await page.getByTestId('input').click();
  await page.keyboard.type('line one');
  await page.keyboard.press('Shift+Enter');
  await page.keyboard.type('line two');
  assert.equal(await page.getByTestId('input').inputValue(), 'line one\nline two');
  assert.equal(await page.getByTestId('message-user').count(), 0, 'nothing sent yet');
  await page.keyboard.press('Enter');
  await page.waitForFunction(() => (document.querySelector('[data-testid=message-assistant] [data-testid=message-body]')?.textContent.length ?? 0) > 20);
  await page.keyboard.press('Escape');
  await page.waitForSelector('[data-testid=message-assistant][data-status=cancelled]');
  assert.equal(await userText(), 'line one\nline two');

  // Tab reaches the buttons, and the focused one shows it.
  await page.getByTestId('new-session').focus();
  await page.keyboard.press('Shift+Tab');
  await page.keyboard.press('Tab');
  const outline = await page.evaluate(() => {
    const s = getComputedStyle(document.activeElement);
    return { id: document.activeElement.id, style: s.outlineStyle, width: s.outlineWidth };
  });
  assert.equal(outline.id, 'new-session');
  assert.notEqual(outline.style, 'none');
  assert.notEqual(outline.width, '0px');
});

test('dark mode follows the system, and the toggle is remembered', async () => {
  const background = () => page.evaluate(() => getComputedStyle(document.body).backgroundColor);
  await page.emulateMedia({ colorScheme: 'dark' });
  await page.waitForFunction(() => document.body.dataset.theme === 'dark');
  assert.equal(await background(), 'rgb(18, 21, 28)');
  assert.equal(await page.getByTestId('theme-toggle').getAttribute('aria-pressed'), 'true');
  await shot('40-desktop-dark');
  await page.getByTestId('theme-toggle').click();
  assert.equal(await background(), 'rgb(246, 247, 249)', 'the toggle overrides the system');
  assert.equal(await page.evaluate(() => localStorage.getItem('switchboard.theme')), 'light');
  await page.reload();
  await page.waitForSelector('body[data-ready=true]');
  assert.equal(await background(), 'rgb(246, 247, 249)', 'and is remembered');
  await page.getByTestId('theme-toggle').click();
  await page.emulateMedia({ colorScheme: 'light' });
  assert.equal(await background(), 'rgb(18, 21, 28)', 'dark by choice on a light system');
  await page.getByTestId('theme-toggle').click();
  assert.equal(await background(), 'rgb(246, 247, 249)');
  // Back to following the system, for the tests after this one.
  await page.evaluate(() => localStorage.removeItem('switchboard.theme'));
  await page.reload();
  await page.waitForSelector('body[data-ready=true]');
});

test('desktop: no serious or critical accessibility violation, light and dark', async () => {
  await page.locator('[data-testid=session-item]', { hasText: 'What do you see' }).click();
  await page.waitForSelector('[data-testid=reply-pager]');
  const found = await axeViolations('desktop light');
  await page.emulateMedia({ colorScheme: 'dark' });
  found.push(...await axeViolations('desktop dark'));
  await page.emulateMedia({ colorScheme: 'light' });
  await page.locator('[data-testid=session-item]', { hasText: 'Results' }).click();
  await page.waitForSelector('pre code.hljs');
  found.push(...await axeViolations('desktop markdown'));
  assert.deepEqual(found, []);
});

test('the README screenshots: desktop 1280×800 and phone 390×844', async () => {
  await page.setViewportSize(DESKTOP);
  await newChat();
  await say([
    '**Release checklist**', '',
    '| step | owner | done |', '|------|-------|:----:|', '| build | ada | ✓ |', '| test | bob | ✓ |', '| ship | eve | |', '',
    '```cpp', 'int main() {', '  return run("switchboard");  // starts the host', '}', '```',
  ].join('\n'));
  await replies().last().getByTestId('regenerate').click();
  await page.waitForFunction(() => document.querySelector('[data-testid=reply-count]')?.textContent === '2 / 2');
  await page.evaluate(() => document.activeElement?.blur());
  await shot('readme-desktop');
  await page.setViewportSize(PHONE);
  await page.waitForTimeout(200);
  await page.getByTestId('jump-latest').isVisible() && await page.getByTestId('jump-latest').click();
  await page.evaluate(() => document.activeElement?.blur());
  await shot('readme-phone');
});

test('the list pages: "More chats" brings the next 50', async () => {
  await page.setViewportSize(DESKTOP);
  for (let i = 0; i < 50; i++) assert.equal((await host.api('POST', '/api/sessions', { title: `Paged ${i}` })).status, 201);
  const total = (await host.api('GET', '/api/sessions')).json.total;
  await page.reload();
  await page.waitForSelector('body[data-ready=true]');
  assert.equal(await page.getByTestId('session-item').count(), 50);
  await page.getByTestId('more-sessions').click();
  await page.waitForFunction((n) => document.querySelectorAll('[data-testid=session-item]').length === n, total);
  assert.equal(await page.getByTestId('more-sessions').isVisible(), false, 'nothing more to bring');
});

test('no step tripped the Content-Security-Policy or threw in the page', () => {
  assert.deepEqual(cspViolations, []);
  assert.deepEqual(pageErrors, []);
});
