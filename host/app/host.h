// File: host/app/host.h
//
// The whole running host as one object: plugin registry, database, services
// and the HTTP server. main() wraps it in a Poco ServerApplication; tests
// start it on 127.0.0.1:0 in-process.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <tuple>
#include <vector>

namespace switchboard {

class PluginRegistry;

struct HostOptions {
  std::string bind = "127.0.0.1";
  std::uint16_t port = 8080;                  // 0: any free port (tests)
  // The store: an SQLite file (the default, one host), or a PostgreSQL URI
  // (postgresql://user:password@host:port/dbname; the password may come from
  // PGPASSWORD or ~/.pgpass) that several hosts share behind a load balancer.
  std::string db_path = "switchboard.db";
  // Database connections kept open (a burst beyond waits a second, then gets one more).
  int db_pool = 16;
  // Several hosts on one PostgreSQL database (host/services/host_presence.h).
  // host_id names this host: unique among them and the same across its
  // restarts, so that a restart marks its own streams interrupted at once
  // ("": <hostname>:<port>). A host silent for host_lease_ms is dead: its
  // streams are marked interrupted and its turn locks freed by the others.
  std::string host_id;
  int host_lease_ms = 10000;
  // A turn waits this long for the one before it in its session (on any
  // host), then is refused 409 session_busy.
  int turn_wait_ms = 120000;
  std::string manifest_path = "plugins.json";
  std::string plugin_dir;                     // "": manifest's plugin_dir, else <exe dir>/plugins
  // plugins.json is optional; every library in plugin_dir exporting
  // sb_provider_entry loads. The directory is watched (inotify) and rescanned
  // every plugin_rescan_ms (0: never) as a fallback: within 2 s of a library's
  // last write (write, then rename into place) it is live.
  bool watch_plugins = true;
  int plugin_rescan_ms = 2000;
  // SIGHUP reloads plugins (and plugins.json). The caller has blocked SIGHUP
  // in every thread before constructing the host (main() does).
  bool reload_on_sighup = false;
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
  // A worker with nothing to do for this long ends (one always stays): after a
  // burst of 1,000 streams the threads it needed go within about half a minute.
  int worker_idle_ms = 30000;
  // Each worker's stack. A stream holds a worker for its whole life, so this
  // times the streams held is the address space they reserve; what is
  // resident is only what a request touched (the deepest path, a TLS
  // handshake in a plugin, stays under ~64 KiB; JSON from outside is
  // bounded to 64 levels before anything recursive sees it). 256 KiB:
  // 10,000 streams reserve 2.5 GiB instead of 10 GiB (tests/bench/README.md).
  int worker_stack_kb = 256;
  std::size_t max_head_bytes = 16 * 1024;     // request line + fields; 431 beyond
  // Requests are read whole before a worker takes them; this bounds the bytes
  // of all unfinished requests together (~250 bodies at --max-body), so many
  // half-sent bodies cannot exhaust memory: past it, 503.
  std::size_t max_buffered_bytes = 256u << 20;
  std::size_t max_body_bytes = 1 << 20;
  int sse_keepalive_ms = 15000;               // ": keep-alive" comment after this much silence
  int shutdown_grace_ms = 3000;               // in-flight streams get this long on SIGTERM

  // Trust. The first start creates the admin and writes its key here (0600);
  // a file already there at first start provisions that key instead.
  // "": switchboard-admin.key beside the database.
  std::string admin_key_file;
  // The master key that seals provider secrets at rest (AES-256-GCM), created
  // 0600 when missing; SWITCHBOARD_SECRET_KEY overrides it. "": beside the database.
  std::string secret_key_file;
  bool allow_user_configs = false;            // users may create private configs
  std::vector<std::string> allow_key_env;     // env variables configs may name (default none)
  // What one request may cost (400 invalid_max_tokens above the cap, or above
  // the provider's own declared limit when lower). 32,768 is the largest
  // output current models offer; it also bounds a mock reply to ~300 KB.
  std::int64_t max_tokens_cap = 32768;
  // A reply is stopped here and ends complete with finish_reason "length":
  // about a million tokens of text, beyond any model's output, yet it bounds
  // the memory and the database row one reply can take.
  std::size_t max_reply_bytes = std::size_t{4} << 20;
  // Where plugins may not connect, checked against the address a base_url
  // resolves to, just before connecting: host names and CIDR ranges. The
  // default is link-local, where cloud metadata services hand out
  // credentials. Loopback and private ranges stay open because local model
  // servers (Ollama, vLLM, llama.cpp) live there; deny them too when
  // untrusted users may create configs.
  std::vector<std::string> upstream_deny = {"169.254.0.0/16", "fe80::/10"};
  // When not empty, the only hosts/ranges plugins may connect to (deny still wins).
  std::vector<std::string> upstream_allow;
  // The only directory a config's options.ca_file may name. "" (default): no
  // config may name a CA file, since any path would let callers probe the
  // host's file system.
  std::string ca_dir;
};

// switchboard --migrate-to: copies the SQLite database at `from` into the
// empty PostgreSQL database at `to` (storage/move.h), telling `progress` how
// it goes. Throws std::runtime_error naming what is wrong.
void migrate_database(const std::string& from, const std::string& to,
                      const std::function<void(const std::string&)>& progress);

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
  // Every route with its authorization decision (for the tests that walk them).
  std::vector<std::tuple<std::string, std::string, std::string>> routes() const;
  // Where the admin key and the master key are, after defaults were applied.
  const std::string& admin_key_file() const;
  const std::string& secret_key_file() const;

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace switchboard
