// File: plugins/common/upstream_errors.cpp
//
// HTTP status → stable code, and error-body message extraction.
#include "upstream_errors.h"

#include <switchboard/provider.hpp>

namespace switchboard::plugins {

namespace sdk = switchboard::sdk;

std::string redact(std::string text, const std::string& secret) {
  if (secret.size() < 4) return text;
  for (std::size_t at = text.find(secret); at != std::string::npos; at = text.find(secret, at))
    text.replace(at, secret.size(), "[redacted]");
  return text;
}

std::string upstream_message(const std::string& body) {
  try {
    const auto j = sdk::Json::parse(body);
    if (j.is_object() && j.contains("error")) {
      const auto& e = j["error"];
      if (e.is_string()) return e.get<std::string>();
      if (e.is_object() && e.contains("message") && e["message"].is_string()) return e["message"].get<std::string>();
    }
    if (j.is_object() && j.contains("message") && j["message"].is_string()) return j["message"].get<std::string>();
  } catch (const sdk::Json::exception&) {
  }
  std::string text = body.substr(0, 300);
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
  return text.empty() ? "(no error body)" : text;
}

void throw_for_status(const HttpResult& r, const std::string& model, const std::string& secret) {
  const std::string message = redact(upstream_message(r.error_body), secret);
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
  } catch (const sdk::Json::exception& e) {
    throw sdk::Error("upstream_protocol", std::string("malformed model list: ") + e.what());
  }
  return names;
}

}  // namespace switchboard::plugins
