// File: host/http/api_routes.cpp
//
// Route handlers of the native API (/healthz, /api/...).
#include "host/http/api_routes.h"

#include "host/http/json_response.h"
#include "host/http/router.h"
#include "host/plugins/plugin_registry.h"

#include <nlohmann/json.hpp>

namespace switchboard::http {

namespace {

using Json = nlohmann::json;

std::string dump(const Json& j) { return j.dump(-1, ' ', false, Json::error_handler_t::replace); }

Json provider_report_json(const PluginReport& r) {
  Json j = {{"name", r.name}, {"loaded", r.loaded}, {"file", r.file}};
  if (r.loaded) {
    const auto& d = r.provider->description();
    j["version"] = d.version;
    j["description"] = d.description;
    j["abi"] = std::to_string(r.provider->abi_major()) + "." + std::to_string(r.provider->abi_minor());
    j["default_config"] = Json::parse(d.default_config_json);
    j["config_schema"] = Json::parse(d.config_schema_json);
  } else {
    j["error"] = r.error;
  }
  return j;
}

}  // namespace

void register_api_routes(Router& router, ApiContext& context) {
  router.add("GET", "/healthz", [](Exchange& ex) { send_json(ex, 200, R"({"status":"ok"})"); });

  router.add("GET", "/api/providers", [&context](Exchange& ex) {
    Json list = Json::array();
    for (const auto& r : context.registry.reports()) list.push_back(provider_report_json(r));
    send_json(ex, 200, dump({{"providers", list}}));
  });
}

}  // namespace switchboard::http
