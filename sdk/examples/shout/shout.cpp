// File: sdk/examples/shout/shout.cpp
//
// "shout", the example provider plugin of the Switchboard SDK: it upper-cases
// your last message and streams it back a word per delta. Built out of tree
// against the installed SDK (see CMakeLists.txt beside it), it passes every
// check of switchboard-plugin-check:
//   switchboard-plugin-check libshout.so --slow-options '{"delay_ms": 300, "repeat": 10}' \
//                                        --failing-options '{"fail": true}'
// Options (per request, or in the config's "options"):
//   delay_ms  pause before each word, 0..10000 (cancellation is honoured during it)
//   repeat    say it this many times, 1..100
//   fail      fail with "shout_failed" instead of replying
#include <switchboard/provider.hpp>

#include <cctype>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

namespace sdk = switchboard::sdk;

namespace {

class Shout final : public sdk::Provider {
 public:
  sdk::ProviderInfo info() const override { return {"shout", "1.0.0", "upper-cases your last message"}; }

  sdk::Json config_schema() const override {
    return {{"model_name", {{"type", "string"}, {"description", "always \"shout\""}}},
            {"delay_ms", {{"type", "integer"}, {"minimum", 0}, {"maximum", 10000}, {"description", "pause before each word"}}},
            {"repeat", {{"type", "integer"}, {"minimum", 1}, {"maximum", 100}, {"description", "say it this many times"}}},
            {"fail", {{"type", "boolean"}, {"description", "fail instead of replying"}}}};
  }
  sdk::Json default_config() const override { return {{"model_name", "shout"}}; }
  std::vector<std::string> list_models(const sdk::Json&) const override { return {"shout"}; }

  void chat(const sdk::ChatRequest& r, sdk::Sink& sink) override {
    if (r.option<bool>("fail", false)) throw sdk::Error("shout_failed", "asked to fail (options.fail)");
    std::string text = r.messages.empty() ? std::string() : r.messages.back().content;
    for (auto& c : text) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    const auto delay = std::chrono::milliseconds(r.option<std::int64_t>("delay_ms", 0));
    const auto repeat = r.option<std::int64_t>("repeat", 1);
    std::int64_t words = 0;
    for (std::int64_t n = 0; n < repeat; ++n) {
      std::size_t at = 0;
      while (at < text.size()) {
        std::size_t end = text.find(' ', at);
        end = end == std::string::npos ? text.size() : end + 1;
        // A pause the host can cut short (false: the host wants the stream stopped).
        if (delay.count() > 0 && !sink.wait_for(delay)) return;
        if (!sink.delta(text.substr(at, end - at))) return;  // false: the host wants the stream stopped
        ++words;
        at = end;
      }
      if (n + 1 < repeat && !sink.delta(" ")) return;
    }
    sink.emit(sdk::ChatEvent::usage_of(0, words));
    sink.emit(sdk::ChatEvent::done("stop"));
  }
};

}  // namespace

SB_EXPORT_PROVIDER(Shout)
