// File: host/app/host.cpp
//
// Wires the host together: manifest → plugin registry, router → the HTTP
// front end (epoll thread for waiting connections, workers for requests).
#include "host/app/host.h"

#include "host/http/api_routes.h"
#include "host/http/front_end.h"
#include "host/http/router.h"
#include "host/http/web_assets.h"
#include "host/log.h"
#include "host/plugins/plugin_registry.h"
#include "host/plugins/plugin_watcher.h"
#include "host/services/auth_service.h"
#include "host/services/chat_service.h"
#include "host/services/crypto.h"
#include "host/services/completion_service.h"
#include "host/services/config_service.h"
#include "host/services/host_presence.h"
#include "host/services/session_service.h"
#include "host/services/upstream_url.h"
#include "storage/database.h"
#include "storage/move.h"

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <random>
#include <filesystem>
#include <optional>
#include <stdexcept>
#include <thread>

namespace switchboard {

struct Host::State {
  HostOptions options;
  std::shared_ptr<PluginRegistry> registry;
  std::unique_ptr<PluginWatcher> watcher;
  std::unique_ptr<storage::Database> db;
  std::unique_ptr<HostPresence> presence;
  std::optional<crypto::SecretBox> secrets;
  std::unique_ptr<AuthService> auth;
  FirstStart first_start;
  std::unique_ptr<ConfigService> configs;
  std::unique_ptr<SessionService> sessions;
  std::unique_ptr<ChatService> chat;
  std::unique_ptr<CompletionService> completions;
  http::Router router;
  std::unique_ptr<http::ApiContext> api;
  std::unique_ptr<http::FrontEnd> front_end;
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
  if (ec) return "plugins";
  const auto beside = exe.parent_path() / "plugins";
  // An installed host (cmake --install): bin/switchboard, lib/switchboard/plugins.
  const auto installed = (exe.parent_path() / SB_INSTALLED_PLUGIN_DIR).lexically_normal();
  return !std::filesystem::exists(beside, ec) && std::filesystem::exists(installed, ec) ? installed : beside;
}

// Beside an SQLite file; for a PostgreSQL database, in the start directory.
std::string beside_database(const HostOptions& o, const char* name) {
  if (storage::Database::is_postgresql(o.db_path)) return name;
  return (std::filesystem::path(o.db_path).parent_path() / name).string();
}

// <hostname>:<port>, or, for a port picked at start, <hostname>:<random>.
std::string default_host_id(const HostOptions& o) {
  char name[256] = {};
  if (::gethostname(name, sizeof name - 1) != 0) std::snprintf(name, sizeof name, "host");
  if (o.port != 0) return std::string(name) + ":" + std::to_string(o.port);
  std::random_device rd;
  char suffix[16];
  std::snprintf(suffix, sizeof suffix, "%08x", rd());
  return std::string(name) + ":" + suffix;
}

}  // namespace

void migrate_database(const std::string& from, const std::string& to,
                      const std::function<void(const std::string&)>& progress) {
  if (storage::Database::is_postgresql(from)) throw std::runtime_error("--migrate-to moves an SQLite file (--db=PATH)");
  if (std::error_code ec; !std::filesystem::is_regular_file(from, ec))
    throw std::runtime_error("no SQLite database at " + from + " (give it with --db=PATH)");
  if (!storage::Database::is_postgresql(to)) throw std::runtime_error("--migrate-to takes a postgresql:// URI");
  try {
    const auto source = storage::Database::open(from);
    const auto target = storage::Database::open(to);
    progress("moving " + source->describe() + " into " + target->describe());
    std::int64_t rows = 0;
    for (const auto& table : storage::move_database(*source, *target, progress)) rows += table.rows;
    progress("done: " + std::to_string(rows) +
             " rows moved, and counted again in the target. Provider keys moved sealed: start the hosts of the new "
             "database with this database's master key (--secret-key-file or SWITCHBOARD_SECRET_KEY).");
  } catch (const storage::StorageError& e) {
    throw std::runtime_error(e.what());
  }
}

Host::Host(HostOptions options) : state_(std::make_unique<State>()) {
  state_->options = std::move(options);
  const HostOptions& o = state_->options;
  if (o.max_threads < 1) throw std::runtime_error("max_threads must be at least 1");
  if (o.max_queued < 1) throw std::runtime_error("max_queued must be at least 1");
  if (o.max_tokens_cap < 1) throw std::runtime_error("max_tokens_cap must be at least 1");
  if (o.max_reply_bytes < 1) throw std::runtime_error("max_reply_bytes must be at least 1");
  // Relative to the start directory, once, so the host and the plugins agree on it.
  const std::string ca_dir =
      o.ca_dir.empty() ? "" : std::filesystem::absolute(o.ca_dir).lexically_normal().string();
  std::string host_settings;
  try {
    host_settings = plugin_host_settings(o.upstream_deny, o.upstream_allow, ca_dir);
  } catch (const std::invalid_argument& e) {
    throw std::runtime_error(e.what());
  }
  if (o.max_connections < 1) throw std::runtime_error("max_connections must be at least 1");
  if (o.head_timeout_ms < 1 || o.body_timeout_ms < 1 || o.keep_alive_timeout_ms < 1 || o.send_timeout_ms < 1)
    throw std::runtime_error("timeouts must be at least 1 ms");
  if (o.max_head_bytes < 256) throw std::runtime_error("max_head_bytes must be at least 256");

  if (o.plugin_rescan_ms < 0) throw std::runtime_error("plugin_rescan_ms must not be negative");
  // plugins.json is optional: without it every library of the plugin directory loads.
  const Manifest manifest = Manifest::load_optional(o.manifest_path);
  if (std::error_code ec; !std::filesystem::exists(o.manifest_path, ec))
    log::plugins().information("no plugin manifest at " + o.manifest_path +
                               ": every library of the plugin directory loads, and no first-start config is made");
  const auto plugin_dir = resolve_plugin_dir(o, manifest);
  PluginSource source;
  source.plugin_dir = plugin_dir;
  source.manifest_path = o.manifest_path;
  source.host_settings_json = host_settings;
  state_->registry = std::make_shared<PluginRegistry>(std::move(source), manifest);
  // Each library loaded or refused is logged by the registry.
  state_->registry->reload(ReloadTrigger::Start);
  log::plugins().information("plugin directory " + plugin_dir.string() + ": " +
                             std::to_string(state_->registry->loaded_names().size()) + " plugins loaded");
  PluginWatcherOptions watch;
  watch.watch = o.watch_plugins;
  watch.rescan_ms = o.plugin_rescan_ms;
  watch.on_sighup = o.reload_on_sighup;
  state_->watcher = std::make_unique<PluginWatcher>(*state_->registry, watch);

  if (state_->options.admin_key_file.empty())
    state_->options.admin_key_file = beside_database(o, "switchboard-admin.key");
  if (state_->options.secret_key_file.empty())
    state_->options.secret_key_file = beside_database(o, "switchboard-secret.key");
  std::string key_source;
  state_->secrets = crypto::SecretBox::load(o.secret_key_file, key_source);
  log::app().information("provider secrets are sealed under the master key from " + key_source);

  if (o.turn_wait_ms < 1) throw std::runtime_error("turn_wait_ms must be at least 1");
  if (o.host_lease_ms < 500) throw std::runtime_error("host_lease_ms must be at least 500");
  storage::DatabaseOptions db_options;
  db_options.pool_size = o.db_pool;
  db_options.host_id = o.host_id.empty() ? default_host_id(o) : o.host_id;
  try {
    state_->db = storage::Database::open(o.db_path, db_options);
  } catch (const storage::StorageError& e) {
    throw std::runtime_error(e.what());
  }
  log::app().information("database: " + state_->db->describe() +
                         (state_->db->shared() ? " (shared; this host is " + db_options.host_id + ")" : ""));
  PresenceOptions presence;
  presence.lease = std::chrono::milliseconds(o.host_lease_ms);
  state_->presence = std::make_unique<HostPresence>(*state_->db, presence);
  state_->auth = std::make_unique<AuthService>(*state_->db);
  ConfigPolicy policy;
  policy.allow_user_configs = o.allow_user_configs;
  policy.allowed_key_env.insert(o.allow_key_env.begin(), o.allow_key_env.end());
  state_->configs = std::make_unique<ConfigService>(*state_->db, *state_->registry, *state_->secrets, policy);
  state_->sessions = std::make_unique<SessionService>(*state_->db, *state_->configs);
  state_->chat = std::make_unique<ChatService>(*state_->db, *state_->registry, *state_->configs);
  state_->completions = std::make_unique<CompletionService>(*state_->registry, *state_->configs);
  state_->configs->set_ca_dir(ca_dir);
  state_->chat->set_limits({o.max_tokens_cap, o.max_reply_bytes});
  state_->chat->set_turn_wait(std::chrono::milliseconds(o.turn_wait_ms), presence.lease);
  state_->completions->set_limits({o.max_tokens_cap, o.max_reply_bytes});

  // Several hosts must share one master key: on a shared database another key
  // stops the host here, before it joins the others. A lone SQLite file copied without its key starts,
  // and its provider keys stay sealed (nothing opens them).
  if (const auto key_check = state_->configs->check_master_key(); !key_check) {
    if (state_->db->shared()) throw std::runtime_error(key_check.error().message);
    log::app().warning(key_check.error().message + "; its stored provider keys cannot be used");
  }
  const auto interrupted = state_->presence->arrive();
  if (!interrupted) throw std::runtime_error(interrupted.error().message);
  if (interrupted.value() > 0)
    log::app().warning("marked " + std::to_string(interrupted.value()) +
                       " replies left mid-stream by the last run" +
                       (state_->db->shared() ? " of this host, or by dead hosts," : "") + " as interrupted");
  // Configs, users and keys changed through another host: drop what is cached here.
  state_->presence->on_store_change([configs = state_->configs.get(), auth = state_->auth.get()] {
    configs->forget_cached();
    auth->forget_cached();
  });
  const auto seeded = state_->configs->ensure_first_config(manifest.default_config_json);
  if (!seeded) throw std::runtime_error("cannot create the first-start config: " + seeded.error().message);
  if (seeded.value()) log::app().information("first start: created the default LLM config from plugins.json");
  const auto sealed = state_->configs->seal_plaintext_secrets();
  if (!sealed) throw std::runtime_error("cannot seal stored secrets: " + sealed.error().message);
  if (sealed.value() > 0)
    log::app().information("sealed the plain-text secrets of " + std::to_string(sealed.value()) + " LLM configs");
  auto admin = state_->auth->ensure_admin(o.admin_key_file);
  if (!admin) throw std::runtime_error("cannot create the first admin: " + admin.error().message);
  state_->first_start = std::move(admin.value());

  state_->api = std::make_unique<http::ApiContext>(http::ApiContext{
      *state_->registry, *state_->configs, *state_->sessions, *state_->chat, *state_->auth, o.max_body_bytes,
      o.sse_keepalive_ms, state_->watcher.get()});
  state_->router.set_authenticator([auth = state_->auth.get()](std::string_view bearer) {
    return auth->authenticate(bearer);
  });
  http::register_api_routes(state_->router, *state_->api);
  http::register_chat_routes(state_->router, *state_->api);
  http::register_trust_routes(state_->router, *state_->api);
  http::register_openai_routes(state_->router, *state_->api, *state_->completions);
  http::register_metrics_routes(state_->router, state_->api->configs);
  http::register_web_routes(state_->router);
}

Host::~Host() { stop(); }

void Host::start() {
  const HostOptions& o = state_->options;
  http::FrontEndOptions f;
  f.bind = o.bind;
  f.port = o.port;
  f.max_threads = o.max_threads;
  f.max_queued = o.max_queued;
  f.max_connections = o.max_connections;
  f.head_timeout_ms = o.head_timeout_ms;
  f.body_timeout_ms = o.body_timeout_ms;
  f.keep_alive_timeout_ms = o.keep_alive_timeout_ms;
  f.send_timeout_ms = o.send_timeout_ms;
  f.worker_idle_ms = o.worker_idle_ms;
  f.worker_stack_bytes = static_cast<std::size_t>(o.worker_stack_kb) * 1024;
  f.max_head_bytes = o.max_head_bytes;
  f.max_body_bytes = o.max_body_bytes;
  f.max_buffered_bytes = o.max_buffered_bytes;
  state_->front_end = std::make_unique<http::FrontEnd>(f, state_->router.make_factory());
  state_->front_end->start();
  state_->watcher->start();
  state_->presence->start();
  state_->port = state_->front_end->port();
  log::app().information("listening on " + o.bind + ":" + std::to_string(state_->port));
  // How a person gets in. The key rides in the URL's fragment, which a
  // browser never sends to a server, and only on the start that made it.
  const std::string page = "http://" + (o.bind == "0.0.0.0" ? std::string("127.0.0.1") : o.bind) + ":" +
                           std::to_string(state_->port) + "/";
  FirstStart& first = state_->first_start;
  if (first.created_admin && !first.key_from_file) {
    log::app().information("first start: created the admin user; its API key is in " + first.key_file);
    log::app().information("sign in to the chat page: " + page + "#key=" + first.admin_key);
  } else {
    log::app().information("chat page: " + page + " (sign in with an API key; the admin's is in " + first.key_file + ")");
  }
  first.admin_key.clear();
}

void Host::stop() {
  if (!state_ || !state_->front_end) return;
  using namespace std::chrono;
  // 1. No new requests (they are answered 503 shutting_down, not reset), no new turns.
  state_->front_end->refuse_new();
  state_->chat->refuse_new_turns();
  state_->completions->refuse_new();
  // 2. In-flight turns get the grace period to finish on their own.
  const auto grace_end = steady_clock::now() + milliseconds(state_->options.shutdown_grace_ms);
  auto running = [&] { return state_->chat->in_flight() + state_->completions->in_flight(); };
  while (running() > 0 && steady_clock::now() < grace_end) std::this_thread::sleep_for(milliseconds(10));
  // 3. Then they are stopped: each ends with an `error` shutting_down, and a
  //    chat turn saves its partial reply as interrupted.
  if (running() > 0) {
    log::app().warning(std::to_string(running()) + " streams still running after the grace period; stopping them");
    state_->chat->stop_in_flight();
    state_->completions->stop_in_flight();
    const auto stop_end = steady_clock::now() + seconds(10);
    while (running() > 0 && steady_clock::now() < stop_end) std::this_thread::sleep_for(milliseconds(10));
  }
  state_->watcher->stop();
  // 4. Close what is left and wait for the workers; then this host leaves
  //    the others (its row and turn locks go).
  state_->front_end->stop();
  state_->front_end.reset();
  state_->presence->stop();
}

std::uint16_t Host::port() const { return state_->port; }
const HostOptions& Host::options() const { return state_->options; }
const PluginRegistry& Host::registry() const { return *state_->registry; }
const std::string& Host::admin_key_file() const { return state_->options.admin_key_file; }
const std::string& Host::secret_key_file() const { return state_->options.secret_key_file; }

std::vector<std::tuple<std::string, std::string, std::string>> Host::routes() const {
  std::vector<std::tuple<std::string, std::string, std::string>> out;
  for (const auto& r : state_->router.routes()) out.emplace_back(r.method, r.pattern, http::access_name(r.access));
  return out;
}

}  // namespace switchboard
