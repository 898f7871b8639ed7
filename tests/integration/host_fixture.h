// File: tests/integration/host_fixture.h
//
// The real host on 127.0.0.1:0 with a temporary directory for its database and
// manifest, plus a tiny HTTP client: what every integration test starts from.
// The host is provisioned with a known admin key (its --admin-key-file holds
// it at first start), which every helper sends unless told to send another.
#pragma once

#include "host/app/host.h"
#include "test_database.h"

#include <Poco/Net/HTTPClientSession.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>
#include <Poco/StreamCopier.h>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <chrono>
#include <optional>

#include <filesystem>
#include <fstream>
#include <memory>
#include <random>
#include <sstream>
#include <string>

namespace switchboard::testing {

struct HttpReply {
  int status = 0;
  std::string body;
  std::string content_type;
  std::string www_authenticate;
  std::string content_disposition;
};

// The admin key every fixture host is provisioned with.
inline const std::string kAdminKey = "sbk_test-admin-0123456789abcdefghijklmnopqrstuv";

// The key helpers send when not given one: the fixture's admin key.
inline std::string& default_key() {
  static std::string key;
  return key;
}

// Adds "Authorization: Bearer <key>" (none for an empty key).
inline void authorize(Poco::Net::HTTPRequest& request, const std::string& key) {
  if (!key.empty()) request.set("Authorization", "Bearer " + key);
}

inline HttpReply http(std::uint16_t port, const std::string& method, const std::string& path,
                      const std::string& body = "", const std::string& content_type = "application/json",
                      const std::optional<std::string>& key = std::nullopt) {
  Poco::Net::HTTPClientSession session("127.0.0.1", port);
  session.setTimeout(Poco::Timespan(30, 0));
  Poco::Net::HTTPRequest request(method, path, Poco::Net::HTTPMessage::HTTP_1_1);
  authorize(request, key.value_or(default_key()));
  if (!body.empty() || method == "POST" || method == "PUT" || method == "PATCH") {
    request.setContentType(content_type);
    request.setContentLength(static_cast<std::streamsize>(body.size()));
  }
  session.sendRequest(request) << body;
  Poco::Net::HTTPResponse response;
  std::istream& in = session.receiveResponse(response);
  HttpReply reply;
  reply.status = static_cast<int>(response.getStatus());
  reply.content_type = response.getContentType();
  reply.www_authenticate = response.get("WWW-Authenticate", "");
  reply.content_disposition = response.get("Content-Disposition", "");
  Poco::StreamCopier::copyToString(in, reply.body);
  return reply;
}

// The same request as the holder of `key` ("" sends no key at all).
inline HttpReply http_as(const std::string& key, std::uint16_t port, const std::string& method,
                         const std::string& path, const std::string& body = "") {
  return http(port, method, path, body, "application/json", key);
}

// Reads Server-Sent Events from POST /api/chat/stream as they arrive.
class SseClient {
 public:
  struct Event {
    std::string name;
    nlohmann::json data;
    std::chrono::steady_clock::time_point at;
  };

  SseClient(std::uint16_t port, const std::string& body, const std::string& path = "/api/chat/stream",
            const std::optional<std::string>& key = std::nullopt)
      : session_("127.0.0.1", port) {
    session_.setTimeout(Poco::Timespan(30, 0));
    Poco::Net::HTTPRequest request("POST", path, Poco::Net::HTTPMessage::HTTP_1_1);
    authorize(request, key.value_or(default_key()));
    request.setContentType("application/json");
    request.setContentLength(static_cast<std::streamsize>(body.size()));
    session_.sendRequest(request) << body;
    in_ = &session_.receiveResponse(response_);
  }

  int status() const { return static_cast<int>(response_.getStatus()); }
  std::string content_type() const { return response_.getContentType(); }
  std::string rest() {
    std::string s;
    Poco::StreamCopier::copyToString(*in_, s);
    return s;
  }

  // The next event, or nullopt at the end of the stream. Comments are counted, not returned.
  std::optional<Event> next() {
    Event e;
    std::string line, data;
    bool any = false;
    while (std::getline(*in_, line)) {
      if (!line.empty() && line.back() == '\r') line.pop_back();
      if (line.empty()) {
        if (!any) continue;
        e.data = nlohmann::json::parse(data);
        e.at = std::chrono::steady_clock::now();
        return e;
      }
      if (line[0] == ':') {
        ++comments;
        continue;
      }
      any = true;
      if (line.rfind("event: ", 0) == 0) e.name = line.substr(7);
      if (line.rfind("data: ", 0) == 0) data += line.substr(6);
    }
    return std::nullopt;
  }

  // Reads to the end; returns every event.
  std::vector<Event> all() {
    std::vector<Event> events;
    while (auto e = next()) events.push_back(std::move(*e));
    return events;
  }

  // Drops the connection as a browser tab closing would.
  void disconnect() { session_.abort(); }

  int comments = 0;

 private:
  Poco::Net::HTTPClientSession session_;
  Poco::Net::HTTPResponse response_;
  std::istream* in_ = nullptr;
};

// A fresh temporary directory, removed with the object.
class TempDir {
 public:
  TempDir() {
    std::random_device rd;
    path_ = std::filesystem::temp_directory_path() /
            ("switchboard_test_" + std::to_string(rd()) + std::to_string(rd()));
    std::filesystem::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  const std::filesystem::path& path() const { return path_; }
  std::string file(const std::string& name) const { return (path_ / name).string(); }
  std::string write(const std::string& name, const std::string& text) const {
    std::ofstream(path_ / name, std::ios::binary) << text;
    return file(name);
  }

 private:
  std::filesystem::path path_;
};

inline const char* kMockOnlyManifest = R"({
  "plugins": [{"name": "mock", "library": "libswitchboard_mock.so"}],
  "default_config": {"name": "mock-echo", "provider": "mock", "model_name": "mock-echo"}
})";

// Starts a host on a free loopback port; `tune` may adjust options first.
class HostFixture : public ::testing::Test {
 protected:
  virtual std::string manifest() const { return kMockOnlyManifest; }
  virtual void tune(HostOptions&) const {}

  void SetUp() override {
    HostOptions o;
    o.port = 0;
    // A second SetUp (a restart within a test) keeps the database.
    if (!store_) store_ = std::make_unique<TestDatabase>(dir_.file("switchboard.db"));
    o.db_path = store_->where();
    o.secret_key_file = dir_.file("switchboard-secret.key");
    o.manifest_path = dir_.write("plugins.json", manifest());
    o.plugin_dir = SB_PLUGIN_DIR;
    o.admin_key_file = dir_.write("admin.key", kAdminKey + "\n");
    default_key() = kAdminKey;
    tune(o);
    host_ = std::make_unique<Host>(o);
    host_->start();
  }
  void TearDown() override {
    if (host_) host_->stop();
    host_.reset();
    store_.reset();
  }

  HttpReply get(const std::string& path) { return http(host_->port(), "GET", path); }
  HttpReply post(const std::string& path, const std::string& body) { return http(host_->port(), "POST", path, body); }

  // A new user with `role`, and a key of theirs (made by the admin).
  struct Account {
    std::int64_t id = 0;
    std::string key;
  };
  Account make_user(const std::string& name, const std::string& role = "user") {
    const HttpReply u = post("/api/users", R"({"name": ")" + name + R"(", "role": ")" + role + R"("})");
    EXPECT_EQ(u.status, 201) << u.body;
    Account a;
    a.id = nlohmann::json::parse(u.body)["id"].get<std::int64_t>();
    const HttpReply k = post("/api/keys", R"({"user_id": )" + std::to_string(a.id) + "}");
    EXPECT_EQ(k.status, 201) << k.body;
    a.key = nlohmann::json::parse(k.body)["key"].get<std::string>();
    return a;
  }

  TempDir dir_;
  std::unique_ptr<TestDatabase> store_;  // the host's database: a file in dir_, or on the PostgreSQL test server
  std::unique_ptr<Host> host_;
};

}  // namespace switchboard::testing
