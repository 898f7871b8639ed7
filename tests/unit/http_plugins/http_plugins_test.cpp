// File: tests/unit/http_plugins/http_plugins_test.cpp
//
// The openai_compatible and ollama plugins, loaded as real libraries through
// the host's loader, against a real fake upstream on 127.0.0.1: replies,
// request mapping, every fault mode to its stable code, cancellation while
// the upstream is silent, keep-alive reuse, and TLS in strict mode.
#include "collecting_sink.h"
#include "fake_upstream.h"

#include "host/plugins/loaded_provider.h"

#include <Poco/Net/ServerSocket.h>
#include <Poco/Net/SocketAddress.h>
#include <Poco/Net/StreamSocket.h>

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

struct PluginCase {
  std::string name;
  bool ollama;
};

// One plugin loaded for real, and a fake upstream for it to talk to.
class PluginFixture {
 protected:
  // `host_settings`: what the host would pass under SB_HOST_SETTINGS_KEY.
  void load(const PluginCase& which, const std::string& host_settings = "{}") {
    which_ = which;
    std::string error;
    provider_ = LoadedProvider::load(std::string(SB_PLUGIN_DIR) + "/libswitchboard_" + which.name + ".so", error,
                                     host_settings);
    ASSERT_NE(provider_, nullptr) << error;
  }

  std::string url(const FakeUpstream& f) const { return which_.ollama ? f.ollama_url() : f.openai_url(); }

  Json config(const FakeUpstream& f, Json extra = Json::object()) const {
    Json c = Json::parse(provider_->description().default_config_json);
    c["base_url"] = url(f);
    c["api_key_env"] = "";
    for (const auto& [k, v] : extra.items()) c[k] = v;
    return c;
  }

  ChatOutcome chat(const Json& cfg, const std::string& model, Collect& sink, const std::string& options = "{}") {
    ProviderRequest req;
    req.model = model;
    req.messages = {{"system", "be brief"}, {"user", "hello"}};
    req.temperature = 0.3;
    req.max_tokens = 77;
    req.config_json = cfg.dump();
    req.options_json = options;
    return provider_->chat(req, sink);
  }

  PluginCase which_;
  std::shared_ptr<LoadedProvider> provider_;
  FakeUpstream fake_;
};

class HttpPlugin : public PluginFixture, public ::testing::TestWithParam<PluginCase> {
 protected:
  void SetUp() override { load(GetParam()); }
};

TEST_P(HttpPlugin, StreamsTheReplyWithUsage) {
  Collect sink;
  const auto out = chat(config(fake_), "fake-model", sink);
  ASSERT_EQ(out.status, ChatStatus::Complete) << out.error_code << ": " << out.error_message;
  EXPECT_EQ(sink.text, "Hello from fake");
  EXPECT_EQ(sink.deltas, 3);
  EXPECT_EQ(out.prompt_tokens, 7);
  EXPECT_EQ(out.completion_tokens, 3);
  EXPECT_EQ(out.finish_reason, "stop");
}

TEST_P(HttpPlugin, MapsTheRequestToTheUpstreamsFormat) {
  Collect sink;
  chat(config(fake_), "fake-model", sink, R"({"top_p": 0.9})");
  const Json sent = Json::parse(fake_.last_body());
  EXPECT_EQ(sent["model"], "fake-model");
  EXPECT_EQ(sent["stream"], true);
  ASSERT_EQ(sent["messages"].size(), 2u);
  EXPECT_EQ(sent["messages"][1]["content"], "hello");
  if (GetParam().ollama) {
    EXPECT_DOUBLE_EQ(sent["options"]["temperature"].get<double>(), 0.3);
    EXPECT_EQ(sent["options"]["num_predict"], 77);
    EXPECT_DOUBLE_EQ(sent["options"]["top_p"].get<double>(), 0.9);
  } else {
    EXPECT_DOUBLE_EQ(sent["temperature"].get<double>(), 0.3);
    EXPECT_EQ(sent["max_tokens"], 77);
    EXPECT_EQ(sent["stream_options"]["include_usage"], true);
    EXPECT_DOUBLE_EQ(sent["top_p"].get<double>(), 0.9);
  }
}

TEST_P(HttpPlugin, UsesTheConfiguredModelWhenTheRequestNamesNone) {
  Collect sink;
  chat(config(fake_, {{"model_name", "from-config"}}), "", sink);
  EXPECT_EQ(Json::parse(fake_.last_body())["model"], "from-config");
}

TEST_P(HttpPlugin, EachUpstreamFailureHasItsStableCode) {
  struct Fault {
    std::string model;
    std::string code;
    std::string says;  // part of the upstream's own message
  };
  const std::vector<Fault> faults = {
      {"fault-401", "upstream_auth", "Incorrect API key"},
      {"fault-403", "upstream_auth", "not allowed"},
      {"fault-404", "model_not_found", "does not exist"},
      {"fault-429", "upstream_rate_limited", "retry after 7"},
      {"fault-400", "upstream_rejected", "must contain at least one message"},
      {"fault-500", "upstream_error", "had an error"},
      {"malformed", "upstream_protocol", "malformed"},
      {"cut", "upstream_protocol", ""},
      {"close-early", "upstream_protocol", ""},
      {"error-mid", "upstream_error", "crashed"},
  };
  for (const auto& f : faults) {
    Collect sink;
    const auto out = chat(config(fake_), f.model, sink);
    EXPECT_EQ(out.status, ChatStatus::Error) << f.model;
    EXPECT_EQ(out.error_code, f.code) << f.model << ": " << out.error_message;
    EXPECT_NE(out.error_message.find(f.says), std::string::npos) << f.model << ": " << out.error_message;
  }
}

TEST_P(HttpPlugin, PartialDeltasArriveBeforeAMidStreamFailure) {
  Collect sink;
  const auto out = chat(config(fake_), "cut", sink);
  EXPECT_EQ(out.status, ChatStatus::Error);
  EXPECT_EQ(sink.text, "one two ");
}

TEST_P(HttpPlugin, TimeoutsAreSeparateForFirstByteAndBetweenChunks) {
  Collect first;
  auto start = Clock::now();
  auto out = chat(config(fake_, {{"first_byte_timeout_ms", 300}}), "slow-first", first);
  EXPECT_EQ(out.error_code, "upstream_timeout") << out.error_message;
  EXPECT_LT(Clock::now() - start, 3s);

  Collect idle;
  start = Clock::now();
  out = chat(config(fake_, {{"idle_timeout_ms", 300}}), "stall", idle);
  EXPECT_EQ(out.error_code, "upstream_timeout") << out.error_message;
  EXPECT_EQ(idle.text, "one two ");
  EXPECT_LT(Clock::now() - start, 3s);
}

TEST_P(HttpPlugin, ARefusedConnectionIsUpstreamUnavailable) {
  std::uint16_t closed_port;
  {
    FakeUpstream gone;
    closed_port = gone.port();
  }
  Json cfg = config(fake_);
  cfg["base_url"] = "http://127.0.0.1:" + std::to_string(closed_port) + (GetParam().ollama ? "" : "/v1");
  Collect sink;
  const auto out = chat(cfg, "x", sink);
  EXPECT_EQ(out.error_code, "upstream_unavailable") << out.error_message;
}

TEST_P(HttpPlugin, AUtf8CharacterSplitAcrossReadsArrivesWhole) {
  Collect sink;
  const auto out = chat(config(fake_), "utf8-split", sink);
  ASSERT_EQ(out.status, ChatStatus::Complete) << out.error_message;
  EXPECT_EQ(sink.text, "你好世界");
}

TEST_P(HttpPlugin, StopsWithinOneHundredMillisecondsWhileTheUpstreamIsSilent) {
  Collect sink;
  Clock::time_point stop_at;
  std::thread stopper([&] {
    std::this_thread::sleep_for(300ms);  // "stall" is silent by now
    stop_at = Clock::now();
    sink.stop.store(true);
  });
  const auto out = chat(config(fake_), "stall", sink);
  const auto returned = Clock::now();
  stopper.join();
  EXPECT_EQ(out.status, ChatStatus::Cancelled);
  EXPECT_LT(returned - stop_at, 100ms);
}

TEST_P(HttpPlugin, StopsWithinOneHundredMillisecondsWhileConnecting) {
  // A loopback black hole: a listener whose accept queue is full drops new
  // SYNs, so a connect to it hangs as it would to an address that never answers.
  Poco::Net::ServerSocket full;
  full.bind(Poco::Net::SocketAddress("127.0.0.1", 0), true);
  full.listen(1);
  std::vector<Poco::Net::StreamSocket> fillers(4);
  for (auto& f : fillers) f.connectNB(full.address());
  std::this_thread::sleep_for(100ms);

  Json cfg = config(fake_, {{"connect_timeout_ms", 20000}});
  cfg["base_url"] = "http://127.0.0.1:" + std::to_string(full.address().port()) + (GetParam().ollama ? "" : "/v1");
  Collect sink;
  Clock::time_point stop_at;
  std::thread stopper([&] {
    std::this_thread::sleep_for(300ms);
    stop_at = Clock::now();
    sink.stop.store(true);
  });
  const auto out = chat(cfg, "fake-model", sink);
  const auto returned = Clock::now();
  stopper.join();
  EXPECT_EQ(out.status, ChatStatus::Cancelled) << out.error_code << ": " << out.error_message;
  EXPECT_LT(returned - stop_at, 100ms);
}

TEST_P(HttpPlugin, ReusesConnectionsAcrossRequests) {
  const int before = fake_.connections();
  for (int i = 0; i < 100; ++i) {
    Collect sink;
    ASSERT_EQ(chat(config(fake_), "fake-model", sink).status, ChatStatus::Complete) << i;
  }
  EXPECT_LE(fake_.connections() - before, 2) << "one keep-alive connection serves sequential requests";
}

TEST_P(HttpPlugin, ServesManyConcurrentStreams) {
  std::atomic<int> ok{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 16; ++i)
    threads.emplace_back([&] {
      Collect sink;
      if (chat(config(fake_), "fake-model", sink).status == ChatStatus::Complete && sink.text == "Hello from fake") ++ok;
    });
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok.load(), 16);
}

TEST_P(HttpPlugin, ListsTheUpstreamsModels) {
  std::vector<std::string> models;
  ProviderError error;
  ASSERT_TRUE(provider_->list_models(config(fake_).dump(), models, error)) << error.message;
  EXPECT_EQ(models.size(), 2u) << fake_.last_body() << " headers: " << fake_.requests();
}

TEST_P(HttpPlugin, AnHtmlErrorPageNeverReachesTheCallerOnlyItsStatusLine) {
  Collect sink;
  const auto out = chat(config(fake_), "html-error", sink);
  EXPECT_EQ(out.error_code, "upstream_error");
  EXPECT_NE(out.error_message.find("HTTP 502 Bad Gateway"), std::string::npos) << out.error_message;
  EXPECT_EQ(out.error_message.find("<"), std::string::npos) << out.error_message;
  EXPECT_EQ(out.error_message.find("internal.corp"), std::string::npos) << out.error_message;
}

TEST_P(HttpPlugin, ALongUpstreamMessageIsCutToFiveHundredCharacters) {
  Collect sink;
  const auto out = chat(config(fake_), "long-error", sink);
  EXPECT_EQ(out.error_code, "upstream_rejected");
  std::string five_hundred, five_hundred_one;
  for (int i = 0; i < 500; ++i) five_hundred += "\xc3\xa9";
  five_hundred_one = five_hundred + "\xc3\xa9";
  EXPECT_NE(out.error_message.find(five_hundred), std::string::npos) << "cut on a character, not a byte";
  EXPECT_EQ(out.error_message.find(five_hundred_one), std::string::npos);
  EXPECT_LT(out.error_message.size(), 1200u);
}

TEST_P(HttpPlugin, ALineBreakInTheBaseUrlNeverReachesTheWire) {
  const int before = fake_.requests();
  for (const std::string& tail : {std::string("\r\nX-Injected: 1"), std::string("/v1 HTTP/1.1\r\n\r\nGET /")}) {
    Json cfg = config(fake_);
    cfg["base_url"] = url(fake_) + tail;
    Collect sink;
    const auto out = chat(cfg, "fake-model", sink);
    EXPECT_EQ(out.error_code, "invalid_config") << out.error_message;
  }
  EXPECT_EQ(fake_.requests(), before) << "nothing was sent";
}

TEST_P(HttpPlugin, APortOutsideTheRangeIsRefusedNotWrappedAround) {
  Json cfg = config(fake_);
  // 99999 would wrap to 34463 in 16 bits.
  cfg["base_url"] = "http://127.0.0.1:99999" + std::string(GetParam().ollama ? "" : "/v1");
  Collect sink;
  const auto out = chat(cfg, "fake-model", sink);
  EXPECT_EQ(out.error_code, "invalid_config") << out.error_message;
}

TEST_P(HttpPlugin, TheDefaultPolicyDeniesLinkLocalAddressesWhereMetadataServicesLive) {
  const std::string path = GetParam().ollama ? "" : "/v1";
  for (const char* base : {"http://169.254.169.254", "http://[::ffff:169.254.169.254]", "http://[64:ff9b::a9fe:a9fe]",
                           "http://[fe80::1]:8080"}) {
    Json cfg = config(fake_);
    cfg["base_url"] = std::string(base) + path;
    Collect sink;
    const auto started = Clock::now();
    const auto out = chat(cfg, "fake-model", sink);
    EXPECT_EQ(out.status, ChatStatus::Error) << base;
    EXPECT_EQ(out.error_code, "upstream_denied") << base << ": " << out.error_message;
    EXPECT_LT(Clock::now() - started, 1s) << "refused before any connect attempt";
  }
  Collect sink;
  EXPECT_EQ(chat(config(fake_), "fake-model", sink).status, ChatStatus::Complete) << "loopback stays allowed";
}

INSTANTIATE_TEST_SUITE_P(Plugins, HttpPlugin,
                         ::testing::Values(PluginCase{"openai_compatible", false}, PluginCase{"ollama", true}),
                         [](const auto& info) { return info.param.name; });

// --- the host's upstream policy --------------------------------------------------------

// A plugin loaded with the host settings an operator's --upstream-deny/--upstream-allow give.
class PolicyPlugin : public PluginFixture, public ::testing::TestWithParam<PluginCase> {
 protected:
  ChatOutcome chat_with(const std::string& host_settings, const std::string& base_url = "") {
    load(GetParam(), host_settings);
    Json cfg = config(fake_);
    if (!base_url.empty()) cfg["base_url"] = base_url;
    Collect sink;
    return chat(cfg, "fake-model", sink);
  }
};

TEST_P(PolicyPlugin, ADeniedResolvedAddressIsRefusedAndNothingIsSent) {
  const int connections = fake_.connections();
  const int requests = fake_.requests();
  const auto out = chat_with(R"({"upstream_deny": ["127.0.0.0/8"], "upstream_allow": [], "ca_dir": ""})");
  EXPECT_EQ(out.status, ChatStatus::Error);
  EXPECT_EQ(out.error_code, "upstream_denied") << out.error_message;
  EXPECT_NE(out.error_message.find("--upstream-deny"), std::string::npos) << out.error_message;
  EXPECT_EQ(fake_.requests(), requests);
  EXPECT_EQ(fake_.connections(), connections);
}

TEST_P(PolicyPlugin, AHostNameEntryDeniesThatNameWhateverItResolvesTo) {
  const std::string url = "http://localhost:" + std::to_string(fake_.port()) + (GetParam().ollama ? "" : "/v1");
  const auto out = chat_with(R"({"upstream_deny": ["LOCALHOST"]})", url);
  EXPECT_EQ(out.error_code, "upstream_denied") << out.error_message;
  EXPECT_EQ(out.error_message.find("127.0.0.1"), std::string::npos) << "the resolved address is not disclosed";
}

TEST_P(PolicyPlugin, AnAllowListAdmitsOnlyWhatItNames) {
  auto out = chat_with(R"({"upstream_deny": [], "upstream_allow": ["10.0.0.0/8"]})");
  EXPECT_EQ(out.error_code, "upstream_denied") << out.error_message;
  EXPECT_NE(out.error_message.find("--upstream-allow"), std::string::npos) << out.error_message;
  out = chat_with(R"({"upstream_deny": [], "upstream_allow": ["10.0.0.0/8", "127.0.0.1"]})");
  EXPECT_EQ(out.status, ChatStatus::Complete) << out.error_code << ": " << out.error_message;
}

TEST_P(PolicyPlugin, DenyWinsOverAllow) {
  const auto out = chat_with(R"({"upstream_deny": ["127.0.0.1/32"], "upstream_allow": ["127.0.0.0/8"]})");
  EXPECT_EQ(out.error_code, "upstream_denied") << out.error_message;
}

TEST_P(PolicyPlugin, AConfigCannotOverrideTheHostsPolicy) {
  load(GetParam(), R"({"upstream_deny": ["127.0.0.0/8"]})");
  Json cfg = config(fake_);
  cfg["_switchboard"] = {{"upstream_deny", Json::array()}, {"upstream_allow", Json::array()}};
  Collect sink;
  const auto out = chat(cfg, "fake-model", sink);
  EXPECT_EQ(out.error_code, "upstream_denied") << "the host's settings replace the config's";
}

TEST_P(PolicyPlugin, AnEmptyDenyListLetsAnOperatorReachLinkLocalOnPurpose) {
  // Nothing listens there, so the connect fails; what matters is that it was tried.
  Json settings = {{"upstream_deny", Json::array()}};
  load(GetParam(), settings.dump());
  Json cfg = config(fake_, {{"connect_timeout_ms", 200}});
  cfg["base_url"] = "http://169.254.0.1:9" + std::string(GetParam().ollama ? "" : "/v1");
  Collect sink;
  const auto out = chat(cfg, "fake-model", sink);
  EXPECT_NE(out.error_code, "upstream_denied") << out.error_message;
}

TEST_P(PolicyPlugin, ACaFileOutsideTheHostsDirectoryIsRefused) {
  load(GetParam(), R"({"ca_dir": "/srv/switchboard-ca"})");
  Json cfg = config(fake_, {{"ca_file", "../elsewhere.pem"}});
  Collect sink;
  const auto out = chat(cfg, "fake-model", sink);
  EXPECT_EQ(out.error_code, "invalid_config") << out.error_message;
  EXPECT_NE(out.error_message.find("--ca-dir"), std::string::npos) << out.error_message;
}

INSTANTIATE_TEST_SUITE_P(Plugins, PolicyPlugin,
                         ::testing::Values(PluginCase{"openai_compatible", false}, PluginCase{"ollama", true}),
                         [](const auto& info) { return info.param.name; });

// --- openai_compatible only ----------------------------------------------------------

class OpenAi : public PluginFixture, public ::testing::Test {
 protected:
  void SetUp() override { load({"openai_compatible", false}); }
};

TEST_F(OpenAi, SendsTheBearerKeyAndExtraHeadersAndNeverShowsTheKey) {
  Collect sink;
  chat(config(fake_, {{"api_key", "sk-test-SECRET-123"}, {"headers", {{"HTTP-Referer", "https://switchboard.example"}}}}),
       "fake-model", sink);
  EXPECT_EQ(fake_.last_header("Authorization"), "Bearer sk-test-SECRET-123");
  EXPECT_EQ(fake_.last_header("HTTP-Referer"), "https://switchboard.example");

  Collect denied;
  const auto out = chat(config(fake_, {{"api_key", "sk-test-SECRET-123"}}), "fault-401", denied);
  EXPECT_EQ(out.error_code, "upstream_auth");
  EXPECT_EQ(out.error_message.find("SECRET"), std::string::npos);
}

TEST_F(OpenAi, TakesTheKeyFromTheNamedEnvironmentVariable) {
  ::setenv("SB_TEST_UPSTREAM_KEY", "sk-from-env", 1);
  Collect sink;
  chat(config(fake_, {{"api_key_env", "SB_TEST_UPSTREAM_KEY"}}), "fake-model", sink);
  EXPECT_EQ(fake_.last_header("Authorization"), "Bearer sk-from-env");
  ::unsetenv("SB_TEST_UPSTREAM_KEY");
}

TEST_F(OpenAi, AHeaderValueWithALineBreakIsNeverSent) {
  Collect sink;
  const auto out = chat(config(fake_, {{"headers", {{"X-Title", "ok\r\nX-Injected: 1"}, {"X-Fine", "yes"}}}}), "fake-model", sink);
  EXPECT_EQ(out.status, ChatStatus::Complete) << out.error_message;
  EXPECT_EQ(fake_.last_header("X-Injected"), "");
  EXPECT_EQ(fake_.last_header("X-Title"), "");
  EXPECT_EQ(fake_.last_header("X-Fine"), "yes");
}

TEST_F(OpenAi, AHeaderNameThatIsNoTokenFailsTheCallInsteadOfWritingIt) {
  Collect sink;
  const auto out = chat(config(fake_, {{"headers", {{"Bad Name", "x"}}}}), "fake-model", sink);
  EXPECT_EQ(out.error_code, "invalid_config") << out.error_message;
}

TEST_F(OpenAi, ARequestOptionCannotRedirectTheUpstream) {
  Collect sink;
  const auto out = chat(config(fake_), "fake-model", sink, R"({"base_url": "http://127.0.0.1:1/v1"})");
  EXPECT_EQ(out.status, ChatStatus::Complete) << "base_url comes from the config only";
}

class Tls : public ::testing::Test {
 protected:
  void SetUp() override {
    std::random_device rd;
    dir_ = std::filesystem::temp_directory_path() / ("sb_tls_" + std::to_string(rd()));
    std::filesystem::create_directories(dir_);
    files_ = make_test_certificates(dir_.string());
    fake_ = std::make_unique<FakeUpstream>(&files_);
    std::string error;
    provider_ = LoadedProvider::load(std::string(SB_PLUGIN_DIR) + "/libswitchboard_openai_compatible.so", error);
    ASSERT_NE(provider_, nullptr) << error;
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

TEST_F(Tls, AnUnknownCaIsRefusedInStrictMode) {
  const auto out = chat(Json::object());
  EXPECT_EQ(out.status, ChatStatus::Error);
  EXPECT_EQ(out.error_code, "upstream_tls") << out.error_message;
}

TEST_F(Tls, AnExtraCaFileIsTrusted) {
  const auto out = chat({{"ca_file", files_.ca_cert}});
  EXPECT_EQ(out.status, ChatStatus::Complete) << out.error_code << ": " << out.error_message;
}

TEST_F(Tls, VerificationCanBeTurnedOffExplicitly) {
  const auto out = chat({{"insecure_skip_verify", true}});
  EXPECT_EQ(out.status, ChatStatus::Complete) << out.error_code << ": " << out.error_message;
}

}  // namespace
}  // namespace switchboard::testing
