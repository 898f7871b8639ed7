// File: tests/unit/openai_compatible/openai_compatible_test.cpp
//
// The openai_compatible plugin, loaded as a real library, against the fake
// upstream: what the shared HTTP suite (tests/unit/http_plugins) does not pin
// down — documented defaults, extra_body, secrets kept out of errors, a wrong
// base_url, cancellation before the first byte, and TLS host names and reuse.
#include "collecting_sink.h"
#include "fake_upstream.h"

#include "host/plugins/loaded_provider.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <random>
#include <thread>

namespace switchboard::testing {
namespace {

using Json = nlohmann::json;
using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

constexpr const char* kLibrary = SB_PLUGIN_DIR "/libswitchboard_openai_compatible.so";

std::shared_ptr<LoadedProvider> load_plugin() {
  std::string error;
  auto p = LoadedProvider::load(kLibrary, error);
  if (!p) ADD_FAILURE() << error;
  return p;
}

class OpenAiPlugin : public ::testing::Test {
 protected:
  void SetUp() override {
    provider_ = load_plugin();
    ASSERT_NE(provider_, nullptr);
  }

  Json config(Json extra = Json::object()) const {
    Json c = Json::parse(provider_->description().default_config_json);
    c["base_url"] = fake_.openai_url();
    c["api_key_env"] = "";
    for (const auto& [k, v] : extra.items()) c[k] = v;
    return c;
  }

  ChatOutcome chat(const Json& cfg, const std::string& model, Collect& sink, const std::string& options = "{}") {
    ProviderRequest req;
    req.model = model;
    req.messages = {{"user", "hello"}};
    req.config_json = cfg.dump();
    req.options_json = options;
    return provider_->chat(req, sink);
  }

  std::shared_ptr<LoadedProvider> provider_;
  FakeUpstream fake_;
};

TEST_F(OpenAiPlugin, DefaultConfigHasTheDocumentedFields) {
  const Json d = Json::parse(provider_->description().default_config_json);
  EXPECT_EQ(d["base_url"], "https://api.openai.com/v1");
  EXPECT_EQ(d["model_name"], "gpt-4o-mini");
  EXPECT_EQ(d["api_key"], "");
  EXPECT_EQ(d["api_key_env"], "OPENAI_API_KEY");
  EXPECT_EQ(d["headers"], Json::object());
  EXPECT_EQ(d["connect_timeout_ms"], 5000);
  EXPECT_EQ(d["first_byte_timeout_ms"], 60000);
  EXPECT_EQ(d["idle_timeout_ms"], 30000);
  EXPECT_EQ(d["ca_file"], "");
  EXPECT_EQ(d["insecure_skip_verify"], false);
  EXPECT_EQ(provider_->description().name, "openai_compatible");
}

TEST_F(OpenAiPlugin, UsesTheOpenAiPaths) {
  Collect sink;
  ASSERT_EQ(chat(config(), "fake-model", sink).status, ChatStatus::Complete);
  EXPECT_EQ(fake_.last_path(), "/v1/chat/completions");
  EXPECT_EQ(fake_.last_header("Content-Type"), "application/json");
  std::vector<std::string> models;
  ProviderError error;
  ASSERT_TRUE(provider_->list_models(config().dump(), models, error)) << error.message;
  EXPECT_EQ(fake_.last_path(), "/v1/models");
  EXPECT_EQ(models, (std::vector<std::string>{"gpt-fake", "gpt-fake-mini"}));
}

TEST_F(OpenAiPlugin, PassesExtraBodyAndRequestOptionsThrough) {
  Collect sink;
  Json cfg = config({{"extra_body", {{"seed", 42}}}});
  cfg["options"] = {{"extra_body", {{"top_p", 0.5}, {"seed", 1}}}};
  ASSERT_EQ(chat(cfg, "fake-model", sink, R"({"stop": ["\n\n"], "top_p": 0.25})").status, ChatStatus::Complete);
  const Json sent = Json::parse(fake_.last_body());
  EXPECT_EQ(sent["seed"], 42) << "the top-level extra_body wins over a nested one";
  EXPECT_DOUBLE_EQ(sent["top_p"].get<double>(), 0.25) << "a request option wins over the config";
  EXPECT_EQ(sent["stop"], Json::array({"\n\n"}));
  EXPECT_EQ(sent["stream"], true);
}

TEST_F(OpenAiPlugin, AnUpstreamQuotingTheKeyNeverShowsItInTheError) {
  Collect sink;
  const auto out = chat(config({{"api_key", "sk-live-VERYSECRET-0042"}}), "echo-key", sink);
  EXPECT_EQ(out.error_code, "upstream_auth");
  EXPECT_NE(out.error_message.find("Invalid key"), std::string::npos) << out.error_message;
  EXPECT_EQ(out.error_message.find("VERYSECRET"), std::string::npos) << out.error_message;
}

TEST_F(OpenAiPlugin, AKeyFromTheEnvironmentIsRedactedToo) {
  ::setenv("SB_TEST_OPENAI_KEY_2", "sk-env-HIDDEN-7777", 1);
  Collect sink;
  const auto out = chat(config({{"api_key_env", "SB_TEST_OPENAI_KEY_2"}}), "echo-key", sink);
  ::unsetenv("SB_TEST_OPENAI_KEY_2");
  EXPECT_EQ(out.error_code, "upstream_auth");
  EXPECT_EQ(out.error_message.find("HIDDEN"), std::string::npos) << out.error_message;
}

TEST_F(OpenAiPlugin, AKeyWithALineBreakIsRefusedWithoutShowingIt) {
  Collect sink;
  const auto out = chat(config({{"api_key", "sk-abc\r\nX-Injected: 1"}}), "fake-model", sink);
  EXPECT_EQ(out.error_code, "invalid_config");
  EXPECT_EQ(out.error_message.find("sk-abc"), std::string::npos) << out.error_message;
  EXPECT_EQ(fake_.requests(), 0);
}

TEST_F(OpenAiPlugin, AnUnknownModelIsModelNotFoundButAWrongPathIsRejected) {
  Collect a;
  auto out = chat(config(), "missing-model", a);
  EXPECT_EQ(out.error_code, "model_not_found");
  EXPECT_NE(out.error_message.find("does not exist"), std::string::npos) << out.error_message;

  Collect b;
  Json cfg = config();
  cfg["base_url"] = fake_.ollama_url() + "/v2";
  out = chat(cfg, "fake-model", b);
  EXPECT_EQ(out.error_code, "upstream_rejected") << out.error_message;
  // The plain-text body is not JSON: only the status line reaches the caller.
  EXPECT_NE(out.error_message.find("HTTP 404 Not Found"), std::string::npos) << out.error_message;
  EXPECT_EQ(out.error_message.find("404 page not found"), std::string::npos) << out.error_message;
}

TEST_F(OpenAiPlugin, ReportsTheUpstreamsFinishReason) {
  Collect sink;
  const auto out = chat(config(), "length", sink);
  ASSERT_EQ(out.status, ChatStatus::Complete) << out.error_message;
  EXPECT_EQ(out.finish_reason, "length");
  EXPECT_EQ(sink.text, "cut short");
}

TEST_F(OpenAiPlugin, StreamsEveryTokenAsItsOwnDelta) {
  Collect sink;
  const auto out = chat(config(), "shape-25-0-2", sink);
  ASSERT_EQ(out.status, ChatStatus::Complete) << out.error_message;
  EXPECT_EQ(sink.deltas, 25);
  EXPECT_EQ(sink.text.substr(0, 9), "t1 t2 t3 ");
}

TEST_F(OpenAiPlugin, ASlowFirstTokenWithinTheTimeoutIsFine) {
  Collect sink;
  const auto out = chat(config({{"first_byte_timeout_ms", 2000}, {"idle_timeout_ms", 200}}), "shape-3-400-50", sink);
  EXPECT_EQ(out.status, ChatStatus::Complete) << out.error_code << ": " << out.error_message;
  EXPECT_EQ(sink.text, "t1 t2 t3 ");
}

TEST_F(OpenAiPlugin, StopsWithinOneHundredMillisecondsBeforeTheFirstByte) {
  Collect sink;
  Clock::time_point stop_at;
  std::thread stopper([&] {
    std::this_thread::sleep_for(250ms);
    stop_at = Clock::now();
    sink.stop.store(true);
  });
  const auto out = chat(config(), "slow-first", sink);
  const auto returned = Clock::now();
  stopper.join();
  EXPECT_EQ(out.status, ChatStatus::Cancelled);
  EXPECT_LT(returned - stop_at, 100ms);

  // The cancelled connection was dropped, not pooled half-read.
  Collect next;
  const auto again = chat(config(), "fake-model", next);
  EXPECT_EQ(again.status, ChatStatus::Complete) << again.error_message;
  EXPECT_EQ(next.text, "Hello from fake");
}

// --- TLS --------------------------------------------------------------------------

class OpenAiTls : public ::testing::Test {
 protected:
  void start(const std::string& names) {
    std::random_device rd;
    dir_ = std::filesystem::temp_directory_path() / ("sb_tls_oa_" + std::to_string(rd()));
    std::filesystem::create_directories(dir_);
    files_ = make_test_certificates(dir_.string(), names);
    fake_ = std::make_unique<FakeUpstream>(&files_);
    provider_ = load_plugin();
    ASSERT_NE(provider_, nullptr);
  }
  void TearDown() override {
    fake_.reset();
    std::filesystem::remove_all(dir_);
  }
  ChatOutcome chat(Json cfg) {
    Collect sink;
    ProviderRequest req;
    req.model = "fake-model";
    req.messages = {{"user", "hi"}};
    cfg["base_url"] = fake_->openai_url();
    cfg["api_key_env"] = "";
    req.config_json = cfg.dump();
    return provider_->chat(req, sink);
  }

  std::filesystem::path dir_;
  TlsFiles files_;
  std::unique_ptr<FakeUpstream> fake_;
  std::shared_ptr<LoadedProvider> provider_;
};

TEST_F(OpenAiTls, ACertificateForAnotherHostIsRefusedEvenWithItsCa) {
  // Loopback would skip the host-name check without VERIFY_STRICT.
  start("DNS:not-this-host.example");
  const auto out = chat({{"ca_file", files_.ca_cert}});
  EXPECT_EQ(out.status, ChatStatus::Error);
  EXPECT_EQ(out.error_code, "upstream_tls") << out.error_message;
  // The chain itself is good: TlsConnectionsAreReused trusts the same kind of CA.
}

TEST_F(OpenAiTls, TlsConnectionsAreReused) {
  start("DNS:localhost,IP:127.0.0.1");
  const int before = fake_->connections();
  for (int i = 0; i < 30; ++i) {
    const auto out = chat({{"ca_file", files_.ca_cert}});
    ASSERT_EQ(out.status, ChatStatus::Complete) << i << ": " << out.error_code << " " << out.error_message;
  }
  EXPECT_LE(fake_->connections() - before, 2) << "no new handshake per request";
}

}  // namespace
}  // namespace switchboard::testing
