// File: host/app/host.cpp
//
// Wires the host together: manifest → plugin registry, router → Poco
// HTTPServer on a thread pool sized for concurrent streams.
#include "host/app/host.h"

#include "host/http/api_routes.h"
#include "host/http/router.h"
#include "host/log.h"
#include "host/plugins/plugin_registry.h"

#include <Poco/Net/HTTPServer.h>
#include <Poco/Net/HTTPServerParams.h>
#include <Poco/Net/ServerSocket.h>
#include <Poco/Net/SocketAddress.h>
#include <Poco/ThreadPool.h>

#include <filesystem>
#include <stdexcept>

namespace switchboard {

struct Host::State {
  HostOptions options;
  std::shared_ptr<PluginRegistry> registry;
  http::Router router;
  std::unique_ptr<http::ApiContext> api;
  std::unique_ptr<Poco::ThreadPool> pool;
  std::unique_ptr<Poco::Net::HTTPServer> server;
  std::uint16_t port = 0;
};

namespace {

std::filesystem::path resolve_plugin_dir(const HostOptions& options, const Manifest& manifest) {
  if (!options.plugin_dir.empty()) return options.plugin_dir;
  if (!manifest.plugin_dir.empty()) {
    const std::filesystem::path dir(manifest.plugin_dir);
    if (dir.is_absolute()) return dir;
    return std::filesystem::path(options.manifest_path).parent_path() / dir;
  }
  std::error_code ec;
  const auto exe = std::filesystem::read_symlink("/proc/self/exe", ec);
  return ec ? std::filesystem::path("plugins") : exe.parent_path() / "plugins";
}

}  // namespace

Host::Host(HostOptions options) : state_(std::make_unique<State>()) {
  state_->options = std::move(options);
  const HostOptions& o = state_->options;
  if (o.max_threads < 1) throw std::runtime_error("max_threads must be at least 1");
  if (o.max_queued < 1) throw std::runtime_error("max_queued must be at least 1");

  const Manifest manifest = Manifest::load(o.manifest_path);
  const auto plugin_dir = resolve_plugin_dir(o, manifest);
  state_->registry = PluginRegistry::load(manifest, plugin_dir);
  for (const auto& r : state_->registry->reports()) {
    if (r.loaded)
      log::plugins().information("loaded plugin " + r.name + " " + r.provider->description().version +
                                 " from " + r.file);
    else
      log::plugins().error("plugin " + r.name + " not loaded: " + r.error);
  }

  state_->api = std::make_unique<http::ApiContext>(http::ApiContext{*state_->registry, o.max_body_bytes});
  http::register_api_routes(state_->router, *state_->api);
}

Host::~Host() { stop(); }

void Host::start() {
  const HostOptions& o = state_->options;
  Poco::Net::ServerSocket socket;
  socket.bind(Poco::Net::SocketAddress(o.bind, o.port), true);
  // The backlog holds connections the pool has not picked up yet; beyond
  // max_queued Poco closes new connections silently, so keep both generous.
  socket.listen(std::max(64, o.max_queued));
  state_->port = socket.address().port();

  auto* params = new Poco::Net::HTTPServerParams();
  params->setMaxThreads(o.max_threads);
  params->setMaxQueued(o.max_queued);
  params->setKeepAlive(true);
  params->setKeepAliveTimeout(Poco::Timespan(o.keep_alive_timeout_s, 0));
  params->setTimeout(Poco::Timespan(30, 0));

  state_->pool = std::make_unique<Poco::ThreadPool>(2, o.max_threads, 60, 1024 * 1024);
  state_->server = std::make_unique<Poco::Net::HTTPServer>(state_->router.make_factory(),
                                                           *state_->pool, socket, params);
  state_->server->start();
  log::app().information("listening on " + o.bind + ":" + std::to_string(state_->port));
}

void Host::stop() {
  if (!state_ || !state_->server) return;
  state_->server->stopAll(true);
  state_->server.reset();
  state_->pool->joinAll();
  state_->pool.reset();
}

std::uint16_t Host::port() const { return state_->port; }
const HostOptions& Host::options() const { return state_->options; }
const PluginRegistry& Host::registry() const { return *state_->registry; }

}  // namespace switchboard
