#!/usr/bin/env python3
"""Soak run of issue 14: many concurrent streamed turns through a real host, with
client disconnects, a 2-second upstream outage and a kill -9 of the host.

Python 3 standard library only. Everything listens on 127.0.0.1, every count and
wait is bounded, and the script stops by itself. See README.md beside it.

  python3 tests/soak/soak.py                 # 1,000 turns
  python3 tests/soak/soak.py --quick         # 100 turns, under a minute

Exit status: 0 when every accepted user message was stored, 1 when one was
lost, 2 when the run itself could not be carried out (host did not start...).
"""
import argparse
import asyncio
import collections
import json
import os
import random
import resource
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

REPO = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
ADMIN_KEY = "sbk_soak-admin-0123456789abcdefghijklmnopqrstuvwxyz"
MANIFEST = {
    "plugins": [
        {"name": "mock", "library": "libswitchboard_mock.so"},
        {"name": "openai_compatible", "library": "libswitchboard_openai_compatible.so"},
    ],
    "default_config": {"name": "mock-echo", "provider": "mock", "model_name": "mock-echo"},
}


def raise_fd_limit():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = hard if hard != resource.RLIM_INFINITY else 65536
    if soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# ---------------------------------------------------------------------------
# The fake OpenAI-compatible upstream (run as a subprocess: `soak.py --upstream`)
# ---------------------------------------------------------------------------

async def upstream_main(port, tokens, token_ms):
    delay = token_ms / 1000.0

    def chunk(obj):
        data = b"data: " + json.dumps(obj, separators=(",", ":")).encode() + b"\n\n"
        return b"%x\r\n%s\r\n" % (len(data), data)

    async def handle(reader, writer):
        try:
            while True:
                try:
                    head = await reader.readuntil(b"\r\n\r\n")
                except (asyncio.IncompleteReadError, asyncio.LimitOverrunError):
                    return
                lines = head.decode("latin-1").split("\r\n")
                method, path, _ = lines[0].split(" ", 2)
                headers = {}
                for line in lines[1:]:
                    if ":" in line:
                        k, v = line.split(":", 1)
                        headers[k.strip().lower()] = v.strip()
                body = await reader.readexactly(int(headers.get("content-length", "0")))
                if method == "GET" and path.endswith("/models"):
                    out = json.dumps({"object": "list", "data": [{"id": "soak", "object": "model"}]}).encode()
                    writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s"
                                 % (len(out), out))
                    await writer.drain()
                    continue
                if method != "POST" or not path.endswith("/chat/completions"):
                    writer.write(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n")
                    await writer.drain()
                    continue
                req = json.loads(body)
                # Each token names the turn (the last user message's first word after "turn"),
                # so a stored reply can be told apart from another turn's.
                last = req["messages"][-1]["content"] if req.get("messages") else ""
                tag = last.split()[2] if len(last.split()) > 2 else "x"
                words = ["%s.%02d " % (tag, i) for i in range(tokens)]
                created = int(time.time())
                base = {"id": "chatcmpl-soak", "object": "chat.completion.chunk", "created": created,
                        "model": req.get("model", "soak")}
                writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
                             b"Cache-Control: no-cache\r\nTransfer-Encoding: chunked\r\n\r\n")
                writer.write(chunk(dict(base, choices=[{"index": 0, "delta": {"role": "assistant", "content": ""},
                                                        "finish_reason": None}])))
                await writer.drain()
                for w in words:
                    await asyncio.sleep(delay)
                    writer.write(chunk(dict(base, choices=[{"index": 0, "delta": {"content": w},
                                                            "finish_reason": None}])))
                    await writer.drain()
                writer.write(chunk(dict(base, choices=[{"index": 0, "delta": {}, "finish_reason": "stop"}])))
                writer.write(chunk(dict(base, choices=[], usage={"prompt_tokens": 10, "completion_tokens": tokens,
                                                                 "total_tokens": 10 + tokens})))
                data = b"data: [DONE]\n\n"
                writer.write(b"%x\r\n%s\r\n0\r\n\r\n" % (len(data), data))
                await writer.drain()
        except (ConnectionError, OSError, ValueError, KeyError, IndexError):
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", port, backlog=2048, reuse_address=True)
    print("ready", flush=True)
    async with server:
        await server.serve_forever()


class Upstream:
    def __init__(self, port, tokens, token_ms, log):
        self.port, self.tokens, self.token_ms, self.log = port, tokens, token_ms, log
        self.proc = None

    def start(self):
        self.proc = subprocess.Popen(
            [sys.executable, os.path.abspath(__file__), "--upstream", str(self.port),
             "--tokens", str(self.tokens), "--token-ms", str(self.token_ms)],
            stdout=subprocess.PIPE, stderr=self.log, stdin=subprocess.DEVNULL)
        line = self.proc.stdout.readline()
        if line.strip() != b"ready":
            raise RuntimeError("fake upstream did not start")

    def kill(self):
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


# ---------------------------------------------------------------------------
# The host
# ---------------------------------------------------------------------------

class Host:
    def __init__(self, binary, plugin_dir, workdir, log_level):
        self.binary, self.plugin_dir, self.workdir, self.log_level = binary, plugin_dir, workdir, log_level
        self.proc = None
        self.port = None
        self.starts = 0

    async def start(self):
        self.port = free_port()
        self.starts += 1
        log = open(os.path.join(self.workdir, "host-%d.log" % self.starts), "wb")
        self.proc = subprocess.Popen(
            [self.binary, "--port=%d" % self.port, "--db=" + os.path.join(self.workdir, "soak.db"),
             "--admin-key-file=" + os.path.join(self.workdir, "admin.key"),
             "--plugins=" + os.path.join(self.workdir, "plugins.json"), "--plugin-dir=" + self.plugin_dir,
             "--log-level=" + self.log_level],
            stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        log.close()
        for _ in range(400):
            if self.proc.poll() is not None:
                raise RuntimeError("host exited at start (%s); see %s" % (self.proc.returncode, self.workdir))
            try:
                st, _, _ = await http(self.port, "GET", "/healthz", auth=False, timeout=2)
                if st == 200:
                    return
            except (OSError, asyncio.TimeoutError, asyncio.IncompleteReadError):
                pass
            await asyncio.sleep(0.05)
        raise RuntimeError("host did not answer /healthz")

    def kill9(self):
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()

    def stop(self, timeout=30):
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            return "hung (killed)"


# ---------------------------------------------------------------------------
# Hand-written HTTP/1.1 over asyncio streams
# ---------------------------------------------------------------------------

def parse_head(head):
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ", 2)[1])
    headers = {}
    for line in lines[1:]:
        if ":" in line:
            k, v = line.split(":", 1)
            headers[k.strip().lower()] = v.strip()
    return status, headers


def request_bytes(port, method, path, body, auth=True):
    data = json.dumps(body).encode() if body is not None else b""
    head = "%s %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nConnection: close\r\n" % (method, path, port)
    if auth:
        head += "Authorization: Bearer %s\r\n" % ADMIN_KEY
    if body is not None:
        head += "Content-Type: application/json\r\nContent-Length: %d\r\n" % len(data)
    return head.encode() + b"\r\n" + data


async def read_body(reader, headers):
    if headers.get("transfer-encoding", "").lower() == "chunked":
        out = b""
        while True:
            size = int((await reader.readline()).split(b";")[0], 16)
            if size == 0:
                return out
            out += (await reader.readexactly(size + 2))[:-2]
    if "content-length" in headers:
        return await reader.readexactly(int(headers["content-length"]))
    return await reader.read()


async def http(port, method, path, body=None, auth=True, timeout=30):
    async def go():
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            writer.write(request_bytes(port, method, path, body, auth))
            status, headers = parse_head(await reader.readuntil(b"\r\n\r\n"))
            raw = await read_body(reader, headers)
            return status, headers, (json.loads(raw) if raw else None)
        finally:
            writer.close()
    return await asyncio.wait_for(go(), timeout)


async def api(port, method, path, body=None, tries=5):
    """An API call that rides out 503 over_capacity (it says Retry-After: 1)."""
    for i in range(tries):
        st, headers, js = await http(port, method, path, body)
        if st != 503 or i == tries - 1:
            return st, js
        await asyncio.sleep(float(headers.get("retry-after", "1")))


# ---------------------------------------------------------------------------
# One streamed turn as a client sees it
# ---------------------------------------------------------------------------

class Turn:
    __slots__ = ("n", "phase", "session_id", "message", "disconnect_after", "t_sent", "t_start", "t_first",
                 "t_end", "http_status", "http_error", "accepted", "user_message_id", "message_id", "text",
                 "shown", "end", "error_code", "disconnected", "broken")

    def __init__(self, n, phase, session_id, disconnect_after):
        self.n, self.phase, self.session_id = n, phase, session_id
        self.message = "soak turn t%d phase %d: please stream forty words" % (n, phase)
        self.disconnect_after = disconnect_after  # seconds after sending, or None
        self.t_sent = self.t_start = self.t_first = self.t_end = None
        self.http_status = None
        self.http_error = None
        self.accepted = False
        self.user_message_id = self.message_id = None
        self.text = ""
        self.shown = []          # (monotonic time, characters seen so far)
        self.end = None          # done | error | disconnected | cut | connect_failed | http_error | timeout
        self.error_code = None
        self.disconnected = False
        self.broken = False


class Stats:
    def __init__(self):
        self.in_flight = 0
        self.peak = 0
        self.streaming = 0
        self.peak_streaming = 0


async def run_turn(port, turn, stats, turn_timeout):
    stats.in_flight += 1
    stats.peak = max(stats.peak, stats.in_flight)
    loop = asyncio.get_running_loop()
    writer = None
    abort_handle = None
    streaming = False

    def disconnect():
        turn.disconnected = True
        if writer is not None:
            writer.transport.abort()

    def on_event(name, data):
        nonlocal streaming
        now = time.monotonic()
        if name == "start":
            turn.accepted = True
            turn.t_start = now
            turn.user_message_id = data.get("user_message_id")
            turn.message_id = data.get("message_id")
        elif name == "delta":
            if turn.t_first is None:
                turn.t_first = now
                streaming = True
                stats.streaming += 1
                stats.peak_streaming = max(stats.peak_streaming, stats.streaming)
            turn.text += data.get("content", "")
            turn.shown.append((now, len(turn.text)))
        elif name == "done":
            turn.end = "done"
        elif name == "error":
            turn.end = "error"
            turn.error_code = data.get("code")
            if turn.message_id is None:
                turn.message_id = data.get("message_id")

    async def go():
        nonlocal writer, abort_handle
        try:
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
        except OSError as e:
            turn.end = "connect_failed"
            turn.http_error = type(e).__name__
            return
        body = {"session_id": turn.session_id, "user_message": turn.message}
        turn.t_sent = time.monotonic()
        if turn.disconnect_after is not None:
            abort_handle = loop.call_later(turn.disconnect_after, disconnect)
        writer.write(request_bytes(port, "POST", "/api/chat/stream", body))
        status, headers = parse_head(await reader.readuntil(b"\r\n\r\n"))
        turn.http_status = status
        if status != 200:
            turn.end = "http_error"
            raw = await read_body(reader, headers)
            try:
                turn.error_code = json.loads(raw)["error"]["code"]
            except (ValueError, KeyError, TypeError):
                turn.error_code = "http_%d" % status
            return
        chunked = headers.get("transfer-encoding", "").lower() == "chunked"
        buf = b""
        while turn.end is None:
            if chunked:
                line = await reader.readline()
                if not line.endswith(b"\n"):
                    raise asyncio.IncompleteReadError(line, None)
                size = int(line.split(b";")[0], 16)
                if size == 0:
                    break
                data = (await reader.readexactly(size + 2))[:-2]
            else:
                data = await reader.read(65536)
                if not data:
                    break
            buf += data
            while b"\n\n" in buf and turn.end is None:
                raw, buf = buf.split(b"\n\n", 1)
                name, payload = None, None
                for line in raw.decode("utf-8").split("\n"):
                    if line.startswith("event: "):
                        name = line[7:]
                    elif line.startswith("data: "):
                        payload = line[6:]
                if name and payload is not None:
                    on_event(name, json.loads(payload))
        if turn.end is None:
            turn.end = "cut"  # the stream ended without done or error

    try:
        await asyncio.wait_for(go(), turn_timeout)
    except asyncio.TimeoutError:
        turn.end = "timeout"
    except (OSError, asyncio.IncompleteReadError, ValueError) as e:
        if turn.end is None:
            turn.end = "cut"
            turn.http_error = type(e).__name__
    finally:
        if abort_handle is not None:
            abort_handle.cancel()
        if turn.disconnected and turn.end in (None, "cut", "timeout"):
            turn.end = "disconnected"
        if writer is not None:
            writer.transport.abort()
        turn.t_end = time.monotonic()
        stats.in_flight -= 1
        if streaming:
            stats.streaming -= 1


# ---------------------------------------------------------------------------
# The run
# ---------------------------------------------------------------------------

async def launch(port, turns, ramp_s, concurrency, stats, turn_timeout, stop_at=None):
    """Starts the turns evenly over ramp_s seconds, at most `concurrency` at once."""
    sem = asyncio.Semaphore(concurrency)
    t0 = time.monotonic()
    tasks = []

    async def one(turn):
        async with sem:
            await run_turn(port, turn, stats, turn_timeout)

    for i, turn in enumerate(turns):
        due = t0 + (ramp_s * i / len(turns) if turns else 0)
        wait = due - time.monotonic()
        if wait > 0:
            await asyncio.sleep(wait)
        if stop_at is not None and time.monotonic() >= stop_at:
            break
        tasks.append(asyncio.ensure_future(one(turn)))
    return tasks


def seen_at(turn, when):
    chars = 0
    for t, n in turn.shown:
        if t <= when:
            chars = n
        else:
            break
    return turn.text[:chars]


async def soak(args):
    rng = random.Random(args.seed)
    workdir = tempfile.mkdtemp(prefix="switchboard-soak-")
    with open(os.path.join(workdir, "admin.key"), "w") as f:
        f.write(ADMIN_KEY + "\n")
    os.chmod(os.path.join(workdir, "admin.key"), 0o600)
    with open(os.path.join(workdir, "plugins.json"), "w") as f:
        json.dump(MANIFEST, f)
    up_log = open(os.path.join(workdir, "upstream.log"), "wb")
    upstream = Upstream(free_port(), args.tokens, args.token_ms, up_log)
    host = Host(args.bin, args.plugin_dir, workdir, args.log_level)
    ok = False
    try:
        upstream.start()
        await host.start()
        port = host.port

        # An LLM config for the fake upstream; retries span the outage, the breaker stays out of the way
        # unless asked for.
        options = {"retry_attempts": args.retry_attempts, "retry_max_wait_ms": args.retry_max_wait_ms,
                   "breaker_failures": args.breaker_failures, "breaker_cooldown_ms": args.breaker_cooldown_ms}
        st, cfg = await api(port, "POST", "/api/configs", {
            "name": "soak-upstream", "provider": "openai_compatible", "model_name": "soak",
            "base_url": "http://127.0.0.1:%d/v1" % upstream.port, "options": options})
        if st != 201:
            raise RuntimeError("config not created: %s %s" % (st, cfg))
        config_id = cfg["id"]

        n_before = args.turns
        n_after = args.more_turns
        sem = asyncio.Semaphore(16)

        async def new_session(i):
            async with sem:
                st, js = await api(port, "POST", "/api/sessions", {"title": "soak %d" % i, "config_id": config_id})
                if st != 201:
                    raise RuntimeError("session not created: %s %s" % (st, js))
                return js["id"]
        sessions = await asyncio.gather(*[new_session(i) for i in range(n_before)])

        def disconnect_after():
            if rng.random() < args.disconnect_share:
                return rng.uniform(0.0, 1.2 * args.tokens * args.token_ms / 1000.0)
            return None

        turns = [Turn(i, 1, sessions[i], disconnect_after()) for i in range(n_before)]
        # Phase 2 goes on the same sessions (a turn after a completed, cancelled or interrupted one).
        turns += [Turn(n_before + i, 2, sessions[i % n_before], disconnect_after()) for i in range(n_after)]
        stats = Stats()
        timeline = {}
        reply_s = args.tokens * args.token_ms / 1000.0

        # Phase 1: turns start evenly over ramp_s; the upstream is down from outage_at for outage_s;
        # the host is killed with SIGKILL at kill_at, while the last turns stream.
        t0 = time.monotonic()
        timeline["t0"] = t0

        async def outage():
            await asyncio.sleep(args.outage_at)
            upstream.kill()
            timeline["down"] = time.monotonic()
            await asyncio.sleep(args.outage_s)
            await asyncio.get_running_loop().run_in_executor(None, upstream.start)
            timeline["up"] = time.monotonic()

        async def crash():
            await asyncio.sleep(args.kill_at)
            timeline["in_flight_at_kill"] = stats.in_flight
            timeline["streaming_at_kill"] = stats.streaming
            timeline["kill"] = time.monotonic()
            host.kill9()

        outage_task = asyncio.ensure_future(outage())
        crash_task = asyncio.ensure_future(crash())
        tasks = await launch(port, turns[:n_before], args.ramp_s, args.concurrency, stats, args.turn_timeout,
                             stop_at=t0 + args.kill_at)
        await outage_task
        await crash_task
        if tasks:
            await asyncio.wait(tasks, timeout=args.turn_timeout + 5)
        timeline["phase1_peak"] = stats.peak
        timeline["phase1_peak_streaming"] = stats.peak_streaming

        # Phase 2: the host restarts on the same database and serves more turns.
        t_restart = time.monotonic()
        await host.start()
        timeline["restart_s"] = time.monotonic() - t_restart
        port = host.port
        stats2 = Stats()
        tasks2 = await launch(port, turns[n_before:], args.ramp2_s, args.concurrency, stats2, args.turn_timeout)
        if tasks2:
            await asyncio.wait(tasks2, timeout=args.turn_timeout + 5)
        timeline["phase2_peak"] = stats2.peak
        timeline["end"] = time.monotonic()

        # What the host kept, read back through the API.
        stored = {}
        sem = asyncio.Semaphore(16)

        async def messages(sid):
            async with sem:
                st, js = await api(port, "GET", "/api/sessions/%d/messages" % sid)
                stored[sid] = js["messages"] if st == 200 else None
        await asyncio.gather(*[messages(sid) for sid in sorted(set(sessions))])
        final_config = (await api(port, "GET", "/api/configs/%d" % config_id))[1]
        with open(os.path.join(workdir, "turns.json"), "w") as f:
            json.dump({"timeline": {k: (v - t0 if k in ("down", "up", "kill", "end") else v)
                                    for k, v in timeline.items() if k != "t0"},
                       "turns": [dict({k: getattr(t, k) for k in Turn.__slots__ if k != "shown"},
                                      **{k: (getattr(t, k) - t0 if getattr(t, k) is not None else None)
                                         for k in ("t_sent", "t_start", "t_first", "t_end")},
                                      stored=stored.get(t.session_id)) for t in turns]}, f, indent=1)
        exit_code = host.stop()
        ok = report(args, turns, stored, timeline, reply_s, exit_code, final_config, workdir)
        return 0 if ok else 1
    finally:
        upstream.kill()
        up_log.close()
        if host.proc and host.proc.poll() is None:
            host.proc.kill()
            host.proc.wait()
        if args.keep or not ok:
            print("work directory kept: %s" % workdir)
        else:
            shutil.rmtree(workdir, ignore_errors=True)


def report(args, turns, stored, tl, reply_s, exit_code, final_config, workdir):
    t0 = tl["t0"]
    down, up, kill = tl["down"], tl["up"], tl["kill"]
    c = collections.Counter()
    client_errors = collections.Counter()
    stored_errors = collections.Counter()
    problems = collections.Counter()
    examples = collections.defaultdict(list)
    seen_total = kept_total = 0
    seen_killed = kept_killed = floor_killed = 0
    across = across_done = 0
    across_by = collections.Counter()
    across_text = 0
    after = collections.Counter(t.end for t in turns if t.phase == 2)
    no_text_errors = collections.Counter()

    def problem(kind, turn, detail=""):
        problems[kind] += 1
        if len(examples[kind]) < 3:
            examples[kind].append("turn %d (session %d) %s" % (turn.n, turn.session_id, detail))

    for turn in turns:
        if turn.end is None:
            continue  # never started
        c["sent"] += 1
        c["client: " + (turn.end or "not started")] += 1
        if turn.end == "error":
            client_errors[turn.error_code] += 1
        if turn.end == "http_error":
            client_errors["HTTP %s %s" % (turn.http_status, turn.error_code)] += 1
        if turn.disconnected:
            c["disconnected by client"] += 1
        msgs = stored.get(turn.session_id)
        if msgs is None:
            if turn.accepted:
                problem("session unreadable", turn)
            continue
        users = [i for i, m in enumerate(msgs) if m["role"] == "user" and m["content"] == turn.message]
        if len(users) > 1:
            problem("user message stored twice", turn)
        if not turn.accepted:
            if users:
                c["not accepted by client, stored anyway"] += 1
            continue
        c["accepted"] += 1
        if not users:
            problem("LOST: accepted, user message not stored", turn, "user_message_id %s" % turn.user_message_id)
            continue
        ui = users[0]
        if msgs[ui]["id"] != turn.user_message_id:
            problem("user message id differs from start event", turn)
        reply = next((m for m in msgs if m["id"] == turn.message_id), None)
        if reply is None:
            problem("accepted, reply not stored", turn, "message_id %s" % turn.message_id)
            continue
        status = reply["status"]
        c["stored: " + status] += 1
        if status == "error" and reply.get("error"):
            stored_errors[reply["error"]["code"]] += 1
        kept = reply["content"]
        seen = turn.text
        seen_total += len(seen)
        kept_total += len(kept)
        tag = "t%d." % turn.n
        if kept and not kept.startswith(tag):
            problem("stored reply belongs to another turn", turn, repr(kept[:20]))
        if status == "streaming":
            problem("reply still 'streaming' after restart", turn)
        if turn.end == "done" and status != "complete":
            problem("client got done, stored status is not complete", turn, status)
        if status == "complete" and turn.end == "done" and kept != seen:
            problem("complete reply differs from what the client saw", turn,
                    "seen %d kept %d chars" % (len(seen), len(kept)))
        if status == "complete" and len(kept) != len("".join("t%d.%02d " % (turn.n, i) for i in range(args.tokens))):
            problem("complete reply is not the whole upstream reply", turn, "%d chars" % len(kept))
        if turn.phase == 1 and turn.end == "cut" and turn.t_end >= kill:
            # Streaming when the host was killed.
            c["cut by kill -9"] += 1
            if status != "interrupted":
                problem("cut by kill -9, stored status not interrupted", turn, status)
            seen_killed += len(seen)
            kept_killed += len(kept)
            floor = seen_at(turn, kill - 1.0)
            floor_killed += len(floor)
            if not seen.startswith(kept):
                if kept.startswith(seen):
                    c["kill -9: kept more than the client read"] += 1
                else:
                    problem("kill -9: kept text is not what the client saw", turn)
            if not kept.startswith(floor):
                problem("kill -9: kept less than seen 1 s before the kill", turn,
                        "kept %d, seen 1 s before %d, seen %d" % (len(kept), len(floor), len(seen)))
        # Waiting for its first byte while the upstream was down: sent before it came back, still open
        # after it went down, and no text before it went down.
        if turn.t_sent < up and turn.t_end > down and (turn.t_first is None or turn.t_first > down):
            across += 1
            across_by[status] += 1
            if turn.t_first is not None:
                across_text += 1
            if status == "complete":
                across_done += 1
        if status == "error" and not seen and reply.get("error"):
            no_text_errors[reply["error"]["code"]] += 1

    def row(label, value):
        print("  %-58s %s" % (label, value))

    print()
    print("Switchboard soak: %d turns + %d after the restart, concurrency cap %d, %.0f %% of clients disconnect, "
          "replies of %d tokens %d ms apart"
          % (args.turns, args.more_turns, args.concurrency, 100 * args.disconnect_share, args.tokens, args.token_ms))
    print("timeline (s from the first turn): upstream down %.1f-%.1f, host kill -9 at %.1f "
          "(%d turns open, %d streaming), restarted in %.1f s, run ended at %.1f"
          % (down - t0, up - t0, kill - t0, tl["in_flight_at_kill"], tl["streaming_at_kill"], tl["restart_s"],
             tl["end"] - t0))
    print("peak turns open at once: %d before the kill (%d streaming), %d after the restart"
          % (tl["phase1_peak"], tl["phase1_peak_streaming"], tl["phase2_peak"]))
    print()
    row("turns sent (before kill / after restart)", "%d (%d / %d)" % (
        c["sent"], sum(1 for t in turns if t.phase == 1 and t.end), sum(1 for t in turns if t.phase == 2)))
    for k in sorted(k for k in c if k.startswith("client: ")):
        row("  client saw " + k[8:], c[k])
    row("  of which disconnected by the client on purpose", c["disconnected by client"])
    for code, n in sorted(client_errors.items(), key=lambda kv: -kv[1]):
        row("  client error: %s" % code, n)
    row("accepted (start event)", c["accepted"])
    row("  stored complete", c["stored: complete"])
    row("  stored cancelled", c["stored: cancelled"])
    row("  stored interrupted", c["stored: interrupted"])
    row("  stored error", c["stored: error"])
    for code, n in sorted(stored_errors.items(), key=lambda kv: -kv[1]):
        row("    code %s" % code, n)
    if c["stored: streaming"]:
        row("  stored STILL streaming", c["stored: streaming"])
    row("not accepted by the client, but stored", c["not accepted by client, stored anyway"])
    row("lost user messages (accepted, not stored)", problems["LOST: accepted, user message not stored"])
    row("after the restart, client saw", ", ".join("%s %d" % kv for kv in sorted(after.items())))
    row("characters seen by clients / kept in stored replies", "%d / %d" % (seen_total, kept_total))
    row("replies streaming at kill -9", c["cut by kill -9"])
    if seen_killed:
        row("  their characters seen / kept (kept share)", "%d / %d (%.1f %%)"
            % (seen_killed, kept_killed, 100.0 * kept_killed / seen_killed))
        row("  characters seen 1 s before the kill (floor)", floor_killed)
    row("  kept more than the client had read", c["kill -9: kept more than the client read"])
    row("turns waiting for their first byte during the outage", across)
    row("  got their first text after it (retries carried them)", across_text)
    row("  completed across it", across_done)
    row("  stored otherwise", ", ".join("%s %d" % kv for kv in sorted(across_by.items()) if kv[0] != "complete"))
    for code, n in sorted(no_text_errors.items(), key=lambda kv: -kv[1]):
        row("failed with %s before any text reached the client" % code, n)
    br = (final_config or {}).get("breaker")
    row("breaker at the end", json.dumps(br))
    row("host exit status on SIGTERM at the end", exit_code)
    others = {k: v for k, v in problems.items() if not k.startswith("LOST")}
    if others:
        print()
        print("other findings:")
        for k, v in sorted(others.items()):
            print("  %-58s %d   e.g. %s" % (k, v, "; ".join(examples[k])))
    lost = problems["LOST: accepted, user message not stored"]
    if lost:
        print()
        print("LOST user messages: %d, e.g. %s" % (lost, "; ".join(examples["LOST: accepted, user message not stored"])))
    return lost == 0


def main():
    p = argparse.ArgumentParser(description="Soak run: concurrent streamed turns, disconnects, an upstream "
                                            "outage and a kill -9 of the host (issue 14).")
    p.add_argument("--turns", type=int, default=1000)
    p.add_argument("--concurrency", type=int, default=1000, help="most turns open at once (default 1000)")
    p.add_argument("--disconnect-share", type=float, default=0.3)
    p.add_argument("--bin", default=os.environ.get("SWITCHBOARD_BIN", os.path.join(REPO, "build", "switchboard")))
    p.add_argument("--plugin-dir", default=os.environ.get("SWITCHBOARD_PLUGIN_DIR",
                                                          os.path.join(REPO, "build", "plugins")))
    p.add_argument("--quick", action="store_true", help="100 turns, under a minute")
    p.add_argument("--tokens", type=int, default=40, help="tokens per upstream reply")
    p.add_argument("--token-ms", type=int, default=100, help="pause before each token")
    p.add_argument("--more-turns", type=int, default=None,
                   help="turns sent after the host restarted (default: a fifth of --turns)")
    p.add_argument("--ramp-s", type=float, default=1.5, help="the --turns start evenly over this")
    p.add_argument("--ramp2-s", type=float, default=1.0, help="the --more-turns start evenly over this")
    p.add_argument("--outage-at", type=float, default=0.3, help="upstream killed this long after the first turn")
    p.add_argument("--outage-s", type=float, default=2.0, help="and restarted this long after")
    p.add_argument("--kill-at", type=float, default=7.0, help="host kill -9 this long after the first turn")
    p.add_argument("--retry-attempts", type=int, default=10)
    p.add_argument("--retry-max-wait-ms", type=int, default=10000)
    p.add_argument("--breaker-failures", type=int, default=1000)
    p.add_argument("--breaker-cooldown-ms", type=int, default=100)
    p.add_argument("--turn-timeout", type=float, default=60.0, help="a turn still open after this is abandoned")
    p.add_argument("--seed", type=int, default=14)
    p.add_argument("--keep", action="store_true", help="keep the work directory (database, logs, turns.json)")
    p.add_argument("--log-level", default="warning", help="the host's --log-level (information shows each retry)")
    p.add_argument("--upstream", type=int, help=argparse.SUPPRESS)
    args = p.parse_args()
    raise_fd_limit()
    if args.upstream:
        try:
            asyncio.run(upstream_main(args.upstream, args.tokens, args.token_ms))
        except KeyboardInterrupt:
            pass
        return 0
    if args.quick:
        args.turns = 100
    if args.more_turns is None:
        args.more_turns = args.turns // 5
    if not os.path.exists(args.bin):
        print("no host binary at %s (build it, or pass --bin)" % args.bin, file=sys.stderr)
        return 2
    if args.ramp_s >= args.kill_at:
        print("--ramp-s must end before --kill-at", file=sys.stderr)
        return 2
    try:
        return asyncio.run(soak(args))
    except RuntimeError as e:
        print("soak: %s" % e, file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
