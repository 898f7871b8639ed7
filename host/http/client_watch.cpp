// File: host/http/client_watch.cpp
//
// Client-disconnect detection by peeking at the request's socket.
#include "host/http/client_watch.h"

#include "host/http/router.h"

#include <Poco/Net/HTTPServerRequest.h>
#include <Poco/Net/HTTPServerRequestImpl.h>
#include <Poco/Net/StreamSocket.h>

#include <poll.h>
#include <pthread.h>
#include <sys/mman.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <thread>

namespace switchboard::http {

bool client_closed(Exchange& ex) {
  try {
    auto& impl = dynamic_cast<Poco::Net::HTTPServerRequestImpl&>(ex.request);
    Poco::Net::StreamSocket& socket = impl.socket();
    if (!socket.poll(Poco::Timespan(0), Poco::Net::Socket::SELECT_READ | Poco::Net::Socket::SELECT_ERROR))
      return false;
    // Readable: either the next request of a keep-alive client (bytes to
    // read, left for Poco), or the end of the stream.
    char byte = 0;
    const auto n = ::recv(socket.impl()->sockfd(), &byte, 1, MSG_PEEK | MSG_DONTWAIT);
    if (n == 0) return true;
    return n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR;
  } catch (const std::exception&) {
    return true;
  }
}

bool client_gone_within(Exchange& ex, std::chrono::milliseconds ms) {
  int fd = -1;
  try {
    auto& impl = dynamic_cast<Poco::Net::HTTPServerRequestImpl&>(ex.request);
    fd = impl.socket().impl()->sockfd();
  } catch (const std::exception&) {
    return true;
  }
  pollfd p{fd, POLLIN | POLLRDHUP, 0};
  const int ready = ::poll(&p, 1, static_cast<int>(ms.count()));
  if (ready == 0) return false;
  if (ready < 0) return errno != EINTR;
  if (p.revents & (POLLRDHUP | POLLHUP | POLLERR | POLLNVAL)) return true;
  char byte = 0;
  const auto n = ::recv(fd, &byte, 1, MSG_PEEK | MSG_DONTWAIT);
  if (n == 0) return true;
  if (n < 0) return errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR;
  std::this_thread::sleep_for(std::min(ms, std::chrono::milliseconds(20)));  // pipelined bytes: nothing to wait on
  return false;
}

void release_stack_below_here() {
  thread_local std::uintptr_t lowest = 0;  // the stack's lowest usable address
  if (lowest == 0) {
    pthread_attr_t attr;
    if (::pthread_getattr_np(::pthread_self(), &attr) != 0) return;
    void* addr = nullptr;
    std::size_t size = 0;
    ::pthread_attr_getstack(&attr, &addr, &size);
    ::pthread_attr_destroy(&attr);
    lowest = reinterpret_cast<std::uintptr_t>(addr);
  }
  const std::uintptr_t page = 4096;
  char here = 0;
  // Pages below the stack pointer hold nothing live; 4 KiB are kept for what
  // the pause itself calls (poll). A page touched again later is a zero page.
  const std::uintptr_t top = (reinterpret_cast<std::uintptr_t>(&here) - 4 * 1024) & ~(page - 1);
  const std::uintptr_t bottom = (lowest + 2 * page - 1) & ~(page - 1);
  if (top > bottom) ::madvise(reinterpret_cast<void*>(bottom), top - bottom, MADV_DONTNEED);
}

bool ClientWatch::wait(std::chrono::milliseconds ms) {
  if (gone_) return false;
  if (!stack_released_ && ms >= std::chrono::milliseconds(100)) {
    stack_released_ = true;
    release_stack_below_here();
  }
  gone_ = client_gone_within(ex_, std::clamp(ms, std::chrono::milliseconds(0), kMaxClientWait));
  last_check_ = std::chrono::steady_clock::now();
  return !gone_;
}

bool ClientWatch::alive() {
  if (gone_) return false;
  const auto now = std::chrono::steady_clock::now();
  if (now - last_check_ < std::chrono::milliseconds(20)) return true;
  last_check_ = now;
  gone_ = client_closed(ex_);
  return !gone_;
}

}  // namespace switchboard::http
