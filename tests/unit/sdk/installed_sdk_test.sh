#!/usr/bin/env bash
# The SDK as a plugin author gets it: `cmake --install` into a fresh prefix,
# the example plugin copied out of the source tree and built against the
# installed package (CMake find_package, then pkg-config), checked with
# switchboard-plugin-check (and the checker shown failing a broken library and
# an incomplete run), then dropped into a running switchboard that has no
# plugins.json, where it is live within two seconds.
# Needs: SB_BUILD_DIR, SB_SOURCE_DIR, SB_PLUGIN_CHECK, SB_HOST, SB_BROKEN_PLUGIN.
set -euo pipefail

fail() { echo "FAIL: $*" >&2; exit 1; }
work=$(mktemp -d)
host_pid=
cleanup() {
  [[ -n "$host_pid" ]] && kill "$host_pid" 2>/dev/null && wait "$host_pid" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT

# 1. Install the SDK alone, and find what it installed.
prefix=$work/prefix
cmake --install "$SB_BUILD_DIR" --prefix "$prefix" --component sdk >/dev/null
for f in include/switchboard/provider.h include/switchboard/provider.hpp; do
  [[ -f "$prefix/$f" ]] || fail "$f not installed"
done
config=$(find "$prefix" -name SwitchboardSDKConfig.cmake)
pc=$(find "$prefix" -name switchboard-sdk.pc)
[[ -n "$config" ]] || fail "SwitchboardSDKConfig.cmake not installed"
[[ -n "$pc" ]] || fail "switchboard-sdk.pc not installed"
! find "$prefix" -name '*.a' -o -name '*.so' | grep -q . || fail "the sdk component installed a library"

# 2. The example, out of tree, with find_package(SwitchboardSDK).
cp -r "$SB_SOURCE_DIR/sdk/examples/shout" "$work/shout"
cmake -S "$work/shout" -B "$work/shout-build" -DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$work/shout-build" >/dev/null
lib=$work/shout-build/libshout.so
[[ -f "$lib" ]] || fail "libshout.so was not built"
exported=$(nm -D --defined-only "$lib" | awk '{print $3}' | sort | tr '\n' ' ')
[[ "$exported" == "sb_provider_entry " ]] || fail "libshout.so exports more than sb_provider_entry: $exported"
readelf -Ws --dyn-syms "$lib" | grep -q UNIQUE && fail "libshout.so has GNU unique symbols: a host could never unload it"

# 3. The same with pkg-config.
PKG_CONFIG_PATH=$(dirname "$pc") pkg-config --exists switchboard-sdk || fail "pkg-config does not find switchboard-sdk"
# shellcheck disable=SC2046
g++ -std=c++17 -shared -fPIC $(PKG_CONFIG_PATH=$(dirname "$pc") pkg-config --cflags --libs switchboard-sdk) \
  "$work/shout/shout.cpp" -o "$work/libshout_pc.so"
[[ "$(nm -D --defined-only "$work/libshout_pc.so" | awk '{print $3}')" == "sb_provider_entry" ]] ||
  fail "the pkg-config build exports more than sb_provider_entry"

# 4. The checker: the example passes every check ...
report=$("$SB_PLUGIN_CHECK" "$lib" --slow-options '{"delay_ms": 300, "repeat": 10}' --failing-options '{"fail": true}') ||
  fail "the checker failed the example: $report"
echo "$report"
grep -q "^  name *shout$" <<<"$report" || fail "no name in the report"
grep -q "^  plugin ABI *1\.2$" <<<"$report" || fail "no ABI in the report"
grep -q "^10 of 10 checks passed$" <<<"$report" || fail "not every check passed"
# ... fails a run without a slow request, saying why ...
set +e
partial=$("$SB_PLUGIN_CHECK" "$lib" --failing-options '{"fail": true}'); rc=$?
set -e
[[ $rc -eq 1 ]] || fail "a failed check exited $rc, not 1: $partial"
grep -q "FAIL  stops within 100 ms while silent" <<<"$partial" || fail "no FAIL line: $partial"
grep -q -- "--slow-model/--slow-options" <<<"$partial" || fail "the FAIL does not say how to fix the run: $partial"
# ... and refuses a broken library with the host's reason.
set +e
broken=$("$SB_PLUGIN_CHECK" "$SB_BROKEN_PLUGIN"); rc=$?
set -e
echo "$broken"
[[ $rc -eq 2 ]] || fail "a broken library exited $rc, not 2"
grep -q "NOT LOADED .*major versions differ" <<<"$broken" || fail "no reason for the broken library: $broken"

# 5. Drop it into a running host without plugins.json: live within 2 s.
mkdir -m 0755 "$work/plugins" "$work/host"
key="sbk_installed-sdk-test-0123456789abcdefghijkl"
echo "$key" >"$work/host/admin.key"
: >"$work/host/log"  # there before the first read, whenever the background shell opens it
"$SB_HOST" --port=0 --db="$work/host/switchboard.db" --plugins="$work/host/plugins.json" \
  --plugin-dir="$work/plugins" --admin-key-file="$work/host/admin.key" >>"$work/host/log" 2>&1 &
host_pid=$!
for _ in $(seq 100); do
  port=$(sed -n 's/.*listening on 127\.0\.0\.1:\([0-9]*\).*/\1/p' "$work/host/log")
  [[ -n "$port" ]] && break
  sleep 0.1
done
[[ -n "$port" ]] || fail "the host did not start: $(cat "$work/host/log")"
auth=(-H "Authorization: Bearer $key")
[[ "$(curl -s "${auth[@]}" "127.0.0.1:$port/api/providers")" == '{"providers":[]}' ]] || fail "providers before the drop"
cp "$lib" "$work/plugins/.libshout.so.part" && mv "$work/plugins/.libshout.so.part" "$work/plugins/libshout.so"
start=$(date +%s%N)
until curl -s "${auth[@]}" "127.0.0.1:$port/api/providers" | grep -q '"name":"shout"'; do
  (($(date +%s%N) - start < 2000000000)) || fail "shout not listed within 2 s: $(cat "$work/host/log")"
  sleep 0.05
done
json=(-H 'Content-Type: application/json')
curl -sf "${auth[@]}" "${json[@]}" "127.0.0.1:$port/api/configs" -d '{"name": "shout", "provider": "shout"}' >/dev/null ||
  fail "cannot create a shout config"
session=$(curl -sf "${auth[@]}" "${json[@]}" "127.0.0.1:$port/api/sessions" -d '{"config_id": 1}' | sed 's/.*"id":\([0-9]*\).*/\1/')
reply=$(curl -sf "${auth[@]}" "${json[@]}" "127.0.0.1:$port/api/chat" -d "{\"session_id\": $session, \"user_message\": \"hello there\"}")
grep -q '"content":"HELLO THERE"' <<<"$reply" || fail "shout did not shout: $reply"
# SIGHUP reloads too (and is no reason to exit).
kill -HUP "$host_pid"
for _ in $(seq 50); do
  grep -q "SIGHUP: reloading plugins" "$work/host/log" && break
  sleep 0.1
done
grep -q "SIGHUP: reloading plugins" "$work/host/log" || fail "SIGHUP not logged: $(cat "$work/host/log")"
kill -0 "$host_pid" || fail "SIGHUP stopped the host"
echo "PASS: the installed SDK builds the example out of tree; the checker reports it; the host takes it live"
