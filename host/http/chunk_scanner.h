// File: host/http/chunk_scanner.h
//
// Finds where a chunked request body ends and refuses a malformed one before
// any handler runs: Poco's chunked reader takes a bad chunk size for the end
// of the body. It checks the framing only; Poco still decodes the body.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace switchboard::http {

class ChunkScanner {
 public:
  enum class Result {
    NeedMore,  // well-formed so far
    Done,      // the last chunk and its CRLF: wire_size() is the body's length
    Bad,       // malformed: error() says how
    TooLarge,  // the chunk sizes add up to more than max_decoded
  };

  // `body` is everything received of the body so far: the same bytes again
  // plus any new ones on each call (the scanner resumes where it stopped).
  Result feed(std::string_view body, std::uint64_t max_decoded);

  std::size_t wire_size() const { return pos_; }
  const std::string& error() const { return error_; }

 private:
  enum class At { Size, Extension, SizeLf, Data, DataCr, DataLf, LastCr, LastLf, Done };

  Result bad(const char* why);

  At at_ = At::Size;
  std::size_t pos_ = 0;
  std::uint64_t size_ = 0;
  int digits_ = 0;
  std::size_t extension_ = 0;
  std::uint64_t decoded_ = 0;
  std::string error_;
  Result failed_ = Result::NeedMore;  // Bad or TooLarge once found
};

}  // namespace switchboard::http
