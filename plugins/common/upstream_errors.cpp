// File: plugins/common/upstream_errors.cpp
//
// HTTP status → stable code, and error-body message extraction.
#include "upstream_errors.h"

#include <switchboard/provider.hpp>

#include <Poco/Net/HTTPResponse.h>

#include <algorithm>

namespace switchboard::plugins {

namespace sdk = switchboard::sdk;

std::string redact(std::string text, const std::string& secret) {
  if (secret.size() < 4) return text;
  for (std::size_t at = text.find(secret); at != std::string::npos; at = text.find(secret, at))
    text.replace(at, secret.size(), "[redacted]");
  return text;
}

namespace {

// `text` cut to `max` Unicode characters, control characters made spaces.
std::string tidy(const std::string& text, std::size_t max) {
  std::string out;
  std::size_t chars = 0;
  for (std::size_t i = 0; i < text.size() && chars < max; ++chars) {
    const auto c = static_cast<unsigned char>(text[i]);
    std::size_t len = c < 0x80 ? 1 : (c & 0xE0) == 0xC0 ? 2 : (c & 0xF0) == 0xE0 ? 3 : 4;
    len = std::min(len, text.size() - i);
    if (c < 0x20 || c == 0x7f)
      out += ' ';
    else
      out.append(text, i, len);
    i += len;
  }
  while (!out.empty() && out.back() == ' ') out.pop_back();
  return out;
}

}  // namespace

std::string upstream_message(const std::string& body) {
  try {
    const auto j = sdk::Json::parse(body);
    if (j.is_object() && j.contains("error")) {
      const auto& e = j["error"];
      if (e.is_string()) return tidy(e.get<std::string>(), kMaxUpstreamMessageChars);
      if (e.is_object() && e.contains("message") && e["message"].is_string())
        return tidy(e["message"].get<std::string>(), kMaxUpstreamMessageChars);
    }
    if (j.is_object() && j.contains("message") && j["message"].is_string())
      return tidy(j["message"].get<std::string>(), kMaxUpstreamMessageChars);
  } catch (const sdk::Json::exception&) {
  }
  return "";
}

std::string failure_text(const HttpResult& r) {
  std::string message = upstream_message(r.error_body);
  if (!message.empty()) return message;
  // The standard reason phrase, not the upstream's: it is free text too, and often wrong.
  const std::string reason =
      Poco::Net::HTTPResponse::getReasonForStatus(static_cast<Poco::Net::HTTPResponse::HTTPStatus>(r.status));
  return "HTTP " + std::to_string(r.status) + (reason == Poco::Net::HTTPResponse::HTTP_REASON_UNKNOWN ? "" : " " + reason);
}

void throw_for_status(const HttpResult& r, const std::string& model, const std::string& secret) {
  const std::string message = redact(failure_text(r), secret);
  const std::string status = std::to_string(r.status);
  if (r.status == 401 || r.status == 403)
    throw sdk::Error("upstream_auth", "the upstream refused the credentials (" + status + "): " + message);
  if (r.status == 404) {
    std::string lower = message;
    for (auto& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (lower.find("model") != std::string::npos)
      throw sdk::Error("model_not_found", "the upstream has no model '" + model + "': " + message);
    throw sdk::Error("upstream_rejected", "the upstream answered 404 (check base_url): " + message);
  }
  if (r.status == 429) {
    const auto retry = r.headers.find("retry-after");
    throw sdk::Error("upstream_rate_limited",
                     "the upstream is rate limiting" +
                         (retry != r.headers.end() ? " (retry after " + retry->second + " s)" : std::string()) + ": " +
                         message);
  }
  if (r.status >= 400 && r.status < 500)
    throw sdk::Error("upstream_rejected", "the upstream rejected the request (" + status + "): " + message);
  throw sdk::Error("upstream_error", "the upstream failed (" + status + "): " + message);
}

std::vector<std::string> fetch_names(HttpClient& client, const HttpRequest& request, const HttpSettings& settings,
                                     const char* list_key, const char* name_key, const std::string& secret) {
  std::string body;
  const HttpResult result = client.perform(request, settings, [&](std::string_view d) {
    body.append(d);
    return true;
  }, {});
  if (result.status < 200 || result.status >= 300) throw_for_status(result, "", secret);
  std::vector<std::string> names;
  try {
    const sdk::Json list = sdk::Json::parse(body);  // kept alive: the loop walks into it
    for (const auto& m : list.at(list_key)) names.push_back(m.at(name_key).get<std::string>());
  } catch (const sdk::Json::exception&) {
    // The parser's message quotes the body; say only what was wrong.
    throw sdk::Error("upstream_protocol", std::string("malformed model list: not the expected JSON (") + list_key +
                                              "[]." + name_key + ")");
  }
  return names;
}

}  // namespace switchboard::plugins
