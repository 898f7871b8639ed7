// File: tests/unit/plugins/versioned_plugin.cpp
//
// A test plugin built twice (-DPLUGIN_VERSION="1.0.0" and "2.0.0") so that a
// test can replace one build by the other under a running host and see which
// version served a turn: every delta says it ("v1.0.0 tok3 "). Options:
//   tokens    deltas in the reply (default 3)
//   delay_ms  pause before each delta, cancellation honoured (default 0)
#include <switchboard/provider.hpp>

#include <chrono>
#include <string>
#include <thread>

#ifndef PLUGIN_VERSION
#error "build with -DPLUGIN_VERSION=\"x.y.z\""
#endif

namespace sdk = switchboard::sdk;

namespace {

class Versioned final : public sdk::Provider {
 public:
  sdk::ProviderInfo info() const override { return {"versioned", PLUGIN_VERSION, "a test plugin that names its version"}; }
  sdk::Json config_schema() const override {
    return {{"tokens", {{"type", "integer"}, {"minimum", 0}, {"maximum", 10000}}},
            {"delay_ms", {{"type", "integer"}, {"minimum", 0}, {"maximum", 10000}}}};
  }
  sdk::Json default_config() const override { return {{"model_name", "versioned-model"}}; }
  std::vector<std::string> list_models(const sdk::Json&) const override { return {"versioned-model"}; }
  void chat(const sdk::ChatRequest& r, sdk::Sink& sink) override {
    const auto tokens = r.option<std::int64_t>("tokens", 3);
    const auto delay = std::chrono::milliseconds(r.option<std::int64_t>("delay_ms", 0));
    for (std::int64_t i = 1; i <= tokens; ++i) {
      for (const auto until = std::chrono::steady_clock::now() + delay; std::chrono::steady_clock::now() < until;) {
        if (!sink.alive()) return;
        std::this_thread::sleep_for(std::chrono::milliseconds(2));
      }
      if (!sink.delta("v" PLUGIN_VERSION " tok" + std::to_string(i) + " ")) return;
    }
    sink.emit(sdk::ChatEvent::usage_of(1, tokens));
    sink.emit(sdk::ChatEvent::done("stop"));
  }
};

}  // namespace

SB_EXPORT_PROVIDER(Versioned)
