// File: host/http/api_json.h
//
// JSON at the edge: strict readers that turn a request body into native
// values (a wrong type or unknown field is a 400 naming the field), writers
// for the service types, and the one table from error kinds to HTTP statuses.
#pragma once

#include "host/http/json_response.h"
#include "host/services/chat_service.h"
#include "host/services/config_service.h"
#include "host/services/result.h"
#include "host/services/session_service.h"

#include <nlohmann/json.hpp>

#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>

namespace switchboard::http {

struct Exchange;
using Json = nlohmann::json;

// Every JSON body from a client goes through here: deeper than kMaxJsonDepth
// (host/json_depth.h), not JSON, or a number beyond double is a 400
// invalid_json, before anything recursive touches it.
Json parse_json_body(std::string_view body);
// Parses a request body that must be a JSON object with only `allowed` keys.
Json parse_object(const std::string& body, std::initializer_list<std::string_view> allowed);

// Typed fields; a wrong type, a NUL in a string or an integer outside int64
// is a 400 naming the field.
std::optional<std::string> opt_string(const Json& object, const std::string& key);
std::optional<std::int64_t> opt_int(const Json& object, const std::string& key);
std::optional<std::int64_t> opt_id(const Json& object, const std::string& key);  // > 0
std::optional<double> opt_number(const Json& object, const std::string& key);
// An id from a path segment: a positive integer, else 400 naming `what`.
std::int64_t path_id(const std::string& segment, const std::string& what);
// The first value of `key` in a query string, decoded; a malformed %-escape
// anywhere in the query is a 400 invalid_query.
std::optional<std::string> query_param(std::string_view query, std::string_view key);
// An integer from the query string, e.g. limit=50; 400 naming `key` when malformed.
std::int64_t query_int(const std::string& query, const std::string& key, std::int64_t fallback);

// The native API's request bodies, read into service inputs (400 on anything
// off). Pure functions of the body, so the fuzz target drives them directly.
TurnRequest turn_request(const std::string& body);  // without the caller
// The body of a regenerate (all optional: temperature, max_tokens, config_id,
// options) or an edit (user_message required, the same options) of a message.
TurnRequest message_turn_request(const std::string& body, std::int64_t session_id, std::int64_t message_id,
                                 bool edit);
ConfigInput config_input(const std::string& body);
// The authenticated caller of a non-public route.
const Caller& caller_of(const Exchange& ex);

int status_for(ErrorKind kind);
// Sends a service error; Internal errors are logged in full and answered generically.
void send_service_error(Exchange& ex, const Error& error);

std::string dump(const Json& j);
Json to_json(const ConfigInfo& c);
Json to_json(const SessionInfo& s);
Json to_json(const storage::Message& m);

// Answers `result` as JSON with `status`, or its error.
template <typename T, typename F>
void reply(Exchange& ex, const Result<T>& result, int status, F&& to) {
  if (!result) return send_service_error(ex, result.error());
  send_json(ex, status, dump(to(result.value())));
}

}  // namespace switchboard::http
