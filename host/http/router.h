// File: host/http/router.h
//
// Maps (method, path pattern) to a handler and wraps every route the same way:
// one access-log line per request, the full cause of an unexpected failure in
// the log, and a generic JSON 500 to the client (never e.what() or a secret).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace Poco::Net {
class HTTPServerRequest;
class HTTPServerResponse;
class HTTPRequestHandlerFactory;
}  // namespace Poco::Net

namespace switchboard::http {

struct Exchange {
  Poco::Net::HTTPServerRequest& request;
  Poco::Net::HTTPServerResponse& response;
  std::vector<std::string> params;  // values of {placeholders}, in order
  std::string path;                 // without the query string
  std::string query;                // raw query string, without '?'
  std::size_t bytes_sent = 0;       // body bytes written, for the access log
  int status = 0;                   // status sent, for the access log
};

using Handler = std::function<void(Exchange&)>;

class Router {
 public:
  // pattern: literal segments and {name} placeholders, e.g. "/api/sessions/{id}".
  void add(std::string method, std::string pattern, Handler handler);

  // A Poco factory serving this router; the router must outlive the server.
  Poco::Net::HTTPRequestHandlerFactory* make_factory();

  void dispatch(Poco::Net::HTTPServerRequest& request, Poco::Net::HTTPServerResponse& response);

 private:
  struct Route {
    std::string method;
    std::vector<std::string> segments;
    Handler handler;
  };
  std::vector<Route> routes_;
};

}  // namespace switchboard::http
