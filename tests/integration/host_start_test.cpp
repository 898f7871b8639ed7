// File: tests/integration/host_start_test.cpp
//
// The host starts on its defaults with whatever plugins load, reports the ones
// that did not with their reasons, and answers /healthz.
#include "host_fixture.h"

#include <nlohmann/json.hpp>

namespace switchboard::testing {
namespace {

using Json = nlohmann::json;

class HostWithBadPlugins : public HostFixture {
 protected:
  std::string manifest() const override {
    const std::string junk = dir_.write("libjunk.so", "not an ELF file");
    return R"({"plugins": [
      {"name": "mock", "library": "libswitchboard_mock.so"},
      {"name": "ghost", "library": "libswitchboard_ghost.so"},
      {"name": "junk", "library": ")" + junk + R"("}],
      "default_config": {"provider": "mock", "model_name": "mock-echo"}})";
  }
};

TEST_F(HostWithBadPlugins, AnswersHealthz) {
  const HttpReply r = get("/healthz");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(Json::parse(r.body)["status"], "ok");
}

TEST_F(HostWithBadPlugins, ListsLoadedAndFailedProvidersWithReasons) {
  const HttpReply r = get("/api/providers");
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(r.content_type, "application/json");
  const Json providers = Json::parse(r.body)["providers"];
  // The three entries of plugins.json, in its order, then the other libraries
  // of the plugin directory (the build's, where an author may have dropped
  // one of theirs), found by discovery, in file order.
  ASSERT_GE(providers.size(), 5u) << r.body;
  std::vector<std::string> discovered;
  for (std::size_t i = 0; i < providers.size(); ++i) {
    EXPECT_EQ(providers[i]["source"], i < 3 ? "plugins.json" : "discovered") << i;
    if (i >= 3 && providers[i]["loaded"].get<bool>()) discovered.push_back(providers[i]["name"]);
  }
  const std::vector<std::string> shipped = {"ollama", "openai_compatible"};
  std::vector<std::string> found;
  for (const auto& name : discovered)
    if (name == "ollama" || name == "openai_compatible") found.push_back(name);
  EXPECT_EQ(found, shipped);

  EXPECT_EQ(providers[0]["name"], "mock");
  EXPECT_TRUE(providers[0]["loaded"].get<bool>());
  EXPECT_EQ(providers[0]["version"], "1.0.0");
  EXPECT_EQ(providers[0]["abi"], "1.2");
  EXPECT_EQ(providers[0]["default_config"]["model_name"], "mock-echo");

  EXPECT_FALSE(providers[1]["loaded"].get<bool>());
  EXPECT_NE(providers[1]["error"].get<std::string>().find("plugin file not found"), std::string::npos);
  EXPECT_FALSE(providers[2]["loaded"].get<bool>());
  EXPECT_NE(providers[2]["error"].get<std::string>().find("not a loadable library"), std::string::npos);
}

TEST_F(HostWithBadPlugins, AnswersUnknownRoutesAndMethodsWithJsonErrors) {
  const HttpReply missing = get("/api/nothing-here");
  EXPECT_EQ(missing.status, 404);
  EXPECT_EQ(Json::parse(missing.body)["error"]["code"], "not_found");
  const HttpReply wrong = post("/healthz", "{}");
  EXPECT_EQ(wrong.status, 405);
  EXPECT_EQ(Json::parse(wrong.body)["error"]["code"], "method_not_allowed");
}

TEST(HostStart, RefusesAMalformedManifestWithAClearMessage) {
  TempDir dir;
  HostOptions o;
  o.port = 0;
  o.db_path = dir.file("db.sqlite");
  o.manifest_path = dir.write("plugins.json", R"({"plugins": [], "surprise": 1})");
  try {
    Host host(o);
    FAIL() << "started with a malformed manifest";
  } catch (const std::exception& e) {
    EXPECT_NE(std::string(e.what()).find("unknown key \"surprise\""), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace switchboard::testing
