#!/usr/bin/env python3
# File: tests/bench/connection_cost.py
#
# What an open connection costs the host: starts build/switchboard as its own
# process, holds N sockets open in three shapes (idle, kept alive after one
# request, a request head that never ends) and reads the host's threads and RSS.
"""Usage: tests/bench/connection_cost.py [--host-bin=build/switchboard]
       [--plugin-dir=build/plugins] [--connections=1000] [--settle=1.5]"""

import argparse
import os
import resource
import socket
import subprocess
import sys
import tempfile
import time


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def status(pid):
    fields = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            key, _, value = line.partition(":")
            fields[key] = value.strip()
    return int(fields["Threads"]), int(fields["VmRSS"].split()[0]) / 1024.0


def healthz(port, timeout=5.0):
    """Milliseconds a fresh client waits for /healthz, or None."""
    started = time.monotonic()
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
            s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            data = b""
            while b"\r\n\r\n" not in data:
                chunk = s.recv(4096)
                if not chunk:
                    break
                data += chunk
            if not data.startswith(b"HTTP/1.1 200"):
                return None
    except OSError:
        return None
    return (time.monotonic() - started) * 1000.0


def open_many(port, n, shape):
    socks = []
    for _ in range(n):
        s = socket.create_connection(("127.0.0.1", port), timeout=10)
        if shape == "keepalive":
            s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
            data = b""
            while not data.endswith(b'{"status":"ok"}'):
                chunk = s.recv(4096)
                if not chunk:
                    raise RuntimeError("host closed a keep-alive connection")
                data += chunk
        elif shape == "partial-head":
            s.sendall(b"GET /healthz HTTP/1.1\r\nX-Slow: ")
        socks.append(s)
    return socks


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--host-bin", default="build/switchboard")
    p.add_argument("--plugin-dir", default="build/plugins")
    p.add_argument("--connections", type=int, default=1000)
    p.add_argument("--settle", type=float, default=1.5)
    p.add_argument("--extra", default="", help="more host options, space separated")
    a = p.parse_args()

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))

    tmp = tempfile.mkdtemp(prefix="switchboard_cost_")
    manifest = os.path.join(tmp, "plugins.json")
    with open(manifest, "w") as f:
        f.write('{"plugins": [{"name": "mock", "library": "libswitchboard_mock.so"}],'
                ' "default_config": {"name": "mock-echo", "provider": "mock", "model_name": "mock-echo"}}')
    port = free_port()
    cmd = [a.host_bin, f"--port={port}", f"--db={os.path.join(tmp, 'db.sqlite')}",
           f"--plugins={manifest}", f"--plugin-dir={a.plugin_dir}", "--log-level=warning"]
    cmd += a.extra.split()
    host = subprocess.Popen(cmd)
    try:
        deadline = time.monotonic() + 20
        while healthz(port, 1.0) is None:
            if time.monotonic() > deadline or host.poll() is not None:
                sys.exit("the host did not start")
            time.sleep(0.05)
        time.sleep(a.settle)
        threads0, rss0 = status(host.pid)
        print(f"| shape | connections | host threads | host RSS MB | /healthz ms meanwhile |")
        print(f"|---|---|---|---|---|")
        print(f"| none | 0 | {threads0} | {rss0:.1f} | {healthz(port):.1f} |")
        for shape in ("idle", "keepalive", "partial-head"):
            socks = open_many(port, a.connections, shape)
            time.sleep(a.settle)
            threads, rss = status(host.pid)
            ms = healthz(port)
            shown = "timeout/refused" if ms is None else f"{ms:.1f}"
            print(f"| {shape} | {len(socks)} | {threads} | {rss:.1f} | {shown} |")
            for s in socks:
                s.close()
            time.sleep(a.settle)
    finally:
        host.terminate()
        host.wait(timeout=30)


if __name__ == "__main__":
    main()
