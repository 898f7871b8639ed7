// Switchboard chat page: signing in with an API key, sessions, config picker,
// streaming replies read from POST /api/chat/stream as Server-Sent Events, and
// the admins' users & keys panel. The key lives in localStorage and goes out
// as "Authorization: Bearer" on every request (no cookies); any 401 returns to
// the sign-in screen. Nothing a user or a model wrote is ever inserted as
// HTML: every text goes through textContent.

const MAX_CHARS = 4000;
const SESSION_KEY = 'switchboard.session';
const API_KEY = 'switchboard.key';

const $ = (id) => document.getElementById(id);
const state = { sessions: [], configs: [], providers: [], preferred: null, session: null, streaming: null };
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

// --- Markdown, rendered as DOM nodes (never innerHTML) ------------------------------

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

// `code`, **bold**, *italic* / _italic_; everything else is text.
function appendInline(parent, text) {
  const pattern = /(`[^`\n]+`|\*\*[^*\n]+\*\*|\*[^*\n]+\*|_[^_\n]+_)/g;
  let last = 0;
  for (const match of text.matchAll(pattern)) {
    if (match.index > last) parent.append(text.slice(last, match.index));
    const token = match[0];
    if (token.startsWith('`')) parent.append(el('code', null, token.slice(1, -1)));
    else if (token.startsWith('**')) parent.append(el('strong', null, token.slice(2, -2)));
    else parent.append(el('em', null, token.slice(1, -1)));
    last = match.index + token.length;
  }
  if (last < text.length) parent.append(text.slice(last));
}

function renderMarkdown(source) {
  const root = document.createDocumentFragment();
  const lines = source.split('\n');
  let paragraph = null;
  let list = null;
  const close = () => { paragraph = null; list = null; };
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    const fence = /^\s*```(.*)$/.exec(line);
    if (fence) {
      close();
      const code = [];
      for (i++; i < lines.length && !/^\s*```\s*$/.test(lines[i]); i++) code.push(lines[i]);
      const pre = el('pre');
      const c = el('code', null, code.join('\n'));
      if (fence[1].trim()) c.dataset.lang = fence[1].trim();
      pre.append(c);
      root.append(pre);
      continue;
    }
    const item = /^\s*(?:([-*+])|(\d+)[.)])\s+(.*)$/.exec(line);
    if (item) {
      paragraph = null;
      const tag = item[1] ? 'ul' : 'ol';
      if (!list || list.tagName.toLowerCase() !== tag) {
        list = el(tag);
        root.append(list);
      }
      const li = el('li');
      appendInline(li, item[3]);
      list.append(li);
      continue;
    }
    const heading = /^(#{1,6})\s+(.*)$/.exec(line);
    if (heading) {
      close();
      const h = el('h4');
      appendInline(h, heading[2]);
      root.append(h);
      continue;
    }
    if (!line.trim()) { close(); continue; }
    list = null;
    if (!paragraph) {
      paragraph = el('p');
      root.append(paragraph);
    } else {
      paragraph.append(document.createElement('br'));
    }
    appendInline(paragraph, line);
  }
  return root;
}

// --- rendering ----------------------------------------------------------------------

const STATUS_LABEL = { cancelled: 'stopped', error: 'error', interrupted: 'interrupted', streaming: 'streaming…' };

function messageNode(m) {
  const node = el('article', `message ${m.role}`);
  node.dataset.testid = `message-${m.role}`;
  node.dataset.status = m.status;
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

function renderMessages(messages) {
  const box = $('messages');
  box.replaceChildren();
  if (!messages.length) box.append(el('p', 'empty', state.session ? 'Say hello.' : 'Start a new chat, then say hello.'));
  for (const m of messages) box.append(messageNode(m));
  box.scrollTop = box.scrollHeight;
}

function configLabel(c) {
  const model = c.model_name ? ` (${c.model_name})` : '';
  return `${c.name}${model}${state.preferred === c.id ? ' ★' : ''}`;
}

function renderHeader() {
  const s = state.session;
  $('session-title').textContent = s ? s.title : 'No chat selected';
  // The system prompt as text, never as HTML.
  $('session-system').textContent = s?.system_prompt ? `System: ${s.system_prompt}` : '';
  $('session-system').hidden = !s?.system_prompt;
  for (const id of ['rename-session', 'system-prompt', 'delete-session', 'make-default', 'config-select']) $(id).disabled = !s;
  const select = $('config-select');
  select.replaceChildren(...state.configs.map((c) => {
    const option = el('option', null, configLabel(c));
    option.value = String(c.id);
    return option;
  }));
  if (s) select.value = String(s.config_id);
}

function renderSessions() {
  const list = $('sessions');
  list.replaceChildren(...state.sessions.map((s) => {
    const li = el('li', s.id === state.session?.id ? 'active' : '', s.title);
    li.dataset.testid = 'session-item';
    li.dataset.sessionId = String(s.id);
    li.append(el('small', null, s.config?.name ?? ''));
    li.addEventListener('click', () => selectSession(s.id));
    return li;
  }));
}

function renderProviders() {
  const select = document.querySelector('#config-form select[name=provider]');
  select.replaceChildren(...state.providers.filter((p) => p.loaded).map((p) => {
    const option = el('option', null, p.name);
    option.value = p.name;
    return option;
  }));
}

// --- loading ------------------------------------------------------------------------

async function loadConfigs() {
  const [configs, prefs] = await Promise.all([api('GET', '/api/configs'), api('GET', '/api/preferences')]);
  state.configs = configs.configs;
  state.preferred = prefs.default_config_id;
}

async function loadSessions() {
  state.sessions = (await api('GET', '/api/sessions?limit=200')).sessions;
  renderSessions();
}

async function selectSession(id) {
  if (state.streaming) return;
  try {
    // Configs may have been added elsewhere (another tab, the API): refresh them too.
    const [session, { messages }] = await Promise.all([
      api('GET', `/api/sessions/${id}`), api('GET', `/api/sessions/${id}/messages`), loadConfigs()]);
    state.session = session;
    localStorage.setItem(SESSION_KEY, String(id));
    renderHeader();
    renderSessions();
    renderMessages(messages);
    showBanner('');
  } catch (e) {
    if (e instanceof SignedOut) return;
    localStorage.removeItem(SESSION_KEY);
    state.session = null;
    renderHeader();
    renderMessages([]);
    showBanner(e.message);
  }
}

// --- sending and streaming ----------------------------------------------------------

function charCount(text) { return [...text].length; }

function updateComposer() {
  const n = charCount($('input').value);
  const counter = $('counter');
  counter.textContent = `${n} / ${MAX_CHARS}`;
  counter.classList.toggle('over', n > MAX_CHARS);
  $('send').disabled = !state.session || n === 0 || n > MAX_CHARS || Boolean(state.streaming);
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

async function send() {
  const text = $('input').value;
  const n = charCount(text);
  if (!state.session || n === 0 || n > MAX_CHARS || state.streaming) return;
  showBanner('');
  const controller = new AbortController();
  state.streaming = controller;
  updateComposer();

  const box = $('messages');
  box.querySelector('.empty')?.remove();
  box.append(messageNode({ role: 'user', content: text, status: 'complete' }));
  const reply = { role: 'assistant', content: '', status: 'streaming', llm_provider: '…', llm_model_name: '…' };
  let node = messageNode(reply);
  box.append(node);
  box.scrollTop = box.scrollHeight;
  const redraw = () => {
    const next = messageNode(reply);
    node.replaceWith(next);
    node = next;
    box.scrollTop = box.scrollHeight;
  };

  const { key, epoch } = auth;
  try {
    const res = await fetch('/api/chat/stream', {
      method: 'POST',
      headers: authHeaders({ 'Content-Type': 'application/json' }),
      body: JSON.stringify({ session_id: state.session.id, user_message: text }),
      signal: controller.signal,
    });
    if (res.status === 401) throw rejected(await res.json().catch(() => ({})), key, epoch);
    if (!res.ok) {
      const json = await res.json().catch(() => ({}));
      throw new Error(json?.error?.message ?? `the host answered ${res.status}`);
    }
    $('input').value = '';
    updateComposer();
    for await (const event of sseEvents(res)) {
      if (event.name === 'start') {
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
    } else if (!reply.content && reply.llm_provider === '…') {
      node.previousSibling?.remove();  // the user message was refused: nothing was saved
      node.remove();
      node = null;
      showBanner(e.message);
    } else {
      reply.status = 'error';
      reply.error = { message: e.message };
    }
  } finally {
    if (state.streaming === controller) state.streaming = null;
    if (epoch === auth.epoch) {
      if (node) redraw();
      afterTurn(Boolean(node), text);
    }
  }
}

function afterTurn(replied, text) {
  updateComposer();
  // A new chat is named after its first message.
  if (replied && state.session?.title === 'New chat') {
    const title = [...text.replace(/\s+/g, ' ').trim()].slice(0, 48).join('');
    api('PATCH', `/api/sessions/${state.session.id}`, { title })
      .then((s) => { state.session = s; renderHeader(); })
      .catch(() => {})
      .finally(() => loadSessions().catch(() => {}));
  } else {
    loadSessions().catch(() => {});
  }
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

  $('new-session').addEventListener('click', async () => {
    try {
      const s = await api('POST', '/api/sessions', {});
      await loadSessions();
      await selectSession(s.id);
      $('input').focus();
    } catch (e) { complain(e); }
  });
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
  $('delete-session').addEventListener('click', async () => {
    if (!state.session || !window.confirm(`Delete "${state.session.title}" and its messages?`)) return;
    try {
      await api('DELETE', `/api/sessions/${state.session.id}`);
      localStorage.removeItem(SESSION_KEY);
      state.session = null;
      await loadSessions();
      if (state.sessions.length) await selectSession(state.sessions[0].id);
      else { renderHeader(); renderMessages([]); }
    } catch (e) { complain(e); }
  });
  $('config-select').addEventListener('change', async (e) => {
    try {
      state.session = await api('PATCH', `/api/sessions/${state.session.id}`, { config_id: Number(e.target.value) });
      await loadSessions();
      showBanner('');
    } catch (err) {
      complain(err);
      renderHeader();
    }
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
  Object.assign(state, { sessions: [], configs: [], providers: [], preferred: null, session: null, streaming: null });
  panel.users = [];
  panel.keys = [];
  renderSessions();
  renderHeader();
  renderMessages([]);
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
    else renderMessages([]);
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
