// File: host/http/client_watch.cpp
//
// Client-disconnect detection by peeking at the request's socket.
#include "host/http/client_watch.h"

#include "host/http/router.h"

#include <Poco/Net/HTTPServerRequest.h>
#include <Poco/Net/HTTPServerRequestImpl.h>
#include <Poco/Net/StreamSocket.h>

#include <sys/socket.h>

#include <cerrno>

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

bool ClientWatch::alive() {
  if (gone_) return false;
  const auto now = std::chrono::steady_clock::now();
  if (now - last_check_ < std::chrono::milliseconds(20)) return true;
  last_check_ = now;
  gone_ = client_closed(ex_);
  return !gone_;
}

}  // namespace switchboard::http
