// File: host/plugins/loaded_provider.h
//
// The host's side of the plugin boundary: loads one provider library with
// Boost.DLL, negotiates its ABI before any other call, and wraps the C table
// in typed C++ calls. A LoadedProvider keeps its library mapped for as long as
// the instance lives (the instance is destroyed first, then the library).
#pragma once

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace switchboard {

struct ChatMessage {
  std::string role;
  std::string content;
};

// What the host asks a provider for. config_json is the effective config
// (plugin defaults merged with the stored config), options_json per request.
struct ProviderRequest {
  std::string model;
  std::vector<ChatMessage> messages;
  double temperature = 0.7;
  std::int64_t max_tokens = 2048;
  std::string config_json = "{}";
  std::string options_json = "{}";
};

// Receives a reply as it streams. Both calls happen on the calling thread.
class ChatSink {
 public:
  virtual ~ChatSink() = default;
  // A piece of the reply; return false to stop the stream.
  virtual bool on_delta(std::string_view text) = 0;
  // Polled while the provider waits; return false to stop the stream.
  virtual bool alive() { return true; }
};

enum class ChatStatus { Complete, Error, Cancelled };

struct ChatOutcome {
  ChatStatus status = ChatStatus::Complete;
  std::string finish_reason;          // on Complete
  std::int64_t prompt_tokens = 0;
  std::int64_t completion_tokens = 0;
  std::string error_code;             // on Error
  std::string error_message;          // on Error
};

// Result of a describe() call.
struct ProviderDescription {
  std::string name;
  std::string version;
  std::string description;
  std::string config_schema_json = "{}";
  std::string default_config_json = "{}";
  std::int64_t max_tokens_limit = 0;  // 0: the provider declares none
};

// A call that failed as data: {code, message}.
struct ProviderError {
  std::string code;
  std::string message;
};

class LoadedProvider {
 public:
  // Loads `file`, negotiates, creates an instance and describes it. On failure
  // returns nullptr and sets `error` to a message naming the file and the cause
  // (missing file, not a library, no entry point, wrong ABI, short table, ...).
  // `host_settings_json` (a JSON object: the upstream policy, the CA directory)
  // is set as SB_HOST_SETTINGS_KEY of the config of every chat and
  // list_models call, over anything the config held.
  // `create_settings_json` (a JSON object, plugins.json's "settings") is
  // handed to the plugin's create().
  static std::shared_ptr<LoadedProvider> load(const std::filesystem::path& file,
                                              std::string& error,
                                              const std::string& host_settings_json = "{}",
                                              const std::string& create_settings_json = "{}");
  // The same from a private in-memory copy of the open file `fd`, named `file`
  // in reports. The host maps the copy, never the file: a library rewritten in
  // place cannot change code that is running, and a replaced one loads beside
  // the old version (dlopen(3) would hand back the old handle for the same
  // path) while turns still hold the old one.
  static std::shared_ptr<LoadedProvider> load_copy(int fd, const std::filesystem::path& file,
                                                   std::string& error,
                                                   const std::string& host_settings_json = "{}",
                                                   const std::string& create_settings_json = "{}");
  ~LoadedProvider();
  LoadedProvider(const LoadedProvider&) = delete;
  LoadedProvider& operator=(const LoadedProvider&) = delete;

  const ProviderDescription& description() const { return description_; }
  const std::filesystem::path& file() const { return file_; }
  std::uint32_t abi_major() const { return abi_major_; }
  std::uint32_t abi_minor() const { return abi_minor_; }

  // Safe from many threads at once. Never throws for provider failures: they
  // come back in the outcome.
  ChatOutcome chat(const ProviderRequest& request, ChatSink& sink) const;

  // Fills `models` or `error`; returns true on success.
  bool list_models(const std::string& config_json, std::vector<std::string>& models,
                   ProviderError& error) const;

 private:
  struct Library;
  LoadedProvider() = default;
  static std::shared_ptr<LoadedProvider> negotiate(std::shared_ptr<Library> library,
                                                   const std::filesystem::path& file, std::string& error,
                                                   const std::string& host_settings_json,
                                                   const std::string& create_settings_json);

  std::shared_ptr<Library> library_;
  void* instance_ = nullptr;          // sb_instance*
  const void* api_ = nullptr;         // const sb_provider_api*
  std::filesystem::path file_;
  std::uint32_t abi_major_ = 0;
  std::uint32_t abi_minor_ = 0;
  ProviderDescription description_;
  std::string host_settings_json_ = "{}";
};

}  // namespace switchboard
