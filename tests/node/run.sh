#!/usr/bin/env bash
# Runs the JavaScript tests (official openai client; mock-llm as upstream):
# installs the pinned npm packages when missing, then node's test runner.
# Expects a built host (SWITCHBOARD_BIN, SWITCHBOARD_PLUGIN_DIR).
set -euo pipefail
cd "$(dirname "$0")"
if [[ ! -d node_modules/openai || ! -d node_modules/@dwmkerr/mock-llm || ! -d node_modules/ai || ! -d node_modules/@langchain/openai || ! -d node_modules/@ai-sdk/openai-compatible ]]; then
  npm ci --no-audit --no-fund --loglevel=error
fi
exec node --test --test-concurrency=1 openai_client.test.mjs tool_loop.test.mjs frameworks.test.mjs mock_llm.test.mjs crash.test.mjs
