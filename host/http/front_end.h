// File: host/http/front_end.h
//
// The HTTP front end: one epoll thread holds every connection that is not being
// served and reads it until it has one whole request, so idle and slow sockets
// cost a descriptor and a small buffer, never a thread; a bounded worker pool
// serves complete requests through Poco's request/response classes and the
// router. See front_end.cpp for the connection life cycle.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

namespace Poco::Net {
class HTTPRequestHandlerFactory;
}

namespace switchboard::http {

// Limits and deadlines; HostOptions documents each default and its reason.
struct FrontEndOptions {
  std::string bind = "127.0.0.1";
  std::uint16_t port = 0;
  int max_threads = 1024;        // workers: requests (and streams) served at once
  int max_queued = 1024;         // complete requests waiting for a worker
  int max_connections = 10000;   // open connections; more are answered 503
  int head_timeout_ms = 10000;   // whole request head, from accept or from its first byte
  int body_timeout_ms = 30000;   // whole request body, from the end of its head
  int keep_alive_timeout_ms = 5000;  // an idle kept-alive connection is closed after this
  int send_timeout_ms = 30000;   // one write to a client that does not read
  std::size_t max_head_bytes = 16 * 1024;
  std::size_t max_body_bytes = 1 << 20;
  std::size_t max_buffered_bytes = 256u << 20;  // all unserved request bytes together
  int worker_idle_ms = 30000;    // a worker with nothing to do this long ends, and its thread with it
  std::size_t worker_stack_bytes = 256 * 1024;  // each worker thread's stack (HostOptions::worker_stack_kb)
};

class FrontEnd {
 public:
  // Takes ownership of `factory` (the router's), as Poco's HTTPServer does.
  FrontEnd(FrontEndOptions options, Poco::Net::HTTPRequestHandlerFactory* factory);
  ~FrontEnd();
  FrontEnd(const FrontEnd&) = delete;
  FrontEnd& operator=(const FrontEnd&) = delete;

  // Binds, listens and starts the epoll thread. Throws on a bind failure.
  void start();
  std::uint16_t port() const;

  // The start of a graceful stop: idle connections are closed, new connections
  // and requests not yet on a worker are answered 503 shutting_down, and every
  // response from now on closes its connection. Requests on workers go on.
  void refuse_new();

  // Closes the listener and every connection, shuts the sockets of requests
  // still on a worker, and waits for the workers. Idempotent.
  void stop();

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace switchboard::http
