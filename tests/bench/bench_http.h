// File: tests/bench/bench_http.h
//
// The smallest HTTP/1.1 pieces the benchmark needs, on raw sockets so that
// neither the fake upstream nor the load generator costs more than the host
// they measure: a blocking keep-alive client that reads Content-Length and
// chunked bodies (noting when the first body byte arrived), and a fake
// OpenAI/Ollama upstream with a thread per connection.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <string>
#include <thread>
#include <vector>

namespace switchboard::bench {

using Clock = std::chrono::steady_clock;

struct Response {
  int status = 0;
  std::string body;
  Clock::time_point first_byte{};  // first body byte
  Clock::time_point first_delta{};  // first "event: delta" (native SSE) or content chunk
  Clock::time_point end{};
};

// The API key every Client sends ("" sends none); the bench provisions the host with it.
inline std::string& bearer_key() {
  static std::string key;
  return key;
}

class Client {
 public:
  Client(std::uint16_t port) : port_(port) {}
  ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  // Sends one request on the kept-alive connection (reconnecting when needed).
  // Returns false on a transport failure.
  bool request(const std::string& method, const std::string& path, const std::string& body, Response& out);
  void close();

 private:
  bool connect();
  bool read_more();
  bool read_line(std::string& line);
  bool read_exact(std::size_t n, std::string& out);

  std::uint16_t port_;
  int fd_ = -1;
  std::string buffer_;
  std::size_t pos_ = 0;
};

// Many concurrent streams from one thread (epoll): what a thread per stream
// would cost the load generator must not be charged to the host. Each
// connection sends `request` once and reads a chunked response to its end.
struct ManyStreams {
  int opened = 0;
  int complete = 0;  // 200, "data: [DONE]" and the last chunk
  int errors = 0;
  int most_open = 0;  // connections open at once, at the peak
  std::vector<double> first_byte_ms;  // from its connect
  std::vector<double> whole_ms;
};
// Opens `count` connections at `per_second`, each sending `request` (a whole
// HTTP/1.1 request); gives up on what is unfinished after `limit`.
ManyStreams many_streams(std::uint16_t port, int count, const std::string& request, int per_second,
                         std::chrono::seconds limit);

struct FakeSettings {
  int tokens = 16;
  int first_token_delay_ms = 0;
  int inter_token_delay_ms = 0;
};

// An upstream that answers POST /v1/chat/completions (OpenAI) and POST
// /api/chat (Ollama), streaming or not, with `tokens` tokens "tok ".
class FakeUpstream {
 public:
  explicit FakeUpstream(FakeSettings settings);
  ~FakeUpstream();
  std::uint16_t port() const { return port_; }
  std::uint64_t connections() const { return connections_.load(); }
  void set(FakeSettings settings);

 private:
  void accept_loop();
  void serve(int fd);

  std::atomic<int> tokens_;
  std::atomic<int> first_delay_ms_;
  std::atomic<int> inter_delay_ms_;
  int listen_fd_ = -1;
  std::uint16_t port_ = 0;
  std::atomic<bool> stopping_{false};
  std::atomic<std::uint64_t> connections_{0};
  std::thread acceptor_;
};

}  // namespace switchboard::bench
