// File: tests/integration/raw_client.h
//
// A bare TCP client for the front-end tests: it sends exactly the bytes it is
// given (half a head, a broken chunk) and reports exactly what came back,
// including whether the host closed the connection cleanly or reset it.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

namespace switchboard::testing {

struct RawResponse {
  int status = 0;
  std::string status_line;  // "HTTP/1.1 404 Not Found"
  std::string head;         // status line and fields, up to the empty line
  std::string body;

  // The value of field `name` (case-insensitive), or "" when absent.
  std::string header(std::string_view name) const {
    std::size_t at = head.find("\r\n");
    while (at != std::string::npos && at + 2 < head.size()) {
      const std::size_t end = head.find("\r\n", at + 2);
      const std::string line = head.substr(at + 2, end == std::string::npos ? std::string::npos : end - at - 2);
      const std::size_t colon = line.find(':');
      if (colon != std::string::npos && colon == name.size()) {
        bool same = true;
        for (std::size_t i = 0; i < colon && same; ++i)
          same = std::tolower(static_cast<unsigned char>(line[i])) == std::tolower(static_cast<unsigned char>(name[i]));
        if (same) {
          std::size_t v = colon + 1;
          while (v < line.size() && line[v] == ' ') ++v;
          return line.substr(v);
        }
      }
      at = end;
    }
    return "";
  }
};

class RawClient {
 public:
  enum class End { Closed, Reset, StillOpen };

  explicit RawClient(std::uint16_t port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd_ < 0) throw std::runtime_error("socket() failed: errno " + std::to_string(errno));
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
      const int e = errno;
      ::close(fd_);
      throw std::runtime_error("connect() failed: errno " + std::to_string(e));
    }
  }
  ~RawClient() {
    if (fd_ >= 0) ::close(fd_);
  }
  RawClient(const RawClient&) = delete;
  RawClient& operator=(const RawClient&) = delete;

  int fd() const { return fd_; }

  // False when the host has closed or reset the connection.
  bool send(std::string_view bytes) {
    while (!bytes.empty()) {
      const auto n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return false;
      bytes.remove_prefix(static_cast<std::size_t>(n));
    }
    return true;
  }
  void shutdown_write() { ::shutdown(fd_, SHUT_WR); }

  // One response: the head and a Content-Length body (no body for HEAD, 1xx,
  // 204 and 304, or when `head_only`). nullopt if the connection ended first
  // or nothing whole came within `timeout`.
  std::optional<RawResponse> read_response(std::chrono::milliseconds timeout, bool head_only = false) {
    const auto end = std::chrono::steady_clock::now() + timeout;
    std::size_t head_end;
    while ((head_end = buffer_.find("\r\n\r\n")) == std::string::npos)
      if (!fill(end)) return std::nullopt;
    RawResponse r;
    r.head = buffer_.substr(0, head_end);
    r.status_line = r.head.substr(0, r.head.find("\r\n"));
    if (r.status_line.size() >= 12) r.status = std::stoi(r.status_line.substr(9, 3));
    std::size_t length = 0;
    const std::string cl = r.header("Content-Length");
    if (!cl.empty() && !head_only && r.status >= 200 && r.status != 204 && r.status != 304) length = std::stoul(cl);
    while (buffer_.size() < head_end + 4 + length)
      if (!fill(end)) return std::nullopt;
    r.body = buffer_.substr(head_end + 4, length);
    buffer_.erase(0, head_end + 4 + length);
    return r;
  }

  // Waits up to `timeout` for the host to end the connection; bytes that
  // arrive meanwhile are kept in leftover().
  End wait_end(std::chrono::milliseconds timeout) {
    const auto end = std::chrono::steady_clock::now() + timeout;
    for (;;) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(end - std::chrono::steady_clock::now());
      if (left.count() <= 0) return End::StillOpen;
      pollfd p{fd_, POLLIN, 0};
      const int ready = ::poll(&p, 1, static_cast<int>(left.count()));
      if (ready == 0) return End::StillOpen;
      if (ready < 0) continue;
      char chunk[4096];
      const auto n = ::recv(fd_, chunk, sizeof chunk, 0);
      if (n == 0) return End::Closed;
      if (n < 0) {
        if (errno == EINTR || errno == EAGAIN) continue;
        return End::Reset;
      }
      buffer_.append(chunk, static_cast<std::size_t>(n));
    }
  }

  // True while the host keeps the connection open: nothing to read, no end.
  bool open_now() {
    char byte;
    const auto n = ::recv(fd_, &byte, 1, MSG_PEEK | MSG_DONTWAIT);
    return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
  }

  const std::string& leftover() const { return buffer_; }

 private:
  bool fill(std::chrono::steady_clock::time_point end) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(end - std::chrono::steady_clock::now());
    if (left.count() <= 0) return false;
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) return false;
    char chunk[4096];
    const auto n = ::recv(fd_, chunk, sizeof chunk, 0);
    if (n <= 0) return false;
    buffer_.append(chunk, static_cast<std::size_t>(n));
    return true;
  }

  int fd_ = -1;
  std::string buffer_;
};

}  // namespace switchboard::testing
