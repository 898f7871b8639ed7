// File: host/http/api_routes.cpp
//
// Route handlers of the native API except chat: health, providers, configs,
// the default config, preferences, sessions and their messages.
#include "host/http/api_routes.h"

#include "host/http/api_json.h"
#include "host/http/router.h"
#include "host/metrics.h"
#include "host/plugins/plugin_registry.h"
#include "host/plugins/plugin_watcher.h"

#include <Poco/Net/HTTPServerRequest.h>
#include <Poco/Net/HTTPServerResponse.h>

namespace switchboard::http {

namespace {

Json provider_report_json(const PluginReport& r) {
  Json j = {{"name", r.name}, {"loaded", r.loaded}, {"file", r.file},
            {"source", r.listed ? "plugins.json" : "discovered"}};
  if (r.loaded) {
    const auto& d = r.provider->description();
    j["version"] = d.version;
    j["description"] = d.description;
    j["abi"] = std::to_string(r.provider->abi_major()) + "." + std::to_string(r.provider->abi_minor());
    j["default_config"] = Json::parse(d.default_config_json);
    j["config_schema"] = Json::parse(d.config_schema_json);
    Json caps = Json::array();
    for (const auto& [on, name] : {std::pair{d.capabilities.tools, "tools"}, std::pair{d.capabilities.vision, "vision"},
                                   std::pair{d.capabilities.json_output, "json_output"},
                                   std::pair{d.capabilities.embeddings, "embeddings"},
                                   std::pair{d.capabilities.passthrough, "passthrough"}})
      if (on) caps.push_back(name);
    j["capabilities"] = std::move(caps);
  }
  if (!r.error.empty()) j["error"] = r.error;
  return j;
}

}  // namespace

void register_api_routes(Router& router, ApiContext& ctx) {
  const auto limit = ctx.max_body_bytes;

  router.add("GET", "/healthz", Access::Public, [](Exchange& ex) { send_json(ex, 200, R"({"status":"ok"})"); });

  router.add("GET", "/api/providers", Access::User, [&ctx](Exchange& ex) {
    Json list = Json::array();
    for (const auto& r : ctx.registry.reports()) list.push_back(provider_report_json(r));
    send_json(ex, 200, dump({{"providers", list}}));
  });
  // Admins only: loading a library runs its code.
  router.add("POST", "/api/providers/reload", Access::Admin, [&ctx](Exchange& ex) {
    const ReloadSummary s =
        ctx.registry.reload(ReloadTrigger::Request, ctx.plugin_watcher ? ctx.plugin_watcher->busy() : std::set<std::string>{});
    Json refused = Json::array();
    for (const auto& [file, error] : s.refused) refused.push_back({{"file", file}, {"error", error}});
    Json list = Json::array();
    for (const auto& r : ctx.registry.reports()) list.push_back(provider_report_json(r));
    Json body = {{"added", s.added}, {"replaced", s.replaced}, {"removed", s.removed}, {"refused", refused},
                 {"providers", list}};
    if (!s.manifest_error.empty()) body["manifest_error"] = s.manifest_error;
    send_json(ex, 200, dump(body));
  });

  // --- configs ---------------------------------------------------------------
  // Configs: any user reads the ones they may use; the service decides who
  // changes which (admins: shared configs; a user: their private ones).
  router.add("GET", "/api/configs", Access::User, [&ctx](Exchange& ex) {
    reply(ex, ctx.configs.list(caller_of(ex)), 200, [](const std::vector<ConfigInfo>& list) {
      Json arr = Json::array();
      for (const auto& c : list) arr.push_back(to_json(c));
      return Json{{"configs", arr}};
    });
  });
  router.add("POST", "/api/configs", Access::User, [&ctx, limit](Exchange& ex) {
    reply(ex, ctx.configs.create(caller_of(ex), config_input(read_body(ex, limit, true))), 201, [](const ConfigInfo& c) { return to_json(c); });
  });
  // Before /api/configs/{id}, which would otherwise take "default" as an id.
  router.add("GET", "/api/configs/default", Access::User, [&ctx](Exchange& ex) {
    reply(ex, ctx.configs.default_config(caller_of(ex)), 200, [](const ConfigInfo& c) { return to_json(c); });
  });
  router.add("GET", "/api/configs/{id}", Access::User, [&ctx](Exchange& ex) {
    reply(ex, ctx.configs.get(caller_of(ex), path_id(ex.params[0], "config_id")), 200,
          [](const ConfigInfo& c) { return to_json(c); });
  });
  router.add("PUT", "/api/configs/{id}", Access::User, [&ctx, limit](Exchange& ex) {
    const std::int64_t id = path_id(ex.params[0], "config_id");
    reply(ex, ctx.configs.update(caller_of(ex), id, config_input(read_body(ex, limit, true))), 200, [](const ConfigInfo& c) { return to_json(c); });
  });
  router.add("DELETE", "/api/configs/{id}", Access::User, [&ctx](Exchange& ex) {
    const auto r = ctx.configs.remove(caller_of(ex), path_id(ex.params[0], "config_id"));
    if (!r) return send_service_error(ex, r.error());
    send_json(ex, 200, R"({"deleted":true})");
  });

  // --- preferences -------------------------------------------------------------
  router.add("GET", "/api/preferences", Access::User, [&ctx](Exchange& ex) {
    reply(ex, ctx.configs.preferred(caller_of(ex)), 200, [](const std::optional<std::int64_t>& id) {
      return Json{{"default_config_id", id ? Json(*id) : Json(nullptr)}};
    });
  });
  router.add("PUT", "/api/preferences", Access::User, [&ctx, limit](Exchange& ex) {
    const Caller& caller = caller_of(ex);
    const Json body = parse_object(read_body(ex, limit, true), {"default_config_id"});
    if (!body.contains("default_config_id"))
      throw HttpError{400, "invalid_default_config_id", "default_config_id is required (an id, or null to clear)"};
    const auto id = opt_id(body, "default_config_id");
    if (!id) {
      const auto r = ctx.configs.clear_preferred(caller);
      if (!r) return send_service_error(ex, r.error());
      return send_json(ex, 200, R"({"default_config_id":null})");
    }
    reply(ex, ctx.configs.set_preferred(caller, *id), 200,
          [](const ConfigInfo& c) { return Json{{"default_config_id", c.id}, {"config", to_json(c)}}; });
  });

  // --- sessions ----------------------------------------------------------------
  router.add("GET", "/api/sessions", Access::User, [&ctx](Exchange& ex) {
    const std::int64_t lim = query_int(ex.query, "limit", 50);
    const std::int64_t off = query_int(ex.query, "offset", 0);
    reply(ex, ctx.sessions.list(caller_of(ex), lim, off), 200, [](const SessionPage& page) {
      Json arr = Json::array();
      for (const auto& s : page.sessions) arr.push_back(to_json(s));
      return Json{{"sessions", arr}, {"total", page.total}, {"limit", page.limit}, {"offset", page.offset}};
    });
  });
  router.add("POST", "/api/sessions", Access::User, [&ctx, limit](Exchange& ex) {
    const Caller& caller = caller_of(ex);
    const std::string raw = read_body(ex, limit, true);
    const Json body = parse_object(raw.empty() ? "{}" : raw, {"title", "config_id"});
    reply(ex, ctx.sessions.create(caller, opt_string(body, "title").value_or(""), opt_id(body, "config_id")),
          201, [](const SessionInfo& s) { return to_json(s); });
  });
  // Before /api/sessions/{id}, which would otherwise take "search" as an id.
  router.add("GET", "/api/sessions/search", Access::User, [&ctx](Exchange& ex) {
    const std::string text = query_param(ex.query, "q").value_or("");
    const std::int64_t lim = query_int(ex.query, "limit", 50);
    const std::int64_t off = query_int(ex.query, "offset", 0);
    reply(ex, ctx.sessions.search(caller_of(ex), text, lim, off), 200, [&text](const SessionPage& page) {
      Json arr = Json::array();
      for (const auto& s : page.sessions) arr.push_back(to_json(s));
      return Json{{"sessions", arr}, {"q", text}, {"total", page.total}, {"limit", page.limit}, {"offset", page.offset}};
    });
  });
  router.add("GET", "/api/sessions/{id}", Access::User, [&ctx](Exchange& ex) {
    reply(ex, ctx.sessions.get(caller_of(ex), path_id(ex.params[0], "session_id")), 200,
          [](const SessionInfo& s) { return to_json(s); });
  });
  router.add("PATCH", "/api/sessions/{id}", Access::User, [&ctx, limit](Exchange& ex) {
    const Caller& caller = caller_of(ex);
    const std::int64_t id = path_id(ex.params[0], "session_id");
    const Json body = parse_object(read_body(ex, limit, true), {"title", "config_id", "system_prompt", "temperature"});
    const auto title = opt_string(body, "title");
    const auto config_id = opt_id(body, "config_id");
    const auto system_prompt = opt_string(body, "system_prompt");
    // A number sets the session's temperature; null clears it.
    const bool temperature_given = body.contains("temperature");
    const auto temperature = opt_number(body, "temperature");
    if (!title && !config_id && !system_prompt && !temperature_given)
      throw HttpError{400, "invalid_body", "give a title, a config_id, a system_prompt, a temperature, or several"};
    if (system_prompt)
      if (auto ok = validate_system_prompt(*system_prompt); !ok) return send_service_error(ex, ok.error());
    if (temperature)
      if (auto ok = validate_temperature(*temperature); !ok) return send_service_error(ex, ok.error());
    // Validate both before changing either, so a bad field changes nothing.
    if (title) {
      if (auto ok = validate_title(*title); !ok) return send_service_error(ex, ok.error());
      if (title->empty()) throw HttpError{400, "invalid_title", "title must not be empty"};
    }
    if (config_id) {
      const auto r = ctx.sessions.switch_config(caller, id, *config_id);
      if (!r) return send_service_error(ex, r.error());
    }
    if (system_prompt) {
      const auto r = ctx.sessions.set_system_prompt(caller, id, *system_prompt);
      if (!r) return send_service_error(ex, r.error());
    }
    if (temperature_given) {
      const auto r = ctx.sessions.set_temperature(caller, id, temperature);
      if (!r) return send_service_error(ex, r.error());
    }
    if (title) return reply(ex, ctx.sessions.rename(caller, id, *title), 200,
                            [](const SessionInfo& s) { return to_json(s); });
    reply(ex, ctx.sessions.get(caller, id), 200, [](const SessionInfo& s) { return to_json(s); });
  });
  router.add("DELETE", "/api/sessions/{id}", Access::User, [&ctx](Exchange& ex) {
    const auto r = ctx.sessions.remove(caller_of(ex), path_id(ex.params[0], "session_id"));
    if (!r) return send_service_error(ex, r.error());
    send_json(ex, 200, R"({"deleted":true})");
  });
  // A whole session as a download: ?format=markdown (the default) or json.
  router.add("GET", "/api/sessions/{id}/export", Access::User, [&ctx](Exchange& ex) {
    const Caller& caller = caller_of(ex);
    const std::int64_t id = path_id(ex.params[0], "session_id");
    const std::string format = query_param(ex.query, "format").value_or("markdown");
    if (format != "markdown" && format != "json")
      throw HttpError{400, "invalid_format", "format must be markdown or json"};
    const auto session = ctx.sessions.get(caller, id);
    if (!session) return send_service_error(ex, session.error());
    const auto messages = ctx.sessions.messages(caller, id);
    if (!messages) return send_service_error(ex, messages.error());
    std::string body;
    if (format == "json") {
      Json arr = Json::array();
      for (const auto& m : messages.value()) arr.push_back(to_json(m));
      body = dump({{"session", to_json(session.value())}, {"messages", arr}});
    } else {
      body = session_markdown(session.value(), messages.value());
    }
    const std::string file = "session-" + std::to_string(id) + (format == "json" ? ".json" : ".md");
    ex.response.setStatusAndReason(Poco::Net::HTTPResponse::HTTP_OK);
    ex.response.setContentType(format == "json" ? "application/json" : "text/markdown; charset=utf-8");
    ex.response.set("Content-Disposition", "attachment; filename=\"" + file + "\"");
    ex.response.set("Cache-Control", "no-store");
    ex.response.setContentLength(static_cast<std::streamsize>(body.size()));
    ex.response.send().write(body.data(), static_cast<std::streamsize>(body.size()));
    ex.status = 200;
    ex.bytes_sent += body.size();
  });
  router.add("GET", "/api/sessions/{id}/messages", Access::User, [&ctx](Exchange& ex) {
    reply(ex, ctx.sessions.messages(caller_of(ex), path_id(ex.params[0], "session_id")), 200,
          [](const std::vector<storage::Message>& list) {
            Json arr = Json::array();
            for (const auto& m : list) arr.push_back(to_json(m));
            return Json{{"messages", arr}};
          });
  });
}

void register_metrics_routes(Router& router, ConfigService& configs) {
  router.add("GET", "/metrics", Access::Admin, [&configs](Exchange& ex) {
    std::string text = metrics::render_prometheus();
    // Each config's circuit breaker in this host: 0 closed, 1 open, 2 half open (one probe allowed).
    text += "# HELP switchboard_config_breaker_state Circuit breaker of each LLM config: 0 closed, 1 open, 2 half open\n"
            "# TYPE switchboard_config_breaker_state gauge\n";
    for (const auto& [id, view] : configs.breakers().all())
      text += "switchboard_config_breaker_state{config_id=\"" + std::to_string(id) + "\"} " +
              std::to_string(static_cast<int>(view.state)) + "\n";
    ex.response.setStatus(Poco::Net::HTTPResponse::HTTP_OK);
    ex.response.setContentType("text/plain; version=0.0.4");
    ex.response.setContentLength(static_cast<std::streamsize>(text.size()));
    ex.response.send() << text;
    ex.status = 200;
    ex.bytes_sent += text.size();
  });
}

}  // namespace switchboard::http
