// File: tests/bench/service_bench.cpp
//
// The service layer alone, without HTTP: one non-streaming chat turn through
// ChatService with the mock provider on a real SQLite file (median and p99
// over many turns), then how many turns per second 8 threads sustain.
//
//   switchboard_service_bench [--quick] [--plugin-dir=DIR]
#include "host/plugins/plugin_registry.h"
#include "host/services/auth_service.h"
#include "host/services/chat_service.h"
#include "host/services/config_service.h"
#include "host/services/crypto.h"
#include "host/services/session_service.h"
#include "storage/database.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <string>
#include <thread>
#include <unistd.h>
#include <vector>

using namespace switchboard;
using Clock = std::chrono::steady_clock;
const Caller kBenchUser{1, "bench", Role::User, 1};
namespace fs = std::filesystem;

int main(int argc, char** argv) {
  bool quick = false;
  std::string plugin_dir = "build/plugins";
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--quick") quick = true;
    else if (a.rfind("--plugin-dir=", 0) == 0) plugin_dir = a.substr(13);
  }
  const int single_turns = quick ? 200 : 3000;
  const int per_thread = quick ? 50 : 500;

  const fs::path dir = fs::temp_directory_path() / ("switchboard_service_bench_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  auto registry = PluginRegistry::load(
      Manifest::parse(R"({"plugins": [{"name": "mock", "library": "libswitchboard_mock.so"}]})"), plugin_dir);
  if (!registry->provider("mock")) {
    std::fprintf(stderr, "the mock plugin did not load from %s\n", plugin_dir.c_str());
    return 1;
  }
  auto db = storage::Database::open_sqlite((dir / "bench.db").string());
  const auto box = crypto::SecretBox::from_text(std::string(64, 'a'));
  ConfigService configs(*db, *registry, box);
  SessionService sessions(*db, configs);
  ChatService chat(*db, *registry, configs);
  (void)configs.ensure_first_config(R"({"name": "mock-echo", "provider": "mock", "model_name": "mock-echo"})");

  auto turn = [&](std::int64_t session, const std::string& text) {
    TurnRequest r;
    r.caller = kBenchUser;
    r.session_id = session;
    r.user_message = text;
    const auto result = chat.chat_turn(r);
    return result.ok() && !result->error;
  };

  // 1. One turn at a time; a fresh session every 20 turns keeps the history realistic.
  std::vector<double> micros;
  std::int64_t session = 0;
  int failures = 0;
  for (int i = 0; i < single_turns; ++i) {
    if (i % 20 == 0) session = sessions.create(kBenchUser, "bench", std::nullopt)->id;
    const auto t0 = Clock::now();
    failures += turn(session, "What is the answer to this question number " + std::to_string(i) + "?") ? 0 : 1;
    micros.push_back(std::chrono::duration<double, std::micro>(Clock::now() - t0).count());
  }
  std::sort(micros.begin(), micros.end());

  // 2. 8 threads, each in its own sessions.
  constexpr int kThreads = 8;
  std::atomic<int> threaded_failures{0};
  const auto start = Clock::now();
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      std::int64_t s = 0;
      for (int i = 0; i < per_thread; ++i) {
        if (i % 20 == 0) s = sessions.create(kBenchUser, "bench", std::nullopt)->id;
        if (!turn(s, "turn " + std::to_string(i))) ++threaded_failures;
      }
    });
  }
  for (auto& t : threads) t.join();
  const double seconds = std::chrono::duration<double>(Clock::now() - start).count();

  std::printf("| figure | value |\n|---|---|\n");
  std::printf("| one non-streaming turn through ChatService (mock, SQLite), median | %.1f µs |\n", micros[micros.size() / 2]);
  std::printf("| same, p99 | %.1f µs |\n", micros[micros.size() * 99 / 100]);
  std::printf("| turns/s with %d threads (%d turns) | %.0f |\n", kThreads, kThreads * per_thread,
              kThreads * per_thread / seconds);
  std::printf("| failed turns | %d |\n", failures + threaded_failures.load());

  // 3. What a request pays for its key: AuthService::authenticate on a key
  //    checked before (the cache's hit path: one SHA-256 and a map lookup),
  //    against the turn above as the baseline of the same run.
  AuthService auth(*db);
  const auto first = auth.ensure_admin((dir / "admin.key").string());
  const std::string key = first.ok() ? first->admin_key : "";
  int auth_failures = auth.authenticate(key).ok() ? 0 : 1;
  const int checks = quick ? 20000 : 500000;
  const auto auth_start = Clock::now();
  for (int i = 0; i < checks; ++i) auth_failures += auth.authenticate(key).ok() ? 0 : 1;
  const double per_check = std::chrono::duration<double, std::micro>(Clock::now() - auth_start).count() / checks;
  std::printf("| key check per request (cached), mean | %.2f µs (%.2f%% of a median turn) |\n", per_check,
              100.0 * per_check / micros[micros.size() / 2]);
  failures += auth_failures;
  db.reset();
  fs::remove_all(dir);
  return failures + threaded_failures.load() == 0 ? 0 : 1;
}
