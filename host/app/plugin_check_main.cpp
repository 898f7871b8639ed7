// File: host/app/plugin_check_main.cpp
//
// switchboard-plugin-check: what a plugin author runs before publishing. Loads
// one library as the host would (the same refusals, the same private copy),
// prints what it found (ABI, name, version, models, defaults) and runs the
// conformance checks on it, each PASS or FAIL with what was seen.
// Exit status: 0 every check passed, 1 a check failed, 2 not loadable or bad usage.
#include "host/plugins/conformance.h"
#include "host/plugins/loaded_provider.h"
#include "host/plugins/plugin_registry.h"

#include <switchboard/provider.h>

#include <nlohmann/json.hpp>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <iostream>
#include <string>
#include <vector>

namespace {

namespace sb = switchboard;
namespace conformance = switchboard::conformance;

constexpr const char* kUsage =
    "usage: switchboard-plugin-check PATH.so [options]\n"
    "  --config JSON           effective config to chat with (default: the plugin's default config)\n"
    "  --model M               model of the normal request (default: the config's model_name, else \"\")\n"
    "  --slow-model M          a request that streams for 2 s unless cancelled (default: --model)\n"
    "  --slow-options JSON     its per-request options (default {})\n"
    "  --failing-model M       a request that fails (default: no-such-model-for-conformance)\n"
    "  --failing-options JSON  its per-request options (default {})\n";

// The config's model_name, "" when it has none (or is not JSON: the checks say so).
std::string model_name_of(const std::string& config_json) {
  try {
    const auto config = nlohmann::json::parse(config_json);
    if (config.is_object() && config.contains("model_name") && config["model_name"].is_string())
      return config["model_name"].get<std::string>();
  } catch (const nlohmann::json::exception&) {
  }
  return "";
}

void line(const std::string& label, const std::string& value) {
  std::cout << "  " << label << std::string(label.size() < 14 ? 14 - label.size() : 1, ' ') << value << "\n";
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  if (args.empty() || args[0] == "--help" || args[0] == "-h") {
    std::cout << kUsage;
    return args.empty() ? 2 : 0;
  }
  const std::string file = args[0];
  conformance::Plan plan;
  bool model_given = false, slow_given = false;
  plan.failing.model = "no-such-model-for-conformance";
  for (std::size_t i = 1; i < args.size(); ++i) {
    const std::string& flag = args[i];
    if (i + 1 >= args.size()) {
      std::cerr << "switchboard-plugin-check: " << flag << " needs a value\n" << kUsage;
      return 2;
    }
    const std::string& value = args[++i];
    if (flag == "--config") plan.config_json = value;
    else if (flag == "--model") plan.normal.model = value, model_given = true;
    else if (flag == "--slow-model") plan.slow.model = value, slow_given = true;
    else if (flag == "--slow-options") plan.slow.options_json = value;
    else if (flag == "--failing-model") plan.failing.model = value;
    else if (flag == "--failing-options") plan.failing.options_json = value;
    else {
      std::cerr << "switchboard-plugin-check: unknown option " << flag << "\n" << kUsage;
      return 2;
    }
  }

  std::cout << "switchboard-plugin-check " << file << "\n";
  // The host's own refusals first: what it would say about this file.
  struct stat st {};
  const int fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0 || ::fstat(fd, &st) != 0) {
    std::cout << "  NOT LOADED  cannot open " << file << ": " << std::strerror(errno) << "\n";
    return 2;
  }
  std::string trust = sb::untrusted_reason("plugin file " + file, st.st_mode, st.st_uid);
  const std::filesystem::path dir = std::filesystem::absolute(file).parent_path();
  struct stat dir_st {};
  if (trust.empty() && ::stat(dir.c_str(), &dir_st) == 0)
    trust = sb::untrusted_reason("its directory " + dir.string(), dir_st.st_mode, dir_st.st_uid);
  std::string error;
  const auto provider = sb::LoadedProvider::load_copy(fd, file, error);
  ::close(fd);
  line("host ABI", std::to_string(SB_ABI_MAJOR) + "." + std::to_string(SB_ABI_MINOR));
  if (!provider) {
    std::cout << "  NOT LOADED  " << error << "\n";
    return 2;
  }
  const auto& d = provider->description();
  line("plugin ABI", std::to_string(provider->abi_major()) + "." + std::to_string(provider->abi_minor()));
  line("name", d.name);
  line("version", d.version);
  if (!d.description.empty()) line("about", d.description);
  // ABI 1.0 declares no capabilities; the line names what a table of this
  // minor offers, so a later minor's plugin shows what it adds.
  line("capabilities", "chat, list_models (ABI " + std::to_string(provider->abi_major()) + "." +
                           std::to_string(provider->abi_minor()) + " table)");
  line("defaults", d.default_config_json);
  line("schema", d.config_schema_json);
  if (d.max_tokens_limit > 0) line("max_tokens", "at most " + std::to_string(d.max_tokens_limit));
  std::vector<std::string> models;
  sb::ProviderError models_error;
  if (provider->list_models(conformance::config_of(*provider, plan), models, models_error)) {
    std::string all;
    for (const auto& m : models) all += (all.empty() ? "" : ", ") + m;
    line("models", all.empty() ? "(none listed)" : all);
  } else {
    line("models", "list_models failed: " + models_error.code + ": " + models_error.message);
  }
  line("file", trust.empty() ? "only its owner or root may write it or its directory"
                             : "WARNING: a host would refuse it there: " + trust);

  if (!model_given) plan.normal.model = model_name_of(conformance::config_of(*provider, plan));
  if (!slow_given) plan.slow.model = plan.normal.model;
  std::cout << "\n";
  int failed = 0;
  const auto checks = conformance::run_all(*provider, plan);
  for (const auto& c : checks) {
    std::cout << "  " << (c.passed ? "PASS" : "FAIL") << "  " << c.name << "\n        " << c.detail << "\n";
    failed += c.passed ? 0 : 1;
  }
  std::cout << "\n" << (checks.size() - static_cast<std::size_t>(failed)) << " of " << checks.size()
            << " checks passed" << (failed == 0 ? "" : "; see FAIL above") << "\n";
  return failed == 0 ? 0 : 1;
}
