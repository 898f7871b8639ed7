// File: tests/fuzz/fuzz_driver.h
//
// What each fuzz target gives the shared driver (fuzz_driver.cpp) besides
// LLVMFuzzerTestOneInput: seeds, and the pieces its generated inputs are built
// from when libFuzzer is not there (g++, CI).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);

namespace switchboard::fuzz {

std::vector<std::string> seeds();
std::vector<std::string> alphabet();

// The stack every input runs on: a worker's (host/http/front_end.cpp), so
// that whatever recursion the code under test does on client input is
// measured against what a request really has.
inline constexpr std::size_t kWorkerStackBytes = 256 * 1024;

}  // namespace switchboard::fuzz
