// File: tests/support/fake_upstream.cpp
//
// The fake upstream's handlers, on Poco's HTTP server (HTTPS with a
// SecureServerSocket), and the throwaway certificates for TLS tests.
#include "fake_upstream.h"

#include <Poco/Net/Context.h>
#include <Poco/Net/HTTPRequestHandler.h>
#include <Poco/Net/HTTPRequestHandlerFactory.h>
#include <Poco/Net/HTTPServer.h>
#include <Poco/Net/HTTPServerParams.h>
#include <Poco/Net/HTTPServerRequest.h>
#include <Poco/Net/HTTPServerRequestImpl.h>
#include <Poco/Net/HTTPServerResponse.h>
#include <Poco/Net/SSLManager.h>
#include <Poco/Net/SecureServerSocket.h>
#include <Poco/Net/ServerSocket.h>
#include <Poco/Net/SocketAddress.h>
#include <Poco/StreamCopier.h>
#include <Poco/ThreadPool.h>

#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <set>
#include <stdexcept>
#include <thread>

namespace switchboard::testing {

namespace {

using Json = nlohmann::json;
using namespace std::chrono_literals;

void run(const std::string& command) {
  if (std::system((command + " >/dev/null 2>&1").c_str()) != 0) throw std::runtime_error("failed: " + command);
}

std::string openai_chunk(const std::string& content) {
  return "data: " +
         Json{{"id", "chatcmpl-fake"}, {"object", "chat.completion.chunk"}, {"created", 1}, {"model", "fake"},
              {"choices", Json::array({{{"index", 0}, {"delta", {{"content", content}}}, {"finish_reason", nullptr}}})}}
             .dump() +
         "\n\n";
}
std::string openai_finish(const std::string& reason = "stop") {
  return "data: " +
         Json{{"id", "chatcmpl-fake"}, {"object", "chat.completion.chunk"}, {"created", 1}, {"model", "fake"},
              {"choices", Json::array({{{"index", 0}, {"delta", Json::object()}, {"finish_reason", reason}}})}}
             .dump() +
         "\n\ndata: " +
         Json{{"id", "chatcmpl-fake"}, {"object", "chat.completion.chunk"}, {"created", 1}, {"model", "fake"},
              {"choices", Json::array()}, {"usage", {{"prompt_tokens", 7}, {"completion_tokens", 3}, {"total_tokens", 10}}}}
             .dump() +
         "\n\ndata: [DONE]\n\n";
}
std::string ollama_line(const std::string& content) {
  return Json{{"model", "fake"}, {"message", {{"role", "assistant"}, {"content", content}}}, {"done", false}}.dump() + "\n";
}
std::string ollama_done(const std::string& reason = "stop") {
  return Json{{"model", "fake"}, {"message", {{"role", "assistant"}, {"content", ""}}}, {"done", true},
              {"done_reason", reason}, {"prompt_eval_count", 7}, {"eval_count", 3}}
             .dump() +
         "\n";
}

// Sleeps in slices so a stopping server does not wait out a 10 s fault.
void nap(std::chrono::milliseconds total, const std::atomic<bool>& stopping) {
  const auto end = std::chrono::steady_clock::now() + total;
  while (!stopping.load() && std::chrono::steady_clock::now() < end) std::this_thread::sleep_for(5ms);
}

class Handler final : public Poco::Net::HTTPRequestHandler {
 public:
  Handler(FakeUpstream& owner, const std::atomic<bool>& stopping) : owner_(owner), stopping_(stopping) {}

  void handleRequest(Poco::Net::HTTPServerRequest& req, Poco::Net::HTTPServerResponse& res) override {
    std::string body;
    Poco::StreamCopier::copyToString(req.stream(), body);
    std::map<std::string, std::string> headers;
    for (const auto& [k, v] : req) headers[k] = v;
    const std::string uri = req.getURI();
    owner_.record(uri, body, headers);
    const bool ollama = uri.rfind("/api/", 0) == 0;

    // Any other path answers as Ollama's Go router does for a wrong base_url.
    static const std::set<std::string> known = {"/v1/chat/completions", "/v1/models", "/api/chat", "/api/tags"};
    if (known.count(uri) == 0) {
      res.setStatus(Poco::Net::HTTPResponse::HTTP_NOT_FOUND);
      res.setContentType("text/plain");
      res.setContentLength(18);
      res.send() << "404 page not found";
      return;
    }

    if (req.getMethod() == "GET") {
      const std::string list = ollama ? R"({"models":[{"name":"llama3.2:latest"},{"name":"qwen2.5:0.5b"}]})"
                                      : R"({"object":"list","data":[{"id":"gpt-fake","object":"model"},{"id":"gpt-fake-mini","object":"model"}]})";
      return json(res, 200, list);
    }
    std::string model;
    try {
      model = Json::parse(body).value("model", "");
    } catch (const std::exception&) {
      return json(res, 400, R"({"error":{"message":"invalid JSON body","type":"invalid_request_error"}})");
    }
    if (model.rfind("fault-", 0) == 0) return fault(res, std::atoi(model.c_str() + 6), model, ollama);
    if (model == "html-error") {
      // A proxy in front of the model server, and its page about the network behind it.
      const std::string page = "<html><head><title>502 Bad Gateway</title></head><body><h1>Bad Gateway</h1>"
                               "<p>upstream inference-7.internal.corp:8443 refused the connection</p></body></html>";
      res.setStatus(Poco::Net::HTTPResponse::HTTP_BAD_GATEWAY);
      res.setContentType("text/html");
      res.setContentLength(static_cast<std::streamsize>(page.size()));
      res.send() << page;
      return;
    }
    if (model == "long-error") {
      std::string message;
      for (int i = 0; i < 2000; ++i) message += "\xc3\xa9";  // é, two bytes each
      return json(res, 400, ollama ? Json{{"error", message}}.dump()
                                   : Json{{"error", {{"message", message}, {"type", "invalid_request_error"}}}}.dump());
    }
    if (model == "echo-key") {
      // A careless proxy that quotes the credential back in its error.
      return json(res, 401, Json{{"error", {{"message", "Invalid key: " + req.get("Authorization", "(none)")},
                                            {"type", "invalid_request_error"}}}}.dump());
    }
    if (model == "missing-model") {
      // Each upstream's own words for an unknown model.
      return json(res, 404, ollama ? Json{{"error", "model \"missing-model\" not found, try pulling it first"}}.dump()
                                   : Json{{"error", {{"message", "The model `missing-model` does not exist"},
                                                     {"type", "invalid_request_error"}, {"param", nullptr},
                                                     {"code", "model_not_found"}}}}.dump());
    }
    int shape_tokens = 0, shape_first_ms = 0, shape_gap_ms = 0;
    const bool shaped = std::sscanf(model.c_str(), "shape-%d-%d-%d", &shape_tokens, &shape_first_ms, &shape_gap_ms) == 3;

    if (model == "slow-first") nap(10s, stopping_);
    if (shaped) nap(std::chrono::milliseconds(shape_first_ms), stopping_);
    res.setContentType(ollama ? "application/x-ndjson" : "text/event-stream");
    if (model == "close-early") {
      // No chunking, no length: the body ends when the connection closes.
      res.setChunkedTransferEncoding(false);
      res.setKeepAlive(false);
    } else {
      res.setChunkedTransferEncoding(true);
    }
    std::ostream& out = res.send();
    auto piece = [&](const std::string& text) {
      out << (ollama ? ollama_line(text) : openai_chunk(text));
      out.flush();
    };
    std::string reason = "stop";
    if (shaped) {
      for (int i = 1; i <= shape_tokens && out.good(); ++i) {
        piece("t" + std::to_string(i) + " ");
        if (i < shape_tokens) nap(std::chrono::milliseconds(shape_gap_ms), stopping_);
      }
    } else if (model == "length") {
      piece("cut short");
      reason = "length";
    } else if (model == "slow") {
      for (int i = 1; i <= 40 && out.good(); ++i) {
        piece("tok" + std::to_string(i) + " ");
        nap(100ms, stopping_);
      }
    } else if (model == "stall") {
      piece("one ");
      piece("two ");
      nap(10s, stopping_);
      return;
    } else if (model == "cut" || model == "close-early") {
      piece("one ");
      piece("two ");
      if (model == "cut") {
        // Mid-body: no terminating chunk, no end marker.
        static_cast<Poco::Net::HTTPServerRequestImpl&>(req).socket().shutdown();
      }
      return;
    } else if (model == "malformed") {
      piece("one ");
      out << (ollama ? "{this is not json\n" : "data: {this is not json\n\n");
      out.flush();
    } else if (model == "error-mid") {
      piece("one ");
      piece("two ");
      out << (ollama ? R"({"error":"model crashed while generating"})" "\n"
                     : "data: " R"({"error":{"message":"model crashed while generating","type":"server_error"}})" "\n\n");
      out.flush();
      return;
    } else if (model == "utf8-split") {
      // "你好世界" with 好 (E5 A5 BD) split across two writes of the stream.
      const std::string line = ollama ? ollama_line("你好世界") : openai_chunk("你好世界");
      const auto at = line.find("\xe5\xa5\xbd") + 1;
      out << line.substr(0, at);
      out.flush();
      std::this_thread::sleep_for(30ms);
      out << line.substr(at);
      out.flush();
    } else {
      piece("Hello ");
      piece("from ");
      piece("fake");
    }
    out << (ollama ? ollama_done(reason) : openai_finish(reason));
    out.flush();
  }

 private:
  static void json(Poco::Net::HTTPServerResponse& res, int status, const std::string& body) {
    res.setStatus(static_cast<Poco::Net::HTTPResponse::HTTPStatus>(status));
    res.setContentType("application/json");
    res.setContentLength(static_cast<std::streamsize>(body.size()));
    res.send() << body;
  }

  static void fault(Poco::Net::HTTPServerResponse& res, int status, const std::string& model, bool ollama) {
    std::string message;
    switch (status) {
      case 401: message = "Incorrect API key provided: sk-wr***ng. You can find your API key at https://example.invalid"; break;
      case 403: message = "You are not allowed to sample from this model"; break;
      case 404: message = "The model `" + model + "` does not exist or you do not have access to it."; break;
      case 429: message = "Rate limit reached for requests"; res.set("Retry-After", "7"); break;
      case 400: message = "'messages' must contain at least one message"; break;
      default: message = "The server had an error while processing your request."; break;
    }
    const std::string body = ollama ? Json{{"error", message}}.dump()
                                    : Json{{"error", {{"message", message}, {"type", "invalid_request_error"}, {"param", nullptr}, {"code", nullptr}}}}.dump();
    json(res, status, body);
  }

  FakeUpstream& owner_;
  const std::atomic<bool>& stopping_;
};

class Factory final : public Poco::Net::HTTPRequestHandlerFactory {
 public:
  Factory(FakeUpstream& owner, const std::atomic<bool>& stopping) : owner_(owner), stopping_(stopping) {}
  Poco::Net::HTTPRequestHandler* createRequestHandler(const Poco::Net::HTTPServerRequest&) override {
    return new Handler(owner_, stopping_);
  }

 private:
  FakeUpstream& owner_;
  const std::atomic<bool>& stopping_;
};

}  // namespace

TlsFiles make_test_certificates(const std::string& dir, const std::string& subject_alt_names) {
  TlsFiles f{dir + "/ca.pem", dir + "/server.pem", dir + "/server.key"};
  std::ofstream(dir + "/san.ext") << "subjectAltName=" << subject_alt_names << "\n";
  run("openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=switchboard-test-ca -keyout " + dir +
      "/ca.key -out " + f.ca_cert);
  run("openssl req -newkey rsa:2048 -nodes -subj /CN=localhost -keyout " + f.server_key + " -out " + dir + "/server.csr");
  run("openssl x509 -req -days 2 -in " + dir + "/server.csr -CA " + f.ca_cert + " -CAkey " + dir +
      "/ca.key -CAcreateserial -extfile " + dir + "/san.ext -out " + f.server_cert);
  return f;
}

struct FakeUpstream::Server {
  std::atomic<bool> stopping{false};
  Poco::ThreadPool pool{2, 64};
  std::unique_ptr<Poco::Net::HTTPServer> http;
  std::uint16_t port = 0;
};

FakeUpstream::FakeUpstream(const TlsFiles* tls, std::uint16_t port)
    : server_(std::make_unique<Server>()), tls_(tls != nullptr) {
  Poco::Net::ServerSocket socket;
  if (tls) {
    Poco::Net::initializeSSL();
    Poco::Net::Context::Ptr context = new Poco::Net::Context(Poco::Net::Context::TLS_SERVER_USE, tls->server_key,
                                                             tls->server_cert, "", Poco::Net::Context::VERIFY_NONE);
    socket = Poco::Net::SecureServerSocket(Poco::Net::SocketAddress("127.0.0.1", port), 64, context);
  } else {
    socket.bind(Poco::Net::SocketAddress("127.0.0.1", port), true);
    socket.listen(64);
  }
  server_->port = socket.address().port();
  auto* params = new Poco::Net::HTTPServerParams;
  params->setMaxThreads(64);
  params->setMaxQueued(256);
  params->setKeepAlive(true);
  params->setKeepAliveTimeout(Poco::Timespan(30, 0));
  server_->http = std::make_unique<Poco::Net::HTTPServer>(new Factory(*this, server_->stopping), server_->pool, socket, params);
  server_->http->start();
}

FakeUpstream::~FakeUpstream() {
  server_->stopping.store(true);
  server_->http->stopAll(true);
  server_->pool.joinAll();
}

std::uint16_t FakeUpstream::port() const { return server_->port; }
std::string FakeUpstream::openai_url() const { return ollama_url() + "/v1"; }
std::string FakeUpstream::ollama_url() const {
  return std::string(tls_ ? "https://localhost:" : "http://127.0.0.1:") + std::to_string(server_->port);
}
int FakeUpstream::connections() const { return server_->http->totalConnections(); }

std::string FakeUpstream::last_path() const {
  std::lock_guard guard(mutex_);
  return last_path_;
}
std::string FakeUpstream::last_body() const {
  std::lock_guard guard(mutex_);
  return last_body_;
}
std::string FakeUpstream::last_header(const std::string& name) const {
  std::lock_guard guard(mutex_);
  for (const auto& [k, v] : last_headers_) {
    std::string a = k, b = name;
    for (auto& c : a) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    for (auto& c : b) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (a == b) return v;
  }
  return "";
}

void FakeUpstream::record(const std::string& path, const std::string& body,
                          const std::map<std::string, std::string>& headers) {
  std::lock_guard guard(mutex_);
  last_path_ = path;
  last_body_ = body;
  last_headers_ = headers;
  ++requests_;
}

}  // namespace switchboard::testing
