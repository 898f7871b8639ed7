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
    static const std::set<std::string> known = {"/v1/chat/completions", "/v1/models", "/v1/embeddings", "/api/chat",
                                                "/api/tags", "/api/embed", "/v1/messages"};
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
    Json request;
    try {
      request = Json::parse(body);
      model = request.value("model", "");
    } catch (const std::exception&) {
      return json(res, 400, R"({"error":{"message":"invalid JSON body","type":"invalid_request_error"}})");
    }
    if (uri == "/v1/embeddings") return json(res, 200, embeddings(request).dump());
    if (uri == "/api/embed") {
      // Ollama's shape: {"model", "embeddings": [[...]], "prompt_eval_count"}.
      const Json openai = embeddings(request);
      Json vectors = Json::array();
      for (const auto& d : openai["data"]) vectors.push_back(d["embedding"]);
      return json(res, 200, Json{{"model", model}, {"embeddings", vectors}, {"prompt_eval_count", openai["usage"]["prompt_tokens"]}}.dump());
    }
    if (ollama && model == "tool-call") {
      // Ollama sends a tool call whole, in one line, arguments as an object; no id.
      const Turn t = turn_of(request);
      res.setContentType("application/x-ndjson");
      res.setChunkedTransferEncoding(true);
      std::ostream& out = res.send();
      Json message = {{"role", "assistant"}, {"content", t.call.is_null() ? t.text : ""}};
      if (!t.call.is_null())
        message["tool_calls"] = Json::array({{{"function", {{"name", t.call["name"]}, {"arguments", Json::parse(t.call["arguments"].get<std::string>())}}}}});
      out << Json{{"model", model}, {"message", message}, {"done", false}}.dump() << "\n" << ollama_done();
      out.flush();
      return;
    }
    if (model.rfind("fault-", 0) == 0) return fault(res, std::atoi(model.c_str() + 6), model, ollama);
    if (uri == "/v1/messages") return anthropic(request, res);
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
    // OpenAI answers whole unless asked to stream.
    if (!ollama && !request.value("stream", false)) {
      if (model == "stall") return nap(10s, stopping_);
      if (model == "cut") return static_cast<Poco::Net::HTTPServerRequestImpl&>(req).socket().shutdown();
      return json(res, 200, whole_answer(request).dump());
    }
    if (!ollama && model == "tool-call") return stream_tool_model(request, res);
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

  // The tool model's turn: with tools and no tool result yet, a call of the
  // first tool whose first parameter is the last user message; else text
  // ("The answer is <tool result>", or "Hello from fake").
  struct Turn {
    std::string text;
    Json call;  // {"id", "name", "arguments"} or null
    std::string finish_reason = "stop";
  };
  static Turn turn_of(const Json& request) {
    Turn t;
    t.text = "Hello from fake";
    const Json messages = request.value("messages", Json::array());
    if (request.value("model", "") != "tool-call") {
      if (request.contains("response_format") && request["response_format"].value("type", "") != "text")
        t.text = R"({"answer":"Hello from fake"})";
      return t;
    }
    if (!messages.empty() && messages.back().value("role", "") == "tool") {
      t.text = "The answer is " + messages.back().value("content", std::string());
      return t;
    }
    if (!request.contains("tools") || !request["tools"].is_array() || request["tools"].empty()) return t;
    const Json& f = request["tools"][0]["function"];
    std::string user;
    for (const auto& m : messages)
      if (m.value("role", "") == "user" && m["content"].is_string()) user = m["content"].get<std::string>();
    Json args = Json::object();
    if (f.contains("parameters") && f["parameters"].contains("properties") && !f["parameters"]["properties"].empty())
      args[f["parameters"]["properties"].begin().key()] = user;
    t.call = {{"id", "call_fake_1"}, {"name", f.value("name", "")}, {"arguments", args.dump()}};
    t.text.clear();
    t.finish_reason = "tool_calls";
    return t;
  }

  static Json usage_with_details() {
    return {{"prompt_tokens", 11}, {"completion_tokens", 5}, {"total_tokens", 16},
            {"prompt_tokens_details", {{"cached_tokens", 4}}},
            {"completion_tokens_details", {{"reasoning_tokens", 2}}}};
  }

  static Json whole_answer(const Json& request) {
    const Turn t = turn_of(request);
    Json message = {{"role", "assistant"}, {"content", t.call.is_null() ? Json(t.text) : Json(nullptr)}, {"refusal", nullptr}};
    if (!t.call.is_null())
      message["tool_calls"] = Json::array({{{"id", t.call["id"]}, {"type", "function"},
                                            {"function", {{"name", t.call["name"]}, {"arguments", t.call["arguments"]}}}}});
    return {{"id", "chatcmpl-fake"}, {"object", "chat.completion"}, {"created", 1}, {"model", request.value("model", "")},
            {"choices", Json::array({{{"index", 0}, {"message", message}, {"logprobs", nullptr},
                                      {"finish_reason", request.value("model", "") == "length" ? "length" : t.finish_reason}}})},
            {"usage", usage_with_details()}};
  }

  // As OpenAI streams a tool call: id, type and name with empty arguments,
  // then the arguments in pieces, then finish_reason "tool_calls".
  static void stream_tool_model(const Json& request, Poco::Net::HTTPServerResponse& res) {
    const Turn t = turn_of(request);
    res.setContentType("text/event-stream");
    res.setChunkedTransferEncoding(true);
    std::ostream& out = res.send();
    auto chunk = [&](const Json& delta, const Json& finish) {
      out << "data: "
          << Json{{"id", "chatcmpl-fake"}, {"object", "chat.completion.chunk"}, {"created", 1}, {"model", "tool-call"},
                  {"choices", Json::array({{{"index", 0}, {"delta", delta}, {"logprobs", nullptr}, {"finish_reason", finish}}})}}
                 .dump()
          << "\n\n";
      out.flush();
    };
    if (!t.call.is_null()) {
      chunk({{"role", "assistant"}, {"content", nullptr},
             {"tool_calls", Json::array({{{"index", 0}, {"id", t.call["id"]}, {"type", "function"},
                                          {"function", {{"name", t.call["name"]}, {"arguments", ""}}}}})}},
            nullptr);
      const std::string args = t.call["arguments"];
      for (std::size_t at = 0; at < args.size(); at += 5)
        chunk({{"tool_calls", Json::array({{{"index", 0}, {"function", {{"arguments", args.substr(at, 5)}}}}})}}, nullptr);
    } else {
      chunk({{"role", "assistant"}, {"content", ""}}, nullptr);
      for (std::size_t at = 0; at < t.text.size(); at += 6) chunk({{"content", t.text.substr(at, 6)}}, nullptr);
    }
    chunk(Json::object(), t.finish_reason);
    out << "data: "
        << Json{{"id", "chatcmpl-fake"}, {"object", "chat.completion.chunk"}, {"created", 1}, {"model", "tool-call"},
                {"choices", Json::array()}, {"usage", usage_with_details()}}
               .dump()
        << "\n\ndata: [DONE]\n\n";
    out.flush();
  }

  // Anthropic's Messages API, streamed as its documentation shows: message_start,
  // content_block_start/delta/stop (text_delta, input_json_delta), ping,
  // message_delta with stop_reason and usage, message_stop. The tool model
  // (any model name with tools) calls the first tool with the last user text;
  // after a tool_result it answers "The answer is <result>".
  void anthropic(const Json& request, Poco::Net::HTTPServerResponse& res) {
    const std::string model = request.value("model", "");
    const Json messages = request.value("messages", Json::array());
    std::string user_text, tool_result;
    bool after_tool = false;
    if (!messages.empty()) {
      const Json& last = messages.back();
      if (last.value("role", "") == "user" && last.contains("content") && last["content"].is_array()) {
        for (const auto& b : last["content"]) {
          if (b.value("type", "") == "text") user_text = b.value("text", "");
          if (b.value("type", "") == "tool_result") {
            after_tool = true;
            tool_result = b["content"].is_string() ? b["content"].get<std::string>() : b["content"].dump();
          }
        }
      }
    }
    res.setContentType("text/event-stream");
    res.setChunkedTransferEncoding(true);
    std::ostream& out = res.send();
    auto event = [&](const Json& data) {
      out << "event: " << data.value("type", "") << "\ndata: " << data.dump() << "\n\n";
      out.flush();
    };
    event({{"type", "message_start"},
           {"message", {{"id", "msg_fake"}, {"type", "message"}, {"role", "assistant"}, {"content", Json::array()},
                        {"model", model}, {"stop_reason", nullptr}, {"stop_sequence", nullptr},
                        {"usage", {{"input_tokens", 7}, {"output_tokens", 1}, {"cache_read_input_tokens", 4}}}}}});
    event({{"type", "ping"}});
    std::string stop_reason = "end_turn";
    const bool tools = request.contains("tools") && request["tools"].is_array() && !request["tools"].empty() &&
                       !(request.contains("tool_choice") && request["tool_choice"].value("type", "") == "none");
    auto text_block = [&](int index, const std::vector<std::string>& pieces) {
      event({{"type", "content_block_start"}, {"index", index}, {"content_block", {{"type", "text"}, {"text", ""}}}});
      for (const auto& p : pieces) {
        if (!out.good() || stopping_.load()) return;
        event({{"type", "content_block_delta"}, {"index", index}, {"delta", {{"type", "text_delta"}, {"text", p}}}});
        if (model == "slow") nap(100ms, stopping_);
      }
      event({{"type", "content_block_stop"}, {"index", index}});
    };
    if (model == "slow") {
      std::vector<std::string> pieces;
      for (int i = 1; i <= 40; ++i) pieces.push_back("tok" + std::to_string(i) + " ");
      text_block(0, pieces);
    } else if (model == "error-mid") {
      text_block(0, {"one "});
      event({{"type", "error"}, {"error", {{"type", "overloaded_error"}, {"message", "Overloaded"}}}});
      return;
    } else if (after_tool) {
      text_block(0, {"The answer is ", tool_result});
    } else if (tools) {
      const Json& tool = request["tools"][0];
      Json input = Json::object();
      if (tool.contains("input_schema") && tool["input_schema"].contains("properties") &&
          !tool["input_schema"]["properties"].empty())
        input[tool["input_schema"]["properties"].begin().key()] = user_text;
      text_block(0, {"Let me check."});
      event({{"type", "content_block_start"}, {"index", 1},
             {"content_block", {{"type", "tool_use"}, {"id", "toolu_fake_1"}, {"name", tool["name"]}, {"input", Json::object()}}}});
      const std::string json = input.dump();
      for (std::size_t at = 0; at < json.size(); at += 5)
        event({{"type", "content_block_delta"}, {"index", 1},
               {"delta", {{"type", "input_json_delta"}, {"partial_json", json.substr(at, 5)}}}});
      event({{"type", "content_block_stop"}, {"index", 1}});
      stop_reason = "tool_use";
    } else {
      text_block(0, {"Hello ", "from ", "fake"});
    }
    event({{"type", "message_delta"}, {"delta", {{"stop_reason", stop_reason}, {"stop_sequence", nullptr}}},
           {"usage", {{"output_tokens", 5}}}});
    event({{"type", "message_stop"}});
  }

  // Deterministic vectors: 4 numbers from each text's bytes.
  static Json embeddings(const Json& request) {
    Json inputs = request.value("input", Json::array());
    if (inputs.is_string()) inputs = Json::array({inputs});
    Json data = Json::array();
    int index = 0;
    for (const auto& text : inputs) {
      const std::string s = text.is_string() ? text.get<std::string>() : text.dump();
      Json v = Json::array();
      for (int k = 0; k < 4; ++k) {
        unsigned sum = 0;
        for (std::size_t i = static_cast<std::size_t>(k); i < s.size(); i += 4) sum += static_cast<unsigned char>(s[i]);
        v.push_back(static_cast<double>(sum % 1000) / 1000.0);
      }
      data.push_back({{"object", "embedding"}, {"index", index++}, {"embedding", v}});
    }
    return {{"object", "list"}, {"data", data}, {"model", request.value("model", "")},
            {"usage", {{"prompt_tokens", 3 * index}, {"total_tokens", 3 * index}}}};
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
