// File: tests/fuzz/fuzz_driver.cpp
//
// The one main() of every fuzz target. With libFuzzer (clang, SWITCHBOARD_FUZZ)
// it hands over to LLVMFuzzerRunDriver; without it (g++) it replays the
// files or directories given as arguments (a corpus, a crash-* file), else
// the target's seeds and 20,000 deterministic inputs built from its alphabet.
// Either way on a thread with a worker's stack.
#include "fuzz_driver.h"

#include <pthread.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

#ifdef SB_LIBFUZZER
extern "C" int LLVMFuzzerRunDriver(int* argc, char*** argv, int (*callback)(const std::uint8_t*, std::size_t));
#endif

namespace {

using namespace switchboard::fuzz;

struct Args {
  int argc;
  char** argv;
  int result = 0;
};

#ifndef SB_LIBFUZZER
void feed(const std::string& input) {
  LLVMFuzzerTestOneInput(reinterpret_cast<const std::uint8_t*>(input.data()), input.size());
}

std::size_t replay(const std::filesystem::path& path) {
  if (std::filesystem::is_directory(path)) {
    std::size_t n = 0;
    for (const auto& entry : std::filesystem::directory_iterator(path))
      if (entry.is_regular_file()) n += replay(entry.path());
    return n;
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    std::fprintf(stderr, "cannot read %s\n", path.c_str());
    std::exit(2);
  }
  feed(std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>()));
  return 1;
}

std::size_t generated() {
  std::size_t runs = 0;
  for (const auto& s : seeds()) {
    feed(s);
    ++runs;
  }
  const auto pieces = alphabet();
  std::uint64_t state = 0x9e3779b97f4a7c15ULL;
  auto next = [&] {
    state ^= state << 13;
    state ^= state >> 7;
    state ^= state << 17;
    return state;
  };
  for (int i = 0; i < 20000; ++i) {
    std::string input(1, static_cast<char>(next() & 0xff));
    const int count = static_cast<int>(next() % 32);
    for (int k = 0; k < count; ++k) input += pieces[next() % pieces.size()];
    feed(input);
    ++runs;
  }
  return runs;
}

#endif

// --write-seeds=DIR: the target's seeds as files, to start a libFuzzer corpus from.
bool write_seeds(const Args& args) {
  const std::string flag = "--write-seeds=";
  if (args.argc != 2 || std::string(args.argv[1]).rfind(flag, 0) != 0) return false;
  const std::filesystem::path dir = std::string(args.argv[1]).substr(flag.size());
  std::filesystem::create_directories(dir);
  int n = 0;
  for (const auto& s : seeds()) std::ofstream(dir / ("seed-" + std::to_string(n++)), std::ios::binary) << s;
  std::printf("%d seeds written to %s\n", n, dir.c_str());
  return true;
}

void* run(void* arg) {
  auto* args = static_cast<Args*>(arg);
  if (write_seeds(*args)) return nullptr;
#ifdef SB_LIBFUZZER
  args->result = LLVMFuzzerRunDriver(&args->argc, &args->argv, LLVMFuzzerTestOneInput);
#else
  std::size_t runs = 0;
  if (args->argc > 1) {
    for (int i = 1; i < args->argc; ++i) runs += replay(args->argv[i]);
  } else {
    runs = generated();
  }
  std::printf("%zu inputs on a %zu KiB stack, no property broken\n", runs, kWorkerStackBytes / 1024);
#endif
  return nullptr;
}

}  // namespace

int main(int argc, char** argv) {
  Args args{argc, argv};
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setstacksize(&attr, kWorkerStackBytes);
  pthread_t thread;
  if (pthread_create(&thread, &attr, run, &args) != 0) {
    std::perror("pthread_create");
    return 2;
  }
  pthread_join(thread, nullptr);
  return args.result;
}
