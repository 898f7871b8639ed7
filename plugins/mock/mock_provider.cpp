// File: plugins/mock/mock_provider.cpp
//
// The offline, deterministic provider: what a new user chats with on first
// start and what every test drives. Models:
//   mock-echo     echoes the last user message back, a word per delta
//   mock-inspect  replies with a JSON summary of exactly what it received
//   mock-tokens   replies "tok1 tok2 ... tokN" (N from the `tokens` option, default 16)
// Options (request `options`, else config `options`, else config field):
//   delay_ms            pause before each delta (cancellation is honoured during it)
//   fail_before_first   fail with `mock_failure` before any delta
//   fail_after          fail with `mock_failure` after N deltas
//   tokens              reply with N tokens (any model)
#include <switchboard/provider.hpp>

#include <algorithm>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

namespace sdk = switchboard::sdk;

namespace {

constexpr std::int64_t kMaxDelayMs = 10000;
constexpr std::int64_t kMaxTokens = 100000;

// Splits text into words, each keeping its following whitespace, so that the
// concatenated deltas reproduce the text exactly.
std::vector<std::string> split_words(const std::string& text) {
  std::vector<std::string> out;
  std::string current;
  for (std::size_t i = 0; i < text.size(); ++i) {
    current += text[i];
    const bool space = text[i] == ' ' || text[i] == '\n' || text[i] == '\t';
    const bool next_is_word = i + 1 < text.size() && text[i + 1] != ' ' && text[i + 1] != '\n' &&
                              text[i + 1] != '\t';
    if (space && next_is_word) {
      out.push_back(std::move(current));
      current.clear();
    }
  }
  if (!current.empty()) out.push_back(std::move(current));
  return out;
}

std::int64_t count_words(const std::string& text) {
  std::int64_t n = 0;
  bool in_word = false;
  for (char c : text) {
    const bool space = c == ' ' || c == '\n' || c == '\t';
    if (!space && !in_word) ++n;
    in_word = !space;
  }
  return n;
}

// Sleeps `ms`, waking every few milliseconds to see whether the host gave up.
bool wait(sdk::Sink& sink, std::int64_t ms) {
  const auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(ms);
  while (std::chrono::steady_clock::now() < until) {
    if (!sink.alive()) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(std::min<std::int64_t>(5, ms)));
  }
  return sink.alive();
}

class MockProvider final : public sdk::Provider {
 public:
  sdk::ProviderInfo info() const override {
    return {"mock", "1.0.0", "Offline, deterministic provider for first start and tests"};
  }

  // Bounds keep one cheap request from holding a worker for long or building a
  // huge reply: 10 s per delta, 100,000 tokens (about 700 KB of text).
  sdk::Json config_schema() const override {
    auto field = [](const char* type, const char* description) {
      return sdk::Json{{"type", type}, {"description", description}};
    };
    auto bounded = [&](const char* description, std::int64_t maximum) {
      sdk::Json f = field("integer", description);
      f["minimum"] = 0;
      f["maximum"] = maximum;
      return f;
    };
    return {{"model_name", field("string", "mock-echo, mock-inspect or mock-tokens")},
            {"base_url", field("string", "ignored: the mock makes no network calls")},
            {"delay_ms", bounded("pause before each delta, in milliseconds", kMaxDelayMs)},
            {"fail_before_first", field("boolean", "fail with mock_failure before any delta")},
            {"fail_after", bounded("fail with mock_failure after this many deltas", kMaxTokens)},
            {"tokens", bounded("reply with this many tokens: tok1 tok2 ...", kMaxTokens)}};
  }

  std::int64_t max_tokens_limit() const override { return kMaxTokens; }

  sdk::Json default_config() const override {
    return {{"model_name", "mock-echo"}, {"base_url", ""}};
  }

  std::vector<std::string> list_models(const sdk::Json&) const override {
    return {"mock-echo", "mock-inspect", "mock-tokens"};
  }

  void chat(const sdk::ChatRequest& request, sdk::Sink& sink) override {
    // The host refuses options beyond the schema's bounds; a config stored
    // before they existed is held to them here.
    const auto delay_ms = std::min(request.option<std::int64_t>("delay_ms", 0), kMaxDelayMs);
    const auto fail_after = request.option<std::int64_t>("fail_after", -1);
    const auto tokens = std::min(request.option<std::int64_t>("tokens", -1), kMaxTokens);
    if (request.option<bool>("fail_before_first", false))
      throw sdk::Error("mock_failure", "mock failure before the first delta (fail_before_first)");

    std::vector<std::string> pieces = split_words(reply_for(request, tokens));
    const bool truncated = request.max_tokens > 0 &&
                           static_cast<std::int64_t>(pieces.size()) > request.max_tokens;
    if (truncated) pieces.resize(static_cast<std::size_t>(request.max_tokens));
    std::int64_t prompt_tokens = 0;
    for (const auto& m : request.messages) prompt_tokens += count_words(m.content);

    std::int64_t sent = 0;
    for (const auto& piece : pieces) {
      if (fail_after >= 0 && sent >= fail_after)
        throw sdk::Error("mock_failure", "mock failure after " + std::to_string(sent) + " deltas");
      if (delay_ms > 0 && !wait(sink, delay_ms)) return;
      if (!sink.delta(piece)) return;
      ++sent;
    }
    if (fail_after >= 0 && sent >= fail_after)
      throw sdk::Error("mock_failure", "mock failure after " + std::to_string(sent) + " deltas");
    sink.emit(sdk::ChatEvent::usage_of(prompt_tokens, sent));
    sink.emit(sdk::ChatEvent::done(truncated ? "length" : "stop"));
  }

 private:
  static std::string reply_for(const sdk::ChatRequest& request, std::int64_t tokens) {
    const std::string model = request.model.empty()
                                  ? request.config.value("model_name", std::string("mock-echo"))
                                  : request.model;
    if (tokens < 0 && model == "mock-tokens") tokens = 16;
    if (tokens >= 0) {
      std::string out;
      const std::int64_t n = std::min(tokens, request.max_tokens);
      for (std::int64_t i = 1; i <= n; ++i) out += (i > 1 ? " tok" : "tok") + std::to_string(i);
      return out;
    }
    if (model == "mock-inspect") {
      sdk::Json messages = sdk::Json::array();
      for (const auto& m : request.messages)
        messages.push_back({{"role", m.role}, {"content", m.content}});
      return sdk::Json{{"model", model},
                       {"temperature", request.temperature},
                       {"max_tokens", request.max_tokens},
                       {"messages", messages}}
          .dump(-1, ' ', false, sdk::Json::error_handler_t::replace);
    }
    if (model != "mock-echo")
      throw sdk::Error("model_not_found", "mock provider has no model '" + model +
                                              "' (use mock-echo, mock-inspect or mock-tokens)");
    for (auto it = request.messages.rbegin(); it != request.messages.rend(); ++it)
      if (it->role == "user") return it->content;
    return "(no user message)";
  }
};

}  // namespace

SB_EXPORT_PROVIDER(MockProvider)
