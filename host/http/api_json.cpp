// File: host/http/api_json.cpp
//
// Strict request readers, response writers and the error-kind → status table.
#include "host/http/api_json.h"

#include "host/http/router.h"
#include "host/json_depth.h"
#include "host/log.h"

#include <Poco/Net/HTTPServerRequest.h>

#include <cmath>
#include <limits>

namespace switchboard::http {

namespace {

HttpError bad_field(const std::string& key, const std::string& message) {
  return HttpError{400, "invalid_" + key, message};
}

}  // namespace

std::string dump(const Json& j) { return j.dump(-1, ' ', false, Json::error_handler_t::replace); }

Json parse_json_body(std::string_view body) {
  if (json_nests_deeper_than(body, kMaxJsonDepth))
    throw HttpError{400, "invalid_json",
                    "request body nests arrays and objects deeper than " + std::to_string(kMaxJsonDepth) +
                        " levels, the limit"};
  try {
    return Json::parse(body);
  } catch (const Json::parse_error& e) {
    throw HttpError{400, "invalid_json", std::string("request body is not valid JSON: ") + e.what()};
  } catch (const Json::exception& e) {
    // out_of_range: a number beyond double (1e400).
    throw HttpError{400, "invalid_json", std::string("request body holds a value out of range: ") + e.what()};
  }
}

Json parse_object(const std::string& body, std::initializer_list<std::string_view> allowed) {
  Json j = parse_json_body(body);
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
  std::string value = o[key].get<std::string>();
  // Stored whole but read back cut at the NUL: no field has a use for one.
  if (value.find('\0') != std::string::npos) throw bad_field(key, key + " must not contain NUL characters");
  return value;
}

std::optional<std::int64_t> opt_int(const Json& o, const std::string& key) {
  if (!o.contains(key) || o[key].is_null()) return std::nullopt;
  const Json& v = o[key];
  // An unsigned value above INT64_MAX would wrap to a negative one.
  if (v.is_number_unsigned() && v.get<std::uint64_t>() > static_cast<std::uint64_t>(INT64_MAX))
    throw bad_field(key, key + " is out of range");
  if (v.is_number_integer()) return v.get<std::int64_t>();
  // 2048.0 is an integer written as a float; 2048.5 is not.
  if (v.is_number_float()) {
    const double d = v.get<double>();
    if (std::isfinite(d) && std::floor(d) == d && std::fabs(d) < 9.0e15)
      return static_cast<std::int64_t>(d);
  }
  throw bad_field(key, key + " must be an integer");
}

std::optional<std::int64_t> opt_id(const Json& o, const std::string& key) {
  const auto id = opt_int(o, key);
  if (id && *id <= 0) throw bad_field(key, key + " must be a positive integer");
  return id;
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

namespace {

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// One name or value of a query string, %-escapes and '+' decoded; a malformed
// escape is a 400, not a 500.
std::string query_decode(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '+') {
      out += ' ';
    } else if (text[i] != '%') {
      out += text[i];
    } else {
      const int hi = i + 2 < text.size() ? hex_value(text[i + 1]) : -1;
      const int lo = i + 2 < text.size() ? hex_value(text[i + 2]) : -1;
      if (hi < 0 || lo < 0) throw HttpError{400, "invalid_query", "the query string has a malformed %-escape"};
      out += static_cast<char>(hi * 16 + lo);
      i += 2;
    }
  }
  return out;
}

}  // namespace

std::optional<std::string> query_param(std::string_view query, std::string_view key) {
  std::optional<std::string> found;
  while (!query.empty()) {
    const std::size_t amp = query.find('&');
    const std::string_view pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    if (pair.empty()) continue;
    const std::size_t eq = pair.find('=');
    // Every pair is decoded, so a malformed escape anywhere is refused.
    const std::string name = query_decode(pair.substr(0, eq));
    std::string value = eq == std::string_view::npos ? std::string() : query_decode(pair.substr(eq + 1));
    if (name == key && !found) found = std::move(value);
  }
  return found;
}

std::int64_t query_int(const std::string& query, const std::string& key, std::int64_t fallback) {
  const auto v = query_param(query, key);
  if (!v) return fallback;
  if (v->empty() || v->size() > 12 || v->find_first_not_of("0123456789") != std::string::npos)
    throw HttpError{400, "invalid_" + key, key + " must be a non-negative integer"};
  return std::stoll(*v);
}

namespace {

// What every turn may set beside its message: temperature, max_tokens, a
// config for this turn, provider options.
void read_turn_settings(const Json& body, TurnRequest& r) {
  r.temperature = opt_number(body, "temperature");
  r.max_tokens = opt_int(body, "max_tokens").value_or(2048);
  r.config_id = opt_id(body, "config_id");
  if (body.contains("options")) {
    if (!body["options"].is_object()) throw HttpError{400, "invalid_options", "options must be a JSON object"};
    r.options_json = dump(body["options"]);
  }
}

}  // namespace

TurnRequest turn_request(const std::string& body_text) {
  const Json body = parse_object(body_text,
                                 {"session_id", "user_message", "temperature", "max_tokens", "config_id", "options"});
  TurnRequest r;
  const auto session_id = opt_id(body, "session_id");
  if (!session_id) throw HttpError{400, "invalid_session_id", "session_id is required"};
  r.session_id = *session_id;
  const auto message = opt_string(body, "user_message");
  if (!message) throw HttpError{400, "invalid_user_message", "user_message is required"};
  r.user_message = *message;
  read_turn_settings(body, r);
  return r;
}

TurnRequest message_turn_request(const std::string& body_text, std::int64_t session_id, std::int64_t message_id,
                                 bool edit) {
  const Json body = edit ? parse_object(body_text, {"user_message", "temperature", "max_tokens", "config_id", "options"})
                         : parse_object(body_text.empty() ? "{}" : body_text,
                                        {"temperature", "max_tokens", "config_id", "options"});
  TurnRequest r;
  r.session_id = session_id;
  if (edit) {
    const auto message = opt_string(body, "user_message");
    if (!message) throw HttpError{400, "invalid_user_message", "user_message (the new text) is required"};
    r.user_message = *message;
    r.edit_of = message_id;
  } else {
    r.regenerate_of = message_id;
  }
  read_turn_settings(body, r);
  return r;
}

ConfigInput config_input(const std::string& body_text) {
  const Json body = parse_object(body_text, {"name", "provider", "model_name", "base_url", "api_key", "options"});
  ConfigInput in;
  in.name = opt_string(body, "name");
  in.provider = opt_string(body, "provider");
  in.model_name = opt_string(body, "model_name");
  in.base_url = opt_string(body, "base_url");
  if (body.contains("options")) {
    if (!body["options"].is_object()) throw HttpError{400, "invalid_options", "options must be a JSON object"};
    in.options_json = dump(body["options"]);
  }
  if (body.contains("api_key")) {
    // null clears the key; a string sets it. It is never sent back.
    if (!body["api_key"].is_null() && !body["api_key"].is_string())
      throw HttpError{400, "invalid_api_key", "api_key must be a string or null"};
    in.api_key = opt_string(body, "api_key");
  }
  return in;
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
          {"breaker",
           {{"state", breaker_state_name(c.breaker.state)},
            {"consecutive_failures", c.breaker.consecutive_failures},
            {"open_until_ms", c.breaker.state == BreakerState::Open ? Json(c.breaker.opens_until_ms) : Json(nullptr)}}},
          {"created_at_ms", c.created_at_ms},
          {"updated_at_ms", c.updated_at_ms}};
}

Json to_json(const SessionInfo& s) {
  return {{"id", s.id},
          {"title", s.title},
          {"system_prompt", s.system_prompt},
          {"temperature", s.temperature ? Json(*s.temperature) : Json(nullptr)},
          {"config_id", s.config_id},
          {"config", to_json(s.config)},
          {"created_at_ms", s.created_at_ms},
          {"updated_at_ms", s.updated_at_ms},
          {"message_count", s.message_count}};
}

Json to_json(const storage::Message& m) {
  Json j = {{"id", m.id},
            {"session_id", m.session_id},
            {"role", m.role},
            {"content", m.content},
            {"status", storage::status_name(m.status)},
            {"llm_provider", m.llm_provider},
            {"llm_model_name", m.llm_model_name},
            {"config_id", m.config_id ? Json(*m.config_id) : Json(nullptr)},
            {"prompt_tokens", m.prompt_tokens},
            {"completion_tokens", m.completion_tokens},
            {"finish_reason", m.finish_reason.empty() ? Json(nullptr) : Json(m.finish_reason)},
            {"created_at_ms", m.created_at_ms},
            {"reply_to", m.reply_to ? Json(*m.reply_to) : Json(nullptr)},
            {"superseded", m.superseded}};
  if (!m.error_code.empty())
    j["error"] = {{"code", m.error_code}, {"message", m.error_message}};
  else
    j["error"] = nullptr;
  return j;
}

}  // namespace switchboard::http
