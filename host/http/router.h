// File: host/http/router.h
//
// Maps (method, path pattern) to a handler and wraps every route the same way:
// the route's authorization decision (public, any user, admin) made before the
// handler runs, security headers, one access-log line per request, the full
// cause of an unexpected failure in the log, and a generic JSON 500 to the
// client (never e.what() or a secret).
#pragma once

#include "host/services/caller.h"
#include "host/services/result.h"

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace Poco::Net {
class HTTPServerRequest;
class HTTPServerResponse;
class HTTPRequestHandlerFactory;
}  // namespace Poco::Net

namespace switchboard::http {

// Who may call a route: the one place this is decided. Object-level checks
// (another user's session does not exist) stay in the services.
enum class Access {
  Public,  // no key: /healthz and the page's static files
  User,    // any valid key
  Admin,   // a key of an admin
};
const char* access_name(Access access);

struct Exchange {
  Poco::Net::HTTPServerRequest& request;
  Poco::Net::HTTPServerResponse& response;
  std::vector<std::string> params;  // values of {placeholders}, in order
  std::string path;                 // without the query string
  std::string query;                // raw query string, without '?'
  std::size_t bytes_sent = 0;       // body bytes written, for the access log
  int status = 0;                   // status sent, for the access log
  std::optional<Caller> caller;     // set before the handler of every non-public route
};

using Handler = std::function<void(Exchange&)>;
// Turns a bearer key into a caller (or an Unauthenticated error).
using Authenticator = std::function<Result<Caller>(std::string_view bearer)>;

struct RouteInfo {
  std::string method;
  std::string pattern;
  Access access;
};

class Router {
 public:
  // pattern: literal segments and {name} placeholders, e.g. "/api/sessions/{id}".
  // Every route states who may call it; there is no default.
  void add(std::string method, std::string pattern, Access access, Handler handler);
  void set_authenticator(Authenticator authenticate);
  // The route table, for the tests that walk every route.
  std::vector<RouteInfo> routes() const;

  // A Poco factory serving this router; the router must outlive the server.
  Poco::Net::HTTPRequestHandlerFactory* make_factory();

  void dispatch(Poco::Net::HTTPServerRequest& request, Poco::Net::HTTPServerResponse& response);

 private:
  struct Route {
    std::string method;
    std::string pattern;
    std::vector<std::string> segments;
    Access access;
    Handler handler;
  };
  // Answers 401/403 itself and returns false when the caller may not pass.
  bool authorize(Exchange& ex, const Route& route);

  std::vector<Route> routes_;
  Authenticator authenticate_;
};

}  // namespace switchboard::http
