// File: plugins/common/upstream_errors.h
//
// One mapping from an upstream's HTTP failure to Switchboard's stable error
// codes, with the upstream's own message pulled out of its error body, and
// the API key scrubbed from anything that could reach a log.
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

// The upstream's message from {"error":{"message"}} / {"error":"..."} / text.
std::string upstream_message(const std::string& body);

// `text` with every occurrence of `secret` replaced.
std::string redact(std::string text, const std::string& secret);

// GETs a model list and returns element[name_key] of each element of the
// array at list_key ({"data":[{"id"}]} for OpenAI, {"models":[{"name"}]} for
// Ollama). Failures are thrown as sdk::Error like a chat's.
std::vector<std::string> fetch_names(HttpClient& client, const HttpRequest& request, const HttpSettings& settings,
                                     const char* list_key, const char* name_key, const std::string& secret);

}  // namespace switchboard::plugins
