// File: plugins/common/http_client.h
//
// The HTTP/1.1 client the network plugins share: a keep-alive connection
// pool per (scheme, host, port), TLS with strict verification, and a
// streamed body read in small steps so that connect, first-byte and
// between-chunk timeouts are separate and a cancelled stream stops within
// milliseconds. Written on raw Poco sockets (not HTTPClientSession) because a
// cut-off chunked body must be told apart from a complete one, and a read
// timeout must not silently poison the stream (see shared/PITFALLS.md).
#pragma once

#include "address_rules.h"

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace switchboard::plugins {

struct Url {
  std::string scheme;  // http or https
  std::string host;
  std::uint16_t port = 0;
  std::string path;    // without a trailing slash
  // Parses "http[s]://host[:port][/path]" (an IPv6 host in brackets), refusing
  // whitespace, control characters, user-info, a query, a fragment and ports
  // outside 1..65535; throws sdk::Error invalid_config. The host stores
  // base_url already checked; this is the plugin's own line of defence.
  static Url parse(const std::string& text);
};

struct HttpSettings {
  int connect_timeout_ms = 5000;
  int first_byte_timeout_ms = 60000;
  int idle_timeout_ms = 30000;
  std::string ca_file;             // an extra CA to trust, beside the system store
  bool insecure_skip_verify = false;
  UpstreamPolicy policy;           // checked against the resolved address before connecting
};

struct HttpRequest {
  std::string method = "POST";
  Url url;
  std::string path;                // appended to url.path
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
};

struct HttpResult {
  int status = 0;
  std::map<std::string, std::string> headers;  // lower-case names
  std::string error_body;          // the whole body of a non-2xx answer
  bool body_complete = false;      // the body ended by its own framing
  bool idle_timeout = false;       // the body stalled longer than idle_timeout_ms
  bool cancelled = false;          // alive() turned false; the connection was closed
};

class HttpClient {
 public:
  HttpClient();
  ~HttpClient();

  // Sends `request` and streams a 2xx body to `on_body` (return false to
  // stop). `alive` is polled at least every 20 ms while waiting. Throws
  // sdk::Error: upstream_denied (the resolved address is refused by
  // settings.policy; nothing is sent), upstream_unavailable (connect failed),
  // upstream_timeout, upstream_protocol (not HTTP), upstream_tls (certificate
  // refused), invalid_config (a line break or control character would reach
  // the request line or a header).
  HttpResult perform(const HttpRequest& request, const HttpSettings& settings,
                     const std::function<bool(std::string_view)>& on_body, const std::function<bool()>& alive);

  // Connections opened so far (for tests of keep-alive reuse).
  std::uint64_t connections_opened() const;

 private:
  struct Pool;
  std::unique_ptr<Pool> pool_;
};

}  // namespace switchboard::plugins
