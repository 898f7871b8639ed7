// File: tests/unit/plugins/plugin_registry_test.cpp
//
// plugins.json parsing, and loading of real libraries: the mock, broken
// builds of one plugin, a missing file and a file that is not a library.
#include "host/plugins/plugin_registry.h"

#include <switchboard/provider.h>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>
#include <algorithm>
#include <unistd.h>

namespace switchboard {
namespace {

namespace fs = std::filesystem;

std::string test_plugin(const std::string& variant) {
  return std::string(SB_TEST_PLUGIN_DIR) + "/libbroken_" + variant + ".so";
}

std::string load_error(const std::string& file) {
  std::string error;
  auto provider = LoadedProvider::load(file, error);
  EXPECT_EQ(provider, nullptr);
  return error;
}

const std::string kHostAbi = std::to_string(SB_ABI_MAJOR) + "." + std::to_string(SB_ABI_MINOR);

TEST(Manifest, ParsesPluginsAndDefaultConfig) {
  const Manifest m = Manifest::parse(R"({"plugin_dir": "lib",
    "plugins": [{"name": "mock", "library": "libswitchboard_mock.so"},
                {"name": "off", "library": "x.so", "enabled": false}],
    "default_config": {"provider": "mock", "model_name": "mock-echo"}})");
  EXPECT_EQ(m.plugin_dir, "lib");
  ASSERT_EQ(m.plugins.size(), 2u);
  EXPECT_EQ(m.plugins[0].name, "mock");
  EXPECT_FALSE(m.plugins[1].enabled);
  EXPECT_EQ(nlohmann::json::parse(m.default_config_json)["provider"], "mock");
}

TEST(Manifest, RejectsAnUnknownKeyNamingIt) {
  try {
    Manifest::parse(R"({"plugins": [{"name": "mock", "library": "a.so", "libary": "typo"}]})");
    FAIL() << "accepted an unknown key";
  } catch (const ManifestError& e) {
    EXPECT_NE(std::string(e.what()).find("plugins[0]: unknown key \"libary\""), std::string::npos) << e.what();
  }
}

TEST(Manifest, RejectsAWrongTypeNamingTheField) {
  try {
    Manifest::parse(R"({"plugins": [{"name": "mock", "library": 7}]})");
    FAIL() << "accepted a number as library";
  } catch (const ManifestError& e) {
    EXPECT_NE(std::string(e.what()).find("\"library\" must be a string, not a number"), std::string::npos)
        << e.what();
  }
}

TEST(Manifest, RejectsMalformedJsonAndDuplicates) {
  EXPECT_THROW(Manifest::parse("{"), ManifestError);
  EXPECT_THROW(Manifest::parse(R"({"plugins": {}})"), ManifestError);
  EXPECT_THROW(Manifest::parse(R"({"plugins": [{"name": "a", "library": "a.so"}, {"name": "a", "library": "b.so"}]})"),
               ManifestError);
}

TEST(Manifest, TheShippedManifestListsTheFourProvidersAndAMockDefault) {
  const Manifest m = Manifest::load(fs::path(SB_SOURCE_DIR) / "plugins.json");
  std::vector<std::string> names;
  for (const auto& p : m.plugins) names.push_back(p.name);
  EXPECT_EQ(names, (std::vector<std::string>{"mock", "openai_compatible", "ollama", "anthropic"}));
  EXPECT_EQ(nlohmann::json::parse(m.default_config_json)["provider"], "mock");
}

TEST(LoadedProvider, LoadsTheMockAndDescribesIt) {
  std::string error;
  auto mock = LoadedProvider::load(std::string(SB_PLUGIN_DIR) + "/libswitchboard_mock.so", error);
  ASSERT_NE(mock, nullptr) << error;
  EXPECT_EQ(mock->description().name, "mock");
  EXPECT_EQ(nlohmann::json::parse(mock->description().default_config_json)["model_name"], "mock-echo");
  std::vector<std::string> models;
  ProviderError perr;
  ASSERT_TRUE(mock->list_models("{}", models, perr));
  EXPECT_NE(std::find(models.begin(), models.end(), "mock-inspect"), models.end());
}

TEST(LoadedProvider, RefusesAnotherMajorNamingFileAndBothAbis) {
  const std::string file = test_plugin("bad_major");
  const std::string error = load_error(file);
  EXPECT_NE(error.find(file), std::string::npos) << error;
  EXPECT_NE(error.find("ABI " + std::to_string(SB_ABI_MAJOR + 1) + "." + std::to_string(SB_ABI_MINOR)),
            std::string::npos) << error;
  EXPECT_NE(error.find("host uses ABI " + kHostAbi), std::string::npos) << error;
  EXPECT_NE(error.find("major versions differ"), std::string::npos) << error;
}

TEST(LoadedProvider, RefusesANewerMinor) {
  const std::string file = test_plugin("newer_minor");
  const std::string error = load_error(file);
  EXPECT_NE(error.find(file), std::string::npos) << error;
  EXPECT_NE(error.find("newer than this host's ABI " + kHostAbi), std::string::npos) << error;
}

TEST(LoadedProvider, RefusesALibraryWithoutTheEntryPoint) {
  const std::string file = test_plugin("no_entry");
  EXPECT_EQ(load_error(file), "no entry point [sb_provider_entry] in shared library [" + file + "]");
}

TEST(LoadedProvider, RefusesAShortTable) {
  const std::string error = load_error(test_plugin("short_table"));
  EXPECT_NE(error.find("short function table"), std::string::npos) << error;
}

TEST(LoadedProvider, RefusesAMissingFile) {
  const std::string error = load_error("/nonexistent/libnothing.so");
  EXPECT_EQ(error, "plugin file not found: /nonexistent/libnothing.so");
}

TEST(LoadedProvider, RefusesAFileThatIsNotALibrary) {
  const fs::path file = fs::temp_directory_path() / ("sb_not_a_library_" + std::to_string(::getpid()) + ".so");
  std::ofstream(file) << "this is text, not ELF\n";
  const std::string error = load_error(file.string());
  fs::remove(file);
  EXPECT_EQ(error.rfind("not a loadable library: " + file.string(), 0), 0u) << error;
}

TEST(LoadedProvider, ContainsAProviderWhoseConstructorThrows) {
  const std::string error = load_error(test_plugin("create_fails"));
  EXPECT_NE(error.find("constructor exploded"), std::string::npos) << error;
}

TEST(LoadedProvider, TurnsExceptionsIntoErrorData) {
  std::string error;
  auto provider = LoadedProvider::load(test_plugin("throws"), error);
  ASSERT_NE(provider, nullptr) << error;

  struct NullSink : ChatSink {
    bool on_event(const ProviderEvent&) override { return true; }
  } sink;
  const ChatOutcome out = provider->chat(ProviderRequest{}, sink);
  EXPECT_EQ(out.status, ChatStatus::Error);
  EXPECT_EQ(out.error_code, "provider_exception");
  EXPECT_EQ(out.error_message, "chat exploded");

  std::vector<std::string> models;
  ProviderError perr;
  EXPECT_FALSE(provider->list_models("{}", models, perr));
  EXPECT_EQ(perr.code, "provider_exception");
  EXPECT_EQ(perr.message, "list_models exploded");
}

TEST(PluginRegistry, OneBadPluginNeverStopsTheOthers) {
  const fs::path junk = fs::temp_directory_path() / ("sb_junk_" + std::to_string(::getpid()) + ".so");
  std::ofstream(junk) << "junk";
  Manifest m = Manifest::parse(R"({"plugins": [
      {"name": "missing", "library": "libswitchboard_missing.so"},
      {"name": "junk", "library": ")" + junk.string() + R"("},
      {"name": "broken", "library": ")" + test_plugin("bad_major") + R"("},
      {"name": "mock", "library": "libswitchboard_mock.so"}]})");
  auto registry = PluginRegistry::load(m, SB_PLUGIN_DIR);
  fs::remove(junk);

  ASSERT_EQ(registry->reports().size(), 4u);
  EXPECT_FALSE(registry->reports()[0].loaded);
  EXPECT_NE(registry->reports()[0].error.find("not found"), std::string::npos);
  EXPECT_FALSE(registry->reports()[1].loaded);
  EXPECT_NE(registry->reports()[1].error.find("not a loadable library"), std::string::npos);
  EXPECT_FALSE(registry->reports()[2].loaded);
  EXPECT_NE(registry->reports()[2].error.find("major versions differ"), std::string::npos);
  EXPECT_TRUE(registry->reports()[3].loaded);
  EXPECT_NE(registry->provider("mock"), nullptr);
  EXPECT_EQ(registry->provider("missing"), nullptr);
  EXPECT_EQ(registry->loaded_names(), std::vector<std::string>{"mock"});
}

TEST(PluginRegistry, RefusesAPluginWhoseNameDiffersFromTheManifest) {
  Manifest m = Manifest::parse(R"({"plugins": [{"name": "mocky", "library": "libswitchboard_mock.so"}]})");
  auto registry = PluginRegistry::load(m, SB_PLUGIN_DIR);
  ASSERT_EQ(registry->reports().size(), 1u);
  EXPECT_FALSE(registry->reports()[0].loaded);
  EXPECT_NE(registry->reports()[0].error.find("calls itself \"mock\""), std::string::npos);
}

TEST(PluginRegistry, KeepsTheLibraryLoadedWhileAProviderIsAlive) {
  std::shared_ptr<LoadedProvider> kept;
  {
    auto registry = PluginRegistry::load(
        Manifest::parse(R"({"plugins": [{"name": "mock", "library": "libswitchboard_mock.so"}]})"), SB_PLUGIN_DIR);
    kept = registry->provider("mock");
  }
  struct Collect : ChatSink {
    std::string text;
    bool on_event(const ProviderEvent& e) override { text += e.text; return true; }
  } sink;
  ProviderRequest req;
  req.model = "mock-echo";
  req.messages = {{"user", "still here"}};
  const ChatOutcome out = kept->chat(req, sink);
  EXPECT_EQ(out.status, ChatStatus::Complete);
  EXPECT_EQ(sink.text, "still here");
}

}  // namespace
}  // namespace switchboard
