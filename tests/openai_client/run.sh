#!/usr/bin/env bash
# Runs the official-openai-client test: installs the pinned npm packages when
# missing, then node's test runner. Expects a built host (SWITCHBOARD_BIN).
set -euo pipefail
cd "$(dirname "$0")"
if [[ ! -d node_modules/openai ]]; then
  npm ci --no-audit --no-fund --loglevel=error
fi
exec node --test openai_client.test.mjs
