// File: host/http/api_json.cpp
//
// Strict request readers, response writers and the error-kind → status table.
#include "host/http/api_json.h"

#include "host/http/router.h"
#include "host/log.h"

#include <Poco/Net/HTTPServerRequest.h>
#include <Poco/URI.h>

#include <cmath>
#include <limits>

namespace switchboard::http {

namespace {

HttpError bad_field(const std::string& key, const std::string& message) {
  return HttpError{400, "invalid_" + key, message};
}

}  // namespace

std::string dump(const Json& j) { return j.dump(-1, ' ', false, Json::error_handler_t::replace); }

Json parse_object(const std::string& body, std::initializer_list<std::string_view> allowed) {
  Json j;
  try {
    j = Json::parse(body);
  } catch (const Json::parse_error& e) {
    throw HttpError{400, "invalid_json", std::string("request body is not valid JSON: ") + e.what()};
  }
  if (!j.is_object()) throw HttpError{400, "invalid_json", "request body must be a JSON object"};
  for (const auto& [key, value] : j.items()) {
    bool known = false;
    for (auto a : allowed) known = known || key == a;
    if (!known) throw HttpError{400, "unknown_field", "unknown field \"" + key + "\""};
  }
  return j;
}

std::optional<std::string> opt_string(const Json& o, const std::string& key) {
  if (!o.contains(key) || o[key].is_null()) return std::nullopt;
  if (!o[key].is_string()) throw bad_field(key, key + " must be a string");
  return o[key].get<std::string>();
}

std::optional<std::int64_t> opt_int(const Json& o, const std::string& key) {
  if (!o.contains(key) || o[key].is_null()) return std::nullopt;
  const Json& v = o[key];
  if (v.is_number_integer()) return v.get<std::int64_t>();
  // 2048.0 is an integer written as a float; 2048.5 is not.
  if (v.is_number_float()) {
    const double d = v.get<double>();
    if (std::isfinite(d) && std::floor(d) == d && std::fabs(d) < 9.0e15)
      return static_cast<std::int64_t>(d);
  }
  throw bad_field(key, key + " must be an integer");
}

std::optional<double> opt_number(const Json& o, const std::string& key) {
  if (!o.contains(key) || o[key].is_null()) return std::nullopt;
  if (!o[key].is_number()) throw bad_field(key, key + " must be a number");
  return o[key].get<double>();
}

std::int64_t path_id(const std::string& segment, const std::string& what) {
  std::int64_t id = 0;
  if (segment.empty() || segment.size() > 18) throw bad_field(what, what + " must be a positive integer");
  for (char c : segment) {
    if (c < '0' || c > '9') throw bad_field(what, what + " must be a positive integer");
    id = id * 10 + (c - '0');
  }
  if (id <= 0) throw bad_field(what, what + " must be a positive integer");
  return id;
}

std::int64_t query_int(const std::string& query, const std::string& key, std::int64_t fallback) {
  Poco::URI uri("/?" + query);
  for (const auto& [k, v] : uri.getQueryParameters()) {
    if (k != key) continue;
    if (v.empty() || v.size() > 12 || v.find_first_not_of("0123456789") != std::string::npos)
      throw HttpError{400, "invalid_" + key, key + " must be a non-negative integer"};
    return std::stoll(v);
  }
  return fallback;
}

const Caller& caller_of(const Exchange& ex) {
  // The router authenticates every non-public route before its handler runs;
  // a handler asking on a public route is a bug.
  if (!ex.caller) throw std::logic_error("caller_of on a route without authentication: " + ex.path);
  return *ex.caller;
}

int status_for(ErrorKind kind) {
  switch (kind) {
    case ErrorKind::InvalidArgument: return 400;
    case ErrorKind::Unauthenticated: return 401;
    case ErrorKind::PermissionDenied: return 403;
    case ErrorKind::NotFound: return 404;
    case ErrorKind::Conflict: return 409;
    case ErrorKind::Unavailable: return 503;
    case ErrorKind::Upstream: return 502;
    case ErrorKind::UpstreamTimeout: return 504;
    case ErrorKind::ShuttingDown: return 503;
    case ErrorKind::Internal: return 500;
  }
  return 500;
}

void send_service_error(Exchange& ex, const Error& error) {
  if (error.kind == ErrorKind::Internal) {
    log::http().error(ex.request.getMethod() + " " + ex.path + " failed: " + error.code + ": " + error.message);
    return send_error(ex, 500, "internal", "internal server error");
  }
  send_error(ex, status_for(error.kind), error.code, error.message);
}

Json to_json(const ConfigInfo& c) {
  Json options = Json::object();
  try {
    options = Json::parse(c.options_json);
  } catch (const Json::exception&) {
  }
  return {{"id", c.id},
          {"name", c.name},
          {"provider", c.provider},
          {"model_name", c.model_name},
          {"base_url", c.base_url},
          {"options", options},
          {"has_api_key", c.has_api_key},
          {"secret_fields", c.secret_fields},
          {"shared", c.shared},
          {"created_at_ms", c.created_at_ms},
          {"updated_at_ms", c.updated_at_ms}};
}

Json to_json(const SessionInfo& s) {
  return {{"id", s.id},
          {"title", s.title},
          {"config_id", s.config_id},
          {"config", to_json(s.config)},
          {"created_at_ms", s.created_at_ms},
          {"updated_at_ms", s.updated_at_ms}};
}

Json to_json(const storage::Message& m) {
  Json j = {{"id", m.id},
            {"session_id", m.session_id},
            {"role", m.role},
            {"content", m.content},
            {"status", m.status},
            {"llm_provider", m.llm_provider},
            {"llm_model_name", m.llm_model_name},
            {"config_id", m.config_id ? Json(*m.config_id) : Json(nullptr)},
            {"prompt_tokens", m.prompt_tokens},
            {"completion_tokens", m.completion_tokens},
            {"finish_reason", m.finish_reason.empty() ? Json(nullptr) : Json(m.finish_reason)},
            {"created_at_ms", m.created_at_ms}};
  if (!m.error_code.empty())
    j["error"] = {{"code", m.error_code}, {"message", m.error_message}};
  else
    j["error"] = nullptr;
  return j;
}

}  // namespace switchboard::http
