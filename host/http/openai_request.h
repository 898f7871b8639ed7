// File: host/http/openai_request.h
//
// The /v1 door's request parsers: a chat completion and an embeddings request
// into the services' typed requests, or an error in OpenAI's shape naming the
// parameter. The body's size is bounded by the route (read_body); fuzzed by
// tests/fuzz/fuzz_openai_request.cpp.
#pragma once

#include "host/services/completion_service.h"

#include <optional>
#include <string>

namespace switchboard::http {

// {"error": {"message", "type", "param", "code"}} with the matching status.
struct OpenAiError {
  int status;
  std::string type;
  std::string code;
  std::string message;
  std::string param;
};

struct ParsedChatRequest {
  CompletionRequest request;
  bool stream = false;
  bool include_usage = false;
};

struct ParsedEmbeddingRequest {
  EmbeddingRequest request;
  bool base64 = false;  // encoding_format "base64"
};

std::optional<OpenAiError> parse_chat_request(const std::string& body, ParsedChatRequest& out);
std::optional<OpenAiError> parse_embedding_request(const std::string& body, ParsedEmbeddingRequest& out);

}  // namespace switchboard::http
