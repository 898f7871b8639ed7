// Switchboard chat page: signing in with an API key, sessions (searchable,
// exportable; a drawer on phones), the config picker, streaming replies read
// from Server-Sent Events, per-message copy / regenerate / edit-and-resend,
// light and dark themes, and the admins' users & keys panel. The key lives in
// localStorage and goes out as "Authorization: Bearer" on every request (no
// cookies); any 401 returns to the sign-in screen.
//
// What a user or a model wrote never reaches the page as live HTML: user
// messages go in as text; replies are Markdown rendered by marked with its
// HTML tokenizers switched off (raw HTML shows as text), then sanitised by
// DOMPurify (an allow-list of tags, http(s)/mailto links only) before they
// are inserted, and highlight.js output is sanitised the same way.

const MAX_CHARS = 4000;
const SESSION_KEY = 'switchboard.session';
const API_KEY = 'switchboard.key';
const THEME_KEY = 'switchboard.theme';
const PAGE_SIZE = 50;

const $ = (id) => document.getElementById(id);
const state = {
  sessions: [], sessionTotal: 0, search: '', configs: [], providers: [], preferred: null,
  session: null, messages: [], streaming: null,
  follow: true,             // the conversation follows a stream only while the reader is at the bottom
  variant: new Map(),       // user message id → index of the reply shown among its replies
  editing: null,            // id of the user message being edited
  pending: null,            // the config switch under way, if any
  starting: false,          // the first message of a fresh page is making its chat
};
// `epoch` grows on every sign-in and sign-out, so an answer to a request made
// under an earlier key never lands in the page of the next one.
const auth = { key: null, me: null, epoch: 0 };

// --- API --------------------------------------------------------------------

// Thrown when the page went back to the sign-in screen during a request.
class SignedOut extends Error {
  constructor() {
    super('signed out');
    this.name = 'SignedOut';
  }
}

function authHeaders(extra = {}) {
  return { ...extra, Authorization: `Bearer ${auth.key}` };
}

// A 401 means the key is no good (revoked, expired, its user deleted): back to sign-in.
function rejected(json, key, epoch) {
  if (epoch === auth.epoch && key === auth.key) {
    const why = json?.error?.message ? ` (${json.error.message})` : '';
    signOut(`The key was not accepted${why}. Sign in again.`, 'error');
  }
  return new SignedOut();
}

async function api(method, path, body) {
  const { key, epoch } = auth;
  if (!key) throw new SignedOut();
  const res = await fetch(path, {
    method,
    headers: authHeaders(body === undefined ? {} : { 'Content-Type': 'application/json' }),
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const json = await res.json().catch(() => ({}));
  if (res.status === 401) throw rejected(json, key, epoch);
  if (epoch !== auth.epoch) throw new SignedOut();
  if (!res.ok) throw new Error(json?.error?.message ?? `${method} ${path} failed (${res.status})`);
  return json;
}

function showBanner(text) {
  const banner = $('banner');
  banner.textContent = text ?? '';
  banner.hidden = !text;
}

// An error for the banner; none when the page went back to the sign-in screen.
function complain(e) {
  if (!(e instanceof SignedOut)) showBanner(e.message);
}

// --- Markdown: marked → DOMPurify → highlight.js ---------------------------------------

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

const PURIFY = {
  ALLOWED_TAGS: ['a', 'b', 'blockquote', 'br', 'code', 'del', 'em', 'h1', 'h2', 'h3', 'h4', 'h5', 'h6', 'hr', 'i',
    'li', 'ol', 'p', 'pre', 's', 'span', 'strong', 'table', 'tbody', 'td', 'th', 'thead', 'tr', 'ul'],
  ALLOWED_ATTR: ['href', 'title', 'class', 'align', 'start'],
  // Links: the web and mail only. DOMPurify holds every attribute that is not
  // "URI safe" to this pattern, so a table's align and a list's start are named safe.
  ALLOWED_URI_REGEXP: /^(?:(?:https?|mailto):|#)/i,
  ADD_URI_SAFE_ATTR: ['align', 'start'],
  RETURN_DOM_FRAGMENT: true,
};
const HIGHLIGHT_LANGUAGES = ['bash', 'cpp', 'css', 'go', 'java', 'javascript', 'json', 'python', 'rust', 'sql',
  'typescript', 'xml', 'yaml'];
let markdown = null;  // set up once the libraries have loaded

function setUpMarkdown() {
  if (markdown !== null) return markdown;
  const { marked, DOMPurify } = window;
  if (!marked?.parse || !DOMPurify?.sanitize) {
    markdown = false;  // the page still works, replies as plain text
    return markdown;
  }
  // Raw HTML in a reply is not HTML: with these two tokenizers off, marked
  // escapes it like any other text.
  const tokenizer = new marked.Tokenizer();
  tokenizer.html = () => undefined;
  tokenizer.tag = () => undefined;
  // Links open in a new tab without handing it this page; only the classes
  // of code languages and highlight.js survive, so a reply cannot borrow the page's own.
  DOMPurify.addHook('afterSanitizeAttributes', (node) => {
    if (node.tagName === 'A' && node.hasAttribute('href')) {
      node.setAttribute('target', '_blank');
      node.setAttribute('rel', 'noopener noreferrer');
    }
    if (node.hasAttribute('class')) {
      const kept = [...node.classList].filter((c) => /^(language-[\w+#.-]+|hljs[\w-]*)$/.test(c));
      if (kept.length) node.setAttribute('class', kept.join(' '));
      else node.removeAttribute('class');
    }
  });
  markdown = { options: { gfm: true, breaks: true, headerIds: false, mangle: false, tokenizer } };
  return markdown;
}

function highlight(code) {
  const { hljs, DOMPurify } = window;
  if (!hljs?.highlight) return;
  const text = code.textContent;
  const lang = /(?:^|\s)language-([\w+#.-]+)/.exec(code.className)?.[1];
  let html;
  try {
    if (lang && hljs.getLanguage(lang)) html = hljs.highlight(lang, text, true).value;
    else if (!lang && text.length < 4000) html = hljs.highlightAuto(text, HIGHLIGHT_LANGUAGES).value;
  } catch {
    return;
  }
  if (html === undefined) return;
  code.replaceChildren(DOMPurify.sanitize(html, { ALLOWED_TAGS: ['span'], ALLOWED_ATTR: ['class'], RETURN_DOM_FRAGMENT: true }));
  code.classList.add('hljs');
}

function renderMarkdown(source) {
  const md = setUpMarkdown();
  if (!md) return el('p', 'plain', source);
  const fragment = window.DOMPurify.sanitize(window.marked.parse(source, md.options), PURIFY);
  // marked ends each block with a line break: between blocks it is nothing.
  for (const node of [...fragment.childNodes]) if (node.nodeType === Node.TEXT_NODE && !node.textContent.trim()) node.remove();
  for (const code of fragment.querySelectorAll('pre > code')) highlight(code);
  // Long code lines and wide tables scroll inside their own box, which the
  // keyboard can reach (tabindex) to scroll it too.
  for (const pre of fragment.querySelectorAll('pre')) pre.tabIndex = 0;
  for (const table of fragment.querySelectorAll('table')) {
    const wrap = el('div', 'table-wrap');
    wrap.tabIndex = 0;
    table.replaceWith(wrap);
    wrap.append(table);
  }
  return fragment;
}

// --- the conversation -------------------------------------------------------------------

const STATUS_LABEL = { cancelled: 'stopped', error: 'error', interrupted: 'interrupted', streaming: 'streaming…' };

// What the page shows of the stored messages: each user message, then one of
// its replies (the latest unless the reader paged to an earlier one).
function conversation() {
  const users = new Set(state.messages.filter((m) => m.role === 'user' && m.id).map((m) => m.id));
  const groups = new Map();
  for (const m of state.messages) {
    if (m.role === 'assistant' && users.has(m.reply_to)) {
      if (!groups.has(m.reply_to)) groups.set(m.reply_to, []);
      groups.get(m.reply_to).push(m);
    }
  }
  const items = [];
  for (const m of state.messages) {
    if (m.role === 'user') {
      items.push({ kind: 'user', message: m });
    } else if (users.has(m.reply_to)) {
      const replies = groups.get(m.reply_to);
      if (replies[0] !== m) continue;
      const latest = replies.findLastIndex((r) => !r.superseded);
      const index = Math.min(state.variant.get(m.reply_to) ?? (latest < 0 ? replies.length - 1 : latest), replies.length - 1);
      items.push({ kind: 'reply', replies, index, message: replies[index], active: replies[latest < 0 ? replies.length - 1 : latest] });
    } else {
      items.push({ kind: 'reply', replies: [m], index: 0, message: m, active: m });
    }
  }
  return items;
}

function actionButton(label, testid, name, onClick) {
  const b = el('button', null, label);
  b.type = 'button';
  b.dataset.testid = testid;
  b.setAttribute('aria-label', name);
  b.addEventListener('click', onClick);
  return b;
}

async function copyText(text, b) {
  try {
    await navigator.clipboard.writeText(text);
  } catch {
    const area = el('textarea');
    area.value = text;
    document.body.append(area);
    area.select();
    document.execCommand('copy');
    area.remove();
  }
  const before = b.textContent;
  b.textContent = 'Copied';
  setTimeout(() => { b.textContent = before; }, 1500);
}

function messageNode(m) {
  const node = el('article', `message ${m.role}`);
  node.dataset.testid = `message-${m.role}`;
  node.dataset.status = m.status;
  if (m.id) node.dataset.messageId = String(m.id);
  if (m.role === 'assistant') {
    const meta = el('div', 'meta');
    meta.append(el('span', 'model', `${m.llm_provider} · ${m.llm_model_name}`));
    if (m.status !== 'complete') {
      const badge = el('span', `status ${m.status}`, STATUS_LABEL[m.status] ?? m.status);
      badge.dataset.testid = 'message-status';
      meta.append(badge);
    }
    node.append(meta);
    const body = el('div', 'body');
    body.dataset.testid = 'message-body';
    body.append(renderMarkdown(m.content));
    node.append(body);
    if (m.error?.message && m.status !== 'cancelled') {
      const err = el('div', 'error-text', m.error.message);
      err.dataset.testid = 'message-error';
      node.append(err);
    }
  } else {
    const body = el('div', 'body', m.content);
    body.dataset.testid = 'message-body';
    node.append(body);
  }
  return node;
}

function userItemNode(item, last) {
  const m = item.message;
  if (state.editing === m.id) return editNode(m);
  const node = messageNode(m);
  if (!m.id || state.streaming) return node;
  const actions = el('div', 'message-actions');
  actions.append(actionButton('Copy', 'copy-message', 'Copy this message', (e) => copyText(m.content, e.currentTarget)));
  actions.append(actionButton('Edit', 'edit-message', 'Edit this message and resend it', () => {
    state.editing = m.id;
    renderMessages();
    document.querySelector('[data-testid=edit-input]')?.focus();
  }));
  node.append(actions);
  return node;
}

function replyItemNode(item, last) {
  const m = item.message;
  const node = messageNode(m);
  if (!m.id || m.status === 'streaming' || state.streaming) return node;
  const actions = el('div', 'message-actions');
  if (item.replies.length > 1) {
    const pager = el('span', 'pager');
    pager.dataset.testid = 'reply-pager';
    const userId = m.reply_to;
    const go = (delta) => {
      state.variant.set(userId, Math.max(0, Math.min(item.replies.length - 1, item.index + delta)));
      renderMessages();
    };
    const prev = actionButton('‹', 'reply-prev', 'Show the previous reply', () => go(-1));
    const next = actionButton('›', 'reply-next', 'Show the next reply', () => go(1));
    prev.disabled = item.index === 0;
    next.disabled = item.index === item.replies.length - 1;
    const count = el('span', null, `${item.index + 1} / ${item.replies.length}`);
    count.dataset.testid = 'reply-count';
    pager.append(prev, count, next);
    pager.title = 'Earlier replies stay readable; the chat goes on from the latest one.';
    actions.append(pager);
  }
  actions.append(actionButton('Copy', 'copy-message', 'Copy this reply as Markdown', (e) => copyText(m.content, e.currentTarget)));
  if (last) {
    actions.append(actionButton('Regenerate', 'regenerate', 'Regenerate this reply', () => regenerate(item.active)));
  }
  node.append(actions);
  return node;
}

function editNode(m) {
  const node = el('article', 'message user editing');
  node.dataset.testid = 'message-user';
  const box = el('form', 'edit-box');
  const area = el('textarea');
  area.value = m.content;
  area.dataset.testid = 'edit-input';
  area.setAttribute('aria-label', 'Edit the message');
  const bar = el('div', 'edit-bar');
  const cancel = actionButton('Cancel', 'edit-cancel', 'Cancel editing', () => {
    state.editing = null;
    renderMessages();
  });
  const save = el('button', 'primary', 'Save & resend');
  save.type = 'submit';
  save.dataset.testid = 'edit-save';
  bar.append(cancel, save);
  box.append(area, bar);
  box.addEventListener('submit', (e) => {
    e.preventDefault();
    editAndResend(m, area.value);
  });
  area.addEventListener('keydown', (e) => {
    if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) {
      e.preventDefault();
      editAndResend(m, area.value);
    } else if (e.key === 'Escape') {
      e.stopPropagation();
      state.editing = null;
      renderMessages();
    }
  });
  node.append(box);
  return node;
}

function atBottom() {
  const box = $('messages');
  return box.scrollHeight - box.scrollTop - box.clientHeight < 40;
}

function scrollToLatest() {
  const box = $('messages');
  box.scrollTop = box.scrollHeight;
  state.follow = true;
  $('jump-latest').hidden = true;
}

// After the conversation grew: follow it if the reader is at the bottom, else offer the way down.
function afterGrowth() {
  if (state.follow) scrollToLatest();
  else $('jump-latest').hidden = false;
}

function renderMessages({ toBottom = false } = {}) {
  const box = $('messages');
  const keep = box.scrollTop;
  box.replaceChildren();
  const items = conversation();
  if (!items.length) box.append(el('p', 'empty', 'Say hello: the first message starts a chat.'));
  items.forEach((item, i) => {
    const last = i === items.length - 1;
    box.append(item.kind === 'user' ? userItemNode(item, last) : replyItemNode(item, last));
  });
  if (toBottom) state.follow = true;
  if (state.follow) scrollToLatest();
  else box.scrollTop = keep;
}

function configLabel(c) {
  const model = c.model_name ? ` (${c.model_name})` : '';
  return `${c.name}${model}${state.preferred === c.id ? ' ★' : ''}`;
}

// PER-SESSION SETTINGS: the system prompt and the temperature (sessions.
// system_prompt, sessions.temperature, edited with their buttons), shown in
// the header when set, as text, never as HTML.
function settingsSlot(session) {
  const slot = $('session-settings');
  slot.replaceChildren();
  const temperature = session?.temperature ?? null;
  slot.hidden = !session?.system_prompt && temperature === null;
  if (session?.system_prompt) {
    const summary = el('span', 'session-system', `System: ${session.system_prompt}`);
    summary.title = session.system_prompt;
    summary.dataset.testid = 'session-system';
    slot.append(summary);
  }
  if (temperature !== null) {
    const summary = el('span', 'session-temperature', `Temperature ${temperature}`);
    summary.dataset.testid = 'session-temperature-summary';
    slot.append(summary);
  }
  return { slot, session };
}

function renderHeader() {
  const s = state.session;
  $('session-title').textContent = s ? s.title : 'New chat';
  for (const id of ['rename-session', 'system-prompt', 'session-temperature', 'delete-session', 'make-default', 'config-select',
    'export-markdown', 'export-json']) {
    $(id).disabled = !s;
  }
  $('export-menu').hidden = !s;
  const select = $('config-select');
  select.replaceChildren(...state.configs.map((c) => {
    const option = el('option', null, configLabel(c));
    option.value = String(c.id);
    return option;
  }));
  if (s) select.value = String(s.config_id);
  settingsSlot(s);
}

function renderSessions() {
  const list = $('sessions');
  const items = state.sessions.map((s) => {
    const li = el('li', s.id === state.session?.id ? 'active' : '');
    li.dataset.testid = 'session-item';
    li.dataset.sessionId = String(s.id);
    const b = el('button', 'session-button', s.title);
    b.type = 'button';
    if (s.id === state.session?.id) b.setAttribute('aria-current', 'true');
    b.append(el('small', null, s.config?.name ?? ''));
    b.addEventListener('click', () => selectSession(s.id));
    li.append(b);
    return li;
  });
  if (!items.length && state.search) {
    const none = el('li', 'no-match', 'No chat matches.');
    none.dataset.testid = 'no-match';
    items.push(none);
  }
  list.replaceChildren(...items);
  $('more-sessions').hidden = state.sessions.length >= state.sessionTotal;
}

function renderProviders() {
  const select = document.querySelector('#config-form select[name=provider]');
  select.replaceChildren(...state.providers.filter((p) => p.loaded).map((p) => {
    const option = el('option', null, p.name);
    option.value = p.name;
    return option;
  }));
}

// --- the drawer (phones) ---------------------------------------------------------------

const phone = window.matchMedia('(max-width: 480px)');

function openDrawer() {
  $('app').classList.add('drawer-open');
  $('scrim').hidden = false;
  $('chat').inert = true;  // the keyboard stays in the drawer while it is open
  $('menu').setAttribute('aria-expanded', 'true');
  $('session-search').focus();
  loadSessions().catch(complain);  // chats started elsewhere (another tab, the API) show up
}

function closeDrawer({ focusMenu = false } = {}) {
  if (!$('app').classList.contains('drawer-open')) return;
  $('app').classList.remove('drawer-open');
  $('scrim').hidden = true;
  $('chat').inert = false;
  $('menu').setAttribute('aria-expanded', 'false');
  if (focusMenu) $('menu').focus();
}

// --- loading ------------------------------------------------------------------------

async function loadConfigs() {
  const [configs, prefs] = await Promise.all([api('GET', '/api/configs'), api('GET', '/api/preferences')]);
  state.configs = configs.configs;
  state.preferred = prefs.default_config_id;
}

// The first page of the list, or of the search when there is one; `more` appends the next page.
async function loadSessions({ more = false } = {}) {
  const offset = more ? state.sessions.length : 0;
  const q = state.search;
  const path = q ? `/api/sessions/search?q=${encodeURIComponent(q)}&limit=${PAGE_SIZE}&offset=${offset}`
    : `/api/sessions?limit=${PAGE_SIZE}&offset=${offset}`;
  const page = await api('GET', path);
  if (q !== state.search) return;  // a newer search is under way
  state.sessions = more ? [...state.sessions, ...page.sessions] : page.sessions;
  state.sessionTotal = page.total;
  renderSessions();
}

async function selectSession(id) {
  if (state.streaming) return;
  try {
    // Configs may have been added elsewhere (another tab, the API): refresh them too.
    const [session, { messages }] = await Promise.all([
      api('GET', `/api/sessions/${id}`), api('GET', `/api/sessions/${id}/messages`), loadConfigs()]);
    state.session = session;
    state.messages = messages;
    state.variant.clear();
    state.editing = null;
    localStorage.setItem(SESSION_KEY, String(id));
    renderHeader();
    renderSessions();
    renderMessages({ toBottom: true });
    showBanner('');
    if (phone.matches) closeDrawer();
  } catch (e) {
    if (e instanceof SignedOut) return;
    localStorage.removeItem(SESSION_KEY);
    state.session = null;
    state.messages = [];
    renderHeader();
    renderMessages();
    showBanner(e.message);
  }
}

// "+ New chat": a chat that was never used is reused rather than piling up.
async function newChat() {
  if (state.streaming) return;
  try {
    const unused = state.session && state.messages.length === 0
      ? state.session : state.sessions.find((s) => s.message_count === 0);
    if (unused) {
      if (unused.id !== state.session?.id) await selectSession(unused.id);
    } else {
      const s = await api('POST', '/api/sessions', {});
      await loadSessions();
      await selectSession(s.id);
    }
    if (phone.matches) closeDrawer();
    $('input').focus();
  } catch (e) { complain(e); }
}

async function exportSession(format) {
  const s = state.session;
  if (!s) return;
  const { key, epoch } = auth;
  try {
    const res = await fetch(`/api/sessions/${s.id}/export?format=${format}`, { headers: authHeaders() });
    if (res.status === 401) throw rejected(await res.json().catch(() => ({})), key, epoch);
    if (!res.ok) throw new Error((await res.json().catch(() => ({})))?.error?.message ?? `export failed (${res.status})`);
    const url = URL.createObjectURL(await res.blob());
    const a = el('a');
    a.href = url;
    a.download = `${s.title.replace(/[^\p{L}\p{N} ._-]+/gu, '').trim().slice(0, 60) || 'chat'}.${format === 'json' ? 'json' : 'md'}`;
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10000);
    $('export-menu').open = false;
  } catch (e) { complain(e); }
}

// --- sending and streaming ----------------------------------------------------------

function charCount(text) { return [...text].length; }

function updateComposer() {
  const n = charCount($('input').value);
  const counter = $('counter');
  counter.textContent = `${n} / ${MAX_CHARS}`;
  counter.classList.toggle('over', n > MAX_CHARS);
  $('send').disabled = !auth.me || n === 0 || n > MAX_CHARS || Boolean(state.streaming);
  $('stop').hidden = !state.streaming;
}

// Yields {name, data} for each SSE event of a fetch response, as it arrives.
async function* sseEvents(response) {
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let buffer = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buffer += decoder.decode(value, { stream: true }).replace(/\r\n/g, '\n');
    let end;
    while ((end = buffer.indexOf('\n\n')) !== -1) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      let name = 'message';
      const data = [];
      for (const line of block.split('\n')) {
        if (line.startsWith(':')) continue;
        if (line.startsWith('event:')) name = line.slice(6).trim();
        if (line.startsWith('data:')) data.push(line.slice(5).replace(/^ /, ''));
      }
      if (data.length) yield { name, data: JSON.parse(data.join('\n')) };
    }
  }
}

// Resolves once the session's last config switch has reached the host, so a
// turn sent right after it is answered by the config the page shows.
function settled() {
  return state.pending ?? Promise.resolve();
}

async function send() {
  await settled();
  const text = $('input').value;
  const n = charCount(text);
  if (n === 0 || n > MAX_CHARS || state.streaming) return;
  // The first message on a fresh page starts a chat.
  if (!state.session) {
    if (state.starting) return;  // a second Enter while the chat is being made
    state.starting = true;
    try {
      const s = await api('POST', '/api/sessions', {});
      state.session = s;
      state.messages = [];
      localStorage.setItem(SESSION_KEY, String(s.id));
      renderHeader();
      loadSessions().catch(() => {});
    } catch (e) {
      complain(e);
      return;
    } finally {
      state.starting = false;
    }
  }
  const user = { id: null, role: 'user', content: text, status: 'complete' };
  await streamTurn({
    url: '/api/chat/stream',
    body: { session_id: state.session.id, user_message: text },
    user,
    messages: [...state.messages, user],
    onAccepted: () => { $('input').value = ''; updateComposer(); },
    title: text,
  });
}

async function regenerate(reply) {
  await settled();
  if (state.streaming || !state.session) return;
  const answered = state.messages.find((m) => m.id === reply.reply_to);
  state.variant.delete(reply.reply_to);
  await streamTurn({
    url: `/api/sessions/${state.session.id}/messages/${reply.id}/regenerate`,
    body: {},
    user: answered,
    messages: state.messages.map((m) => (m.id === reply.id ? { ...m, superseded: true } : m)),
  });
}

async function editAndResend(original, text) {
  await settled();
  if (state.streaming || !state.session) return;
  const n = charCount(text);
  if (n === 0 || n > MAX_CHARS) {
    showBanner(`A message has 1 to ${MAX_CHARS} characters.`);
    return;
  }
  const at = state.messages.findIndex((m) => m.id === original.id);
  const later = state.messages.slice(at + 1).filter((m) => !m.superseded).length;
  if (later && !window.confirm(`Resend the edited message? The ${later} later message${later === 1 ? '' : 's'} of this chat will be replaced.`)) return;
  state.editing = null;
  const user = { id: null, role: 'user', content: text, status: 'complete' };
  await streamTurn({
    url: `/api/sessions/${state.session.id}/messages/${original.id}/edit`,
    body: { user_message: text },
    user,
    messages: [...state.messages.slice(0, at), user],
  });
}

// One streamed turn: `messages` is the conversation as it will be once the
// host accepts the turn (with `user`, the message answered); the reply grows
// at its end. A refused turn puts the conversation back as it was.
async function streamTurn({ url, body, user, messages, onAccepted, title }) {
  showBanner('');
  $('reply-status').textContent = 'Replying…';
  const before = state.messages;
  const controller = new AbortController();
  state.streaming = controller;
  updateComposer();

  const reply = { id: null, role: 'assistant', content: '', status: 'streaming', llm_provider: '…', llm_model_name: '…',
    reply_to: user?.id ?? null, superseded: false };
  state.messages = [...messages, reply];
  state.follow = true;
  renderMessages();
  const box = $('messages');
  let node = box.lastElementChild;
  const redraw = () => {
    const next = messageNode(reply);
    node.replaceWith(next);
    node = next;
    afterGrowth();
  };

  const { key, epoch } = auth;
  let accepted = false;
  try {
    const res = await fetch(url, {
      method: 'POST',
      headers: authHeaders({ 'Content-Type': 'application/json' }),
      body: JSON.stringify(body),
      signal: controller.signal,
    });
    if (res.status === 401) throw rejected(await res.json().catch(() => ({})), key, epoch);
    if (!res.ok) {
      const json = await res.json().catch(() => ({}));
      throw new Error(json?.error?.message ?? `the host answered ${res.status}`);
    }
    onAccepted?.();
    for await (const event of sseEvents(res)) {
      if (event.name === 'start') {
        accepted = true;
        if (user && !user.id) user.id = event.data.user_message_id;
        reply.id = event.data.message_id;
        reply.reply_to = event.data.user_message_id;
        reply.llm_provider = event.data.provider;
        reply.llm_model_name = event.data.model;
      } else if (event.name === 'delta') {
        reply.content += event.data.content;
      } else if (event.name === 'done') {
        reply.status = 'complete';
      } else if (event.name === 'error') {
        reply.status = 'error';
        reply.error = { code: event.data.code, message: event.data.message };
      }
      redraw();
    }
    if (reply.status === 'streaming') {
      reply.status = 'error';
      reply.error = { message: 'the stream ended unexpectedly' };
    }
  } catch (e) {
    if (e instanceof SignedOut || epoch !== auth.epoch) {
      node = null;  // the page is on the sign-in screen; the next sign-in reloads everything
    } else if (e.name === 'AbortError') {
      reply.status = 'cancelled';
    } else if (!accepted) {
      state.messages = before;  // refused: nothing was saved
      node = null;
      showBanner(e.message);
    } else {
      reply.status = 'error';
      reply.error = { message: e.message };
    }
  } finally {
    if (state.streaming === controller) state.streaming = null;
    if (epoch === auth.epoch) {
      // For screen readers, which are not told of every word as it streams.
      if (node) $('reply-status').textContent = { cancelled: 'Reply stopped.', error: 'Reply failed.' }[reply.status] ?? 'Reply complete.';
      renderMessages();
      afterTurn(Boolean(node) && Boolean(title), title);
    }
  }
}

function afterTurn(named, text) {
  updateComposer();
  // A new chat is named after its first message.
  if (named && state.session?.title === 'New chat') {
    // Its first line of words, without the Markdown marks around them.
    const line = text.split('\n').find((l) => /[\p{L}\p{N}]/u.test(l)) ?? text;
    const words = line.replace(/^[\s#>*_`|~-]+/, '').replace(/[*_`|#]+/g, ' ').replace(/\s+/g, ' ').trim() || text.trim();
    const title = [...words].slice(0, 48).join('');
    api('PATCH', `/api/sessions/${state.session.id}`, { title })
      .then((s) => { state.session = s; renderHeader(); })
      .catch(() => {})
      .finally(() => loadSessions().catch(() => {}));
  } else {
    loadSessions().catch(() => {});
  }
}

// --- theme --------------------------------------------------------------------------

const systemDark = window.matchMedia('(prefers-color-scheme: dark)');

function applyTheme() {
  const chosen = localStorage.getItem(THEME_KEY);
  if (chosen === 'dark' || chosen === 'light') document.documentElement.dataset.theme = chosen;
  else delete document.documentElement.dataset.theme;
  const dark = chosen ? chosen === 'dark' : systemDark.matches;
  $('theme-toggle').setAttribute('aria-pressed', String(dark));
  document.body.dataset.theme = dark ? 'dark' : 'light';
}

// --- wiring -------------------------------------------------------------------------

function wire() {
  $('composer').addEventListener('submit', (e) => { e.preventDefault(); send(); });
  $('input').addEventListener('input', updateComposer);
  $('input').addEventListener('keydown', (e) => {
    if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) {
      e.preventDefault();
      send();
    }
  });
  $('stop').addEventListener('click', () => state.streaming?.abort());
  // Escape stops a stream; otherwise it closes the drawer.
  document.addEventListener('keydown', (e) => {
    if (e.key !== 'Escape' || $('users-panel').open) return;
    if (state.streaming) {
      e.preventDefault();
      state.streaming.abort();
    } else if ($('app').classList.contains('drawer-open')) {
      closeDrawer({ focusMenu: true });
    }
  });

  $('messages').addEventListener('scroll', () => {
    state.follow = atBottom();
    if (state.follow) $('jump-latest').hidden = true;
  });
  $('jump-latest').addEventListener('click', () => {
    scrollToLatest();
    $('input').focus();
  });

  $('menu').addEventListener('click', () => {
    if ($('app').classList.contains('drawer-open')) closeDrawer();
    else openDrawer();
  });
  $('drawer-close').addEventListener('click', () => closeDrawer({ focusMenu: true }));
  $('actions-toggle').addEventListener('click', () => {
    const open = !document.querySelector('.chat-header').classList.contains('actions-open');
    document.querySelector('.chat-header').classList.toggle('actions-open', open);
    $('actions-toggle').setAttribute('aria-expanded', String(open));
  });
  $('scrim').addEventListener('click', () => closeDrawer());
  phone.addEventListener('change', () => closeDrawer());

  let searchTimer = null;
  $('session-search').addEventListener('input', (e) => {
    clearTimeout(searchTimer);
    searchTimer = setTimeout(() => {
      state.search = e.target.value.trim();
      loadSessions().catch(complain);
    }, 200);
  });
  $('more-sessions').addEventListener('click', () => loadSessions({ more: true }).catch(complain));

  $('theme-toggle').addEventListener('click', () => {
    const dark = $('theme-toggle').getAttribute('aria-pressed') === 'true';
    localStorage.setItem(THEME_KEY, dark ? 'light' : 'dark');
    applyTheme();
  });
  systemDark.addEventListener('change', applyTheme);

  $('export-markdown').addEventListener('click', () => exportSession('markdown'));
  $('export-json').addEventListener('click', () => exportSession('json'));

  $('new-session').addEventListener('click', newChat);
  $('rename-session').addEventListener('click', async () => {
    const title = window.prompt('New title', state.session?.title ?? '');
    if (!title || !state.session) return;
    try {
      state.session = await api('PATCH', `/api/sessions/${state.session.id}`, { title });
      renderHeader();
      await loadSessions();
    } catch (e) { complain(e); }
  });
  $('system-prompt').addEventListener('click', async () => {
    if (!state.session) return;
    const prompt = window.prompt('System prompt, sent first in every turn (empty: none)', state.session.system_prompt ?? '');
    if (prompt === null) return;
    try {
      state.session = await api('PATCH', `/api/sessions/${state.session.id}`, { system_prompt: prompt });
      renderHeader();
    } catch (e) { complain(e); }
  });
  $('session-temperature').addEventListener('click', async () => {
    if (!state.session) return;
    const answer = window.prompt('Temperature of this chat, 0 to 2 (empty: the default, 0.7)',
      state.session.temperature ?? '');
    if (answer === null) return;
    const temperature = answer.trim() === '' ? null : Number(answer);
    if (temperature !== null && !(temperature >= 0 && temperature <= 2)) {
      complain(new Error('The temperature must be a number from 0 to 2.'));
      return;
    }
    try {
      state.session = await api('PATCH', `/api/sessions/${state.session.id}`, { temperature });
      renderHeader();
    } catch (e) { complain(e); }
  });
  $('delete-session').addEventListener('click', async () => {
    if (!state.session || !window.confirm(`Delete "${state.session.title}" and its messages?`)) return;
    try {
      await api('DELETE', `/api/sessions/${state.session.id}`);
      localStorage.removeItem(SESSION_KEY);
      state.session = null;
      state.messages = [];
      await loadSessions();
      if (state.sessions.length) await selectSession(state.sessions[0].id);
      else { renderHeader(); renderMessages(); }
    } catch (e) { complain(e); }
  });
  $('config-select').addEventListener('change', (e) => {
    // A message sent right after the switch waits for it (see `settled`).
    state.pending = (async () => {
      try {
        state.session = await api('PATCH', `/api/sessions/${state.session.id}`, { config_id: Number(e.target.value) });
        await loadSessions();
        showBanner('');
      } catch (err) {
        complain(err);
        renderHeader();
      }
    })();
  });
  $('make-default').addEventListener('click', async () => {
    try {
      await api('PUT', '/api/preferences', { default_config_id: Number($('config-select').value) });
      await loadConfigs();
      renderHeader();
    } catch (e) { complain(e); }
  });
  $('config-form').addEventListener('submit', async (e) => {
    e.preventDefault();
    const form = new FormData(e.target);
    const body = { name: form.get('name'), provider: form.get('provider') };
    for (const key of ['model_name', 'base_url', 'api_key']) if (form.get(key)) body[key] = form.get(key);
    const status = $('config-status');
    try {
      const created = await api('POST', '/api/configs', body);
      e.target.reset();
      status.textContent = `Saved "${created.name}"${created.has_api_key ? ' (key stored)' : ''}.`;
      await loadConfigs();
      renderHeader();
    } catch (err) {
      if (!(err instanceof SignedOut)) status.textContent = err.message;
    }
  });
}

// --- signing in and out -------------------------------------------------------------

function showView(view) {
  $('signin').hidden = view !== 'signin';
  $('app').hidden = view !== 'app';
  document.body.dataset.view = view;
}

function signinMessage(text, kind = 'info') {
  const message = $('signin-message');
  message.textContent = text ?? '';
  message.className = `signin-message ${kind}`;
}

// A key handed over in the address (the host's first-start link, "/#key=…"):
// taken, then removed from the address bar and from this history entry.
function keyFromAddress() {
  const match = /^#key=([^&]*)/.exec(location.hash);
  if (!match) return null;
  history.replaceState(null, '', location.pathname + location.search);
  try {
    return decodeURIComponent(match[1]);
  } catch {
    return match[1];
  }
}

// Empties everything the previous user saw, so the next one never sees it.
function resetApp() {
  Object.assign(state, { sessions: [], sessionTotal: 0, search: '', configs: [], providers: [], preferred: null,
    session: null, messages: [], streaming: null, follow: true, editing: null, pending: null, starting: false });
  state.variant.clear();
  panel.users = [];
  panel.keys = [];
  $('session-search').value = '';
  closeDrawer();
  renderSessions();
  renderHeader();
  renderMessages();
  renderProviders();
  renderUsers();
  renderKeys();
  hideNewKey();
  showBanner('');
  $('input').value = '';
  $('config-form').reset();
  $('config-status').textContent = '';
  $('add-config').open = false;
  $('whoami-name').textContent = '';
  $('whoami-role').textContent = '';
  updateComposer();
}

function signOut(message, kind = 'info') {
  auth.epoch++;
  auth.key = null;
  auth.me = null;
  state.streaming?.abort();
  localStorage.removeItem(API_KEY);
  localStorage.removeItem(SESSION_KEY);
  if ($('users-panel').open) $('users-panel').close();
  delete document.body.dataset.ready;
  delete document.body.dataset.role;
  resetApp();
  showView('signin');
  signinMessage(message, kind);
  $('signin-key').value = '';
  $('signin-key').focus();
}

// Asks the host who the key belongs to; on success the page opens for them.
async function signIn(key) {
  key = key.trim();
  const epoch = ++auth.epoch;
  if (!key) {
    showView('signin');
    signinMessage('Paste a key first.', 'error');
    return;
  }
  let res;
  let json;
  try {
    res = await fetch('/api/me', { headers: { Authorization: `Bearer ${key}` } });
    json = await res.json().catch(() => ({}));
  } catch (e) {
    if (epoch !== auth.epoch) return;
    showView('signin');
    signinMessage(`Cannot reach the host: ${e.message}`, 'error');
    return;
  }
  if (epoch !== auth.epoch) return;
  if (!res.ok) {
    if (res.status === 401) localStorage.removeItem(API_KEY);
    showView('signin');
    signinMessage(res.status === 401
      ? 'The key was not accepted. Check that it is complete and has not been revoked.'
      : json?.error?.message ?? `the host answered ${res.status}`, 'error');
    $('signin-key').select();
    return;
  }
  auth.key = key;
  auth.me = json;
  localStorage.setItem(API_KEY, key);
  $('signin-key').value = '';
  signinMessage('');
  await openApp(epoch);
}

async function openApp(epoch) {
  const { me } = auth;
  const admin = me.role === 'admin';
  document.body.dataset.role = me.role;
  $('whoami-name').textContent = me.name;
  $('whoami-role').textContent = me.role;
  $('whoami-role').className = `role-badge ${me.role}`;
  $('whoami').title = `Signed in as ${me.name} (${me.role}) with key ${me.key_id}`;
  for (const node of document.querySelectorAll('.admin-only')) node.hidden = !admin;
  showView('app');
  try {
    const [providers] = await Promise.all([api('GET', '/api/providers'), loadConfigs(), loadSessions()]);
    state.providers = providers.providers;
    renderProviders();
    renderHeader();
    const saved = Number(localStorage.getItem(SESSION_KEY));
    const pick = state.sessions.find((s) => s.id === saved) ?? state.sessions[0];
    if (pick) await selectSession(pick.id);
    else renderMessages();
  } catch (e) {
    if (e instanceof SignedOut) return;
    showBanner(`Cannot reach the host: ${e.message}`);
  }
  if (epoch !== auth.epoch) return;
  updateComposer();
  document.body.dataset.ready = 'true';
}

function wireAuth() {
  $('signin-form').addEventListener('submit', async (e) => {
    e.preventDefault();
    const submit = $('signin-submit');
    submit.disabled = true;
    signinMessage('Checking the key…');
    try {
      await signIn($('signin-key').value);
    } finally {
      submit.disabled = false;
    }
  });
  $('sign-out').addEventListener('click', () => signOut('Signed out. Paste a key to sign in again.'));
  // A "#key=…" link opened in a tab that already shows the page.
  window.addEventListener('hashchange', () => {
    const key = keyFromAddress();
    if (key !== null) signIn(key);
  });
  // Signing out in another tab clears the stored key: follow it here.
  window.addEventListener('storage', (e) => {
    if ((e.key === API_KEY || e.key === null) && !localStorage.getItem(API_KEY) && auth.key) {
      signOut('Signed out in another tab.');
    }
  });
}

// --- users & keys (admins) --------------------------------------------------------------

const panel = { users: [], keys: [] };

function formatTime(ms) {
  return ms ? new Date(ms).toLocaleString() : 'never';
}

function panelStatus(text, kind = 'info') {
  const status = $('users-status');
  status.textContent = text ?? '';
  status.className = `form-status ${kind}`;
}

function panelError(e) {
  if (!(e instanceof SignedOut)) panelStatus(e.message, 'error');
}

function button(label, testid, className, onClick) {
  const b = el('button', className, label);
  b.type = 'button';
  b.dataset.testid = testid;
  b.addEventListener('click', onClick);
  return b;
}

function renderUsers() {
  const rows = panel.users.map((u) => {
    const tr = el('tr');
    tr.dataset.testid = 'user-row';
    tr.dataset.userId = String(u.id);
    tr.dataset.userName = u.name;
    const name = el('td', null, u.name);
    if (u.id === auth.me?.id) name.append(el('span', 'you', '(you)'));
    const actions = el('td', 'actions');
    const remove = button('Delete', 'user-delete', 'danger', () => deleteUser(u));
    if (u.id === auth.me?.id) {
      remove.disabled = true;
      remove.title = 'You cannot delete yourself; another admin can.';
    }
    actions.append(remove);
    tr.append(name, el('td', null, u.role), el('td', null, formatTime(u.created_at_ms)), actions);
    return tr;
  });
  if (!rows.length) {
    const td = el('td', 'empty-row', 'No users.');
    td.colSpan = 4;
    rows.push(el('tr'));
    rows[0].append(td);
  }
  $('users-list').replaceChildren(...rows);

  const select = document.querySelector('#key-form select[name=user_id]');
  const chosen = select.value;
  select.replaceChildren(...panel.users.map((u) => {
    const option = el('option', null, `${u.name} (${u.role})`);
    option.value = String(u.id);
    return option;
  }));
  if (panel.users.some((u) => String(u.id) === chosen)) select.value = chosen;
}

function keyState(k) {
  if (k.revoked_at_ms) return 'revoked';
  return k.active ? 'active' : 'expired';
}

function renderKeys() {
  const names = new Map(panel.users.map((u) => [u.id, u.name]));
  const rows = panel.keys.map((k) => {
    const tr = el('tr', k.active ? '' : 'inactive');
    tr.dataset.testid = 'key-row';
    tr.dataset.keyId = String(k.id);
    tr.dataset.userId = String(k.user_id);
    const prefix = el('td');
    prefix.append(el('code', null, `${k.prefix}…`));
    if (k.id === auth.me?.key_id) prefix.append(el('span', 'you', '(this page)'));
    const stateCell = el('td');
    const badge = el('span', `state ${keyState(k)}`, keyState(k));
    badge.dataset.testid = 'key-state';
    stateCell.append(badge);
    const actions = el('td', 'actions');
    if (k.active) actions.append(button('Revoke', 'key-revoke', 'danger', () => revokeKey(k)));
    tr.append(prefix, el('td', null, names.get(k.user_id) ?? `#${k.user_id}`), el('td', null, k.name || '—'),
      el('td', null, formatTime(k.last_used_at_ms)), stateCell, actions);
    return tr;
  });
  if (!rows.length) {
    const td = el('td', 'empty-row', 'No keys.');
    td.colSpan = 6;
    rows.push(el('tr'));
    rows[0].append(td);
  }
  $('keys-list').replaceChildren(...rows);
}

function hideNewKey() {
  $('new-key-value').value = '';
  $('new-key-owner').textContent = '';
  $('new-key').hidden = true;
}

async function refreshPanel() {
  const [{ users }, { keys }] = await Promise.all([api('GET', '/api/users'), api('GET', '/api/keys')]);
  panel.users = users;
  panel.keys = keys;
  renderUsers();
  renderKeys();
}

async function deleteUser(u) {
  if (!window.confirm(`Delete the user "${u.name}"? Their keys stop working at once.`)) return;
  try {
    await api('DELETE', `/api/users/${u.id}`);
    panelStatus(`Deleted "${u.name}".`);
    await refreshPanel();
  } catch (e) { panelError(e); }
}

async function revokeKey(k) {
  const own = k.id === auth.me?.key_id;
  const question = own
    ? `Revoke ${k.prefix}…? It is the key this page is signed in with: you will be signed out.`
    : `Revoke ${k.prefix}…? Anything using it is refused from now on.`;
  if (!window.confirm(question)) return;
  try {
    await api('DELETE', `/api/keys/${k.id}`);
    if (own) return signOut('Signed out: the key this page used was revoked.');
    panelStatus(`Revoked ${k.prefix}….`);
    await refreshPanel();
  } catch (e) { panelError(e); }
}

function wireUsers() {
  const dialog = $('users-panel');
  $('open-users').addEventListener('click', async () => {
    hideNewKey();
    panelStatus('');
    dialog.showModal();
    try { await refreshPanel(); } catch (e) { panelError(e); }
  });
  // The new key never outlives the panel it was shown in: cleared before the
  // panel closes (the close event comes a task later), and on Escape too.
  $('users-close').addEventListener('click', () => {
    hideNewKey();
    dialog.close();
  });
  dialog.addEventListener('close', hideNewKey);

  $('user-form').addEventListener('submit', async (e) => {
    e.preventDefault();
    const form = new FormData(e.target);
    try {
      const user = await api('POST', '/api/users', { name: String(form.get('name')).trim(), role: form.get('role') });
      e.target.reset();
      panelStatus(`Added "${user.name}" (${user.role}). Make a key for them below.`);
      await refreshPanel();
      document.querySelector('#key-form select[name=user_id]').value = String(user.id);
    } catch (err) { panelError(err); }
  });

  $('key-form').addEventListener('submit', async (e) => {
    e.preventDefault();
    const form = new FormData(e.target);
    const userId = Number(form.get('user_id'));
    const body = { user_id: userId };
    if (String(form.get('name')).trim()) body.name = String(form.get('name')).trim();
    try {
      const made = await api('POST', '/api/keys', body);
      e.target.querySelector('input[name=name]').value = '';
      $('new-key-owner').textContent = panel.users.find((u) => u.id === userId)?.name ?? `#${userId}`;
      $('new-key-value').value = made.key;
      $('new-key').hidden = false;
      $('new-key-value').select();
      panelStatus('');
      await refreshPanel();
    } catch (err) { panelError(err); }
  });

  $('new-key-copy').addEventListener('click', async () => {
    const field = $('new-key-value');
    try {
      await navigator.clipboard.writeText(field.value);
    } catch {
      field.select();
      document.execCommand('copy');
    }
    panelStatus('Copied the key.');
  });
}

function boot() {
  applyTheme();
  wire();
  wireAuth();
  wireUsers();
  const key = keyFromAddress() ?? localStorage.getItem(API_KEY);
  if (key) {
    signIn(key);
  } else {
    showView('signin');
    signinMessage('');
    $('signin-key').focus();
  }
}

boot();
