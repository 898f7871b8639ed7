// File: tests/integration/trust_test.cpp
//
// Who may do what, against the real host on a loopback port: every route of
// the route table without a key, with a wrong, revoked and expired key, as a
// user and as an admin; two users who cannot see each other's sessions; users,
// keys and the audit trail; and the ways a stored provider key used to leave
// the host, replayed against a capturing upstream.
#include "fake_upstream.h"
#include "host_fixture.h"
#include "storage/database.h"
#include "storage/repositories.h"

#include <sys/stat.h>

#include <cstdlib>
#include <fstream>
#include <iterator>
#include <thread>

namespace switchboard::testing {
namespace {

using Json = nlohmann::json;

const char* kTwoPluginManifest = R"({
  "plugins": [{"name": "mock", "library": "libswitchboard_mock.so"},
              {"name": "openai_compatible", "library": "libswitchboard_openai_compatible.so"}],
  "default_config": {"name": "mock-echo", "provider": "mock", "model_name": "mock-echo"}
})";

std::string file_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

int mode_of(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return -1;
  return static_cast<int>(st.st_mode & 0777);
}

class Trust : public HostFixture {
 protected:
  std::string manifest() const override { return kTwoPluginManifest; }

  // A concrete path for a route pattern: every {placeholder} names nothing.
  static std::string concrete(const std::string& pattern) {
    std::string out;
    for (std::size_t i = 0; i < pattern.size(); ++i) {
      if (pattern[i] == '{') {
        const auto end = pattern.find('}', i);
        out += pattern.substr(i, end - i + 1) == "{file}" ? "app.js" : "999999";
        i = end;
      } else {
        out += pattern[i];
      }
    }
    return out;
  }

  HttpReply call_as(const std::string& key, const std::string& method, const std::string& path,
                    const std::string& body = "") {
    return http_as(key, host_->port(), method, path,
                   body.empty() && (method == "POST" || method == "PUT" || method == "PATCH") ? "{}" : body);
  }

  std::int64_t new_session_as(const std::string& key) {
    const HttpReply r = call_as(key, "POST", "/api/sessions", "{}");
    EXPECT_EQ(r.status, 201) << r.body;
    return Json::parse(r.body)["id"].get<std::int64_t>();
  }
};

// --- the route table --------------------------------------------------------------

TEST_F(Trust, EveryRouteOfTheTableHasADecisionAndKeepsCallersWithoutTheRightOut) {
  const Account user = make_user("walker");
  const Account revoked = make_user("revoked-one");
  ASSERT_EQ(http_as(revoked.key, host_->port(), "GET", "/api/me").status, 200);
  const Json keys = Json::parse(http_as(revoked.key, host_->port(), "GET", "/api/keys").body)["keys"];
  ASSERT_EQ(keys.size(), 1u);
  ASSERT_EQ(http_as(revoked.key, host_->port(), "DELETE", "/api/keys/" + keys[0]["id"].dump()).status, 200);
  // An expiring key for the same user, left to expire.
  const auto soon = std::chrono::duration_cast<std::chrono::milliseconds>(
                        std::chrono::system_clock::now().time_since_epoch()).count() + 400;
  const HttpReply made = post("/api/keys", R"({"user_id": )" + std::to_string(user.id) +
                                               R"(, "name": "short-lived", "expires_at_ms": )" + std::to_string(soon) + "}");
  ASSERT_EQ(made.status, 201) << made.body;
  const std::string expired = Json::parse(made.body)["key"];
  ASSERT_EQ(http_as(expired, host_->port(), "GET", "/api/me").status, 200) << "it works until it expires";
  std::this_thread::sleep_for(std::chrono::milliseconds(600));

  const auto routes = host_->routes();
  ASSERT_GT(routes.size(), 25u);
  int public_routes = 0, admin_routes = 0;
  for (const auto& [method, pattern, access] : routes) {
    SCOPED_TRACE(method + " " + pattern + " (" + access + ")");
    ASSERT_TRUE(access == "public" || access == "user" || access == "admin");
    const std::string path = concrete(pattern);
    if (access == "public") {
      ++public_routes;
      EXPECT_NE(call_as("", method, path).status, 401);
      continue;
    }
    for (const std::string& bad : {std::string(), std::string("sbk_wrong-0123456789abcdefghijklmnopqrstuvwxyz"),
                                   revoked.key, expired}) {
      const HttpReply r = call_as(bad, method, path);
      EXPECT_EQ(r.status, 401) << (bad.empty() ? "no key" : bad) << ": " << r.body;
      EXPECT_EQ(r.www_authenticate, "Bearer");
      const Json j = Json::parse(r.body);
      EXPECT_EQ(j["error"]["code"], pattern.rfind("/v1/", 0) == 0 ? "invalid_api_key" : "unauthenticated");
    }
    const HttpReply as_user = call_as(user.key, method, path);
    if (access == "admin") {
      ++admin_routes;
      EXPECT_EQ(as_user.status, 403) << as_user.body;
      EXPECT_EQ(Json::parse(as_user.body)["error"]["code"], "permission_denied");
    } else {
      EXPECT_NE(as_user.status, 401) << as_user.body;
    }
    const HttpReply as_admin = call_as(kAdminKey, method, path);
    EXPECT_NE(as_admin.status, 401) << as_admin.body;
    EXPECT_NE(as_admin.status, 403) << as_admin.body;
  }
  EXPECT_EQ(public_routes, 3) << "/healthz, / and /web/{file}";
  EXPECT_GE(admin_routes, 5) << "users, audit, metrics";
}

TEST_F(Trust, TheOldUserHeaderNamesNobody) {
  Poco::Net::HTTPClientSession session("127.0.0.1", host_->port());
  Poco::Net::HTTPRequest request("GET", "/api/sessions", Poco::Net::HTTPMessage::HTTP_1_1);
  request.set("X-Switchboard-User", "admin");
  session.sendRequest(request);
  Poco::Net::HTTPResponse response;
  std::string body;
  Poco::StreamCopier::copyToString(session.receiveResponse(response), body);
  EXPECT_EQ(static_cast<int>(response.getStatus()), 401) << body;
}

TEST_F(Trust, EveryAnswerCarriesTheSecurityHeaders) {
  for (const char* path : {"/", "/healthz", "/api/me", "/nowhere"}) {
    Poco::Net::HTTPClientSession session("127.0.0.1", host_->port());
    Poco::Net::HTTPRequest request("GET", path, Poco::Net::HTTPMessage::HTTP_1_1);
    session.sendRequest(request);
    Poco::Net::HTTPResponse response;
    std::string body;
    Poco::StreamCopier::copyToString(session.receiveResponse(response), body);
    SCOPED_TRACE(path);
    EXPECT_NE(response.get("Content-Security-Policy", "").find("script-src 'self'"), std::string::npos);
    EXPECT_EQ(response.get("X-Content-Type-Options", ""), "nosniff");
    EXPECT_EQ(response.get("Referrer-Policy", ""), "no-referrer");
    EXPECT_EQ(response.get("X-Frame-Options", ""), "DENY");
  }
}

// --- two users --------------------------------------------------------------------

TEST_F(Trust, TwoUsersCannotReadChangeDeleteListOrChatInEachOthersSessions) {
  const Account alice = make_user("alice");
  const Account bob = make_user("bob");
  const std::int64_t s = new_session_as(alice.key);
  const std::string path = "/api/sessions/" + std::to_string(s);
  ASSERT_EQ(call_as(alice.key, "POST", "/api/chat", R"({"session_id": )" + std::to_string(s) + R"(, "user_message": "mine"})").status, 200);

  EXPECT_EQ(call_as(bob.key, "GET", path).status, 404);
  EXPECT_EQ(call_as(bob.key, "GET", path + "/messages").status, 404);
  EXPECT_EQ(call_as(bob.key, "PATCH", path, R"({"title": "stolen"})").status, 404);
  EXPECT_EQ(call_as(bob.key, "DELETE", path).status, 404);
  EXPECT_EQ(call_as(bob.key, "POST", "/api/chat", R"({"session_id": )" + std::to_string(s) + R"(, "user_message": "hi"})").status, 404);
  SseClient stream(host_->port(), R"({"session_id": )" + std::to_string(s) + R"(, "user_message": "hi"})",
                   "/api/chat/stream", bob.key);
  EXPECT_EQ(stream.status(), 404);
  // The chat page's tools: export, regenerate, edit and search.
  const Json hers = Json::parse(call_as(alice.key, "GET", path + "/messages").body)["messages"];
  const std::string her_user = path + "/messages/" + hers[0]["id"].dump();
  const std::string her_reply = path + "/messages/" + hers[1]["id"].dump();
  EXPECT_EQ(call_as(bob.key, "GET", path + "/export").status, 404);
  EXPECT_EQ(call_as(bob.key, "GET", path + "/export?format=json").status, 404);
  EXPECT_EQ(call_as(bob.key, "POST", her_reply + "/regenerate", "{}").status, 404);
  EXPECT_EQ(call_as(bob.key, "POST", her_user + "/edit", R"({"user_message": "stolen"})").status, 404);
  const std::int64_t his = new_session_as(bob.key);
  const std::string his_path = "/api/sessions/" + std::to_string(his);
  EXPECT_EQ(call_as(bob.key, "POST", his_path + "/messages/" + hers[1]["id"].dump() + "/regenerate", "{}").status, 404)
      << "her message through his session";
  EXPECT_EQ(call_as(bob.key, "POST", his_path + "/messages/" + hers[0]["id"].dump() + "/edit",
                    R"({"user_message": "stolen"})").status, 404);
  EXPECT_EQ(Json::parse(call_as(bob.key, "GET", "/api/sessions/search?q=mine").body)["total"], 0);
  EXPECT_EQ(Json::parse(call_as(alice.key, "GET", "/api/sessions/search?q=mine").body)["total"], 1);
  EXPECT_EQ(call_as(bob.key, "DELETE", his_path).status, 200);

  const Json listed = Json::parse(call_as(bob.key, "GET", "/api/sessions").body);
  EXPECT_EQ(listed["total"], 0) << "bob does not learn alice's session exists";
  EXPECT_EQ(call_as(kAdminKey, "GET", path).status, 404) << "not even an admin reads a user's conversation";

  const Json mine = Json::parse(call_as(alice.key, "GET", path + "/messages").body);
  ASSERT_EQ(mine["messages"].size(), 2u) << "nothing of alice's changed";
  EXPECT_EQ(Json::parse(call_as(alice.key, "GET", path).body)["title"], "New chat");
}

// --- users, keys, audit -----------------------------------------------------------

TEST_F(Trust, UsersAndKeysHaveALifecycleAndAdminActionsAreAudited) {
  const Json me = Json::parse(get("/api/me").body);
  EXPECT_EQ(me["name"], "admin");
  EXPECT_EQ(me["role"], "admin");

  const Account carol = make_user("carol");
  EXPECT_EQ(post("/api/users", R"({"name": "carol"})").status, 409) << "names are unique";
  EXPECT_EQ(post("/api/users", R"({"name": "bad name!"})").status, 400);
  EXPECT_EQ(post("/api/users", R"({"name": "eve", "role": "root"})").status, 400);
  EXPECT_EQ(Json::parse(http_as(carol.key, host_->port(), "GET", "/api/me").body)["role"], "user");

  // A user makes keys for themself only, and sees only their own keys — never a secret.
  const HttpReply own = http_as(carol.key, host_->port(), "POST", "/api/keys", R"({"name": "laptop"})");
  ASSERT_EQ(own.status, 201) << own.body;
  const Json own_key = Json::parse(own.body);
  EXPECT_EQ(own_key["user_id"], carol.id);
  EXPECT_EQ(own_key["key"].get<std::string>().substr(0, 12), own_key["prefix"]);
  EXPECT_EQ(http_as(carol.key, host_->port(), "POST", "/api/keys", R"({"user_id": 1})").status, 403);
  const HttpReply listed = http_as(carol.key, host_->port(), "GET", "/api/keys");
  const Json carol_keys = Json::parse(listed.body)["keys"];
  EXPECT_EQ(carol_keys.size(), 2u);
  for (const auto& k : carol_keys) EXPECT_EQ(k["user_id"], carol.id);
  EXPECT_EQ(listed.body.find(own_key["key"].get<std::string>()), std::string::npos) << "a secret is shown once";
  EXPECT_EQ(http_as(carol.key, host_->port(), "DELETE", "/api/keys/1").status, 404) << "the admin's key is not hers";
  EXPECT_EQ(Json::parse(get("/api/keys").body)["keys"].size(), 3u) << "the admin sees every key";

  // Revoking one key leaves the other working; deleting the user stops all at once.
  ASSERT_EQ(http_as(carol.key, host_->port(), "DELETE", "/api/keys/" + own_key["id"].dump()).status, 200);
  EXPECT_EQ(http_as(own_key["key"], host_->port(), "GET", "/api/me").status, 401);
  EXPECT_EQ(http_as(carol.key, host_->port(), "GET", "/api/me").status, 200);
  const std::int64_t her_session = new_session_as(carol.key);
  EXPECT_EQ(http(host_->port(), "DELETE", "/api/users/1").status, 409) << "an admin cannot delete themself";
  ASSERT_EQ(http(host_->port(), "DELETE", "/api/users/" + std::to_string(carol.id)).status, 200);
  EXPECT_EQ(http_as(carol.key, host_->port(), "GET", "/api/me").status, 401);
  EXPECT_EQ(http(host_->port(), "DELETE", "/api/users/" + std::to_string(carol.id)).status, 404);
  (void)her_session;

  const Json audit = Json::parse(get("/api/audit").body);
  std::vector<std::string> actions;
  for (const auto& e : audit["entries"]) actions.push_back(e["action"]);
  for (const char* want : {"user.create", "key.create", "key.revoke", "user.delete"})
    EXPECT_NE(std::find(actions.begin(), actions.end(), want), actions.end()) << want;
  EXPECT_EQ(audit["entries"][0]["action"], "user.delete") << "newest first";
  EXPECT_EQ(audit["entries"][0]["actor"], "admin");
  EXPECT_EQ(post("/api/keys", R"({"expires_at_ms": 1000})").status, 400) << "an expiry in the past";
}

TEST_F(Trust, ConfigsAreManagedByAdminsAndUsedByUsers) {
  const Account dan = make_user("dan");
  const std::string body = R"({"name": "dans", "provider": "mock"})";
  EXPECT_EQ(http_as(dan.key, host_->port(), "POST", "/api/configs", body).status, 403);
  EXPECT_EQ(http_as(dan.key, host_->port(), "PUT", "/api/configs/1", R"({"base_url": "http://127.0.0.1:9/v1"})").status, 403);
  EXPECT_EQ(http_as(dan.key, host_->port(), "DELETE", "/api/configs/1").status, 403);
  EXPECT_EQ(Json::parse(get("/api/configs/1").body)["base_url"], "") << "the shared config is unchanged";
  // ...but he chats with the shared default.
  const std::int64_t s = new_session_as(dan.key);
  EXPECT_EQ(call_as(dan.key, "POST", "/api/chat", R"({"session_id": )" + std::to_string(s) + R"(, "user_message": "hi"})").status, 200);
  const Json audit = Json::parse(get("/api/audit").body);
  for (const auto& e : audit["entries"]) EXPECT_NE(e["action"], "config.update") << "refused changes are not changes";
}

class TrustUserConfigs : public Trust {
 protected:
  void tune(HostOptions& o) const override { o.allow_user_configs = true; }
};

TEST_F(TrustUserConfigs, APrivateConfigIsSeenAndUsedByItsMakerOnly) {
  const Account erin = make_user("erin");
  const Account frank = make_user("frank");
  const HttpReply made = http_as(erin.key, host_->port(), "POST", "/api/configs",
                                 R"({"name": "erins", "provider": "mock", "model_name": "mock-echo"})");
  ASSERT_EQ(made.status, 201) << made.body;
  const Json c = Json::parse(made.body);
  EXPECT_FALSE(c["shared"].get<bool>());
  const std::string path = "/api/configs/" + c["id"].dump();
  EXPECT_EQ(http_as(frank.key, host_->port(), "GET", path).status, 404);
  EXPECT_EQ(http_as(frank.key, host_->port(), "PUT", path, R"({"model_name": "x"})").status, 404);
  EXPECT_EQ(http_as(frank.key, host_->port(), "POST", "/api/sessions", R"({"config_id": )" + c["id"].dump() + "}").status, 404);
  for (const auto& listed : Json::parse(http_as(frank.key, host_->port(), "GET", "/api/configs").body)["configs"])
    EXPECT_NE(listed["name"], "erins");
  EXPECT_EQ(http_as(erin.key, host_->port(), "PUT", path, R"({"model_name": "mock-tokens"})").status, 200);
  EXPECT_EQ(http_as(erin.key, host_->port(), "POST", "/api/configs",
                    R"({"name": "erins-env", "provider": "openai_compatible", "options": {"api_key_env": "HOME"}})").status, 400)
      << "a private config never reads the host's environment";
  // /v1 sees the same: frank cannot use erin's model by name.
  const HttpReply v1 = http_as(frank.key, host_->port(), "POST", "/v1/chat/completions",
                               R"({"model": "erins", "messages": [{"role": "user", "content": "hi"}]})");
  EXPECT_EQ(v1.status, 404) << v1.body;
  const HttpReply embed = http_as(frank.key, host_->port(), "POST", "/v1/embeddings", R"({"model": "erins", "input": "hi"})");
  EXPECT_EQ(embed.status, 404) << embed.body;
  EXPECT_EQ(http_as(erin.key, host_->port(), "POST", "/v1/embeddings", R"({"model": "erins", "input": "hi"})").status, 200)
      << "its maker embeds with it (the mock declares embeddings)";
}

// --- secrets --------------------------------------------------------------------------

class TrustSecrets : public Trust {
 protected:
  void tune(HostOptions& o) const override { o.allow_key_env = {"SB_TRUST_TEST_ALLOWED_KEY"}; }

  std::int64_t make_config(const Json& body) {
    const HttpReply r = post("/api/configs", body.dump());
    EXPECT_EQ(r.status, 201) << r.body;
    return Json::parse(r.body)["id"].get<std::int64_t>();
  }
  // One whole /v1 completion with the config named `model`.
  int complete(const std::string& model) {
    return http(host_->port(), "POST", "/v1/chat/completions",
                R"({"model": ")" + model + R"(", "messages": [{"role": "user", "content": "hi"}]})")
        .status;
  }
};

// Exfiltration 1: pointing a stored config's base_url elsewhere used to send
// the stored key there.
TEST_F(TrustSecrets, ChangingTheOriginOfABaseUrlDropsTheStoredKey) {
  const std::string secret = "sk-origin-bound-5a1f";
  FakeUpstream home, elsewhere;
  const std::int64_t id = make_config({{"name", "bound"}, {"provider", "openai_compatible"},
                                       {"model_name", "gpt-test"}, {"base_url", home.openai_url()},
                                       {"api_key", secret}});
  ASSERT_EQ(complete("bound"), 200);
  EXPECT_EQ(home.last_header("Authorization"), "Bearer " + secret) << "the key reaches the host it was entered for";

  const HttpReply moved = http(host_->port(), "PUT", "/api/configs/" + std::to_string(id),
                               Json{{"base_url", elsewhere.openai_url()}}.dump());
  ASSERT_EQ(moved.status, 200) << moved.body;
  EXPECT_FALSE(Json::parse(moved.body)["has_api_key"].get<bool>());
  complete("bound");
  EXPECT_EQ(elsewhere.requests(), 1);
  EXPECT_EQ(elsewhere.last_header("Authorization"), "") << "the stored key never reaches another origin";

  // Moving back does not bring it back; a key given with the move is kept.
  const HttpReply rekeyed = http(host_->port(), "PUT", "/api/configs/" + std::to_string(id),
                                 Json{{"base_url", home.openai_url()}, {"api_key", "sk-new-key-for-home"}}.dump());
  EXPECT_TRUE(Json::parse(rekeyed.body)["has_api_key"].get<bool>());
  complete("bound");
  EXPECT_EQ(home.last_header("Authorization"), "Bearer sk-new-key-for-home");
  // Same origin, another path: the key stays.
  http(host_->port(), "PUT", "/api/configs/" + std::to_string(id),
       Json{{"base_url", home.openai_url() + "/"}}.dump());
  complete("bound");
  EXPECT_EQ(home.last_header("Authorization"), "Bearer sk-new-key-for-home");
}

// Exfiltration 2: api_key_env used to read any variable of the host, and the
// plugin's default (OPENAI_API_KEY) applied to every config without a key.
TEST_F(TrustSecrets, OnlyVariablesTheOperatorAllowedAreRead) {
  ::setenv("OPENAI_API_KEY", "sk-host-env-never-sent", 1);
  ::setenv("SB_TRUST_TEST_SECRET", "sk-other-env-never-sent", 1);
  ::setenv("SB_TRUST_TEST_ALLOWED_KEY", "sk-allowed-env", 1);
  FakeUpstream upstream;
  const HttpReply refused = post("/api/configs", Json{{"name", "env-thief"}, {"provider", "openai_compatible"},
                                                      {"base_url", upstream.openai_url()},
                                                      {"options", {{"api_key_env", "SB_TRUST_TEST_SECRET"}}}}.dump());
  EXPECT_EQ(refused.status, 400) << refused.body;
  EXPECT_NE(refused.body.find("--allow-key-env"), std::string::npos) << refused.body;

  make_config({{"name", "no-key"}, {"provider", "openai_compatible"}, {"base_url", upstream.openai_url()}});
  ASSERT_EQ(complete("no-key"), 200);
  EXPECT_EQ(upstream.last_header("Authorization"), "") << "the plugin's default OPENAI_API_KEY is not the operator's choice";

  make_config({{"name", "allowed"}, {"provider", "openai_compatible"}, {"base_url", upstream.openai_url()},
               {"options", {{"api_key_env", "SB_TRUST_TEST_ALLOWED_KEY"}}}});
  ASSERT_EQ(complete("allowed"), 200);
  EXPECT_EQ(upstream.last_header("Authorization"), "Bearer sk-allowed-env");
  ::unsetenv("OPENAI_API_KEY");
  ::unsetenv("SB_TRUST_TEST_SECRET");
  ::unsetenv("SB_TRUST_TEST_ALLOWED_KEY");
}

// Exfiltration 3: keys in options.api_key or options.headers came back in
// plain text from GET /api/configs. A planted key is then found nowhere:
// not in responses, not in the raw database file.
TEST_F(TrustSecrets, SecretOptionsAreWriteOnlyAndSealedAtRest) {
  const std::string planted = "sk-planted-7c3e9d";
  FakeUpstream upstream;
  const std::int64_t id = make_config(
      {{"name", "headers"}, {"provider", "openai_compatible"}, {"base_url", upstream.openai_url()},
       {"options", {{"api_key", planted + "-opt"}, {"headers", {{"Authorization", "Bearer " + planted + "-hdr"},
                                                                 {"HTTP-Referer", "https://example.test"}}}}}});
  std::string responses;
  for (const std::string& path : std::vector<std::string>{"/api/configs", "/api/configs/" + std::to_string(id),
                                                          "/api/providers", "/v1/models"})
    responses += get(path).body;
  EXPECT_EQ(responses.find(planted), std::string::npos);
  const Json c = Json::parse(get("/api/configs/" + std::to_string(id)).body);
  EXPECT_TRUE(c["has_api_key"].get<bool>());
  EXPECT_EQ(c["options"]["headers"]["HTTP-Referer"], "https://example.test") << "what is not secret stays readable";
  EXPECT_FALSE(c["options"].contains("api_key"));
  EXPECT_FALSE(c["options"]["headers"].contains("Authorization"));
  const auto fields = c["secret_fields"];
  EXPECT_NE(std::find(fields.begin(), fields.end(), "options.api_key"), fields.end());
  EXPECT_NE(std::find(fields.begin(), fields.end(), "options.headers.Authorization"), fields.end());

  // Changing a readable option keeps the secrets the client never saw.
  ASSERT_EQ(http(host_->port(), "PUT", "/api/configs/" + std::to_string(id),
                 Json{{"options", {{"headers", {{"HTTP-Referer", "https://other.test"}}}}}}.dump()).status, 200);
  ASSERT_EQ(complete("headers"), 200);
  EXPECT_EQ(upstream.last_header("Authorization"), "Bearer " + planted + "-hdr") << "the secret header is still sent";
  EXPECT_EQ(upstream.last_header("HTTP-Referer"), "https://other.test");

  host_->stop();
  host_.reset();
  EXPECT_EQ(store_->dump().find("planted"), std::string::npos) << "the database at rest";
}

// An upstream that quotes back what it was sent (here: the Authorization
// header, a secret header the plugin does not scrub itself) reaches no
// response, stored message or error: the host scrubs every secret it sent.
TEST_F(TrustSecrets, AnUpstreamQuotingASecretHeaderBackIsRedacted) {
  const std::string planted = "sk-header-echo-4d8a";
  FakeUpstream upstream;
  const std::int64_t id =
      make_config({{"name", "echo"}, {"provider", "openai_compatible"}, {"model_name", "echo-key"},
                   {"base_url", upstream.openai_url()},
                   {"options", {{"headers", {{"Authorization", "Bearer " + planted}}}}}});
  const HttpReply v1 = http(host_->port(), "POST", "/v1/chat/completions",
                            R"({"model": "echo", "messages": [{"role": "user", "content": "hi"}]})");
  EXPECT_EQ(v1.status, 502) << v1.body;
  EXPECT_EQ(upstream.last_header("Authorization"), "Bearer " + planted) << "the header did go upstream";
  const HttpReply s = post("/api/sessions", Json{{"config_id", id}}.dump());
  const std::string sid = Json::parse(s.body)["id"].dump();
  const HttpReply chat = post("/api/chat", R"({"session_id": )" + sid + R"(, "user_message": "hi"})");
  EXPECT_EQ(chat.status, 502) << chat.body;
  EXPECT_NE(chat.body.find("[redacted]"), std::string::npos) << chat.body;
  const std::string stored = get("/api/sessions/" + sid + "/messages").body;
  for (const std::string& text : {v1.body, chat.body, stored}) EXPECT_EQ(text.find(planted), std::string::npos) << text;
}

TEST_F(TrustSecrets, PlainTextKeysOfAnOlderDatabaseAreSealedAtStart) {
  const std::string planted = "sk-legacy-plaintext-91b2";
  FakeUpstream upstream;
  const std::int64_t id = make_config({{"name", "legacy"}, {"provider", "openai_compatible"},
                                       {"base_url", upstream.openai_url()}});
  host_->stop();
  host_.reset();
  // As version 1 stored it: the key in plain text, bound to nothing.
  {
    auto db = storage::Database::open(store_->where());
    db->write([&](storage::Conn& conn) {
      auto c = *storage::configs::find(conn, id);
      c.api_key = planted;
      c.secret_origin = "";
      storage::configs::update(conn, c);
    });
  }
  ASSERT_NE(store_->dump().find(planted), std::string::npos) << "the plain key is stored before the start";
  SetUp();
  ASSERT_EQ(complete("legacy"), 200);
  EXPECT_EQ(upstream.last_header("Authorization"), "Bearer " + planted) << "the sealed key still works";
  host_->stop();
  host_.reset();
  EXPECT_EQ(store_->dump().find(planted), std::string::npos) << "the database at rest";
}

TEST_F(TrustSecrets, ADatabaseWithoutItsMasterKeyRevealsNoProviderKey) {
  FakeUpstream upstream;
  make_config({{"name", "sealed"}, {"provider", "openai_compatible"}, {"base_url", upstream.openai_url()},
               {"api_key", "sk-sealed-under-the-first-master-key"}});
  host_->stop();
  host_.reset();
  std::filesystem::remove(dir_.file("switchboard-secret.key"));  // the copy travels without it
  if (store_->postgresql()) {
    // A database several hosts share: a host with another master key does not start.
    try {
      SetUp();
      FAIL() << "a host with another master key started";
    } catch (const std::runtime_error& e) {
      EXPECT_NE(std::string(e.what()).find("sealed under another master key"), std::string::npos) << e.what();
    }
    return;
  }
  SetUp();
  ASSERT_EQ(complete("sealed"), 200);
  EXPECT_EQ(upstream.last_header("Authorization"), "") << "another master key opens nothing";
}

// --- first start and files -----------------------------------------------------------

TEST(TrustFirstStart, AGeneratedAdminKeyIsWrittenOnceReadableByItsOwnerOnly) {
  TempDir dir;
  HostOptions o;
  o.port = 0;
  o.db_path = dir.file("switchboard.db");
  o.manifest_path = dir.write("plugins.json", kMockOnlyManifest);
  o.plugin_dir = SB_PLUGIN_DIR;
  std::string key;
  {
    Host host(o);
    host.start();
    EXPECT_EQ(host.admin_key_file(), dir.file("switchboard-admin.key"));
    key = file_bytes(host.admin_key_file());
    while (!key.empty() && key.back() == '\n') key.pop_back();
    ASSERT_GE(key.size(), 40u);
    EXPECT_EQ(Json::parse(http_as(key, host.port(), "GET", "/api/me").body)["role"], "admin");
    // While the host runs, SQLite's -wal and -shm files exist too.
    for (const char* name : {"switchboard.db", "switchboard.db-wal", "switchboard.db-shm", "switchboard-admin.key",
                             "switchboard-secret.key"})
      EXPECT_EQ(mode_of(dir.file(name)), 0600) << name;
    host.stop();
  }
  // The second start creates nobody and keeps the key.
  Host again(o);
  again.start();
  EXPECT_EQ(http_as(key, again.port(), "GET", "/api/me").status, 200);
  const Json users = Json::parse(http_as(key, again.port(), "GET", "/api/users").body)["users"];
  EXPECT_EQ(users.size(), 1u);
  again.stop();
}

TEST(TrustFirstStart, AWideDatabaseFileIsNarrowedAndATooShortProvisionedKeyRefused) {
  TempDir dir;
  const std::string db = dir.file("old.db");
  std::ofstream(db).close();
  ::chmod(db.c_str(), 0644);
  HostOptions o;
  o.port = 0;
  o.db_path = db;
  o.manifest_path = dir.write("plugins.json", kMockOnlyManifest);
  o.plugin_dir = SB_PLUGIN_DIR;
  o.admin_key_file = dir.write("short.key", "too-short");
  EXPECT_THROW({ Host host(o); }, std::runtime_error);
  EXPECT_EQ(mode_of(db), 0600);
}

}  // namespace
}  // namespace switchboard::testing
