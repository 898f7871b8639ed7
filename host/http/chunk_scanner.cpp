// File: host/http/chunk_scanner.cpp
//
// The chunked framing of RFC 9112 7.1 as Poco 1.11 reads it, strictly: at most
// 8 hex digits per size (Poco's limit), CRLF line ends, no trailer fields
// (Poco would read them as the next request).
#include "host/http/chunk_scanner.h"

#include <algorithm>

namespace switchboard::http {

namespace {

int hex_value(char ch) {
  if (ch >= '0' && ch <= '9') return ch - '0';
  if (ch >= 'a' && ch <= 'f') return ch - 'a' + 10;
  if (ch >= 'A' && ch <= 'F') return ch - 'A' + 10;
  return -1;
}

}  // namespace

ChunkScanner::Result ChunkScanner::feed(std::string_view body, std::uint64_t max_decoded) {
  if (failed_ != Result::NeedMore) return failed_;  // a verdict does not change with more bytes
  while (pos_ < body.size()) {
    const char ch = body[pos_];
    switch (at_) {
      case At::Size: {
        const int v = hex_value(ch);
        if (v >= 0) {
          if (++digits_ > 8) return bad("a chunk size has more than 8 hexadecimal digits");
          size_ = size_ * 16 + static_cast<std::uint64_t>(v);
          ++pos_;
        } else if (digits_ > 0 && (ch == ';' || ch == ' ' || ch == '\t')) {
          at_ = At::Extension;
          ++pos_;
        } else if (digits_ > 0 && ch == '\r') {
          at_ = At::SizeLf;
          ++pos_;
        } else {
          return bad("a chunk size is not a hexadecimal number");
        }
        break;
      }
      case At::Extension:
        if (ch == '\r') {
          at_ = At::SizeLf;
        } else if (ch == '\n' || ++extension_ > 4096) {
          return bad("a chunk extension is malformed or too long");
        }
        ++pos_;
        break;
      case At::SizeLf:
        if (ch != '\n') return bad("a chunk size line does not end with CRLF");
        ++pos_;
        if (size_ == 0) {
          at_ = At::LastCr;
        } else {
          decoded_ += size_;
          if (decoded_ > max_decoded) return failed_ = Result::TooLarge;
          at_ = At::Data;
        }
        break;
      case At::Data: {
        const auto n = std::min<std::uint64_t>(size_, body.size() - pos_);
        pos_ += static_cast<std::size_t>(n);
        size_ -= n;
        if (size_ == 0) at_ = At::DataCr;
        break;
      }
      case At::DataCr:
        if (ch != '\r') return bad("chunk data is longer than its chunk size");
        at_ = At::DataLf;
        ++pos_;
        break;
      case At::DataLf:
        if (ch != '\n') return bad("chunk data is not followed by CRLF");
        at_ = At::Size;
        digits_ = 0;
        extension_ = 0;
        ++pos_;
        break;
      case At::LastCr:
        // Poco reads one line after the last chunk, so trailer fields would
        // be taken for the next request: refused rather than misread.
        if (ch != '\r') return bad("trailer fields after the last chunk are not supported");
        at_ = At::LastLf;
        ++pos_;
        break;
      case At::LastLf:
        if (ch != '\n') return bad("the last chunk does not end with CRLF");
        ++pos_;
        at_ = At::Done;
        return Result::Done;
      case At::Done:
        return Result::Done;
    }
  }
  return at_ == At::Done ? Result::Done : Result::NeedMore;
}

ChunkScanner::Result ChunkScanner::bad(const char* why) {
  error_ = why;
  return failed_ = Result::Bad;
}

}  // namespace switchboard::http
