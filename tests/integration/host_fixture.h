// File: tests/integration/host_fixture.h
//
// The real host on 127.0.0.1:0 with a temporary directory for its database and
// manifest, plus a tiny HTTP client: what every integration test starts from.
#pragma once

#include "host/app/host.h"

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
};

inline HttpReply http(std::uint16_t port, const std::string& method, const std::string& path,
                      const std::string& body = "", const std::string& content_type = "application/json") {
  Poco::Net::HTTPClientSession session("127.0.0.1", port);
  session.setTimeout(Poco::Timespan(30, 0));
  Poco::Net::HTTPRequest request(method, path, Poco::Net::HTTPMessage::HTTP_1_1);
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
  Poco::StreamCopier::copyToString(in, reply.body);
  return reply;
}

// Reads Server-Sent Events from POST /api/chat/stream as they arrive.
class SseClient {
 public:
  struct Event {
    std::string name;
    nlohmann::json data;
    std::chrono::steady_clock::time_point at;
  };

  SseClient(std::uint16_t port, const std::string& body, const std::string& path = "/api/chat/stream")
      : session_("127.0.0.1", port) {
    session_.setTimeout(Poco::Timespan(30, 0));
    Poco::Net::HTTPRequest request("POST", path, Poco::Net::HTTPMessage::HTTP_1_1);
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
    o.db_path = dir_.file("switchboard.db");
    o.manifest_path = dir_.write("plugins.json", manifest());
    o.plugin_dir = SB_PLUGIN_DIR;
    tune(o);
    host_ = std::make_unique<Host>(o);
    host_->start();
  }
  void TearDown() override {
    if (host_) host_->stop();
    host_.reset();
  }

  HttpReply get(const std::string& path) { return http(host_->port(), "GET", path); }
  HttpReply post(const std::string& path, const std::string& body) { return http(host_->port(), "POST", path, body); }

  TempDir dir_;
  std::unique_ptr<Host> host_;
};

}  // namespace switchboard::testing
