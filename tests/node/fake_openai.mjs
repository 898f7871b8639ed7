// File: tests/node/fake_openai.mjs
//
// A fake OpenAI upstream on 127.0.0.1:0, written from OpenAI's API reference,
// for the client tests: clients call it directly and through Switchboard, and
// both must come out the same. Deterministic:
//   chat: with tools and no tool result yet, a call of the first tool whose
//   first parameter is the last user message (finish_reason "tool_calls");
//   after a tool result, "The answer is <result>"; with a json_schema
//   response_format, an instance of the schema; with json_object,
//   {"answer": ...}; else "Hello from fake". Streams as OpenAI does when
//   asked (tool-call arguments in 4-character pieces), else answers whole.
//   embeddings: 4 numbers per input from its bytes.
// Every request body is recorded in `requests`.
import http from 'node:http';

function lastUser(messages) {
  for (let i = messages.length - 1; i >= 0; i--) {
    const m = messages[i];
    if (m.role !== 'user') continue;
    if (typeof m.content === 'string') return m.content;
    if (Array.isArray(m.content)) return m.content.filter((p) => p.type === 'text').map((p) => p.text).join('');
  }
  return '';
}

function instanceOf(schema, text) {
  if (!schema || typeof schema !== 'object') return text;
  if (Array.isArray(schema.enum) && schema.enum.length) return schema.enum[0];
  const type = Array.isArray(schema.type) ? schema.type[0] : schema.type ?? (schema.properties ? 'object' : 'string');
  if (type === 'object') {
    const out = {};
    for (const [k, v] of Object.entries(schema.properties ?? {})) out[k] = instanceOf(v, text);
    return out;
  }
  if (type === 'array') return [instanceOf(schema.items ?? {}, text)];
  if (type === 'integer' || type === 'number') return text.split(/\s+/).filter(Boolean).length;
  if (type === 'boolean') return true;
  if (type === 'null') return null;
  return text;
}

// What the model says to `req`: {text, call, finish}.
function turn(req) {
  const messages = req.messages ?? [];
  const last = messages[messages.length - 1];
  if (last?.role === 'tool') return { text: `The answer is ${last.content}`, call: null, finish: 'stop' };
  const images = messages.flatMap((m) => (Array.isArray(m.content) ? m.content : [])).filter((p) => p.type === 'image_url');
  if (Array.isArray(req.tools) && req.tools.length && req.tool_choice !== 'none') {
    const fn = req.tools[0].function;
    const first = Object.keys(fn.parameters?.properties ?? {})[0];
    const args = first ? { [first]: lastUser(messages) } : {};
    return { text: null, call: { id: 'call_fake_1', name: fn.name, arguments: JSON.stringify(args) }, finish: 'tool_calls' };
  }
  const format = req.response_format?.type;
  if (format === 'json_schema') {
    return { text: JSON.stringify(instanceOf(req.response_format.json_schema?.schema, lastUser(messages))), call: null, finish: 'stop' };
  }
  if (format === 'json_object') return { text: JSON.stringify({ answer: lastUser(messages) }), call: null, finish: 'stop' };
  if (images.length) return { text: `I see ${images.length} image(s)`, call: null, finish: 'stop' };
  return { text: 'Hello from fake', call: null, finish: 'stop' };
}

const usage = { prompt_tokens: 11, completion_tokens: 5, total_tokens: 16 };

function chunk(model, delta, finish = null) {
  return `data: ${JSON.stringify({
    id: 'chatcmpl-fake', object: 'chat.completion.chunk', created: 1, model, system_fingerprint: null,
    choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }],
  })}\n\n`;
}

export async function startFakeOpenAi() {
  const requests = [];
  const server = http.createServer((request, response) => {
    let raw = '';
    request.on('data', (d) => { raw += d; });
    request.on('end', () => {
      const body = raw ? JSON.parse(raw) : {};
      requests.push({ path: request.url, body });
      if (request.url === '/v1/models') {
        response.writeHead(200, { 'Content-Type': 'application/json' });
        return response.end(JSON.stringify({ object: 'list', data: [{ id: 'gpt-fake', object: 'model', created: 1, owned_by: 'fake' }] }));
      }
      if (request.url === '/v1/embeddings') {
        const inputs = Array.isArray(body.input) ? body.input : [body.input];
        const data = inputs.map((text, index) => {
          const v = [0, 1, 2, 3].map((k) => {
            let sum = 0;
            for (let i = k; i < text.length; i += 4) sum += text.charCodeAt(i);
            return (sum % 1000) / 1000;
          });
          const embedding = body.encoding_format === 'base64'
            ? Buffer.from(new Float32Array(v).buffer).toString('base64') : v;
          return { object: 'embedding', index, embedding };
        });
        response.writeHead(200, { 'Content-Type': 'application/json' });
        return response.end(JSON.stringify({ object: 'list', data, model: body.model,
          usage: { prompt_tokens: 3 * inputs.length, total_tokens: 3 * inputs.length } }));
      }
      if (request.url !== '/v1/chat/completions') {
        response.writeHead(404, { 'Content-Type': 'application/json' });
        return response.end(JSON.stringify({ error: { message: `Invalid URL (${request.method} ${request.url})`, type: 'invalid_request_error', param: null, code: null } }));
      }
      const t = turn(body);
      if (!body.stream) {
        const message = { role: 'assistant', content: t.text, refusal: null };
        if (t.call) message.tool_calls = [{ id: t.call.id, type: 'function', function: { name: t.call.name, arguments: t.call.arguments } }];
        response.writeHead(200, { 'Content-Type': 'application/json' });
        return response.end(JSON.stringify({
          id: 'chatcmpl-fake', object: 'chat.completion', created: 1, model: body.model, system_fingerprint: null,
          choices: [{ index: 0, message, logprobs: null, finish_reason: t.finish }], usage,
        }));
      }
      response.writeHead(200, { 'Content-Type': 'text/event-stream' });
      if (t.call) {
        response.write(chunk(body.model, { role: 'assistant', content: null,
          tool_calls: [{ index: 0, id: t.call.id, type: 'function', function: { name: t.call.name, arguments: '' } }] }));
        for (let i = 0; i < t.call.arguments.length; i += 4)
          response.write(chunk(body.model, { tool_calls: [{ index: 0, function: { arguments: t.call.arguments.slice(i, i + 4) } }] }));
      } else {
        response.write(chunk(body.model, { role: 'assistant', content: '' }));
        for (let i = 0; i < t.text.length; i += 6) response.write(chunk(body.model, { content: t.text.slice(i, i + 6) }));
      }
      response.write(chunk(body.model, {}, t.finish));
      if (body.stream_options?.include_usage) {
        response.write(`data: ${JSON.stringify({ id: 'chatcmpl-fake', object: 'chat.completion.chunk', created: 1,
          model: body.model, system_fingerprint: null, choices: [], usage })}\n\n`);
      }
      response.end('data: [DONE]\n\n');
    });
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${server.address().port}/v1`,
    requests,
    close: () => new Promise((resolve) => server.close(resolve)),
  };
}
