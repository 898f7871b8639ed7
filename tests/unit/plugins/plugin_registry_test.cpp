// File: tests/unit/plugins/plugin_registry_test.cpp
//
// plugins.json parsing, and loading of real libraries: the mock, broken
// builds of one plugin, a missing file and a file that is not a library.
#include "host/plugins/plugin_registry.h"

#include <switchboard/provider.h>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>
#include <set>

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

std::string versioned(int version) {
  return std::string(SB_TEST_PLUGIN_DIR) + "/libversioned_v" + std::to_string(version) + ".so";
}

// A private plugin directory (0755), removed with the object.
class PluginDir {
 public:
  PluginDir() {
    std::random_device rd;
    path_ = fs::temp_directory_path() / ("sb_plugins_" + std::to_string(rd()) + std::to_string(rd()));
    fs::create_directories(path_);
    fs::permissions(path_, fs::perms(0755));
  }
  ~PluginDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  const fs::path& path() const { return path_; }
  // As an author should: copy under a hidden name, then rename into place.
  fs::path drop(const std::string& from, const std::string& name) const {
    const fs::path temp = path_ / ("." + name + ".part");
    fs::copy_file(from, temp, fs::copy_options::overwrite_existing);
    fs::permissions(temp, fs::perms(0755));
    fs::rename(temp, path_ / name);
    return path_ / name;
  }

 private:
  fs::path path_;
};

std::shared_ptr<PluginRegistry> discovering(const PluginDir& dir, const std::string& manifest = "{}") {
  PluginSource source;
  source.plugin_dir = dir.path();
  auto registry = std::make_shared<PluginRegistry>(source, Manifest::parse(manifest));
  registry->reload(ReloadTrigger::Start);
  return registry;
}

const PluginReport* report_for(const std::vector<PluginReport>& reports, const fs::path& file) {
  for (const auto& r : reports)
    if (r.file == file.string()) return &r;
  return nullptr;
}

// Lines of /proc/self/maps that map an in-memory copy of `file_name`.
int mapped_copies(const std::string& file_name) {
  std::ifstream maps("/proc/self/maps");
  int n = 0;
  for (std::string line; std::getline(maps, line);)
    if (line.find("sb-plugin:" + file_name) != std::string::npos) ++n;
  return n;
}

std::string reply_of(const LoadedProvider& provider) {
  struct Collect : ChatSink {
    std::string text;
    bool on_event(const ProviderEvent& e) override { text += e.text; return true; }
  } sink;
  ProviderRequest req;
  req.model = "versioned-model";
  req.messages = {{"user", "hi"}};
  req.options_json = R"({"tokens": 1})";
  const ChatOutcome out = provider.chat(req, sink);
  EXPECT_EQ(out.status, ChatStatus::Complete) << out.error_message;
  return sink.text;
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
  const PluginDir private_dir;  // not /tmp itself, which anyone may write to
  const fs::path junk = private_dir.path() / "sb_junk.so";
  std::ofstream(junk) << "junk";
  Manifest m = Manifest::parse(R"({"plugins": [
      {"name": "missing", "library": "libswitchboard_missing.so"},
      {"name": "junk", "library": ")" + junk.string() + R"("},
      {"name": "broken", "library": ")" + test_plugin("bad_major") + R"("},
      {"name": "mock", "library": "libswitchboard_mock.so"}]})");
  auto registry = PluginRegistry::load(m, SB_PLUGIN_DIR);

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

// --- discovery and reload ---------------------------------------------------------

TEST(Manifest, IsOptionalAndMayCarryPerPluginSettings) {
  EXPECT_TRUE(Manifest::load_optional("/nonexistent/plugins.json").plugins.empty());
  const Manifest m = Manifest::parse(R"({"plugins": [{"name": "a", "library": "a.so", "settings": {"k": 1}}]})");
  EXPECT_EQ(nlohmann::json::parse(m.plugins[0].settings_json)["k"], 1);
  EXPECT_THROW(Manifest::parse(R"({"plugins": [{"name": "a", "library": "a.so", "settings": []}]})"), ManifestError);
  EXPECT_TRUE(Manifest::parse(R"({"default_config": {"provider": "mock"}})").plugins.empty());
}

TEST(PluginRegistry, DiscoversEveryLibraryOfTheDirectoryByTheNameItGivesItself) {
  const PluginDir dir;
  const fs::path lib = dir.drop(versioned(1), "libwhatever.so");
  std::ofstream(dir.path() / "README") << "not a library";
  fs::copy_file(versioned(2), dir.path() / ".hidden.so");
  fs::copy_file(versioned(2), dir.path() / "libhalf.so.part");

  auto registry = discovering(dir);
  const auto provider = registry->provider("versioned");
  ASSERT_NE(provider, nullptr);
  EXPECT_EQ(provider->description().version, "1.0.0");
  const auto reports = registry->reports();
  ASSERT_EQ(reports.size(), 1u);  // the README, the hidden file and the partial copy are not candidates
  EXPECT_EQ(reports[0].file, lib.string());
  EXPECT_TRUE(reports[0].loaded);
  EXPECT_FALSE(reports[0].listed);
  EXPECT_EQ(reply_of(*provider), "v1.0.0 tok1 ");
}

TEST(PluginRegistry, AnExplicitEntryWinsOverADiscoveredLibraryOfTheSameName) {
  const PluginDir dir;
  const fs::path discovered = dir.drop(versioned(1), "libversioned.so");
  auto registry = discovering(dir, R"({"plugins": [{"name": "versioned", "library": ")" + versioned(2) + R"("}]})");
  ASSERT_NE(registry->provider("versioned"), nullptr);
  EXPECT_EQ(registry->provider("versioned")->description().version, "2.0.0");
  const auto reports = registry->reports();
  const PluginReport* loser = report_for(reports, discovered);
  ASSERT_NE(loser, nullptr);
  EXPECT_FALSE(loser->loaded);
  EXPECT_NE(loser->error.find("plugins.json decides the plugin \"versioned\""), std::string::npos) << loser->error;
}

TEST(PluginRegistry, ADisabledEntryKeepsItsNameUnloadedEvenWhenDiscovered) {
  const PluginDir dir;
  dir.drop(versioned(1), "libversioned.so");
  dir.drop(versioned(2), "libother.so");
  auto registry = discovering(dir, R"({"plugins": [{"name": "versioned", "library": "libversioned.so", "enabled": false}]})");
  EXPECT_EQ(registry->provider("versioned"), nullptr);
  const auto reports = registry->reports();
  const PluginReport* other = report_for(reports, dir.path() / "libother.so");
  ASSERT_NE(other, nullptr);
  EXPECT_FALSE(other->loaded);
  EXPECT_EQ(report_for(reports, dir.path() / "libversioned.so"), nullptr);  // disabled: not even looked at
}

TEST(PluginRegistry, TwoDiscoveredLibrariesOfOneNameLoadNeitherAndBothAreReported) {
  const PluginDir dir;
  const fs::path a = dir.drop(versioned(1), "liba.so");
  const fs::path b = dir.drop(versioned(2), "libb.so");
  auto registry = discovering(dir);
  EXPECT_EQ(registry->provider("versioned"), nullptr);
  const auto reports = registry->reports();
  for (const auto& file : {a, b}) {
    const PluginReport* r = report_for(reports, file);
    ASSERT_NE(r, nullptr) << file;
    EXPECT_FALSE(r->loaded);
    EXPECT_NE(r->error.find("both " + a.string() + " and " + b.string() + " call themselves \"versioned\""),
              std::string::npos) << r->error;
  }
  // Remove one and the other loads.
  fs::remove(b);
  const ReloadSummary s = registry->reload(ReloadTrigger::Request);
  EXPECT_EQ(s.added, std::vector<std::string>{"versioned"});
  ASSERT_NE(registry->provider("versioned"), nullptr);
  EXPECT_EQ(registry->provider("versioned")->description().version, "1.0.0");
}

TEST(PluginRegistry, AReplacedLibraryServesItsHoldersUntilTheLastLetsGoAndIsThenUnmapped) {
  const PluginDir dir;
  dir.drop(versioned(1), "libversioned.so");
  auto registry = discovering(dir);
  auto held = registry->provider("versioned");  // a turn in flight
  ASSERT_NE(held, nullptr);
  const int one_version = mapped_copies("libversioned.so");
  ASSERT_GT(one_version, 0);

  dir.drop(versioned(2), "libversioned.so");
  const ReloadSummary s = registry->reload(ReloadTrigger::Watch);
  EXPECT_EQ(s.replaced, std::vector<std::string>{"versioned"});
  EXPECT_TRUE(s.added.empty());
  EXPECT_TRUE(s.removed.empty());
  const auto fresh = registry->provider("versioned");
  ASSERT_NE(fresh, nullptr);
  EXPECT_EQ(reply_of(*held), "v1.0.0 tok1 ");
  EXPECT_EQ(reply_of(*fresh), "v2.0.0 tok1 ");
  EXPECT_EQ(mapped_copies("libversioned.so"), 2 * one_version);

  held.reset();  // the last turn on the old version ends
  EXPECT_EQ(mapped_copies("libversioned.so"), one_version);
}

TEST(PluginRegistry, ARemovedLibraryTakesItsNameAwayWhileHoldersFinish) {
  const PluginDir dir;
  const fs::path lib = dir.drop(versioned(1), "libversioned.so");
  auto registry = discovering(dir);
  auto held = registry->provider("versioned");
  fs::remove(lib);
  const ReloadSummary s = registry->reload(ReloadTrigger::Watch);
  EXPECT_EQ(s.removed, std::vector<std::string>{"versioned"});
  EXPECT_EQ(registry->provider("versioned"), nullptr);
  EXPECT_TRUE(registry->reports().empty());
  EXPECT_EQ(reply_of(*held), "v1.0.0 tok1 ");
  held.reset();
  EXPECT_EQ(mapped_copies("libversioned.so"), 0);
}

TEST(PluginRegistry, AnUnchangedFileIsNotLoadedAgainAndAFileBeingWrittenIsLeftAsItWas) {
  const PluginDir dir;
  dir.drop(versioned(1), "libversioned.so");
  auto registry = discovering(dir);
  const auto first = registry->provider("versioned");
  const std::uint64_t generation = registry->generation();
  const ReloadSummary same = registry->reload(ReloadTrigger::Rescan);
  EXPECT_FALSE(same.changed());
  EXPECT_TRUE(same.refused.empty());
  EXPECT_EQ(registry->provider("versioned"), first);
  EXPECT_EQ(registry->generation(), generation);

  dir.drop(versioned(2), "libversioned.so");
  registry->reload(ReloadTrigger::Watch, {"libversioned.so"});  // still being written
  EXPECT_EQ(registry->provider("versioned"), first);
  registry->reload(ReloadTrigger::Watch);
  EXPECT_EQ(registry->provider("versioned")->description().version, "2.0.0");
  EXPECT_NE(registry->generation(), generation);
}

TEST(PluginRegistry, EachBrokenKindDroppedInIsRefusedWithItsReasonAndChangesNothingElse) {
  const PluginDir dir;
  dir.drop(versioned(1), "libversioned.so");
  auto registry = discovering(dir);
  const auto good = registry->provider("versioned");
  const std::vector<std::pair<std::string, std::string>> kinds = {
      {"bad_major", "major versions differ"},
      {"newer_minor", "newer than this host's ABI"},
      {"no_entry", "no entry point [sb_provider_entry]"},
      {"short_table", "short function table"},
      {"create_fails", "constructor exploded"}};
  for (const auto& [kind, reason] : kinds) {
    const fs::path lib = dir.drop(test_plugin(kind), "libbroken.so");
    const ReloadSummary s = registry->reload(ReloadTrigger::Watch);
    ASSERT_EQ(s.refused.size(), 1u) << kind;
    EXPECT_EQ(s.refused[0].first, lib.string());
    EXPECT_NE(s.refused[0].second.find(reason), std::string::npos) << kind << ": " << s.refused[0].second;
    EXPECT_FALSE(s.changed()) << kind;
    EXPECT_EQ(registry->provider("versioned"), good) << kind;
    fs::remove(lib);
    registry->reload(ReloadTrigger::Watch);
  }
  // The sixth kind loads (it describes itself fine) and fails each call as data.
  dir.drop(test_plugin("throws"), "libbroken.so");
  const ReloadSummary s = registry->reload(ReloadTrigger::Watch);
  EXPECT_EQ(s.added, std::vector<std::string>{"broken"});
  EXPECT_EQ(registry->provider("versioned"), good);
}

TEST(PluginRegistry, ABrokenBuildOverAGoodOneLeavesTheGoodOneServingUntilAGoodFileComes) {
  const PluginDir dir;
  const fs::path lib = dir.drop(versioned(1), "libversioned.so");
  auto registry = discovering(dir);
  const auto good = registry->provider("versioned");
  ASSERT_NE(good, nullptr);

  dir.drop(test_plugin("bad_major"), "libversioned.so");
  const ReloadSummary broken = registry->reload(ReloadTrigger::Watch);
  EXPECT_FALSE(broken.changed());
  ASSERT_EQ(broken.refused.size(), 1u);
  EXPECT_NE(broken.refused[0].second.find("major versions differ; rebuild"), std::string::npos);
  EXPECT_NE(broken.refused[0].second.find("still serving version 1.0.0 loaded before"), std::string::npos)
      << broken.refused[0].second;
  EXPECT_EQ(registry->provider("versioned"), good);
  const auto reports = registry->reports();
  ASSERT_EQ(reports.size(), 1u);
  EXPECT_TRUE(reports[0].loaded);
  EXPECT_FALSE(reports[0].error.empty());
  EXPECT_TRUE(registry->reload(ReloadTrigger::Rescan).refused.empty());  // said once

  dir.drop(versioned(2), "libversioned.so");
  EXPECT_EQ(registry->reload(ReloadTrigger::Watch).replaced, std::vector<std::string>{"versioned"});
  EXPECT_EQ(registry->provider("versioned")->description().version, "2.0.0");
  EXPECT_TRUE(registry->reports()[0].error.empty());
  fs::remove(lib);
  EXPECT_EQ(registry->reload(ReloadTrigger::Watch).removed, std::vector<std::string>{"versioned"});
}

TEST(PluginRegistry, ReadsPluginsJsonAgainOnRequestOrSignalAndKeepsTheLastGoodOne) {
  const PluginDir dir;
  dir.drop(versioned(1), "libversioned.so");
  const fs::path manifest = dir.path() / "plugins.json";
  auto write = [&](const std::string& text) { std::ofstream(manifest, std::ios::trunc) << text; };
  write(R"({"plugins": [{"name": "versioned", "library": "libversioned.so"}]})");
  PluginSource source;
  source.plugin_dir = dir.path();
  source.manifest_path = manifest;
  PluginRegistry registry(source, Manifest::load(manifest));
  EXPECT_EQ(registry.reload(ReloadTrigger::Start).added, std::vector<std::string>{"versioned"});
  ASSERT_TRUE(registry.reports()[0].listed);

  // Renamed in plugins.json: the library's own name no longer matches, and the
  // version loaded under the old entry does not serve under the new name.
  write(R"({"plugins": [{"name": "renamed", "library": "libversioned.so"}]})");
  const ReloadSummary renamed = registry.reload(ReloadTrigger::Request);
  EXPECT_EQ(renamed.removed, std::vector<std::string>{"versioned"});
  EXPECT_EQ(registry.provider("renamed"), nullptr);
  ASSERT_EQ(renamed.refused.size(), 1u);
  EXPECT_NE(renamed.refused[0].second.find("calls itself \"versioned\" but plugins.json names it \"renamed\""),
            std::string::npos) << renamed.refused[0].second;

  write("{ not json");
  const ReloadSummary broken = registry.reload(ReloadTrigger::Request);
  EXPECT_NE(broken.manifest_error.find("not valid JSON"), std::string::npos) << broken.manifest_error;
  EXPECT_FALSE(broken.changed());

  write(R"({"plugins": [{"name": "versioned", "library": "libversioned.so"}]})");
  EXPECT_FALSE(registry.reload(ReloadTrigger::Watch).changed());  // the watcher does not read plugins.json
  EXPECT_EQ(registry.reload(ReloadTrigger::Signal).added, std::vector<std::string>{"versioned"});
}

TEST(PluginRegistry, RefusesAFileOrDirectoryOthersMayWriteTo) {
  const PluginDir dir;
  const fs::path lib = dir.drop(versioned(1), "libversioned.so");
  fs::permissions(lib, fs::perms(0775));
  auto registry = discovering(dir);
  EXPECT_EQ(registry->provider("versioned"), nullptr);
  auto reports = registry->reports();
  ASSERT_EQ(reports.size(), 1u);
  EXPECT_NE(reports[0].error.find("plugin file " + lib.string() + " is writable by its group (mode 0775)"),
            std::string::npos) << reports[0].error;

  fs::permissions(lib, fs::perms(0755));
  EXPECT_EQ(registry->reload(ReloadTrigger::Watch).added, std::vector<std::string>{"versioned"});

  fs::permissions(dir.path(), fs::perms(0777));
  const ReloadSummary s = registry->reload(ReloadTrigger::Watch);
  fs::permissions(dir.path(), fs::perms(0755));
  EXPECT_EQ(s.removed, std::vector<std::string>{"versioned"});
  reports = registry->reports();
  ASSERT_EQ(reports.size(), 1u);
  EXPECT_NE(reports[0].error.find("plugin directory " + dir.path().string() + " is writable by anyone"),
            std::string::npos) << reports[0].error;
}

TEST(PluginRegistry, RefusesAFileOfAnotherUser) {
  const std::string reason = untrusted_reason("plugin file x.so", 0644, ::geteuid() + 1);
  EXPECT_NE(reason.find("belongs to uid " + std::to_string(::geteuid() + 1)), std::string::npos) << reason;
  EXPECT_EQ(untrusted_reason("plugin file x.so", 0755, 0), "");
  EXPECT_EQ(untrusted_reason("plugin file x.so", 0700, ::geteuid()), "");
}

}  // namespace
}  // namespace switchboard
