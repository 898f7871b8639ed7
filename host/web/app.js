// Switchboard chat page: sessions, config picker, and streaming replies read
// from POST /api/chat/stream as Server-Sent Events. Nothing a user or a model
// wrote is ever inserted as HTML: every text goes through textContent.

const MAX_CHARS = 4000;
const SESSION_KEY = 'switchboard.session';

const $ = (id) => document.getElementById(id);
const state = { sessions: [], configs: [], providers: [], preferred: null, session: null, streaming: null };

// --- API --------------------------------------------------------------------

async function api(method, path, body) {
  const res = await fetch(path, {
    method,
    headers: body === undefined ? {} : { 'Content-Type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const json = await res.json().catch(() => ({}));
  if (!res.ok) throw new Error(json?.error?.message ?? `${method} ${path} failed (${res.status})`);
  return json;
}

function showBanner(text) {
  const banner = $('banner');
  banner.textContent = text ?? '';
  banner.hidden = !text;
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
  for (const id of ['rename-session', 'delete-session', 'make-default', 'config-select']) $(id).disabled = !s;
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

  try {
    const res = await fetch('/api/chat/stream', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ session_id: state.session.id, user_message: text }),
      signal: controller.signal,
    });
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
    if (e.name === 'AbortError') {
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
    if (node) redraw();
    state.streaming = null;
    updateComposer();
    // A new chat is named after its first message.
    if (node && state.session?.title === 'New chat') {
      const title = [...text.replace(/\s+/g, ' ').trim()].slice(0, 48).join('');
      api('PATCH', `/api/sessions/${state.session.id}`, { title })
        .then((s) => { state.session = s; renderHeader(); })
        .catch(() => {})
        .finally(() => loadSessions().catch(() => {}));
    } else {
      loadSessions().catch(() => {});
    }
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
    } catch (e) { showBanner(e.message); }
  });
  $('rename-session').addEventListener('click', async () => {
    const title = window.prompt('New title', state.session?.title ?? '');
    if (!title || !state.session) return;
    try {
      state.session = await api('PATCH', `/api/sessions/${state.session.id}`, { title });
      renderHeader();
      await loadSessions();
    } catch (e) { showBanner(e.message); }
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
    } catch (e) { showBanner(e.message); }
  });
  $('config-select').addEventListener('change', async (e) => {
    try {
      state.session = await api('PATCH', `/api/sessions/${state.session.id}`, { config_id: Number(e.target.value) });
      await loadSessions();
      showBanner('');
    } catch (err) {
      showBanner(err.message);
      renderHeader();
    }
  });
  $('make-default').addEventListener('click', async () => {
    try {
      await api('PUT', '/api/preferences', { default_config_id: Number($('config-select').value) });
      await loadConfigs();
      renderHeader();
    } catch (e) { showBanner(e.message); }
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
      status.textContent = err.message;
    }
  });
}

async function start() {
  wire();
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
    showBanner(`Cannot reach the host: ${e.message}`);
  }
  updateComposer();
  document.body.dataset.ready = 'true';
}

start();
