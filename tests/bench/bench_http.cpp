// File: tests/bench/bench_http.cpp
//
// Raw-socket HTTP client and fake upstream for the benchmark.
#include "bench_http.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <string_view>

namespace switchboard::bench {

namespace {

bool send_all(int fd, const std::string& data) {
  std::size_t sent = 0;
  while (sent < data.size()) {
    const ssize_t n = ::send(fd, data.data() + sent, data.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) return false;
    sent += static_cast<std::size_t>(n);
  }
  return true;
}

void no_delay(int fd) {
  int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

std::string chunk(const std::string& data) {
  char size[16];
  std::snprintf(size, sizeof size, "%zx\r\n", data.size());
  return size + data + "\r\n";
}

}  // namespace

// --- client -------------------------------------------------------------------

Client::~Client() { close(); }

void Client::close() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
  buffer_.clear();
  pos_ = 0;
}

bool Client::connect() {
  close();
  fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd_ < 0) return false;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port_);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    close();
    return false;
  }
  no_delay(fd_);
  return true;
}

bool Client::read_more() {
  if (pos_ > 0 && pos_ == buffer_.size()) {
    buffer_.clear();
    pos_ = 0;
  }
  char tmp[16384];
  const ssize_t n = ::recv(fd_, tmp, sizeof tmp, 0);
  if (n <= 0) return false;
  buffer_.append(tmp, static_cast<std::size_t>(n));
  return true;
}

bool Client::read_line(std::string& line) {
  for (;;) {
    const std::size_t eol = buffer_.find("\r\n", pos_);
    if (eol != std::string::npos) {
      line.assign(buffer_, pos_, eol - pos_);
      pos_ = eol + 2;
      return true;
    }
    if (!read_more()) return false;
  }
}

bool Client::read_exact(std::size_t n, std::string& out) {
  while (buffer_.size() - pos_ < n)
    if (!read_more()) return false;
  out.append(buffer_, pos_, n);
  pos_ += n;
  return true;
}

bool Client::request(const std::string& method, const std::string& path, const std::string& body, Response& out) {
  for (int attempt = 0; attempt < 2; ++attempt) {
    if (fd_ < 0 && !connect()) return false;
    std::string req = method + " " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: keep-alive\r\n";
    if (!bearer_key().empty()) req += "Authorization: Bearer " + bearer_key() + "\r\n";
    if (!body.empty() || method == "POST")
      req += "Content-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) + "\r\n";
    req += "\r\n" + body;
    if (!send_all(fd_, req)) {
      close();
      continue;  // a kept-alive connection the server closed: once more on a new one
    }
    out = Response{};
    std::string line;
    if (!read_line(line)) {
      close();
      if (attempt == 0) continue;
      return false;
    }
    if (line.size() < 12) return false;
    out.status = std::atoi(line.c_str() + 9);
    std::int64_t length = -1;
    bool chunked = false;
    bool closing = false;
    while (read_line(line) && !line.empty()) {
      std::string lower = line;
      for (auto& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      if (lower.rfind("content-length:", 0) == 0) length = std::atoll(lower.c_str() + 15);
      if (lower.rfind("transfer-encoding:", 0) == 0 && lower.find("chunked") != std::string::npos) chunked = true;
      if (lower.rfind("connection:", 0) == 0 && lower.find("close") != std::string::npos) closing = true;
    }
    if (chunked) {
      for (;;) {
        if (!read_line(line)) return false;
        const std::size_t size = std::strtoul(line.c_str(), nullptr, 16);
        if (size == 0) {
          read_line(line);
          break;
        }
        if (out.first_byte == Clock::time_point{}) out.first_byte = Clock::now();
        const std::size_t before = out.body.size();
        if (!read_exact(size, out.body) || !read_line(line)) return false;
        if (out.first_delta == Clock::time_point{} &&
            (out.body.find("event: delta", before > 16 ? before - 16 : 0) != std::string::npos ||
             out.body.find("\"content\":\"t", before > 16 ? before - 16 : 0) != std::string::npos))
          out.first_delta = Clock::now();
      }
    } else if (length > 0) {
      if (buffer_.size() == pos_ && !read_more()) return false;
      out.first_byte = Clock::now();
      if (!read_exact(static_cast<std::size_t>(length), out.body)) return false;
    } else {
      out.first_byte = Clock::now();
    }
    out.end = Clock::now();
    if (closing) close();
    return true;
  }
  return false;
}

// --- many streams ------------------------------------------------------------------

ManyStreams many_streams(std::uint16_t port, int count, const std::string& request, int per_second,
                         std::chrono::seconds limit) {
  struct Stream {
    int fd = -1;
    bool sent = false;
    bool status_ok = false;
    bool done = false;  // saw data: [DONE]
    std::string tail;   // the last bytes read, for markers split across reads
    Clock::time_point start{}, first_byte{};
  };
  ManyStreams out;
  std::vector<Stream> streams(static_cast<std::size_t>(count));
  const int ep = ::epoll_create1(EPOLL_CLOEXEC);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  int open_now = 0, next = 0, finished = 0;
  const auto begin = Clock::now();
  const auto give_up = begin + limit;
  auto end_stream = [&](std::size_t i, bool ok) {
    Stream& st = streams[i];
    ::epoll_ctl(ep, EPOLL_CTL_DEL, st.fd, nullptr);
    ::close(st.fd);
    st.fd = -1;
    --open_now;
    ++finished;
    if (ok) {
      ++out.complete;
      out.whole_ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - st.start).count());
    } else {
      ++out.errors;
    }
  };
  std::vector<epoll_event> events(1024);
  char buf[16384];
  while (finished < count && Clock::now() < give_up) {
    // Open the connections due by now.
    const auto due = std::min<long>(count, static_cast<long>(std::chrono::duration<double>(Clock::now() - begin).count() * per_second) + 1);
    while (next < due) {
      Stream& st = streams[static_cast<std::size_t>(next)];
      st.fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
      st.start = Clock::now();
      ++out.opened;
      if (st.fd < 0) {
        ++out.errors;
        ++finished;
        ++next;
        continue;
      }
      no_delay(st.fd);
      ::connect(st.fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);  // EINPROGRESS: writable once connected
      epoll_event ev{};
      ev.events = EPOLLOUT | EPOLLIN | EPOLLRDHUP;
      ev.data.u64 = static_cast<std::uint64_t>(next);
      ::epoll_ctl(ep, EPOLL_CTL_ADD, st.fd, &ev);
      ++open_now;
      ++next;
      out.most_open = std::max(out.most_open, open_now);
    }
    const int n = ::epoll_wait(ep, events.data(), static_cast<int>(events.size()), 10);
    for (int k = 0; k < n; ++k) {
      const auto i = static_cast<std::size_t>(events[static_cast<std::size_t>(k)].data.u64);
      Stream& st = streams[i];
      if (st.fd < 0) continue;
      if (!st.sent && (events[static_cast<std::size_t>(k)].events & EPOLLOUT)) {
        int err = 0;
        socklen_t len = sizeof err;
        ::getsockopt(st.fd, SOL_SOCKET, SO_ERROR, &err, &len);
        if (err != 0 || ::send(st.fd, request.data(), request.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(request.size())) {
          end_stream(i, false);
          continue;
        }
        st.sent = true;
        epoll_event ev{};
        ev.events = EPOLLIN | EPOLLRDHUP;
        ev.data.u64 = i;
        ::epoll_ctl(ep, EPOLL_CTL_MOD, st.fd, &ev);
        continue;
      }
      if (!(events[static_cast<std::size_t>(k)].events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR))) continue;
      for (;;) {
        const ssize_t got = ::recv(st.fd, buf, sizeof buf, 0);
        if (got < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
        if (got <= 0) {
          end_stream(i, false);  // closed before the end of the response
          break;
        }
        if (st.first_byte == Clock::time_point{}) {
          st.first_byte = Clock::now();
          out.first_byte_ms.push_back(std::chrono::duration<double, std::milli>(st.first_byte - st.start).count());
          st.status_ok = got >= 12 && std::string_view(buf, 12) == "HTTP/1.1 200";
        }
        st.tail.append(buf, static_cast<std::size_t>(got));
        if (!st.done && st.tail.find("data: [DONE]") != std::string::npos) st.done = true;
        if (st.done && st.tail.find("\r\n0\r\n\r\n") != std::string::npos) {
          end_stream(i, st.status_ok);
          break;
        }
        if (st.tail.size() > 32) st.tail.erase(0, st.tail.size() - 32);
      }
    }
  }
  for (std::size_t i = 0; i < streams.size(); ++i)
    if (streams[i].fd >= 0) end_stream(i, false);
  out.errors += count - out.opened;
  ::close(ep);
  return out;
}

// --- fake upstream ---------------------------------------------------------------

FakeUpstream::FakeUpstream(FakeSettings s)
    : tokens_(s.tokens), first_delay_ms_(s.first_token_delay_ms), inter_delay_ms_(s.inter_token_delay_ms) {
  listen_fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
  int one = 1;
  ::setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = 0;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  ::listen(listen_fd_, 4096);
  socklen_t len = sizeof addr;
  ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len);
  port_ = ntohs(addr.sin_port);
  acceptor_ = std::thread([this] { accept_loop(); });
}

FakeUpstream::~FakeUpstream() {
  stopping_.store(true);
  ::shutdown(listen_fd_, SHUT_RDWR);
  ::close(listen_fd_);
  if (acceptor_.joinable()) acceptor_.join();
}

void FakeUpstream::set(FakeSettings s) {
  tokens_.store(s.tokens);
  first_delay_ms_.store(s.first_token_delay_ms);
  inter_delay_ms_.store(s.inter_token_delay_ms);
}

void FakeUpstream::accept_loop() {
  while (!stopping_.load()) {
    const int fd = ::accept(listen_fd_, nullptr, nullptr);
    if (fd < 0) {
      if (stopping_.load()) return;
      continue;
    }
    connections_.fetch_add(1);
    no_delay(fd);
    std::thread([this, fd] { serve(fd); }).detach();
  }
}

void FakeUpstream::serve(int fd) {
  std::string buffer;
  char tmp[16384];
  for (;;) {
    std::size_t header_end;
    while ((header_end = buffer.find("\r\n\r\n")) == std::string::npos) {
      const ssize_t n = ::recv(fd, tmp, sizeof tmp, 0);
      if (n <= 0) {
        ::close(fd);
        return;
      }
      buffer.append(tmp, static_cast<std::size_t>(n));
    }
    std::size_t length = 0;
    const std::size_t cl = buffer.find("ontent-Length: ");
    if (cl != std::string::npos && cl < header_end) length = std::strtoul(buffer.c_str() + cl + 15, nullptr, 10);
    while (buffer.size() < header_end + 4 + length) {
      const ssize_t n = ::recv(fd, tmp, sizeof tmp, 0);
      if (n <= 0) {
        ::close(fd);
        return;
      }
      buffer.append(tmp, static_cast<std::size_t>(n));
    }
    const std::string head = buffer.substr(0, header_end);
    const std::string body = buffer.substr(header_end + 4, length);
    buffer.erase(0, header_end + 4 + length);

    const bool ollama = head.find(" /api/chat ") != std::string::npos;
    const bool stream = body.find("\"stream\":true") != std::string::npos;
    const int tokens = tokens_.load();
    const int first_delay = first_delay_ms_.load();
    const int inter_delay = inter_delay_ms_.load();
    bool ok = true;
    if (head.rfind("GET ", 0) == 0) {
      const std::string models = R"({"object":"list","data":[{"id":"fake","object":"model"}]})";
      ok = send_all(fd, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: " +
                            std::to_string(models.size()) + "\r\n\r\n" + models);
    } else if (!stream) {
      std::string text;
      for (int i = 0; i < tokens; ++i) text += "tok ";
      if (first_delay > 0) std::this_thread::sleep_for(std::chrono::milliseconds(first_delay));
      const std::string json =
          ollama ? R"({"model":"fake","message":{"role":"assistant","content":")" + text +
                       R"("},"done":true,"done_reason":"stop","prompt_eval_count":5,"eval_count":)" +
                       std::to_string(tokens) + "}"
                 : R"({"id":"chatcmpl-fake","object":"chat.completion","created":1,"model":"fake","choices":[{"index":0,"message":{"role":"assistant","content":")" +
                       text + R"("},"finish_reason":"stop"}],"usage":{"prompt_tokens":5,"completion_tokens":)" +
                       std::to_string(tokens) + R"(,"total_tokens":)" + std::to_string(tokens + 5) + "}}";
      ok = send_all(fd, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: " +
                            std::to_string(json.size()) + "\r\n\r\n" + json);
    } else {
      ok = send_all(fd, std::string("HTTP/1.1 200 OK\r\nContent-Type: ") +
                            (ollama ? "application/x-ndjson" : "text/event-stream") +
                            "\r\nTransfer-Encoding: chunked\r\n\r\n");
      if (first_delay > 0) std::this_thread::sleep_for(std::chrono::milliseconds(first_delay));
      for (int i = 0; ok && i < tokens; ++i) {
        if (i > 0 && inter_delay > 0) std::this_thread::sleep_for(std::chrono::milliseconds(inter_delay));
        ok = send_all(fd, chunk(ollama ? R"({"model":"fake","message":{"role":"assistant","content":"tok "},"done":false})" "\n"
                                       : R"(data: {"id":"chatcmpl-fake","object":"chat.completion.chunk","created":1,"model":"fake","choices":[{"index":0,"delta":{"content":"tok "},"finish_reason":null}]})" "\n\n"));
      }
      if (ok) {
        const std::string n = std::to_string(tokens);
        std::string tail =
            ollama ? chunk(R"({"model":"fake","message":{"role":"assistant","content":""},"done":true,"done_reason":"stop","prompt_eval_count":5,"eval_count":)" + n + "}\n")
                   : chunk(R"(data: {"id":"chatcmpl-fake","object":"chat.completion.chunk","created":1,"model":"fake","choices":[{"index":0,"delta":{},"finish_reason":"stop"}]})" "\n\n") +
                         chunk(R"(data: {"id":"chatcmpl-fake","object":"chat.completion.chunk","created":1,"model":"fake","choices":[],"usage":{"prompt_tokens":5,"completion_tokens":)" + n + R"(,"total_tokens":)" + std::to_string(tokens + 5) + "}}\n\n") +
                         chunk("data: [DONE]\n\n");
        ok = send_all(fd, tail + "0\r\n\r\n");
      }
    }
    if (!ok) {
      ::close(fd);
      return;
    }
  }
}

}  // namespace switchboard::bench
