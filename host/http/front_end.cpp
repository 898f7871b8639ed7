// File: host/http/front_end.cpp
//
// The connection life cycle. The epoll thread accepts a connection and reads it
// until it holds one whole request, head and body, under total deadlines (not
// per read); only then does a worker take it, with the request's bytes in
// memory, and run them through Poco's HTTPServerRequestImpl/ResponseImpl and
// the router. After the response a kept-alive connection goes back to the
// epoll thread. What the front end refuses itself (limits, deadlines, bad
// framing) gets a JSON error and a lingering close, never a silent reset.
#include "host/http/front_end.h"

#include "host/http/chunk_scanner.h"
#include "host/log.h"

#include <Poco/DateTimeFormat.h>
#include <Poco/DateTimeFormatter.h>
#include <Poco/Exception.h>
#include <Poco/MemoryStream.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPRequestHandler.h>
#include <Poco/Net/HTTPRequestHandlerFactory.h>
#include <Poco/Net/HTTPServerParams.h>
#include <Poco/Net/HTTPServerRequestImpl.h>
#include <Poco/Net/HTTPServerResponseImpl.h>
#include <Poco/Net/HTTPServerSession.h>
#include <Poco/Net/NetException.h>
#include <Poco/Net/ServerSocket.h>
#include <Poco/Net/SocketAddress.h>
#include <Poco/Net/StreamSocket.h>
#include <Poco/Net/StreamSocketImpl.h>
#include <Poco/Runnable.h>
#include <Poco/String.h>
#include <Poco/ThreadPool.h>
#include <Poco/Timestamp.h>

#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <mutex>
#include <set>
#include <stdexcept>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

namespace switchboard::http {

namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

constexpr std::uint64_t kListenerKey = 0;  // epoll keys 0 and 1; connections count from 2
constexpr std::uint64_t kWakeKey = 1;
constexpr std::size_t kReadChunk = 64 * 1024;
// A refused connection is half-closed and drained for this long before close():
// closing with unread input makes the kernel send a reset, which can destroy
// the error response before the client reads it.
constexpr auto kLinger = std::chrono::seconds(2);
constexpr std::size_t kLingerDiscardLimit = 1 << 20;
// Lingering connections allowed beyond max_connections (each holds a descriptor).
constexpr int kLingerReserve = 1024;

// The socket Poco reads on a worker. The epoll thread has already read the
// whole request, so it is served from memory: a worker never waits on a slow
// client's input. The end of the request reads as the end of input. The
// descriptor stays non-blocking in both hands (no mode switch per request);
// a worker's write waits for room with poll(), up to the send timeout.
class ConnectionSocketImpl final : public Poco::Net::StreamSocketImpl {
 public:
  ConnectionSocketImpl(poco_socket_t fd, int send_timeout_ms) : StreamSocketImpl(fd), send_timeout_ms_(send_timeout_ms) {}
  using StreamSocketImpl::receiveBytes;
  using StreamSocketImpl::sendBytes;

  int sendBytes(const void* buffer, int length, int flags) override {
    const char* p = static_cast<const char*>(buffer);
    int sent = 0;
    while (sent < length) {
      const auto n = ::send(sockfd(), p + sent, static_cast<std::size_t>(length - sent), flags | MSG_NOSIGNAL);
      if (n >= 0) {
        sent += static_cast<int>(n);
        continue;
      }
      if (errno == EINTR) continue;
      if (errno != EAGAIN && errno != EWOULDBLOCK) error(errno);  // throws, e.g. ConnectionResetException
      pollfd room{sockfd(), POLLOUT, 0};
      const int ready = ::poll(&room, 1, send_timeout_ms_);
      if (ready == 0) throw Poco::TimeoutException("the client has not read for " + std::to_string(send_timeout_ms_) + " ms");
      if (ready < 0 && errno != EINTR) error(errno);
    }
    return sent;
  }
  // Poco sets a receive timeout per session; reads come from memory, so it
  // would only cost a system call per request.
  void setReceiveTimeout(const Poco::Timespan&) override {}

  void serve(std::string request) {
    request_ = std::move(request);
    offset_ = 0;
  }
  void release() { std::string().swap(request_); offset_ = 0; }

  int receiveBytes(void* buffer, int length, int /*flags*/) override {
    if (length <= 0) return 0;
    const std::size_t n = std::min(static_cast<std::size_t>(length), request_.size() - offset_);
    std::memcpy(buffer, request_.data() + offset_, n);
    offset_ += n;
    return static_cast<int>(n);
  }

 private:
  std::string request_;
  std::size_t offset_ = 0;
  int send_timeout_ms_;
};

// The reason phrase of RFC 9110 section 15; Poco 1.11 still has a few of
// RFC 2616's ("Request Time-out", "Gateway Time-Out").
std::string reason_for(int status) {
  switch (status) {
    case 408: return "Request Timeout";
    case 413: return "Content Too Large";
    case 414: return "URI Too Long";
    case 416: return "Range Not Satisfiable";
    case 504: return "Gateway Timeout";
    default: return Poco::Net::HTTPResponse::getReasonForStatus(static_cast<Poco::Net::HTTPResponse::HTTPStatus>(status));
  }
}

// Handlers that call setStatus() alone leave the reason at "OK" ("304 OK"):
// every status line a worker sends gets the reason of its own status here.
class Response final : public Poco::Net::HTTPServerResponseImpl {
 public:
  explicit Response(Poco::Net::HTTPServerSession& session) : HTTPServerResponseImpl(session) {}
  std::ostream& send() override {
    setReason(reason_for(getStatus()));
    return HTTPServerResponseImpl::send();
  }
};

enum class Phase {
  Head,       // idle, or reading a request head
  Body,       // head complete, reading its body
  Lingering,  // answered and half-closed; draining input until the peer closes
};

enum class BodyKind { None, Length, Chunked };

// What reading a body came to. Answered: the connection was refused (and may
// be gone): the caller must not touch it again.
enum class BodyState { Complete, Incomplete, Answered };

// One client connection. Owned by exactly one side at a time: the epoll
// thread (waiting for a request), the queue, or a worker.
struct Connection {
  Connection(ConnectionSocketImpl* socket_impl, std::uint64_t key, std::atomic<int>& open_count)
      : socket(socket_impl), impl(socket_impl), fd(socket_impl->sockfd()), id(key), open(open_count) {
    ++open;
  }
  ~Connection() { --open; }
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  void next_request() {
    phase = Phase::Head;
    scan_from = 0;
    head_end = 0;
    request_end = 0;
    body = BodyKind::None;
    content_length = 0;
    chunks = ChunkScanner();
    healthz = false;
    head_method = false;
    keep_alive = true;
    http10 = false;
    openai = false;
    method.clear();
    path.clear();
  }

  Poco::Net::StreamSocket socket;  // owns the descriptor
  ConnectionSocketImpl* impl;
  int fd;
  std::uint64_t id;
  std::atomic<int>& open;

  Phase phase = Phase::Head;
  bool served = false;        // kept alive after at least one response
  bool linger = false;        // set by a worker: half-close and drain, then close
  bool has_deadline = false;
  Clock::time_point deadline;
  std::string in;             // received bytes not yet served
  std::size_t accounted = 0;  // bytes of `in` counted in the front end's total
  std::size_t discarded = 0;  // while lingering

  // The request being read.
  std::size_t scan_from = 0;
  std::size_t head_end = 0;
  std::size_t request_end = 0;
  BodyKind body = BodyKind::None;
  std::uint64_t content_length = 0;
  ChunkScanner chunks;
  bool healthz = false;
  bool head_method = false;
  bool keep_alive = true;
  bool http10 = false;
  bool openai = false;  // under /v1: errors in OpenAI's shape
  std::string method;
  std::string path;
};

std::string json_escape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (const char ch : text) {
    if (ch == '"' || ch == '\\') {
      out += '\\';
      out += ch;
    } else if (static_cast<unsigned char>(ch) < 0x20) {
      out += ' ';
    } else {
      out += ch;
    }
  }
  return out;
}

bool is_digits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

}  // namespace

struct FrontEnd::State {
  class Worker final : public Poco::Runnable {
   public:
    explicit Worker(State& state) : state_(state) {}
    void run() override { state_.work(); }

   private:
    State& state_;
  };

  State(FrontEndOptions o, Poco::Net::HTTPRequestHandlerFactory* f)
      : options(std::move(o)), factory(f), params(new Poco::Net::HTTPServerParams), worker(*this) {
    params->setKeepAlive(true);
    scratch.resize(kReadChunk);
  }

  // ---- the epoll thread -------------------------------------------------

  void reactor_loop();
  int next_timeout_ms() const;
  void accept_all();
  void shed_one();
  void admit(int fd);
  void on_wake();
  void adopt(std::unique_ptr<Connection> c);
  void on_readable(Connection& c);
  void on_eof(Connection& c);
  void process(Connection& c);
  bool find_head(Connection& c);
  bool parse_head(Connection& c);
  BodyState read_body(Connection& c);
  bool dispatch(Connection& c);
  bool answer_healthz(Connection& c);
  void answer(Connection& c, int status, std::string_view code, const std::string& message);
  void start_linger(Connection& c);
  void discard(Connection& c);
  void expire(Clock::time_point now);
  void apply_refusing();
  void watch(Connection& c);
  void set_deadline(Connection& c, Clock::time_point at);
  void clear_deadline(Connection& c);
  void account(Connection& c);
  std::unique_ptr<Connection> release(Connection& c);
  void close(Connection& c);
  bool workers_saturated();
  void log_access(const Connection& c, int status) const;

  // ---- workers -----------------------------------------------------------

  void work();
  void serve(Connection& c);
  void wake() const {
    const std::uint64_t one = 1;
    [[maybe_unused]] const auto n = ::write(wake_fd, &one, sizeof one);
  }

  const FrontEndOptions options;
  std::unique_ptr<Poco::Net::HTTPRequestHandlerFactory> factory;
  Poco::Net::HTTPServerParams::Ptr params;
  Worker worker;
  Poco::Net::ServerSocket listener;
  std::uint16_t port = 0;
  int epoll_fd = -1;
  int wake_fd = -1;
  int reserve_fd = -1;  // given up to accept (and refuse) one connection when out of descriptors
  std::thread reactor;
  std::unique_ptr<Poco::ThreadPool> pool;
  std::atomic<bool> refusing{false};
  std::atomic<bool> stopping{false};
  std::atomic<int> open{0};
  bool started = false;
  bool stopped = false;

  // Owned by the epoll thread.
  std::unordered_map<std::uint64_t, std::unique_ptr<Connection>> conns;
  std::set<std::pair<Clock::time_point, std::uint64_t>> deadlines;
  std::uint64_t next_id = 2;
  std::size_t buffered = 0;
  int lingering = 0;
  bool refusing_applied = false;
  std::vector<char> scratch;
  Clock::time_point last_shed_warning{};
  Clock::time_point last_collect{};

  // Shared with the workers, under `mutex`.
  std::mutex mutex;
  std::condition_variable work_ready;
  std::deque<std::unique_ptr<Connection>> queue;
  int workers = 0;  // started; one idle for worker_idle_ms ends (one always stays)
  int idle = 0;     // waiting for work
  std::unordered_set<int> on_workers;  // descriptors being served, shut on stop()
  std::vector<std::unique_ptr<Connection>> returned;
};

// ---- the epoll thread ---------------------------------------------------

void FrontEnd::State::reactor_loop() {
  std::array<epoll_event, 256> events{};
  while (!stopping) {
    const int n = ::epoll_wait(epoll_fd, events.data(), static_cast<int>(events.size()), next_timeout_ms());
    if (n < 0 && errno != EINTR) {
      log::http().critical(std::string("epoll_wait failed: ") + std::strerror(errno));
      break;
    }
    for (int i = 0; i < n && !stopping; ++i) {
      const std::uint64_t key = events[static_cast<std::size_t>(i)].data.u64;
      if (key == kListenerKey) {
        accept_all();
      } else if (key == kWakeKey) {
        on_wake();
      } else if (const auto it = conns.find(key); it != conns.end()) {
        on_readable(*it->second);
      }
    }
    const auto now = Clock::now();
    expire(now);
    // Poco reaps idle pool threads only when asked; without new traffic nobody would.
    if (now - last_collect >= std::chrono::seconds(2)) {
      last_collect = now;
      pool->collect();
    }
  }
  // Stopping: everything still waiting here is closed.
  deadlines.clear();
  conns.clear();
  try {
    listener.close();
  } catch (...) {
  }
}

int FrontEnd::State::next_timeout_ms() const {
  if (deadlines.empty()) return 1000;
  const auto left = std::chrono::duration_cast<milliseconds>(deadlines.begin()->first - Clock::now()).count();
  return static_cast<int>(std::clamp<long long>(left + 1, 0, 1000));
}

void FrontEnd::State::accept_all() {
  // A bounded batch, so a flood of connects cannot starve reads.
  for (int i = 0; i < 256; ++i) {
    const int fd = ::accept4(listener.impl()->sockfd(), nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd >= 0) {
      admit(fd);
      continue;
    }
    if (errno == EINTR || errno == ECONNABORTED) continue;
    if (errno == EMFILE || errno == ENFILE) shed_one();
    return;  // EAGAIN, or an error the next readiness retries
  }
}

// Out of descriptors: the listener would stay readable and spin. Give up the
// reserve descriptor for one accept, refuse that client with a 503, close.
void FrontEnd::State::shed_one() {
  if (reserve_fd >= 0) {
    ::close(reserve_fd);
    reserve_fd = -1;
  }
  const int fd = ::accept4(listener.impl()->sockfd(), nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
  if (fd >= 0) {
    static const std::string body =
        R"({"error":{"code":"over_capacity","message":"the host is out of file descriptors; retry shortly"}})";
    static const std::string text =
        "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\nRetry-After: 1\r\n"
        "Connection: close\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
    [[maybe_unused]] const auto n = ::send(fd, text.data(), text.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
    ::shutdown(fd, SHUT_WR);
    ::close(fd);
  }
  reserve_fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  const auto now = Clock::now();
  if (now - last_shed_warning > std::chrono::seconds(10)) {
    last_shed_warning = now;
    log::http().warning("out of file descriptors with " + std::to_string(open.load()) +
                        " connections open: refusing new ones (raise the open-file limit or lower --max-connections)");
  }
}

void FrontEnd::State::admit(int fd) {
  // Small responses and stream events leave at once instead of waiting for
  // Nagle's algorithm to batch them with data that is not coming.
  const int on = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on);
  auto* impl = new ConnectionSocketImpl(fd, options.send_timeout_ms);
  auto owned = std::make_unique<Connection>(impl, next_id++, open);
  Connection& c = *owned;
  conns.emplace(c.id, std::move(owned));
  watch(c);
  if (refusing) return answer(c, 503, "shutting_down", "the host is shutting down");
  if (open.load() - lingering > options.max_connections)
    return answer(c, 503, "over_capacity",
                  "the host has " + std::to_string(options.max_connections) + " connections open; retry shortly");
  set_deadline(c, Clock::now() + milliseconds(options.head_timeout_ms));
}

void FrontEnd::State::on_wake() {
  std::uint64_t count = 0;
  [[maybe_unused]] const auto n = ::read(wake_fd, &count, sizeof count);
  std::vector<std::unique_ptr<Connection>> back;
  {
    std::lock_guard lock(mutex);
    back.swap(returned);
  }
  if (refusing && !refusing_applied) apply_refusing();
  for (auto& c : back) adopt(std::move(c));
}

// A connection back from a worker.
void FrontEnd::State::adopt(std::unique_ptr<Connection> owned) {
  Connection& c = *owned;
  conns.emplace(c.id, std::move(owned));
  watch(c);
  account(c);
  if (c.linger) return start_linger(c);
  c.next_request();
  c.served = true;
  if (refusing) {
    if (c.in.empty()) return close(c);
    return answer(c, 503, "shutting_down", "the host is shutting down");
  }
  if (c.in.empty()) {
    set_deadline(c, Clock::now() + milliseconds(options.keep_alive_timeout_ms));
  } else {
    set_deadline(c, Clock::now() + milliseconds(options.head_timeout_ms));
    process(c);  // pipelined: the next request may be here already
  }
}

void FrontEnd::State::on_readable(Connection& c) {
  if (c.phase == Phase::Lingering) return discard(c);
  std::size_t want = kReadChunk;
  if (c.phase == Phase::Head) {
    // Enough to see a head of exactly the limit end, and no more.
    const std::size_t cap = options.max_head_bytes + 4;
    want = c.in.size() < cap ? std::min(want, cap - c.in.size()) : 1;
  } else if (c.body == BodyKind::Length) {
    // Exactly the rest of the body: a pipelined request stays in the kernel.
    const std::size_t end = c.head_end + static_cast<std::size_t>(c.content_length);
    if (end > c.in.size()) want = std::min(want, end - c.in.size());
  }
  if (buffered + want > options.max_buffered_bytes)
    return answer(c, 503, "over_capacity", "the host is holding too many unfinished requests; retry shortly");
  const auto n = ::recv(c.fd, scratch.data(), want, 0);
  if (n < 0) {
    if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) return;
    return close(c);
  }
  if (n == 0) return on_eof(c);
  const bool was_idle = c.in.empty() && c.phase == Phase::Head;
  c.in.append(scratch.data(), static_cast<std::size_t>(n));
  account(c);
  // A kept-alive connection's head deadline starts with its first byte; a
  // new connection's started at accept. Later bytes never extend it.
  if (was_idle && c.served) set_deadline(c, Clock::now() + milliseconds(options.head_timeout_ms));
  process(c);
}

// The client closed its side. A request that is whole was dispatched already.
void FrontEnd::State::on_eof(Connection& c) {
  if (c.in.empty()) return close(c);
  const std::string what = c.phase == Phase::Body ? "body" : "head";
  answer(c, 400, "bad_request", "the connection ended before the end of the request " + what);
}

void FrontEnd::State::process(Connection& c) {
  for (;;) {
    if (c.phase == Phase::Head) {
      if (!find_head(c)) {
        if (c.in.size() > options.max_head_bytes)
          answer(c, 431, "header_too_large",
                 "the request head is larger than " + std::to_string(options.max_head_bytes) + " bytes");
        return;
      }
      if (!parse_head(c)) return;
      c.phase = Phase::Body;
      const BodyState body = read_body(c);
      if (body == BodyState::Answered) return;
      if (body == BodyState::Incomplete) {
        set_deadline(c, Clock::now() + milliseconds(options.body_timeout_ms));
        return;
      }
    } else if (c.phase == Phase::Body) {
      if (read_body(c) != BodyState::Complete) return;
    } else {
      return;
    }
    if (!dispatch(c)) return;
  }
}

bool FrontEnd::State::find_head(Connection& c) {
  // Empty lines before a request line are allowed (RFC 9112 2.2).
  if (c.scan_from == 0) {
    std::size_t skip = 0;
    while (skip < c.in.size() && (c.in[skip] == '\r' || c.in[skip] == '\n')) ++skip;
    if (skip > 0) {
      c.in.erase(0, skip);
      account(c);
    }
  }
  // The head ends with an empty line: "\r\n\r\n", or bare "\n" line ends,
  // which Poco accepts too.
  const std::size_t limit = std::min(c.in.size(), options.max_head_bytes);
  for (std::size_t i = c.scan_from; i < limit; ++i) {
    if (c.in[i] != '\n') continue;
    if (i + 1 < c.in.size() && c.in[i + 1] == '\n') {
      c.head_end = i + 2;
      return c.head_end <= options.max_head_bytes;
    }
    if (i + 2 < c.in.size() && c.in[i + 1] == '\r' && c.in[i + 2] == '\n') {
      c.head_end = i + 3;
      return c.head_end <= options.max_head_bytes;
    }
  }
  c.scan_from = limit > 2 ? limit - 2 : 0;
  return false;
}

// Poco parses the head (the worker parses the same bytes again); the front
// end checks the framing Poco would take on trust.
bool FrontEnd::State::parse_head(Connection& c) {
  Poco::Net::HTTPRequest request;
  try {
    Poco::MemoryInputStream head(c.in.data(), static_cast<std::streamsize>(c.head_end));
    request.read(head);
  } catch (const Poco::Net::MessageException& e) {
    const std::string why = e.message();
    const bool too_large = why.find("too long") != std::string::npos || why.find("Too many") != std::string::npos;
    answer(c, too_large ? 431 : 400, too_large ? "header_too_large" : "bad_request",
           "the request head is malformed: " + why);
    return false;
  } catch (const Poco::Exception& e) {
    answer(c, 400, "bad_request", "the request head is malformed: " + e.message());
    return false;
  }
  c.method = request.getMethod();
  const std::string& uri = request.getURI();
  c.path = uri.substr(0, uri.find('?'));
  c.openai = c.path.rfind("/v1/", 0) == 0;
  c.head_method = c.method == Poco::Net::HTTPRequest::HTTP_HEAD;
  c.http10 = request.getVersion() == Poco::Net::HTTPMessage::HTTP_1_0;
  c.keep_alive = request.getKeepAlive();

  int lengths = 0;
  int codings = 0;
  std::string length;
  std::string coding;
  for (const auto& [name, value] : request) {
    if (Poco::icompare(name, "Content-Length") == 0) {
      ++lengths;
      length = Poco::trim(value);
    } else if (Poco::icompare(name, "Transfer-Encoding") == 0) {
      ++codings;
      coding = Poco::trim(value);
    }
  }
  // Two framings (or two lengths) are how requests are smuggled past proxies.
  if (lengths > 0 && codings > 0) {
    answer(c, 400, "bad_request", "Content-Length and Transfer-Encoding together");
    return false;
  }
  if (lengths > 1) {
    answer(c, 400, "bad_request", "more than one Content-Length");
    return false;
  }
  if (codings > 1 || (codings == 1 && Poco::icompare(coding, "chunked") != 0)) {
    answer(c, 501, "unsupported_transfer_encoding", "only Transfer-Encoding: chunked is supported");
    return false;
  }
  if (codings == 1) {
    c.body = BodyKind::Chunked;
  } else if (lengths == 1) {
    if (!is_digits(length) || length.size() > 18) {
      answer(c, 400, "bad_request", "Content-Length is not a decimal number");
      return false;
    }
    c.content_length = std::stoull(length);
    if (c.content_length > options.max_body_bytes) {
      answer(c, 413, "payload_too_large",
             "request body is larger than the limit of " + std::to_string(options.max_body_bytes) + " bytes");
      return false;
    }
    if (c.content_length > 0) c.body = BodyKind::Length;
  }
  c.healthz = c.body == BodyKind::None && c.path == "/healthz" &&
              (c.method == Poco::Net::HTTPRequest::HTTP_GET || c.head_method);

  // A client that waits for "100 Continue" before its body gets it now; Poco
  // does not send it again, since the worker only sees whole requests.
  const bool body_missing = (c.body == BodyKind::Length && c.in.size() < c.head_end + c.content_length) ||
                            (c.body == BodyKind::Chunked && c.in.size() == c.head_end);
  if (body_missing && request.getExpectContinue() && !c.http10) {
    static const char kContinue[] = "HTTP/1.1 100 Continue\r\n\r\n";
    [[maybe_unused]] const auto n = ::send(c.fd, kContinue, sizeof kContinue - 1, MSG_NOSIGNAL | MSG_DONTWAIT);
  }
  return true;
}

BodyState FrontEnd::State::read_body(Connection& c) {
  switch (c.body) {
    case BodyKind::None:
      c.request_end = c.head_end;
      return BodyState::Complete;
    case BodyKind::Length:
      if (c.in.size() < c.head_end + c.content_length) return BodyState::Incomplete;
      c.request_end = c.head_end + static_cast<std::size_t>(c.content_length);
      return BodyState::Complete;
    case BodyKind::Chunked:
      break;
  }
  const std::string_view body = std::string_view(c.in).substr(c.head_end);
  switch (c.chunks.feed(body, options.max_body_bytes)) {
    case ChunkScanner::Result::Done:
      c.request_end = c.head_end + c.chunks.wire_size();
      return BodyState::Complete;
    case ChunkScanner::Result::Bad:
      answer(c, 400, "bad_request", "malformed chunked body: " + c.chunks.error());
      return BodyState::Answered;
    case ChunkScanner::Result::TooLarge:
      answer(c, 413, "payload_too_large",
             "request body is larger than the limit of " + std::to_string(options.max_body_bytes) + " bytes");
      return BodyState::Answered;
    case ChunkScanner::Result::NeedMore:
      break;
  }
  // Framing may not cost much more than the body it frames.
  if (body.size() > 2 * options.max_body_bytes + 64 * 1024) {
    answer(c, 413, "payload_too_large", "the chunked body's framing is too large");
    return BodyState::Answered;
  }
  return BodyState::Incomplete;
}

// A whole request: to a worker, or answered here. True when the connection
// stays here with possibly another request to look at.
bool FrontEnd::State::dispatch(Connection& c) {
  if (refusing) {
    answer(c, 503, "shutting_down", "the host is shutting down");
    return false;
  }
  // Liveness must not depend on a free worker.
  if (c.healthz && workers_saturated()) return answer_healthz(c);
  bool full = false;
  {
    std::lock_guard lock(mutex);
    full = static_cast<int>(queue.size()) >= options.max_queued;
  }
  if (full) {
    // Only this thread adds to the queue, so "not full" above still holds below.
    answer(c, 503, "over_capacity", "every worker is busy and the queue is full; retry shortly");
    return false;
  }
  const std::size_t request_end = c.request_end;
  auto owned = release(c);
  owned->impl->serve(owned->in.substr(0, request_end));
  owned->in.erase(0, request_end);
  if (owned->in.empty()) std::string().swap(owned->in);
  {
    std::lock_guard lock(mutex);
    queue.push_back(std::move(owned));
    if (static_cast<int>(queue.size()) > idle && workers < options.max_threads) {
      ++workers;
      try {
        pool->start(worker);
      } catch (const Poco::NoThreadAvailableException&) {
        // A worker that just ended may not have handed its thread back yet;
        // the queued request waits for the workers there are.
        --workers;
      }
    }
  }
  work_ready.notify_one();
  return false;
}

bool FrontEnd::State::answer_healthz(Connection& c) {
  static const std::string kBody = R"({"status":"ok"})";
  const bool keep = c.keep_alive;
  std::string text = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nCache-Control: no-store\r\nDate: " +
                     Poco::DateTimeFormatter::format(Poco::Timestamp(), Poco::DateTimeFormat::HTTP_FORMAT) +
                     "\r\nContent-Length: " + std::to_string(kBody.size()) + "\r\n";
  if (!keep) text += "Connection: close\r\n";
  else if (c.http10) text += "Connection: Keep-Alive\r\n";
  text += "\r\n";
  if (!c.head_method) text += kBody;
  const auto n = ::send(c.fd, text.data(), text.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
  log_access(c, 200);
  if (n != static_cast<ssize_t>(text.size())) {
    close(c);  // a client that does not read its answers gets no buffer here
    return false;
  }
  c.in.erase(0, c.request_end);
  account(c);
  c.next_request();
  c.served = true;
  if (!keep) {
    start_linger(c);
    return false;
  }
  set_deadline(c, Clock::now() + milliseconds(c.in.empty() ? options.keep_alive_timeout_ms : options.head_timeout_ms));
  return true;
}

void FrontEnd::State::answer(Connection& c, int status, std::string_view code, const std::string& message) {
  std::string body;
  if (c.openai) {
    const char* type = status >= 500 ? "server_error" : "invalid_request_error";
    body = R"({"error":{"message":")" + json_escape(message) + R"(","type":")" + type +
           R"(","param":null,"code":")" + std::string(code) + R"("}})";
  } else {
    body = R"({"error":{"code":")" + std::string(code) + R"(","message":")" + json_escape(message) + R"("}})";
  }
  std::string text = "HTTP/1.1 " + std::to_string(status) + " " + reason_for(status) +
                     "\r\nContent-Type: application/json\r\nCache-Control: no-store\r\nDate: " +
                     Poco::DateTimeFormatter::format(Poco::Timestamp(), Poco::DateTimeFormat::HTTP_FORMAT) +
                     "\r\nConnection: close\r\nContent-Length: " + std::to_string(body.size()) + "\r\n";
  if (status == 503) text += "Retry-After: 1\r\n";
  text += "\r\n";
  if (!c.head_method) text += body;
  [[maybe_unused]] const auto n = ::send(c.fd, text.data(), text.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
  log_access(c, status);
  if (log::http().debug()) log::http().debug("answered " + std::to_string(status) + " " + std::string(code) + ": " + message);
  start_linger(c);
}

void FrontEnd::State::start_linger(Connection& c) {
  if (lingering >= kLingerReserve) return close(c);
  ::shutdown(c.fd, SHUT_WR);
  c.phase = Phase::Lingering;
  std::string().swap(c.in);
  account(c);
  c.discarded = 0;
  ++lingering;
  set_deadline(c, Clock::now() + kLinger);
}

void FrontEnd::State::discard(Connection& c) {
  const auto n = ::recv(c.fd, scratch.data(), scratch.size(), 0);
  if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) return;
  if (n <= 0) return close(c);
  c.discarded += static_cast<std::size_t>(n);
  if (c.discarded > kLingerDiscardLimit) close(c);
}

void FrontEnd::State::expire(Clock::time_point now) {
  while (!deadlines.empty() && deadlines.begin()->first <= now) {
    const std::uint64_t id = deadlines.begin()->second;
    deadlines.erase(deadlines.begin());
    const auto it = conns.find(id);
    if (it == conns.end()) continue;
    Connection& c = *it->second;
    c.has_deadline = false;
    if (c.phase == Phase::Lingering || (c.phase == Phase::Head && c.in.empty())) {
      close(c);  // drained long enough, or idle: nothing to answer
    } else if (c.phase == Phase::Head) {
      answer(c, 408, "request_timeout",
             "the request head did not arrive within " + std::to_string(options.head_timeout_ms) + " ms");
    } else {
      answer(c, 408, "request_timeout",
             "the request body did not arrive within " + std::to_string(options.body_timeout_ms) + " ms");
    }
  }
}

void FrontEnd::State::apply_refusing() {
  refusing_applied = true;
  std::vector<Connection*> all;
  all.reserve(conns.size());
  for (auto& [id, c] : conns) all.push_back(c.get());
  for (Connection* c : all) {
    if (c->phase == Phase::Lingering) continue;
    // An idle kept-alive connection is closed, as any idle one may be. A new
    // one is answered even before its request arrives: that request is on
    // its way, and closing under it would reset it.
    if (c->in.empty() && c->served) close(*c);
    else answer(*c, 503, "shutting_down", "the host is shutting down");
  }
}

void FrontEnd::State::watch(Connection& c) {
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.u64 = c.id;
  ::epoll_ctl(epoll_fd, EPOLL_CTL_ADD, c.fd, &ev);
}

void FrontEnd::State::set_deadline(Connection& c, Clock::time_point at) {
  clear_deadline(c);
  c.deadline = at;
  c.has_deadline = true;
  deadlines.emplace(at, c.id);
}

void FrontEnd::State::clear_deadline(Connection& c) {
  if (c.has_deadline) deadlines.erase({c.deadline, c.id});
  c.has_deadline = false;
}

void FrontEnd::State::account(Connection& c) {
  buffered = buffered + c.in.size() - c.accounted;
  c.accounted = c.in.size();
}

// Takes a connection out of the epoll thread's hands.
std::unique_ptr<Connection> FrontEnd::State::release(Connection& c) {
  ::epoll_ctl(epoll_fd, EPOLL_CTL_DEL, c.fd, nullptr);
  clear_deadline(c);
  buffered -= c.accounted;
  c.accounted = 0;
  if (c.phase == Phase::Lingering) --lingering;
  const auto it = conns.find(c.id);
  auto owned = std::move(it->second);
  conns.erase(it);
  return owned;
}

void FrontEnd::State::close(Connection& c) { release(c); }

bool FrontEnd::State::workers_saturated() {
  std::lock_guard lock(mutex);
  return workers >= options.max_threads && idle <= static_cast<int>(queue.size());
}

void FrontEnd::State::log_access(const Connection& c, int status) const {
  if (!log::access().information()) return;
  log::access().information((c.method.empty() ? "-" : c.method) + " " + (c.path.empty() ? "-" : c.path) + " " +
                            std::to_string(status) + " (front end)");
}

// ---- workers ------------------------------------------------------------

void FrontEnd::State::work() {
  ::pthread_setname_np(::pthread_self(), "sb-worker");
  std::unique_lock lock(mutex);
  for (;;) {
    if (queue.empty()) {
      if (stopping) break;
      ++idle;
      const bool woken = work_ready.wait_for(lock, std::chrono::milliseconds(options.worker_idle_ms),
                                             [&] { return !queue.empty() || stopping; });
      --idle;
      // After a burst, the workers it needed go; one stays for the next request.
      if (!woken && workers > 1) break;
      continue;
    }
    std::unique_ptr<Connection> c = std::move(queue.front());
    queue.pop_front();
    on_workers.insert(c->fd);
    lock.unlock();
    serve(*c);
    lock.lock();
    on_workers.erase(c->fd);
    if (stopping || (!c->linger && !c->served)) {
      c.reset();  // closes it
    } else {
      returned.push_back(std::move(c));
      if (returned.size() == 1) wake();  // the epoll thread takes them all at once
    }
  }
  --workers;
}

// One request, from the bytes the epoll thread read. Sets c.served when the
// connection is kept alive, c.linger when it is to be half-closed and drained.
void FrontEnd::State::serve(Connection& c) {
  c.served = false;
  c.linger = false;
  bool keep = false;
  bool answered = false;
  try {
    Poco::Net::HTTPServerSession session(c.socket, params);
    // The session closes its socket when destroyed; the connection outlives it.
    struct Detach {
      Poco::Net::HTTPServerSession& session;
      ~Detach() {
        try {
          session.detachSocket();
        } catch (...) {
        }
      }
    } detach{session};
    {
      Response response(session);
      Poco::Net::HTTPServerRequestImpl request(response, session, params.get());
      response.setDate(Poco::Timestamp());
      response.setVersion(request.getVersion());
      response.setKeepAlive(request.getKeepAlive() && !refusing);
      std::unique_ptr<Poco::Net::HTTPRequestHandler> handler(factory->createRequestHandler(request));
      if (handler) handler->handleRequest(request, response);
      answered = response.sent();
      keep = answered && response.getKeepAlive() && !refusing;
    }  // the response's stream ends here (a stream's last chunk is written)
  } catch (const Poco::Exception& e) {
    // Poco throws when the client went away mid-response; nothing to answer.
    if (log::http().debug()) log::http().debug("connection dropped while serving: " + e.displayText());
    keep = false;
    answered = false;
  } catch (const std::exception& e) {
    log::http().error(std::string("connection failed while serving: ") + e.what());
    keep = false;
    answered = false;
  }
  c.impl->release();
  c.served = keep;
  c.linger = !keep && answered;
}

// ---- FrontEnd -------------------------------------------------------------

FrontEnd::FrontEnd(FrontEndOptions options, Poco::Net::HTTPRequestHandlerFactory* factory)
    : state_(std::make_unique<State>(std::move(options), factory)) {}

FrontEnd::~FrontEnd() { stop(); }

void FrontEnd::start() {
  State& s = *state_;
  const FrontEndOptions& o = s.options;

  // Every connection is a descriptor: lift the soft open-file limit towards
  // what max_connections needs (never past the hard limit).
  rlimit limit{};
  const rlim_t want = static_cast<rlim_t>(o.max_connections) + kLingerReserve + 256;
  if (::getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur < want) {
    limit.rlim_cur = std::min(want, limit.rlim_max);
    ::setrlimit(RLIMIT_NOFILE, &limit);
    if (limit.rlim_cur < want)
      log::http().warning("the open-file limit is " + std::to_string(limit.rlim_cur) + ", below the " +
                          std::to_string(want) + " that --max-connections=" + std::to_string(o.max_connections) +
                          " needs; connections beyond it are refused with 503");
  }

  s.listener.bind(Poco::Net::SocketAddress(o.bind, o.port), true);
  // The epoll thread accepts as fast as connections come, so the backlog
  // only covers bursts between two of its turns.
  s.listener.listen(4096);
  s.listener.setBlocking(false);
  s.port = s.listener.address().port();

  s.epoll_fd = ::epoll_create1(EPOLL_CLOEXEC);
  s.wake_fd = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  s.reserve_fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  if (s.epoll_fd < 0 || s.wake_fd < 0) throw std::runtime_error(std::string("epoll setup failed: ") + std::strerror(errno));
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.u64 = kListenerKey;
  ::epoll_ctl(s.epoll_fd, EPOLL_CTL_ADD, s.listener.impl()->sockfd(), &ev);
  ev.data.u64 = kWakeKey;
  ::epoll_ctl(s.epoll_fd, EPOLL_CTL_ADD, s.wake_fd, &ev);

  // Workers start on demand and end after worker_idle_ms without work; the
  // pool's thread of an ended worker is joined by the epoll thread's next
  // collect(), a second or so later. Stacks: HostOptions::worker_stack_kb.
  s.pool = std::make_unique<Poco::ThreadPool>(1, o.max_threads, 1, static_cast<int>(o.worker_stack_bytes));
  s.started = true;
  s.reactor = std::thread([&s] {
    ::pthread_setname_np(::pthread_self(), "sb-front-end");  // findable in top -H and /proc
    s.reactor_loop();
  });
}

std::uint16_t FrontEnd::port() const { return state_->port; }

void FrontEnd::refuse_new() {
  State& s = *state_;
  if (!s.started || s.refusing.exchange(true)) return;
  s.wake();
}

void FrontEnd::stop() {
  State& s = *state_;
  if (!s.started || s.stopped) return;
  s.stopped = true;
  s.refusing = true;
  s.stopping = true;
  s.wake();
  if (s.reactor.joinable()) s.reactor.join();
  {
    std::lock_guard lock(s.mutex);
    // Whatever a worker still serves is cut short: its writes fail at once.
    for (const int fd : s.on_workers) ::shutdown(fd, SHUT_RDWR);
    s.queue.clear();
  }
  s.work_ready.notify_all();
  s.pool->joinAll();
  {
    std::lock_guard lock(s.mutex);
    s.returned.clear();
  }
  ::close(s.epoll_fd);
  ::close(s.wake_fd);
  if (s.reserve_fd >= 0) ::close(s.reserve_fd);
}

}  // namespace switchboard::http
