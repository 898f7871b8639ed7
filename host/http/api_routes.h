// File: host/http/api_routes.h
//
// The native HTTP API: which routes exist and what each answers. Handlers
// parse JSON into native types at the edge and call services; they never
// touch the database.
#pragma once

#include <cstddef>

namespace switchboard {
class PluginRegistry;
}

namespace switchboard::http {

class Router;

struct ApiContext {
  const PluginRegistry& registry;
  std::size_t max_body_bytes;
};

void register_api_routes(Router& router, ApiContext& context);

}  // namespace switchboard::http
