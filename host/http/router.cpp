// File: host/http/router.cpp
//
// Route matching and the one wrapper every request goes through.
#include "host/http/router.h"

#include "host/http/json_response.h"
#include "host/log.h"
#include "host/metrics.h"

#include <Poco/Net/HTTPRequestHandler.h>
#include <Poco/Net/HTTPRequestHandlerFactory.h>
#include <Poco/Net/HTTPServerRequest.h>
#include <Poco/Net/HTTPServerResponse.h>
#include <Poco/String.h>

#include <nlohmann/json.hpp>

#include <chrono>
#include <istream>
#include <ostream>

namespace switchboard::http {

namespace {

std::vector<std::string> split_path(std::string_view path) {
  std::vector<std::string> out;
  std::size_t i = 0;
  while (i < path.size()) {
    while (i < path.size() && path[i] == '/') ++i;
    const std::size_t start = i;
    while (i < path.size() && path[i] != '/') ++i;
    if (i > start) out.emplace_back(path.substr(start, i - start));
  }
  return out;
}

class RouterHandler final : public Poco::Net::HTTPRequestHandler {
 public:
  explicit RouterHandler(Router& router) : router_(router) {}
  void handleRequest(Poco::Net::HTTPServerRequest& request,
                     Poco::Net::HTTPServerResponse& response) override {
    router_.dispatch(request, response);
  }

 private:
  Router& router_;
};

class RouterFactory final : public Poco::Net::HTTPRequestHandlerFactory {
 public:
  explicit RouterFactory(Router& router) : router_(router) {}
  Poco::Net::HTTPRequestHandler* createRequestHandler(const Poco::Net::HTTPServerRequest&) override {
    return new RouterHandler(router_);
  }

 private:
  Router& router_;
};

}  // namespace

const char* access_name(Access access) {
  switch (access) {
    case Access::Public: return "public";
    case Access::User: return "user";
    case Access::Admin: return "admin";
  }
  return "?";
}

void Router::add(std::string method, std::string pattern, Access access, Handler handler) {
  auto segments = split_path(pattern);
  routes_.push_back({std::move(method), std::move(pattern), std::move(segments), access, std::move(handler)});
}

void Router::set_authenticator(Authenticator authenticate) { authenticate_ = std::move(authenticate); }

std::vector<RouteInfo> Router::routes() const {
  std::vector<RouteInfo> out;
  for (const auto& r : routes_) out.push_back({r.method, r.pattern, r.access});
  return out;
}

namespace {

// The key of "Authorization: Bearer <key>", or "" (scheme matched without regard to case).
std::string bearer_of(const Poco::Net::HTTPServerRequest& request) {
  const std::string& value = request.get("Authorization", "");
  if (value.size() < 7 || Poco::icompare(value.substr(0, 7), "bearer ") != 0) return "";
  const auto first = value.find_first_not_of(' ', 7);
  if (first == std::string::npos) return "";
  const auto last = value.find_last_not_of(' ');
  return value.substr(first, last - first + 1);
}

// /v1 speaks OpenAI's error shape, so OpenAI clients raise their own
// AuthenticationError / PermissionDeniedError.
bool is_openai_path(const std::string& path) { return path.rfind("/v1/", 0) == 0 || path == "/v1"; }

// {"error": {"message", "type", "param": null, "code"}}
void send_openai_shaped(Exchange& ex, int status, const std::string& type, const std::string& code,
                        const std::string& message) {
  const nlohmann::json body = {{"error", {{"message", message}, {"type", type}, {"param", nullptr}, {"code", code}}}};
  send_json(ex, status, body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
}

void send_denied(Exchange& ex, int status, const std::string& message) {
  if (status == 401) ex.response.set("WWW-Authenticate", "Bearer");
  if (!is_openai_path(ex.path))
    return send_error(ex, status, status == 401 ? "unauthenticated" : "permission_denied", message);
  send_openai_shaped(ex, status, status == 401 ? "invalid_request_error" : "permission_denied",
                     status == 401 ? "invalid_api_key" : "permission_denied", message);
}

// An unknown route: 404 (405 for a known path), in OpenAI's shape under /v1.
void send_no_route(Exchange& ex, int status, const std::string& code, const std::string& message) {
  if (!is_openai_path(ex.path)) return send_error(ex, status, code, message);
  send_openai_shaped(ex, status, "invalid_request_error", code, message);
}

}  // namespace

bool Router::authorize(Exchange& ex, const Route& route) {
  if (route.access == Access::Public) return true;
  if (!authenticate_) {
    send_denied(ex, 401, "this host has no key store");
    return false;
  }
  auto who = authenticate_(bearer_of(ex.request));
  if (!who) {
    if (who.error().kind == ErrorKind::Internal) {
      log::http().error("authentication failed in " + ex.request.getMethod() + " " + ex.path + ": " +
                        who.error().message);
      send_error(ex, 500, "internal", "internal server error");
    } else {
      send_denied(ex, 401, who.error().message);
    }
    return false;
  }
  if (route.access == Access::Admin && !who->admin()) {
    send_denied(ex, 403, ex.request.getMethod() + " " + route.pattern + " is for admins only");
    return false;
  }
  ex.caller = std::move(who.value());
  return true;
}

Poco::Net::HTTPRequestHandlerFactory* Router::make_factory() { return new RouterFactory(*this); }

void Router::dispatch(Poco::Net::HTTPServerRequest& request,
                      Poco::Net::HTTPServerResponse& response) {
  const auto started = std::chrono::steady_clock::now();
  const std::string& uri = request.getURI();
  const std::size_t q = uri.find('?');
  Exchange ex{request, response, {}, uri.substr(0, q), q == std::string::npos ? "" : uri.substr(q + 1), 0, 0, std::nullopt};

  try {
    const std::vector<std::string> segments = split_path(ex.path);
    const Route* match = nullptr;
    bool path_known = false;
    for (const auto& route : routes_) {
      if (route.segments.size() != segments.size()) continue;
      std::vector<std::string> params;
      bool ok = true;
      for (std::size_t i = 0; i < segments.size() && ok; ++i) {
        const std::string& want = route.segments[i];
        if (want.size() > 1 && want.front() == '{' && want.back() == '}')
          params.push_back(segments[i]);
        else
          ok = want == segments[i];
      }
      if (!ok) continue;
      path_known = true;
      // HEAD is GET without the body (RFC 9110 9.3.2): Poco's response sends
      // only the head, with the Content-Length the GET would have had.
      const bool head_of_get = request.getMethod() == "HEAD" && route.method == "GET";
      if (route.method == request.getMethod() || head_of_get) {
        match = &route;
        ex.params = std::move(params);
        break;
      }
    }
    // On every answer: the page's own scripts and styles only, no sniffing,
    // no referrer, no framing.
    response.set("Content-Security-Policy",
                 "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
                 "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
                 "frame-ancestors 'none'");
    response.set("X-Content-Type-Options", "nosniff");
    response.set("Referrer-Policy", "no-referrer");
    response.set("X-Frame-Options", "DENY");
    if (match != nullptr) {
      if (authorize(ex, *match)) match->handler(ex);
    } else if (path_known) {
      send_no_route(ex, 405, "method_not_allowed", request.getMethod() + " is not allowed on " + ex.path);
    } else {
      send_no_route(ex, 404, "not_found", "no route for " + ex.path);
    }
  } catch (const HttpError& e) {
    if (!response.sent()) send_error(ex, e.status, e.code, e.message);
  } catch (const std::exception& e) {
    log::http().error("unhandled failure in " + request.getMethod() + " " + ex.path + ": " + e.what());
    if (!response.sent()) send_error(ex, 500, "internal", "internal server error");
  } catch (...) {
    log::http().error("unhandled non-standard exception in " + request.getMethod() + " " + ex.path);
    if (!response.sent()) send_error(ex, 500, "internal", "internal server error");
  }

  // Drain an unread body so a keep-alive connection stays in sync.
  if (request.getChunkedTransferEncoding() || request.getContentLength() > 0) {
    try {
      request.stream().ignore(1 << 20);
    } catch (...) {
    }
  }
  const auto elapsed = std::chrono::steady_clock::now() - started;
  metrics::global().requests.add();
  metrics::global().request_seconds.observe(std::chrono::duration<double>(elapsed).count());
  if (log::access().information()) {
    const auto micros = std::chrono::duration_cast<std::chrono::microseconds>(elapsed).count();
    log::access().information(request.getMethod() + " " + ex.path + " " + std::to_string(ex.status) +
                              " " + std::to_string(micros / 1000.0) + "ms " +
                              std::to_string(ex.bytes_sent) + "B" + (ex.caller ? " user=" + ex.caller->name : ""));
  }
}

void send_json(Exchange& ex, int status, std::string_view body) {
  auto& response = ex.response;
  // setStatus alone leaves the reason at "OK" ("404 OK"); this sets both.
  response.setStatusAndReason(static_cast<Poco::Net::HTTPResponse::HTTPStatus>(status));
  response.setContentType("application/json");
  response.setContentLength(static_cast<std::streamsize>(body.size()));
  response.set("Cache-Control", "no-store");
  std::ostream& out = response.send();
  out.write(body.data(), static_cast<std::streamsize>(body.size()));
  out.flush();
  ex.status = status;
  ex.bytes_sent += body.size();
}

void send_error(Exchange& ex, int status, std::string_view code, std::string_view message) {
  const nlohmann::json body = {{"error", {{"code", code}, {"message", message}}}};
  send_json(ex, status, body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
}

std::string read_body(Exchange& ex, std::size_t limit, bool require_json) {
  auto& request = ex.request;
  const bool has_body = request.getChunkedTransferEncoding() || request.getContentLength64() > 0;
  if (require_json && has_body) {
    const std::string type = request.getContentType();
    if (type.rfind("application/json", 0) != 0) {
      ex.response.setKeepAlive(false);  // the body stays unread
      throw HttpError{415, "unsupported_media_type",
                      "Content-Type must be application/json (got \"" + type + "\")"};
    }
  }
  if (request.hasContentLength() && request.getContentLength64() > static_cast<Poco::Int64>(limit)) {
    // The unread body would be taken for the next request: close after answering.
    ex.response.setKeepAlive(false);
    throw HttpError{413, "payload_too_large",
                    "request body is larger than the limit of " + std::to_string(limit) + " bytes"};
  }
  // HTTP/1.1: without Content-Length or chunked encoding a request has no
  // body; reading one would wait for the client to close the connection.
  if (!has_body) return {};
  std::string body;
  std::istream& in = request.stream();
  char buffer[8192];
  while (in.read(buffer, sizeof buffer) || in.gcount() > 0) {
    body.append(buffer, static_cast<std::size_t>(in.gcount()));
    if (body.size() > limit) {
      ex.response.setKeepAlive(false);
      throw HttpError{413, "payload_too_large",
                      "request body is larger than the limit of " + std::to_string(limit) + " bytes"};
    }
  }
  return body;
}

}  // namespace switchboard::http
