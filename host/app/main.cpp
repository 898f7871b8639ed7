// File: host/app/main.cpp
//
// The switchboard executable: command-line options, logging, a clean stop
// on SIGINT/SIGTERM, plugins reloaded on SIGHUP. Everything else lives in the host library.
#include "host/app/host.h"
#include "host/log.h"

#include <Poco/AutoPtr.h>
#include <Poco/ConsoleChannel.h>
#include <Poco/Logger.h>
#include <Poco/StringTokenizer.h>
#include <Poco/Util/HelpFormatter.h>
#include <Poco/Util/Option.h>
#include <Poco/Util/OptionSet.h>
#include <Poco/Util/ServerApplication.h>

#include <signal.h>

#include <cstdint>
#include <iostream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

// "a, b,,c" → {"a", "b", "c"}; "" → {} (so --upstream-deny= clears the default).
std::vector<std::string> split_list(const std::string& text) {
  std::vector<std::string> out;
  std::string item;
  std::istringstream in(text);
  while (std::getline(in, item, ',')) {
    item.erase(0, item.find_first_not_of(" \t"));
    item.erase(item.find_last_not_of(" \t") + 1);
    if (!item.empty()) out.push_back(item);
  }
  return out;
}

class SwitchboardApp final : public Poco::Util::ServerApplication {
 protected:
  void defineOptions(Poco::Util::OptionSet& options) override {
    ServerApplication::defineOptions(options);
    auto value = [&](const char* name, const char* arg, const char* help) {
      options.addOption(Poco::Util::Option(name, "", help)
                            .required(false)
                            .repeatable(false)
                            .argument(arg)
                            .binding(std::string("switchboard.") + name));
    };
    options.addOption(Poco::Util::Option("help", "h", "print this help and exit")
                          .required(false)
                          .repeatable(false)
                          .callback(Poco::Util::OptionCallback<SwitchboardApp>(this, &SwitchboardApp::on_help)));
    value("port", "N", "TCP port to listen on (default 8080; 0 picks a free one)");
    value("bind", "ADDR", "address to listen on (default 127.0.0.1)");
    value("db", "PATH|URI",
          "SQLite database file (default switchboard.db), or postgresql://user:password@host:port/dbname to share "
          "one database among several hosts (the password may come from PGPASSWORD or ~/.pgpass)");
    value("db-pool", "N", "database connections kept open (default 16)");
    value("migrate-to", "URI",
          "copy the SQLite database (--db) into this empty PostgreSQL database, check the row counts, and exit");
    value("host-id", "ID",
          "this host's id among hosts sharing a PostgreSQL database: unique, and the same across restarts "
          "(default <hostname>:<port>)");
    value("host-lease-ms", "MS", "a host silent this long is dead: its streams are marked interrupted (default 10000)");
    value("turn-wait-ms", "MS", "a turn waits this long for the one before it in its session, then 409 (default 120000)");
    value("plugins", "PATH", "plugin manifest (default plugins.json)");
    value("plugin-dir", "DIR", "where plugin libraries are (default: manifest's plugin_dir, else <exe dir>/plugins)");
    value("plugin-rescan-ms", "MS",
          "rescan the plugin directory this often besides watching it with inotify (default 2000; 0: never)");
    value("max-threads", "N", "worker threads = requests and streams served at once; idle connections need none (default 1024)");
    value("max-queued", "N", "whole requests waiting for a worker; more are answered 503 (default 1024)");
    value("max-connections", "N", "open connections, idle or not; more are answered 503 (default 10000)");
    value("head-timeout-ms", "MS", "a request head must arrive whole within this, however it trickles (default 10000)");
    value("body-timeout-ms", "MS", "a request body must arrive whole within this after its head (default 30000)");
    value("keep-alive-ms", "MS", "an idle kept-alive connection is closed after this (default 5000)");
    value("send-timeout-ms", "MS", "a write to a client that does not read fails after this (default 30000)");
    value("worker-idle-ms", "MS", "a worker with nothing to do this long ends; one always stays (default 30000)");
    value("worker-stack-kb", "KB", "each worker thread's stack (default 256)");
    value("max-head-bytes", "BYTES", "largest request head; larger is answered 431 (default 16384)");
    value("max-body", "BYTES", "largest accepted request body (default 1048576)");
    value("sse-keepalive-ms", "MS", "send ': keep-alive' after this much silence in a stream (default 15000)");
    value("shutdown-grace-ms", "MS", "how long in-flight streams may finish on SIGTERM (default 3000)");
    value("max-tokens-cap", "N", "largest max_tokens a request may ask for (default 32768)");
    value("max-reply-bytes", "BYTES", "a reply is stopped here with finish_reason length (default 4194304)");
    value("upstream-deny", "LIST",
          "comma-separated hosts/CIDRs plugins may not connect to (default 169.254.0.0/16,fe80::/10; empty: none)");
    value("upstream-allow", "LIST", "comma-separated hosts/CIDRs, the only ones plugins may connect to (default: any)");
    value("ca-dir", "DIR", "the only directory a config's ca_file may name (default: none may be named)");
    value("log-level", "LEVEL", "error, warning, information (default) or debug");
    value("admin-key-file", "PATH",
          "first start: the admin's API key is written here (0600), or read from here when the file exists "
          "(default: switchboard-admin.key beside the database)");
    value("secret-key-file", "PATH",
          "master key sealing provider secrets at rest, created 0600 when missing; SWITCHBOARD_SECRET_KEY "
          "overrides it (default: switchboard-secret.key beside the database)");
    value("allow-key-env", "LIST",
          "comma-separated environment variables a config may name in api_key_env, e.g. OPENAI_API_KEY "
          "(default: none)");
    options.addOption(Poco::Util::Option("allow-user-configs", "", "users (not only admins) may create private LLM configs")
                          .required(false)
                          .repeatable(false)
                          .binding("switchboard.allow-user-configs"));
  }

  void on_help(const std::string&, const std::string&) {
    Poco::Util::HelpFormatter help(options());
    help.setCommand(commandName());
    help.setUsage("[--port=N] [--bind=ADDR] [--db=PATH|URI] [--plugins=PATH] ...");
    help.setHeader("Switchboard: a chat host for large language models, with provider plugins.");
    help.format(std::cout);
    stopOptionsProcessing();
    help_ = true;
  }

  int main(const std::vector<std::string>&) override {
    if (help_) return EXIT_OK;
    const auto& c = config();
    Poco::Logger::root().setChannel(switchboard::log::line_channel(new Poco::ConsoleChannel));
    Poco::Logger::setLevel("", Poco::Logger::parseLevel(c.getString("switchboard.log-level", "information")));

    try {
      // Numbers are held to their ranges: a port of 99999 is refused, not wrapped to 34463.
      auto number = [&](const char* name, std::int64_t fallback, std::int64_t min, std::int64_t max) {
        const std::int64_t v = c.getInt64(std::string("switchboard.") + name, fallback);
        if (v < min || v > max)
          throw std::invalid_argument(std::string("--") + name + " must be " + std::to_string(min) + ".." +
                                      std::to_string(max) + " (got " + std::to_string(v) + ")");
        return v;
      };
      constexpr std::int64_t kDay = 24LL * 3600 * 1000;
      if (c.has("switchboard.migrate-to")) {
        try {
          switchboard::migrate_database(c.getString("switchboard.db", "switchboard.db"),
                                        c.getString("switchboard.migrate-to"),
                                        [](const std::string& line) { std::cout << line << std::endl; });
        } catch (const std::exception& e) {
          switchboard::log::app().fatal(std::string("cannot move the database: ") + e.what());
          return EXIT_SOFTWARE;
        }
        return EXIT_OK;
      }
      switchboard::HostOptions o;
      o.port = static_cast<std::uint16_t>(number("port", o.port, 0, 65535));
      o.bind = c.getString("switchboard.bind", o.bind);
      o.db_path = c.getString("switchboard.db", o.db_path);
      o.db_pool = static_cast<int>(number("db-pool", o.db_pool, 1, 1000));
      o.host_id = c.getString("switchboard.host-id", o.host_id);
      o.host_lease_ms = static_cast<int>(number("host-lease-ms", o.host_lease_ms, 500, kDay));
      o.turn_wait_ms = static_cast<int>(number("turn-wait-ms", o.turn_wait_ms, 1, kDay));
      o.manifest_path = c.getString("switchboard.plugins", o.manifest_path);
      o.plugin_dir = c.getString("switchboard.plugin-dir", o.plugin_dir);
      o.plugin_rescan_ms = static_cast<int>(number("plugin-rescan-ms", o.plugin_rescan_ms, 100, kDay));
      o.max_threads = static_cast<int>(number("max-threads", o.max_threads, 1, 100000));
      o.max_queued = static_cast<int>(number("max-queued", o.max_queued, 0, 1000000));
      o.max_connections = static_cast<int>(number("max-connections", o.max_connections, 1, 1000000));
      o.head_timeout_ms = static_cast<int>(number("head-timeout-ms", o.head_timeout_ms, 1, kDay));
      o.body_timeout_ms = static_cast<int>(number("body-timeout-ms", o.body_timeout_ms, 1, kDay));
      o.keep_alive_timeout_ms = static_cast<int>(number("keep-alive-ms", o.keep_alive_timeout_ms, 1, kDay));
      o.send_timeout_ms = static_cast<int>(number("send-timeout-ms", o.send_timeout_ms, 1, kDay));
      o.worker_idle_ms = static_cast<int>(number("worker-idle-ms", o.worker_idle_ms, 100, kDay));
      o.worker_stack_kb = static_cast<int>(number("worker-stack-kb", o.worker_stack_kb, 128, 65536));
      o.max_head_bytes = static_cast<std::size_t>(
          number("max-head-bytes", static_cast<std::int64_t>(o.max_head_bytes), 1024, 1 << 24));
      o.max_body_bytes = static_cast<std::size_t>(
          number("max-body", static_cast<std::int64_t>(o.max_body_bytes), 1, 1LL << 30));
      o.sse_keepalive_ms = static_cast<int>(number("sse-keepalive-ms", o.sse_keepalive_ms, 1, kDay));
      o.shutdown_grace_ms = static_cast<int>(number("shutdown-grace-ms", o.shutdown_grace_ms, 0, kDay));
      o.admin_key_file = c.getString("switchboard.admin-key-file", o.admin_key_file);
      o.secret_key_file = c.getString("switchboard.secret-key-file", o.secret_key_file);
      o.allow_user_configs = c.has("switchboard.allow-user-configs");
      for (const auto& name : Poco::StringTokenizer(c.getString("switchboard.allow-key-env", ""), ",",
                                                    Poco::StringTokenizer::TOK_TRIM | Poco::StringTokenizer::TOK_IGNORE_EMPTY))
        o.allow_key_env.push_back(name);
      o.max_tokens_cap = number("max-tokens-cap", o.max_tokens_cap, 1, 1000000000);
      o.max_reply_bytes = static_cast<std::size_t>(
          number("max-reply-bytes", static_cast<std::int64_t>(o.max_reply_bytes), 1, 1LL << 30));
      if (c.has("switchboard.upstream-deny")) o.upstream_deny = split_list(c.getString("switchboard.upstream-deny"));
      if (c.has("switchboard.upstream-allow")) o.upstream_allow = split_list(c.getString("switchboard.upstream-allow"));
      o.ca_dir = c.getString("switchboard.ca-dir", o.ca_dir);

      // SIGHUP reloads the plugins: blocked here, before the host starts any
      // thread (they inherit the mask), and taken by the plugin watcher's signalfd.
      sigset_t hup;
      sigemptyset(&hup);
      sigaddset(&hup, SIGHUP);
      pthread_sigmask(SIG_BLOCK, &hup, nullptr);
      o.reload_on_sighup = true;

      switchboard::Host host(o);
      host.start();
      waitForTerminationRequest();
      switchboard::log::app().information("stopping");
      host.stop();
      switchboard::log::app().information("stopped");
    } catch (const std::exception& e) {
      switchboard::log::app().fatal(std::string("cannot start: ") + e.what());
      return EXIT_SOFTWARE;
    }
    return EXIT_OK;
  }

 private:
  bool help_ = false;
};

}  // namespace

POCO_SERVER_MAIN(SwitchboardApp)
