// File: host/http/api_routes.h
//
// The native HTTP API: which routes exist and what each answers. Handlers
// parse JSON into native types at the edge and call services; they never
// touch the database.
#pragma once

#include <cstddef>
#include <string>

namespace switchboard {
class PluginRegistry;
class PluginWatcher;
class ConfigService;
class SessionService;
class ChatService;
class CompletionService;
class AuthService;
}  // namespace switchboard

namespace switchboard::http {

class Router;

struct ApiContext {
  PluginRegistry& registry;
  ConfigService& configs;
  SessionService& sessions;
  ChatService& chat;
  AuthService& auth;
  std::size_t max_body_bytes;
  int sse_keepalive_ms;
  PluginWatcher* plugin_watcher;  // null: no watcher (nothing is being written)
};

// /healthz, /api/providers, /api/providers/reload, /api/configs..., /api/preferences, /api/sessions...
void register_api_routes(Router& router, ApiContext& context);
// /api/chat and /api/chat/stream
void register_chat_routes(Router& router, ApiContext& context);
// /v1/models and /v1/chat/completions (OpenAI-compatible, stateless)
void register_openai_routes(Router& router, ApiContext& context, CompletionService& completions);
// /api/me, /api/users..., /api/keys..., /api/audit
void register_trust_routes(Router& router, ApiContext& context);
// /metrics (Prometheus text)
void register_metrics_routes(Router& router, ConfigService& configs);

}  // namespace switchboard::http
