// File: tests/bench/bench_main.cpp
//
// Switchboard's benchmark: in one run, side by side, (A) straight to a fake
// OpenAI upstream, (B) through the host's stateless /v1/chat/completions with
// the openai_compatible plugin, (C) through /api/chat/stream with the SQLite
// store. Prints a Markdown table with every figure absolute and as a ratio
// to (A), plus the host's CPU per request/token and its RSS.
//
//   switchboard_bench [--quick] [--host-bin=PATH] [--plugin-dir=DIR] [--manifest=PATH]
#include "bench_http.h"

#include <nlohmann/json.hpp>

#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <map>
#include <mutex>
#include <sstream>

namespace sb = switchboard::bench;
using Json = nlohmann::json;
using sb::Clock;
namespace fs = std::filesystem;

namespace {

struct Options {
  bool quick = false;
  std::string host_bin = "build/switchboard";
  std::string plugin_dir = "build/plugins";
  double seconds = 3.0;
  int slow_streams = 1000;
  std::string db;  // the host's --db: "" for an SQLite file of the run's own, or a postgresql:// URI
  int many_streams = 10000;  // the full run only: 20 tokens 1 s apart each, all open at once
  std::vector<std::string> host_args;  // --host-arg=...: more options for the host (e.g. --worker-stack-kb=1024)
};

// --- the host as a child process -------------------------------------------------

struct HostProcess {
  pid_t pid = -1;
  std::uint16_t port = 0;
  fs::path dir;

  long ticks() const {  // utime + stime, in clock ticks
    std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
    std::string stat((std::istreambuf_iterator<char>(in)), {});
    const auto close = stat.rfind(')');
    std::istringstream fields(stat.substr(close + 2));
    std::string f;
    long utime = 0, stime = 0;
    for (int i = 3; fields >> f; ++i) {
      if (i == 14) utime = std::atol(f.c_str());
      if (i == 15) {
        stime = std::atol(f.c_str());
        break;
      }
    }
    return utime + stime;
  }
  long threads() const { return rss_kb("Threads:"); }
  long rss_kb(const char* key = "VmRSS:") const {
    std::ifstream in("/proc/" + std::to_string(pid) + "/status");
    std::string line;
    while (std::getline(in, line))
      if (line.rfind(key, 0) == 0) return std::atol(line.c_str() + std::strlen(key));
    return 0;
  }
  void stop() {
    if (pid <= 0) return;
    ::kill(pid, SIGTERM);
    int status = 0;
    ::waitpid(pid, &status, 0);
    pid = -1;
    fs::remove_all(dir);
  }
};

std::uint16_t free_port() {
  sb::FakeUpstream probe({});  // binds 127.0.0.1:0; its port is free once it closes
  return probe.port();
}

HostProcess start_host(const Options& o) {
  HostProcess h;
  h.dir = fs::temp_directory_path() / ("switchboard_bench_" + std::to_string(::getpid()));
  fs::create_directories(h.dir);
  std::ofstream(h.dir / "plugins.json") << R"({"plugins": [
    {"name": "mock", "library": "libswitchboard_mock.so"},
    {"name": "openai_compatible", "library": "libswitchboard_openai_compatible.so"}],
    "default_config": {"name": "mock-echo", "provider": "mock", "model_name": "mock-echo"}})";
  h.port = free_port();
  // The host's first start takes this file's content as its admin key.
  sb::bearer_key() = "sbk_bench-admin-0123456789abcdefghijklmnopqrstuvw";
  std::ofstream(h.dir / "admin.key") << sb::bearer_key() << "\n";
  const std::vector<std::string> args = {o.host_bin,
                                         "--admin-key-file=" + (h.dir / "admin.key").string(),
                                         "--port=" + std::to_string(h.port),
                                         "--db=" + (o.db.empty() ? (h.dir / "bench.db").string() : o.db),
                                         "--plugins=" + (h.dir / "plugins.json").string(),
                                         "--plugin-dir=" + o.plugin_dir,
                                         "--log-level=warning",
                                         "--max-threads=" + std::to_string(std::max(1400, o.many_streams + 100)),
                                         "--max-connections=" + std::to_string(std::max(10000, o.many_streams + 500)),
                                         "--max-queued=4096"};
  std::vector<std::string> all = args;
  all.insert(all.end(), o.host_args.begin(), o.host_args.end());
  h.pid = ::fork();
  if (h.pid == 0) {
    std::vector<char*> argv;
    for (const auto& a : all) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    ::execv(argv[0], argv.data());
    std::perror("execv switchboard");
    std::_Exit(127);
  }
  sb::Client probe(h.port);
  for (int i = 0; i < 400; ++i) {
    sb::Response r;
    if (probe.request("GET", "/healthz", "", r) && r.status == 200) return h;
    probe.close();
    std::this_thread::sleep_for(std::chrono::milliseconds(25));
  }
  h.stop();
  throw std::runtime_error("the host did not start: " + o.host_bin);
}

// --- measurement ---------------------------------------------------------------------

struct Stats {
  std::vector<double> latency_ms;  // whole request
  std::vector<double> ttfb_ms;     // first body byte
  std::vector<double> delta_ms;    // first delta
  long requests = 0;
  long errors = 0;
  double seconds = 0;
  double host_cpu_ms = 0;

  static double pct(std::vector<double> v, double p) {
    if (v.empty()) return 0;
    std::sort(v.begin(), v.end());
    return v[std::min(v.size() - 1, static_cast<std::size_t>(p * static_cast<double>(v.size())))];
  }
  double rps() const { return seconds > 0 ? static_cast<double>(requests) / seconds : 0; }
};

using Call = std::function<bool(sb::Client&, int worker, long n, sb::Response&)>;

Stats run(std::uint16_t port, int concurrency, double seconds, const Call& call, const HostProcess* host) {
  Stats total;
  std::mutex mutex;
  const long ticks_before = host ? host->ticks() : 0;
  const auto start = Clock::now();
  const auto end = start + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds));
  std::vector<std::thread> workers;
  for (int w = 0; w < concurrency; ++w) {
    workers.emplace_back([&, w] {
      sb::Client client(port);
      Stats mine;
      for (long n = 0; Clock::now() < end; ++n) {
        sb::Response r;
        const auto t0 = Clock::now();
        const bool ok = call(client, w, n, r);
        if (!ok || r.status != 200) {
          ++mine.errors;
          client.close();
          continue;
        }
        ++mine.requests;
        mine.latency_ms.push_back(std::chrono::duration<double, std::milli>(r.end - t0).count());
        mine.ttfb_ms.push_back(std::chrono::duration<double, std::milli>(r.first_byte - t0).count());
        if (r.first_delta != Clock::time_point{})
          mine.delta_ms.push_back(std::chrono::duration<double, std::milli>(r.first_delta - t0).count());
      }
      std::lock_guard guard(mutex);
      total.requests += mine.requests;
      total.errors += mine.errors;
      total.latency_ms.insert(total.latency_ms.end(), mine.latency_ms.begin(), mine.latency_ms.end());
      total.ttfb_ms.insert(total.ttfb_ms.end(), mine.ttfb_ms.begin(), mine.ttfb_ms.end());
      total.delta_ms.insert(total.delta_ms.end(), mine.delta_ms.begin(), mine.delta_ms.end());
    });
  }
  for (auto& t : workers) t.join();
  total.seconds = std::chrono::duration<double>(Clock::now() - start).count();
  if (host) total.host_cpu_ms = static_cast<double>(host->ticks() - ticks_before) * 1000.0 / static_cast<double>(::sysconf(_SC_CLK_TCK));
  return total;
}

std::string chat_body(const std::string& model, bool stream) {
  return Json{{"model", model},
              {"stream", stream},
              {"max_tokens", 256},
              {"messages", Json::array({{{"role", "user"}, {"content", "Say something short."}}})}}
      .dump();
}

std::string fmt(const char* f, double v) {
  char b[64];
  std::snprintf(b, sizeof b, f, v);
  return b;
}

// A Markdown table, printed as it grows so a long run shows progress.
struct Table {
  void header() {
    std::cout << "\n| scenario | path | conc | req/s | p50 ms | p99 ms | TTFB p50 ms | TTFB p99 ms | ratio req/s to A | added p50 ms | added p99 ms | host CPU ms/req | errors |\n"
              << "|---|---|---|---|---|---|---|---|---|---|---|---|---|\n";
  }
  void row(const std::string& scenario, const std::string& path, int conc, const Stats& s, const Stats* a) {
    const double p50 = Stats::pct(s.latency_ms, 0.5), p99 = Stats::pct(s.latency_ms, 0.99);
    std::cout << "| " << scenario << " | " << path << " | " << conc << " | " << fmt("%.0f", s.rps()) << " | "
              << fmt("%.3f", p50) << " | " << fmt("%.3f", p99) << " | " << fmt("%.3f", Stats::pct(s.ttfb_ms, 0.5)) << " | "
              << fmt("%.3f", Stats::pct(s.ttfb_ms, 0.99)) << " | "
              << (a ? fmt("%.2f", s.rps() / std::max(1.0, a->rps())) : std::string("1.00")) << " | "
              << (a ? fmt("%+.3f", p50 - Stats::pct(a->latency_ms, 0.5)) : std::string("—")) << " | "
              << (a ? fmt("%+.3f", p99 - Stats::pct(a->latency_ms, 0.99)) : std::string("—")) << " | "
              << (s.requests > 0 && s.host_cpu_ms > 0 ? fmt("%.3f", s.host_cpu_ms / static_cast<double>(s.requests)) : std::string("—"))
              << " | " << s.errors << " |\n"
              << std::flush;
  }
};

}  // namespace

int main(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--quick") o.quick = true;
    else if (a.rfind("--host-bin=", 0) == 0) o.host_bin = a.substr(11);
    else if (a.rfind("--plugin-dir=", 0) == 0) o.plugin_dir = a.substr(13);
    else if (a.rfind("--seconds=", 0) == 0) o.seconds = std::atof(a.c_str() + 10);
    else if (a.rfind("--slow-streams=", 0) == 0) o.slow_streams = std::atoi(a.c_str() + 15);
    else if (a.rfind("--db=", 0) == 0) o.db = a.substr(5);
    else if (a.rfind("--many-streams=", 0) == 0) o.many_streams = std::atoi(a.c_str() + 15);
    else if (a.rfind("--host-arg=", 0) == 0) o.host_args.push_back(a.substr(11));
    else {
      std::cerr << "usage: switchboard_bench [--quick] [--host-bin=PATH] [--plugin-dir=DIR] [--seconds=S] [--slow-streams=N]"
                   " [--many-streams=N] [--host-arg=OPTION]... [--db=postgresql://...]\n";
      return 2;
    }
  }
  if (o.quick) {
    o.seconds = 0.3;
    o.slow_streams = 50;
    o.many_streams = 0;  // CI runs --quick: the 10,000 streams take half a minute and most of the machine
  }
  ::signal(SIGPIPE, SIG_IGN);
  // The many-streams scenario holds one descriptor per stream here.
  rlimit files{};
  if (::getrlimit(RLIMIT_NOFILE, &files) == 0 && files.rlim_cur < files.rlim_max) {
    files.rlim_cur = files.rlim_max;
    ::setrlimit(RLIMIT_NOFILE, &files);
  }

  // Two identical fakes: one the client calls directly (A), one behind the host
  // (B, C), so the upstream connections the host opens are counted alone.
  sb::FakeUpstream direct({16, 0, 0});
  sb::FakeUpstream fake({16, 0, 0});
  auto set_fakes = [&](sb::FakeSettings s) {
    direct.set(s);
    fake.set(s);
  };
  HostProcess host = start_host(o);
  int failures = 0;
  try {
    sb::Client admin(host.port);
    sb::Response r;
    admin.request("POST", "/api/configs",
                  Json{{"name", "bench"}, {"provider", "openai_compatible"}, {"model_name", "fake"},
                       {"base_url", "http://127.0.0.1:" + std::to_string(fake.port()) + "/v1"}, {"api_key", "bench-key"}}
                      .dump(),
                  r);
    if (r.status != 201) throw std::runtime_error("cannot create the bench config: " + r.body);
    const auto config_id = Json::parse(r.body)["id"].get<int>();
    const long idle_rss = host.rss_kb();

    // Keep-alive to the upstream: 1,000 sequential requests through the host.
    const auto connections_before = fake.connections();
    int sequential_ok = 0;
    {
      sb::Client c(host.port);
      for (int i = 0; i < 1000; ++i) {
        sb::Response out;
        if (c.request("POST", "/v1/chat/completions", chat_body("bench", false), out) && out.status == 200) ++sequential_ok;
      }
    }
    const auto sequential_connections = fake.connections() - connections_before;
    failures += 1000 - sequential_ok;

    std::cout << "# Switchboard benchmark" << (o.quick ? " (quick)" : "") << "\n\n"
              << "A = straight to the fake upstream; B = host /v1/chat/completions (openai_compatible, stateless); "
              << "C = host /api/chat/stream (SQLite: a session, history, two saved messages per turn). "
              << "Client, host and fake upstream share this machine (" << std::thread::hardware_concurrency() << " cores).\n";
    Table table;
    table.header();

    // Non-streaming, 16 tokens.
    set_fakes({16, 0, 0});
    for (int conc : {1, 16, 64}) {
      const Stats a = run(direct.port(), conc, o.seconds, [](sb::Client& c, int, long, sb::Response& out) {
        return c.request("POST", "/v1/chat/completions", chat_body("fake", false), out);
      }, nullptr);
      const Stats b = run(host.port, conc, o.seconds, [](sb::Client& c, int, long, sb::Response& out) {
        return c.request("POST", "/v1/chat/completions", chat_body("bench", false), out);
      }, &host);
      table.row("whole reply", "A direct", conc, a, nullptr);
      table.row("whole reply", "B /v1", conc, b, &a);
      failures += static_cast<int>(b.errors);
    }

    // Streaming, 64 tokens.
    set_fakes({64, 0, 0});
    const long sessions_per_worker_turns = 10;  // a fresh session every 10 turns keeps histories short
    for (int conc : {1, 64}) {
      const Stats a = run(direct.port(), conc, o.seconds, [](sb::Client& c, int, long, sb::Response& out) {
        return c.request("POST", "/v1/chat/completions", chat_body("fake", true), out);
      }, nullptr);
      const Stats b = run(host.port, conc, o.seconds, [](sb::Client& c, int, long, sb::Response& out) {
        return c.request("POST", "/v1/chat/completions", chat_body("bench", true), out);
      }, &host);
      std::vector<std::int64_t> session(static_cast<std::size_t>(conc), 0);
      const Stats cs = run(host.port, conc, o.seconds, [&](sb::Client& c, int w, long n, sb::Response& out) {
        auto& s = session[static_cast<std::size_t>(w)];
        if (s == 0 || n % sessions_per_worker_turns == 0) {
          sb::Response created;
          if (!c.request("POST", "/api/sessions", Json{{"config_id", config_id}}.dump(), created) || created.status != 201)
            return false;
          s = Json::parse(created.body)["id"].get<std::int64_t>();
        }
        return c.request("POST", "/api/chat/stream", Json{{"session_id", s}, {"user_message", "Say something short."}}.dump(), out);
      }, &host);
      table.row("stream 64 tok", "A direct", conc, a, nullptr);
      table.row("stream 64 tok", "B /v1", conc, b, &a);
      table.row("stream 64 tok", "C /api/chat/stream", conc, cs, &a);
      std::cout << "|  | host CPU per streamed token (B, C) |  | " << fmt("%.4f", b.host_cpu_ms / std::max(1.0, 64.0 * b.requests)) << " ms | "
                << fmt("%.4f", cs.host_cpu_ms / std::max(1.0, 64.0 * cs.requests)) << " ms |  |  |  |  |  |  |  |  |\n";
      failures += static_cast<int>(b.errors + cs.errors);
    }
    // The host alone: /api/chat/stream with the mock provider at no delay (no upstream at all).
    {
      sb::Response made;
      admin.request("POST", "/api/configs",
                    Json{{"name", "bench-mock"}, {"provider", "mock"}, {"model_name", "mock-tokens"},
                         {"options", {{"tokens", 64}}}}.dump(), made);
      const auto mock_config = Json::parse(made.body)["id"].get<int>();
      std::cout << "\n| host alone: /api/chat/stream, mock, 64 tokens | conc | streams/s | first byte p50 ms | first delta p50 ms | first delta p99 ms | whole p50 ms | host CPU ms/stream | errors |\n"
                << "|---|---|---|---|---|---|---|---|---|\n";
      for (int conc : {1, 16}) {
        std::vector<std::int64_t> session(static_cast<std::size_t>(conc), 0);
        const Stats m = run(host.port, conc, o.seconds, [&](sb::Client& c, int w, long n, sb::Response& out) {
          auto& s = session[static_cast<std::size_t>(w)];
          if (s == 0 || n % sessions_per_worker_turns == 0) {
            sb::Response created;
            if (!c.request("POST", "/api/sessions", Json{{"config_id", mock_config}}.dump(), created) || created.status != 201)
              return false;
            s = Json::parse(created.body)["id"].get<std::int64_t>();
          }
          return c.request("POST", "/api/chat/stream", Json{{"session_id", s}, {"user_message", "Say something short."}}.dump(), out);
        }, &host);
        std::cout << "| mock | " << conc << " | " << fmt("%.0f", m.rps()) << " | " << fmt("%.3f", Stats::pct(m.ttfb_ms, 0.5))
                  << " | " << fmt("%.3f", Stats::pct(m.delta_ms, 0.5)) << " | " << fmt("%.3f", Stats::pct(m.delta_ms, 0.99))
                  << " | " << fmt("%.3f", Stats::pct(m.latency_ms, 0.5)) << " | "
                  << fmt("%.3f", m.host_cpu_ms / std::max(1.0, static_cast<double>(m.requests))) << " | " << m.errors << " |\n";
        failures += static_cast<int>(m.errors);
      }
    }
    const long load_rss = host.rss_kb("VmHWM:");

    // Many concurrent slow streams: tokens 100 ms apart.
    const int slow_tokens = o.quick ? 5 : 20;
    set_fakes({slow_tokens, 0, 100});
    std::atomic<int> complete{0}, errors{0};
    std::atomic<long> peak_rss{0};
    std::atomic<bool> sampling{true};
    std::thread sampler([&] {
      while (sampling.load()) {
        peak_rss.store(std::max(peak_rss.load(), host.rss_kb()));
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
      }
    });
    const auto slow_start = Clock::now();
    std::vector<std::thread> streams;
    for (int i = 0; i < o.slow_streams; ++i) {
      streams.emplace_back([&] {
        sb::Client c(host.port);
        sb::Response out;
        if (c.request("POST", "/v1/chat/completions", chat_body("bench", true), out) && out.status == 200 &&
            out.body.find("[DONE]") != std::string::npos)
          ++complete;
        else
          ++errors;
      });
    }
    for (auto& t : streams) t.join();
    sampling.store(false);
    sampler.join();
    failures += errors.load();

    std::cout << "\n| memory | figure |\n|---|---|\n"
              << "| host RSS idle | " << fmt("%.1f", idle_rss / 1024.0) << " MB |\n"
              << "| host peak RSS under the load above | " << fmt("%.1f", load_rss / 1024.0) << " MB |\n"
              << "| host peak RSS with " << o.slow_streams << " concurrent slow streams (" << slow_tokens
              << " tokens 100 ms apart) | " << fmt("%.1f", peak_rss.load() / 1024.0) << " MB |\n"
              << "| slow streams completed / errors | " << complete.load() << " / " << errors.load() << " in "
              << fmt("%.1f", std::chrono::duration<double>(Clock::now() - slow_start).count()) << " s |\n"
              << "| upstream connections the host opened for 1,000 sequential /v1 requests | " << sequential_connections << " |\n"
              << "| upstream connections the host opened in the whole run | " << fake.connections() << " |\n";

    // Many concurrent streams on one host: the mock provider (an upstream
    // connection per stream would need a second descriptor each, past this
    // machine's hard limit of open files), tokens 1 s apart, /v1 streaming.
    if (o.many_streams > 0) {
      const int tokens = 20;
      sb::Response made;
      admin.request("POST", "/api/configs",
                    Json{{"name", "bench-many"}, {"provider", "mock"}, {"model_name", "mock-tokens"},
                         {"options", {{"tokens", tokens}, {"delay_ms", 1000}}}}.dump(), made);
      if (made.status != 201) throw std::runtime_error("cannot create the many-streams config: " + made.body);
      const std::string body = chat_body("bench-many", true);
      const std::string request = "POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer " +
                                  sb::bearer_key() + "\r\nContent-Type: application/json\r\nContent-Length: " +
                                  std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n" + body;
      const long rss_before = host.rss_kb();
      std::atomic<long> peak{0}, peak_threads{0};
      std::atomic<bool> watching{true};
      std::thread watcher([&] {
        while (watching.load()) {
          peak.store(std::max(peak.load(), host.rss_kb()));
          peak_threads.store(std::max(peak_threads.load(), host.threads()));
          std::this_thread::sleep_for(std::chrono::milliseconds(100));
        }
      });
      const long ticks_before = host.ticks();
      const auto started = Clock::now();
      // 2,000 new streams a second: all 10,000 are open within 5 s, and each lasts 20 s.
      const sb::ManyStreams m = sb::many_streams(host.port, o.many_streams, request, 2000, std::chrono::seconds(120));
      const double took = std::chrono::duration<double>(Clock::now() - started).count();
      const double cpu_s = static_cast<double>(host.ticks() - ticks_before) / static_cast<double>(::sysconf(_SC_CLK_TCK));
      watching.store(false);
      watcher.join();
      std::this_thread::sleep_for(std::chrono::seconds(2));
      const long rss_after = host.rss_kb();
      failures += m.errors;
      std::cout << "\n| " << o.many_streams << " concurrent streams: /v1 streaming, mock, " << tokens
                << " tokens 1 s apart | figure |\n|---|---|\n"
                << "| complete / errors | " << m.complete << " / " << m.errors << " in " << fmt("%.1f", took) << " s |\n"
                << "| open at once (peak) | " << m.most_open << " |\n"
                << "| first byte p50 / p99 | " << fmt("%.1f", Stats::pct(m.first_byte_ms, 0.5)) << " / "
                << fmt("%.1f", Stats::pct(m.first_byte_ms, 0.99)) << " ms |\n"
                << "| whole stream p50 / p99 | " << fmt("%.0f", Stats::pct(m.whole_ms, 0.5)) << " / "
                << fmt("%.0f", Stats::pct(m.whole_ms, 0.99)) << " ms |\n"
                << "| host RSS before / peak / 2 s after | " << fmt("%.1f", rss_before / 1024.0) << " / "
                << fmt("%.1f", peak.load() / 1024.0) << " / " << fmt("%.1f", rss_after / 1024.0) << " MB |\n"
                << "| host threads at the peak | " << peak_threads.load() << " |\n"
                << "| host CPU | " << fmt("%.1f", cpu_s) << " s (" << fmt("%.0f", cpu_s * 1e6 / std::max(1, m.complete * tokens))
                << " µs per streamed token, stream set-up included) |\n";
    }
  } catch (const std::exception& e) {
    std::cerr << "bench failed: " << e.what() << "\n";
    host.stop();
    return 1;
  }
  host.stop();
  if (failures > 0) {
    std::cerr << failures << " requests failed\n";
    return 1;
  }
  return 0;
}
