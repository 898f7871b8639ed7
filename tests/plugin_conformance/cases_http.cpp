// File: tests/plugin_conformance/cases_http.cpp
//
// The network plugins under the conformance suite, each against a fake
// upstream on 127.0.0.1 that lives as long as the test process.
#include "conformance_case.h"

#include "fake_upstream.h"

#include <nlohmann/json.hpp>

namespace switchboard::conformance {
namespace {

testing::FakeUpstream& upstream() {
  static testing::FakeUpstream fake;
  return fake;
}

std::string config_for(const std::string& base_url) {
  return nlohmann::json{{"base_url", base_url}, {"model_name", "fake-model"}, {"api_key_env", ""},
                        {"idle_timeout_ms", 5000}}
      .dump();
}

const CaseRegistrar kOpenAi({
    "openai_compatible",
    SB_PLUGIN_DIR "/libswitchboard_openai_compatible.so",
    [] { return config_for(upstream().openai_url()); },
    {"fake-model", "{}"},
    {"slow", "{}"},
    {"fault-500", "{}"},
    {"tool-call", "{}"},
});

const CaseRegistrar kOllama({
    "ollama",
    SB_PLUGIN_DIR "/libswitchboard_ollama.so",
    [] { return config_for(upstream().ollama_url()); },
    {"fake-model", "{}"},
    {"slow", "{}"},
    {"fault-404", "{}"},
    {"tool-call", "{}"},
});

const CaseRegistrar kAnthropic({
    "anthropic",
    SB_PLUGIN_DIR "/libswitchboard_anthropic.so",
    [] { return config_for(upstream().ollama_url()); },  // the server's root; the plugin adds /v1/messages
    {"claude-fake", "{}"},
    {"slow", "{}"},
    {"fault-500", "{}"},
    {"claude-fake", "{}"},
});

}  // namespace
}  // namespace switchboard::conformance
