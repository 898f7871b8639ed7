// File: host/app/host.h
//
// The whole running host as one object: plugin registry, database, services
// and the HTTP server. main() wraps it in a Poco ServerApplication; tests
// start it on 127.0.0.1:0 in-process.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

namespace switchboard {

class PluginRegistry;

struct HostOptions {
  std::string bind = "127.0.0.1";
  std::uint16_t port = 8080;                  // 0: any free port (tests)
  std::string db_path = "switchboard.db";
  std::string manifest_path = "plugins.json";
  std::string plugin_dir;                     // "": manifest's plugin_dir, else <exe dir>/plugins
  // Connections cost a worker thread only while a whole request is being
  // served or a stream is open: reading request heads and bodies and waiting
  // on idle kept-alive connections happen on one epoll thread (see
  // host/http/front_end.cpp). So max_threads bounds concurrent requests and
  // streams: 1,024 by default, the load the benchmark holds (1,000 slow
  // streams at ~80 MB RSS; an idle thread's stack is reserved, not resident).
  int max_threads = 1024;
  // Whole requests waiting for a worker when all are busy; past this a
  // request is answered 503 with Retry-After: 1 (/healthz is answered without
  // a worker). As many as there are workers: a burst of twice the capacity
  // waits; beyond that a quick 503 beats a long wait behind running streams.
  int max_queued = 1024;
  // Open connections, idle or not; past this a new one is answered 503.
  // An idle one costs a descriptor, ~0.5 KB of host memory and the kernel's
  // socket buffers; the open-file limit is raised to fit (up to the hard limit).
  int max_connections = 10000;
  // The whole request head must arrive within this of the accept (or of its
  // first byte on a kept-alive connection), however slowly it trickles:
  // a total deadline, not one per read, so a byte every few seconds does not
  // keep a socket forever. 10 s is far above any honest client's need.
  int head_timeout_ms = 10000;
  // The whole body, from the end of its head: 1 MiB (--max-body) at 35 KB/s.
  int body_timeout_ms = 30000;
  // An idle kept-alive connection costs no thread, only a descriptor, so it
  // may stay a while: long enough for a page's next request.
  int keep_alive_timeout_ms = 5000;
  // One write to a client that stops reading fails after this, freeing the
  // worker (or ending the stream) it held.
  int send_timeout_ms = 30000;
  std::size_t max_head_bytes = 16 * 1024;     // request line + fields; 431 beyond
  // Requests are read whole before a worker takes them; this bounds the bytes
  // of all unfinished requests together (~250 bodies at --max-body), so many
  // half-sent bodies cannot exhaust memory: past it, 503.
  std::size_t max_buffered_bytes = 256u << 20;
  std::size_t max_body_bytes = 1 << 20;
  int sse_keepalive_ms = 15000;               // ": keep-alive" comment after this much silence
  int shutdown_grace_ms = 3000;               // in-flight streams get this long on SIGTERM
};

class Host {
 public:
  // Loads the manifest and plugins and opens the database. Throws
  // std::runtime_error with a clear message on a fatal start-up problem.
  explicit Host(HostOptions options);
  ~Host();
  Host(const Host&) = delete;
  Host& operator=(const Host&) = delete;

  void start();
  // Stops accepting, ends in-flight streams after the grace period, and waits for them.
  void stop();
  std::uint16_t port() const;
  const HostOptions& options() const;
  const PluginRegistry& registry() const;

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace switchboard
