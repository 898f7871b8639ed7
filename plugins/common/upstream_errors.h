// File: plugins/common/upstream_errors.h
//
// One mapping from an upstream's HTTP failure to Switchboard's stable error
// codes, with the upstream's own message pulled out of its JSON error body
// (never the raw body), and the API key scrubbed from anything that could
// reach a log.
#pragma once

#include "http_client.h"

#include <string>
#include <vector>

namespace switchboard::plugins {

// Throws sdk::Error for a non-2xx result:
// 401/403 upstream_auth, 404 model_not_found (or upstream_rejected when the
// body does not speak of a model), 429 upstream_rate_limited (with
// Retry-After), other 4xx upstream_rejected, 5xx upstream_error.
[[noreturn]] void throw_for_status(const HttpResult& result, const std::string& model, const std::string& secret);

// The upstream's own message from its JSON error body ({"error":{"message"}},
// Ollama's {"error":"..."}, or a top-level {"message"}), cut to 500 characters
// with control characters blanked; "" when the body holds none (an HTML page,
// plain text, anything else): raw bodies never reach the caller.
std::string upstream_message(const std::string& body);

// What the caller is told of a failed answer: upstream_message(), else the
// status with its standard reason phrase ("HTTP 502 Bad Gateway").
std::string failure_text(const HttpResult& result);

inline constexpr std::size_t kMaxUpstreamMessageChars = 500;

// `text` with every occurrence of `secret` replaced.
std::string redact(std::string text, const std::string& secret);

// GETs a model list and returns element[name_key] of each element of the
// array at list_key ({"data":[{"id"}]} for OpenAI, {"models":[{"name"}]} for
// Ollama). Failures are thrown as sdk::Error like a chat's.
std::vector<std::string> fetch_names(HttpClient& client, const HttpRequest& request, const HttpSettings& settings,
                                     const char* list_key, const char* name_key, const std::string& secret);

}  // namespace switchboard::plugins
