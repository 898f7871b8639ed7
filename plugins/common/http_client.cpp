// File: plugins/common/http_client.cpp
//
// Keep-alive pool, TLS contexts, request writing and response framing.
#include "http_client.h"

#include <switchboard/provider.hpp>

#include <Poco/Net/Context.h>
#include <Poco/Net/NetException.h>
#include <Poco/Net/RejectCertificateHandler.h>
#include <Poco/Net/SSLException.h>
#include <Poco/Net/SSLManager.h>
#include <Poco/Net/SecureStreamSocket.h>
#include <Poco/Net/SocketAddress.h>
#include <Poco/Net/StreamSocket.h>

#include <sys/socket.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <iostream>

namespace switchboard::plugins {

namespace sdk = switchboard::sdk;
using Clock = std::chrono::steady_clock;

Url Url::parse(const std::string& text) {
  const auto bad = [](const std::string& why) { return sdk::Error("invalid_config", "base_url " + why); };
  for (char ch : text) {
    const auto c = static_cast<unsigned char>(ch);
    if (c <= 0x20 || c == 0x7f) throw bad("contains whitespace or a control character");
  }
  Url u;
  const auto scheme_end = text.find("://");
  if (scheme_end == std::string::npos) throw bad("must start with http:// or https://");
  u.scheme = text.substr(0, scheme_end);
  if (u.scheme != "http" && u.scheme != "https") throw bad("must start with http:// or https://");
  const std::string rest = text.substr(scheme_end + 3);
  if (rest.find_first_of("?#") != std::string::npos) throw bad("must not have a query or a fragment");
  const auto slash = rest.find('/');
  const std::string authority = rest.substr(0, slash);
  u.path = slash == std::string::npos ? "" : rest.substr(slash);
  while (!u.path.empty() && u.path.back() == '/') u.path.pop_back();
  if (authority.find('@') != std::string::npos) throw bad("must not contain user-info");
  std::string port;
  if (!authority.empty() && authority.front() == '[') {
    const auto close = authority.find(']');
    if (close == std::string::npos) throw bad("has an unclosed IPv6 literal");
    u.host = authority.substr(1, close - 1);
    const std::string after = authority.substr(close + 1);
    if (!after.empty() && after.front() != ':') throw bad("has text after its IPv6 literal");
    if (!after.empty()) port = after.substr(1);
    if (!after.empty() && port.empty()) throw bad("has an invalid port");
  } else {
    const auto colon = authority.find(':');
    u.host = authority.substr(0, colon);
    if (colon != std::string::npos) {
      port = authority.substr(colon + 1);
      if (port.empty()) throw bad("has an invalid port");
    }
  }
  u.port = u.scheme == "https" ? 443 : 80;
  if (!port.empty()) {
    if (port.size() > 5 || port.find_first_not_of("0123456789") != std::string::npos) throw bad("has an invalid port");
    const int number = std::stoi(port);
    if (number < 1 || number > 65535) throw bad("has an invalid port");
    u.port = static_cast<std::uint16_t>(number);
  }
  if (u.host.empty()) throw bad("has no host");
  return u;
}

namespace {

struct Connection {
  Poco::Net::StreamSocket socket;
  std::string buffer;
  std::size_t pos = 0;
  bool reusable = true;
  bool tls = false;
};

std::string lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

void init_ssl_once() {
  static std::once_flag once;
  std::call_once(once, [] {
    Poco::Net::initializeSSL();
    // Without this Poco would build its default handler from application
    // config, which may prompt on a console. A certificate that fails is refused.
    Poco::Net::SSLManager::InvalidCertificateHandlerPtr reject(new Poco::Net::RejectCertificateHandler(false));
    Poco::Net::Context::Ptr none;
    Poco::Net::SSLManager::instance().initializeClient(nullptr, reject, none);
  });
}

}  // namespace

struct HttpClient::Pool {
  std::mutex mutex;
  std::map<std::string, std::vector<std::unique_ptr<Connection>>> idle;
  std::map<std::string, Poco::Net::Context::Ptr> contexts;
  std::atomic<std::uint64_t> opened{0};

  Poco::Net::Context::Ptr context(const HttpSettings& s) {
    const std::string key = s.ca_file + (s.insecure_skip_verify ? "|insecure" : "|strict");
    std::lock_guard guard(mutex);
    auto& ctx = contexts[key];
    if (!ctx) {
      init_ssl_once();
      if (s.insecure_skip_verify)
        std::cerr << "WARNING switchboard: TLS certificate verification is OFF for an upstream "
                     "(insecure_skip_verify); anyone on the path can read and change this traffic\n";
      // Strict mode: Poco skips host-name checks for loopback hosts otherwise.
      ctx = new Poco::Net::Context(Poco::Net::Context::TLS_CLIENT_USE, "", "", s.ca_file,
                                   s.insecure_skip_verify ? Poco::Net::Context::VERIFY_NONE
                                                          : Poco::Net::Context::VERIFY_STRICT,
                                   9, true, "ALL:!ADH:!LOW:!EXP:!MD5:@STRENGTH");
    }
    return ctx;
  }

  static std::string key_of(const Url& u, const HttpSettings& s) {
    return u.scheme + "://" + u.host + ":" + std::to_string(u.port) + "|" + s.ca_file + (s.insecure_skip_verify ? "|i" : "") +
           "|" + s.policy.fingerprint();
  }

  std::unique_ptr<Connection> take(const std::string& key) {
    std::lock_guard guard(mutex);
    auto it = idle.find(key);
    if (it == idle.end() || it->second.empty()) return nullptr;
    auto c = std::move(it->second.back());
    it->second.pop_back();
    return c;
  }

  void give_back(const std::string& key, std::unique_ptr<Connection> c) {
    std::lock_guard guard(mutex);
    auto& list = idle[key];
    if (list.size() < 256) list.push_back(std::move(c));
  }

  // Connects without blocking so that a cancel is seen within 20 ms even
  // against an address that never answers; TLS is then set up on the socket.
  // Returns nullptr when `alive` turned false.
  std::unique_ptr<Connection> open(const Url& u, const HttpSettings& s, const std::function<bool()>& alive) {
    auto c = std::make_unique<Connection>();
    const Poco::Timespan connect_timeout(static_cast<Poco::Timestamp::TimeDiff>(s.connect_timeout_ms) * 1000);
    try {
      // Resolved once: the address checked is the address connected to, so a
      // name that resolves differently a moment later (DNS rebinding) gains nothing.
      const Poco::Net::SocketAddress address(u.host, u.port);
      const std::string refused =
          s.policy.refusal(u.host, address_of(address.host().addr(), static_cast<std::size_t>(address.host().length())));
      if (!refused.empty()) throw sdk::Error("upstream_denied", "not connecting to the upstream: " + refused);
      Poco::Net::StreamSocket tcp;
      tcp.connectNB(address);
      const auto deadline = Clock::now() + std::chrono::milliseconds(s.connect_timeout_ms);
      for (;;) {
        if (alive && !alive()) return nullptr;
        if (Clock::now() >= deadline) throw Poco::TimeoutException();
        if (tcp.poll(Poco::Timespan(0, 20000), Poco::Net::Socket::SELECT_WRITE | Poco::Net::Socket::SELECT_ERROR)) break;
      }
      int error = 0;
      tcp.getOption(SOL_SOCKET, SO_ERROR, error);
      if (error != 0) throw Poco::Net::NetException(std::strerror(error));
      tcp.setBlocking(true);
      tcp.setSendTimeout(connect_timeout);
      tcp.setReceiveTimeout(connect_timeout);  // bounds the TLS handshake below
      if (u.scheme == "https") {
        Poco::Net::SecureStreamSocket secure = Poco::Net::SecureStreamSocket::attach(tcp, u.host, context(s));
        // attach() may leave the handshake to the first read or write; do it now, so
        // a refused certificate is a connect failure and not a broken request.
        secure.completeHandshake();
        c->socket = secure;
        c->tls = true;
      } else {
        c->socket = tcp;
      }
      c->socket.setNoDelay(true);
      // Reads wait at most 50 ms so a TLS record cut in the middle cannot hold
      // a read past a cancel or the idle timeout; fill() retries on its own clock.
      c->socket.setReceiveTimeout(Poco::Timespan(0, 50000));
      c->socket.setSendTimeout(connect_timeout);
    } catch (const Poco::Net::SSLException& e) {
      throw sdk::Error("upstream_tls", "TLS with " + u.host + " failed: " + e.displayText());
    } catch (const Poco::TimeoutException&) {
      throw sdk::Error("upstream_timeout", "connecting to " + u.host + ":" + std::to_string(u.port) + " timed out after " +
                                               std::to_string(s.connect_timeout_ms) + " ms");
    } catch (const Poco::Exception& e) {
      throw sdk::Error("upstream_unavailable",
                       "cannot connect to " + u.host + ":" + std::to_string(u.port) + ": " + e.displayText());
    }
    opened.fetch_add(1);
    return c;
  }
};

HttpClient::HttpClient() : pool_(std::make_unique<Pool>()) {}
HttpClient::~HttpClient() = default;
std::uint64_t HttpClient::connections_opened() const { return pool_->opened.load(); }

namespace {

enum class Fill { Data, Eof, Timeout, Cancelled };

// Whatever checked the request before, nothing in it may end the request line
// or a header early: a CR or LF would let a value write lines of its own.
void check_request_text(const HttpRequest& request) {
  const auto bad = [](std::string_view what) {
    return sdk::Error("invalid_config", std::string(what) + " contains a line break or a control character");
  };
  const auto unsafe = [](std::string_view text, bool space_ok) {
    return std::any_of(text.begin(), text.end(), [&](char ch) {
      const auto c = static_cast<unsigned char>(ch);
      return c < 0x20 || c == 0x7f || (c == ' ' && !space_ok);
    });
  };
  if (unsafe(request.method, false) || request.method.empty()) throw bad("the request method");
  if (unsafe(request.url.host, false)) throw bad("the upstream host");
  if (unsafe(request.url.path, false) || unsafe(request.path, false)) throw bad("the request path");
  for (const auto& [name, value] : request.headers) {
    const bool token = !name.empty() && std::all_of(name.begin(), name.end(), [](char ch) {
      return std::isalnum(static_cast<unsigned char>(ch)) || std::string_view("!#$%&'*+-.^_`|~").find(ch) != std::string_view::npos;
    });
    // The name is safe to quote once it is a token; a value never is.
    if (!token) throw bad("a header name");
    if (std::any_of(value.begin(), value.end(), [](char ch) {
          const auto c = static_cast<unsigned char>(ch);
          return (c < 0x20 && c != '\t') || c == 0x7f;
        }))
      throw bad("the value of header " + name);
  }
}

// Waits for more bytes until `deadline`, polling `alive` every 20 ms.
Fill fill(Connection& c, Clock::time_point deadline, const std::function<bool()>& alive) {
  if (c.pos > 0 && c.pos == c.buffer.size()) {
    c.buffer.clear();
    c.pos = 0;
  }
  char tmp[16384];
  for (;;) {
    if (alive && !alive()) return Fill::Cancelled;
    const auto now = Clock::now();
    if (now >= deadline) return Fill::Timeout;
    const auto wait = std::min<Clock::duration>(deadline - now, std::chrono::milliseconds(20));
    if (!c.tls) {
      // A streaming upstream has usually sent the next bytes already: one
      // read, and no poll() or FIONREAD, when they are there.
      const auto n = ::recv(c.socket.impl()->sockfd(), tmp, sizeof tmp, MSG_DONTWAIT);
      if (n > 0) {
        c.buffer.append(tmp, static_cast<std::size_t>(n));
        return Fill::Data;
      }
      if (n == 0) return Fill::Eof;
      if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
        throw Poco::Net::NetException(std::strerror(errno));  // a reset: not an end of body
    }
    // TLS may hold decrypted bytes that the socket no longer shows as readable.
    bool ready = c.tls ? c.socket.available() > 0 : false;
    if (!ready) {
      const auto us = std::chrono::duration_cast<std::chrono::microseconds>(wait).count();
      ready = c.socket.poll(Poco::Timespan(us), Poco::Net::Socket::SELECT_READ | Poco::Net::Socket::SELECT_ERROR);
    }
    if (!ready) continue;
    int n = 0;
    try {
      n = c.socket.receiveBytes(tmp, sizeof tmp);
    } catch (const Poco::TimeoutException&) {
      continue;  // readable, but not a whole TLS record yet
    }
    if (n <= 0) return Fill::Eof;
    c.buffer.append(tmp, static_cast<std::size_t>(n));
    return Fill::Data;
  }
}

}  // namespace

HttpResult HttpClient::perform(const HttpRequest& request, const HttpSettings& settings,
                               const std::function<bool(std::string_view)>& on_body,
                               const std::function<bool()>& alive) {
  check_request_text(request);
  const std::string key = Pool::key_of(request.url, settings);
  const bool ipv6 = request.url.host.find(':') != std::string::npos;
  std::string wire = request.method + " " + request.url.path + request.path + " HTTP/1.1\r\nHost: " +
                     (ipv6 ? "[" + request.url.host + "]" : request.url.host);
  if ((request.url.scheme == "http" && request.url.port != 80) || (request.url.scheme == "https" && request.url.port != 443))
    wire += ":" + std::to_string(request.url.port);
  wire += "\r\nConnection: keep-alive\r\nUser-Agent: switchboard\r\n";
  for (const auto& [name, value] : request.headers) wire += name + ": " + value + "\r\n";
  if (!request.body.empty() || request.method == "POST")
    wire += "Content-Length: " + std::to_string(request.body.size()) + "\r\n";
  wire += "\r\n";
  wire += request.body;

  for (int attempt = 0;; ++attempt) {
    auto conn = pool_->take(key);
    const bool pooled = conn != nullptr;
    if (!conn) conn = pool_->open(request.url, settings, alive);
    if (!conn) {
      HttpResult cancelled;
      cancelled.cancelled = true;
      return cancelled;
    }
    Connection& c = *conn;
    HttpResult result;
    auto fail_closed = [&] { c.socket.close(); };
    try {
      c.socket.sendBytes(wire.data(), static_cast<int>(wire.size()));
    } catch (const Poco::Exception& e) {
      fail_closed();
      if (pooled && attempt == 0) continue;  // the server closed an idle connection
      throw sdk::Error("upstream_unavailable", "cannot send the request to " + request.url.host + ": " + e.displayText());
    }

    // Status line and headers, within the first-byte timeout.
    const auto first_deadline = Clock::now() + std::chrono::milliseconds(settings.first_byte_timeout_ms);
    std::size_t header_end;
    try {
      while ((header_end = c.buffer.find("\r\n\r\n", c.pos)) == std::string::npos) {
        const Fill f = fill(c, first_deadline, alive);
        if (f == Fill::Cancelled) {
          fail_closed();
          result.cancelled = true;
          return result;
        }
        if (f == Fill::Timeout) {
          fail_closed();
          throw sdk::Error("upstream_timeout", "no answer from " + request.url.host + " within " +
                                                   std::to_string(settings.first_byte_timeout_ms) + " ms");
        }
        if (f == Fill::Eof) {
          fail_closed();
          if (pooled && attempt == 0 && c.buffer.size() == c.pos) goto retry;  // stale keep-alive connection
          throw sdk::Error("upstream_protocol", "the connection to " + request.url.host + " closed before an answer");
        }
        if (c.buffer.size() - c.pos > 64 * 1024) {
          fail_closed();
          throw sdk::Error("upstream_protocol", "the answer's headers are too large");
        }
      }
    } catch (const Poco::Exception& e) {
      fail_closed();
      throw sdk::Error("upstream_unavailable", "reading from " + request.url.host + " failed: " + e.displayText());
    }
    {
      const std::string head = c.buffer.substr(c.pos, header_end - c.pos);
      c.pos = header_end + 4;
      if (head.rfind("HTTP/1.", 0) != 0 || head.size() < 12) {
        fail_closed();
        throw sdk::Error("upstream_protocol", "the upstream did not answer with HTTP");
      }
      result.status = std::atoi(head.c_str() + 9);
      std::size_t line = head.find("\r\n");
      while (line != std::string::npos) {
        const std::size_t next = head.find("\r\n", line + 2);
        const std::string h = head.substr(line + 2, next == std::string::npos ? std::string::npos : next - line - 2);
        const auto colon = h.find(':');
        if (colon != std::string::npos) {
          std::string value = h.substr(colon + 1);
          value.erase(0, value.find_first_not_of(" \t"));
          result.headers[lower(h.substr(0, colon))] = value;
        }
        line = next;
      }
      const bool ok = result.status >= 200 && result.status < 300;
      const auto te = result.headers.find("transfer-encoding");
      const bool chunked = te != result.headers.end() && lower(te->second).find("chunked") != std::string::npos;
      const auto cl = result.headers.find("content-length");
      std::int64_t remaining = cl != result.headers.end() ? std::atoll(cl->second.c_str()) : -1;
      const auto conn_header = result.headers.find("connection");
      c.reusable = !(conn_header != result.headers.end() && lower(conn_header->second).find("close") != std::string::npos);

      auto deliver = [&](std::string_view data) {
        if (ok) return on_body(data);
        if (result.error_body.size() < 64 * 1024) result.error_body.append(data);
        return true;
      };
      auto wait_more = [&]() -> Fill {
        const auto deadline = Clock::now() + std::chrono::milliseconds(settings.idle_timeout_ms);
        const Fill f = fill(c, deadline, alive);
        if (f == Fill::Timeout) result.idle_timeout = true;
        return f;
      };
      try {
        bool stop = false;
        if (chunked) {
          for (;;) {
            std::size_t eol;
            while ((eol = c.buffer.find("\r\n", c.pos)) == std::string::npos) {
              const Fill f = wait_more();
              if (f != Fill::Data) goto ended;
            }
            const std::size_t size = std::strtoul(c.buffer.c_str() + c.pos, nullptr, 16);
            c.pos = eol + 2;
            if (size == 0) {
              while (c.buffer.find("\r\n", c.pos) == std::string::npos)
                if (wait_more() != Fill::Data) goto ended;
              c.pos = c.buffer.find("\r\n", c.pos) + 2;
              result.body_complete = true;
              break;
            }
            std::size_t left = size;
            while (left > 0) {
              if (c.pos == c.buffer.size() && wait_more() != Fill::Data) goto ended;
              const std::size_t take = std::min(left, c.buffer.size() - c.pos);
              if (!deliver(std::string_view(c.buffer).substr(c.pos, take))) {
                stop = true;
                break;
              }
              c.pos += take;
              left -= take;
            }
            if (stop) break;
            while (c.buffer.size() - c.pos < 2)
              if (wait_more() != Fill::Data) goto ended;
            c.pos += 2;
          }
        } else if (remaining >= 0) {
          while (remaining > 0) {
            if (c.pos == c.buffer.size() && wait_more() != Fill::Data) goto ended;
            const std::size_t take = std::min<std::size_t>(static_cast<std::size_t>(remaining), c.buffer.size() - c.pos);
            if (!deliver(std::string_view(c.buffer).substr(c.pos, take))) {
              stop = true;
              break;
            }
            c.pos += take;
            remaining -= static_cast<std::int64_t>(take);
          }
          if (!stop) result.body_complete = true;
        } else {
          // No framing: the body ends when the server closes.
          c.reusable = false;
          for (;;) {
            if (c.pos < c.buffer.size()) {
              if (!deliver(std::string_view(c.buffer).substr(c.pos))) {
                stop = true;
                break;
              }
              c.pos = c.buffer.size();
            }
            const Fill f = wait_more();
            if (f == Fill::Eof) {
              result.body_complete = true;
              break;
            }
            if (f != Fill::Data) goto ended;
          }
        }
        if (stop) {
          // The plugin stopped reading: this connection's response is unfinished.
          fail_closed();
          result.cancelled = !alive || !alive();
          return result;
        }
      } catch (const Poco::Exception&) {
        // A broken connection mid-body: report what arrived; body_complete stays false.
      }
    ended:
      if (alive && !alive()) result.cancelled = true;
      if (result.body_complete && c.reusable && !result.cancelled && c.pos == c.buffer.size()) {
        c.buffer.clear();
        c.pos = 0;
        pool_->give_back(key, std::move(conn));
      } else {
        fail_closed();
      }
      return result;
    }
  retry:;
  }
}

}  // namespace switchboard::plugins
