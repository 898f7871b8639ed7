// File: host/http/sse_writer.cpp
//
// Server-Sent Events output and client-disconnect detection.
#include "host/http/sse_writer.h"

#include "host/http/client_watch.h"
#include "host/http/router.h"

#include <Poco/Net/HTTPServerRequest.h>
#include <Poco/Net/HTTPServerRequestImpl.h>
#include <Poco/Net/HTTPServerResponse.h>
#include <Poco/Net/StreamSocket.h>

#include <algorithm>
#include <ostream>

namespace switchboard::http {

using Clock = std::chrono::steady_clock;

SseWriter::SseWriter(Exchange& ex, int keepalive_ms)
    : ex_(ex), keepalive_(std::chrono::milliseconds(keepalive_ms)), last_write_(Clock::now()) {}

void SseWriter::begin() {
  // Small events must leave at once, not wait for Nagle's algorithm to batch them.
  try {
    dynamic_cast<Poco::Net::HTTPServerRequestImpl&>(ex_.request).socket().setNoDelay(true);
  } catch (const std::exception&) {
  }
  auto& response = ex_.response;
  response.setStatus(Poco::Net::HTTPResponse::HTTP_OK);
  response.setContentType("text/event-stream");
  response.set("Cache-Control", "no-cache");
  response.set("X-Accel-Buffering", "no");  // tells nginx-like proxies not to buffer
  response.setChunkedTransferEncoding(true);
  out_ = &response.send();
  ex_.status = 200;
}

void SseWriter::set_header(const std::string& name, const std::string& value) { ex_.response.set(name, value); }

bool SseWriter::write(std::string_view text, bool flush) {
  if (gone_ || out_ == nullptr) return false;
  out_->write(text.data(), static_cast<std::streamsize>(text.size()));
  unflushed_ = !flush;
  if (flush) out_->flush();
  last_write_ = Clock::now();
  ex_.bytes_sent += text.size();
  if (!out_->good()) gone_ = true;
  return !gone_;
}

bool SseWriter::event(std::string_view name, std::string_view json, bool flush) {
  buffer_.assign("event: ").append(name).append("\ndata: ").append(json).append("\n\n");
  return write(buffer_, flush);
}

// Held events go out before the provider waits: one write for all it had at once.
bool SseWriter::flush_held() {
  if (!unflushed_ || gone_ || out_ == nullptr) return !gone_;
  unflushed_ = false;
  out_->flush();
  if (!out_->good()) gone_ = true;
  return !gone_;
}

bool SseWriter::data(std::string_view json) {
  buffer_.assign("data: ").append(json).append("\n\n");
  return write(buffer_);
}

bool SseWriter::alive() {
  if (!flush_held()) return false;
  const auto now = Clock::now();
  // A poll syscall every 20 ms at most: disconnects are seen well within a second.
  if (now - last_check_ < std::chrono::milliseconds(20)) return true;
  last_check_ = now;
  if (peer_closed()) {
    gone_ = true;
    return false;
  }
  if (out_ != nullptr && now - last_write_ >= keepalive_) return write(": keep-alive\n\n");
  return true;
}

bool SseWriter::wait(std::chrono::milliseconds ms) {
  if (!flush_held()) return false;
  if (!stack_released_ && ms >= std::chrono::milliseconds(100)) {
    stack_released_ = true;
    release_stack_below_here();
  }
  auto slice = std::clamp(ms, std::chrono::milliseconds(0), kMaxClientWait);
  if (out_ != nullptr) {
    const auto until_keepalive =
        std::chrono::duration_cast<std::chrono::milliseconds>(last_write_ + keepalive_ - Clock::now());
    slice = std::clamp(until_keepalive, std::chrono::milliseconds(0), slice);
  }
  if (client_gone_within(ex_, slice)) {
    gone_ = true;
    return false;
  }
  const auto now = Clock::now();
  last_check_ = now;
  if (out_ != nullptr && now - last_write_ >= keepalive_) return write(": keep-alive\n\n");
  return true;
}

bool SseWriter::peer_closed() { return client_closed(ex_); }

}  // namespace switchboard::http
