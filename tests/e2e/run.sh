#!/usr/bin/env bash
# The browser end-to-end test: installs Debian's chromium and the pinned npm
# packages when missing, then runs the test against a built host
# (SWITCHBOARD_BIN, SWITCHBOARD_PLUGIN_DIR). Screenshots go to artifacts/.
set -euo pipefail
cd "$(dirname "$0")"
if [[ ! -x /usr/bin/chromium ]]; then
  sudo_cmd=()
  [[ $(id -u) -ne 0 ]] && sudo_cmd=(sudo)
  "${sudo_cmd[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq chromium
fi
if [[ ! -d node_modules/playwright-core || ! -d node_modules/axe-core ]]; then
  npm ci --no-audit --no-fund --loglevel=error
fi
exec node --test --test-concurrency=1 chat_page.test.mjs chat_tools.test.mjs
