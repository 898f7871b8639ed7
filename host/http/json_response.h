// File: host/http/json_response.h
//
// Small helpers every route uses to answer JSON and to read a request body
// within the configured size limit.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace switchboard::http {

struct Exchange;

void send_json(Exchange& ex, int status, std::string_view body);
// {"error": {"code": code, "message": message}}
void send_error(Exchange& ex, int status, std::string_view code, std::string_view message);

// Thrown by handlers for a client error; the router answers it as JSON.
struct HttpError {
  int status;
  std::string code;
  std::string message;
};

// Reads the whole body; throws HttpError 413 over `limit` bytes and 415 when
// `require_json`, a body is present and its content type is not application/json.
std::string read_body(Exchange& ex, std::size_t limit, bool require_json);

}  // namespace switchboard::http
