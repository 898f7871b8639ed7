// File: tests/support/fake_upstream.h
//
// A real HTTP(S) server on 127.0.0.1:0 that speaks the OpenAI chat API
// (/v1/chat/completions, /v1/models) and Ollama's (/api/chat, /api/tags),
// with fault modes chosen by the requested model name, so one server serves
// many tests:
//   any other name   "Hello from fake" in three deltas, then usage and the end marker
//   shape-N-F-G      N tokens "t1 ".."tN ", the first after F ms, then G ms apart
//   length           one delta, then finish_reason / done_reason "length"
//   missing-model    404 in the upstream's own words for an unknown model
//   echo-key         401 whose message quotes the Authorization header back
//   slow             40 tokens 100 ms apart
//   slow-first       headers only after 10 s
//   stall            2 tokens, then 10 s of silence
//   cut              2 tokens, then the connection is cut mid-body
//   close-early      2 tokens, then a clean end of body without the end marker
//   malformed        a line that is not JSON
//   utf8-split       "你好世界", a character split across two writes
//   error-mid        2 tokens, then an error event
//   fault-401 / fault-403 / fault-404 / fault-429 / fault-500 / fault-400
//                    that status with a realistic error body (429 with Retry-After: 7)
//   html-error       502 with a proxy's HTML page (which names an internal host)
//   long-error       400 whose JSON error message is 2,000 characters of "é"
// Any path other than the four above is a plain-text 404, as for a wrong base_url.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>

namespace switchboard::testing {

struct TlsFiles {
  std::string ca_cert;      // PEM of the CA that signed the server's certificate
  std::string server_cert;
  std::string server_key;
};

// Makes a throwaway CA and a server certificate with the openssl command, in
// `dir`. The certificate names `subject_alt_names` (openssl syntax), so a
// test can also make one for a host it does not connect to.
TlsFiles make_test_certificates(const std::string& dir,
                                const std::string& subject_alt_names = "DNS:localhost,IP:127.0.0.1");

class FakeUpstream {
 public:
  // Plain HTTP, or HTTPS with `tls`; on `port`, or a free one. A server
  // made again on the port of one destroyed is the same upstream back from
  // an outage.
  explicit FakeUpstream(const TlsFiles* tls = nullptr, std::uint16_t port = 0);
  ~FakeUpstream();
  FakeUpstream(const FakeUpstream&) = delete;
  FakeUpstream& operator=(const FakeUpstream&) = delete;

  std::uint16_t port() const;
  std::string openai_url() const;  // http[s]://127.0.0.1:port/v1
  std::string ollama_url() const;  // http[s]://127.0.0.1:port

  // TCP connections accepted so far: keep-alive reuse shows as a small number.
  int connections() const;
  std::string last_path() const;  // request target, e.g. /v1/chat/completions
  std::string last_body() const;
  std::string last_header(const std::string& name) const;
  int requests() const { return requests_.load(); }

  // Called by the server's handlers.
  void record(const std::string& path, const std::string& body, const std::map<std::string, std::string>& headers);

 private:
  struct Server;
  std::unique_ptr<Server> server_;
  bool tls_ = false;
  mutable std::mutex mutex_;
  std::string last_path_;
  std::string last_body_;
  std::map<std::string, std::string> last_headers_;
  std::atomic<int> requests_{0};
};

}  // namespace switchboard::testing
