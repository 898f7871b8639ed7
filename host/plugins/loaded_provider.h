// File: host/plugins/loaded_provider.h
//
// The host's side of the plugin boundary: loads one provider library with
// Boost.DLL, negotiates its ABI before any other call, and wraps the C table
// in typed C++ calls. A LoadedProvider keeps its library mapped for as long as
// the instance lives (the instance is destroyed first, then the library).
#pragma once

#include "host/plugins/provider_event.h"

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace switchboard {

// One part of a message's content (OpenAI's model).
struct ContentPart {
  enum class Type { Text, ImageUrl };
  Type type = Type::Text;
  std::string text;       // Text
  std::string url;        // ImageUrl: data: or https: URL
  std::string detail;     // ImageUrl: "", "auto", "low", "high"
};

// A message of OpenAI's model: content as text or parts, an assistant's tool
// calls, a tool result's call id, a participant's name.
struct ChatMessage {
  std::string role;     // system, user, assistant, tool
  std::string content;  // the text (with parts: the text parts joined)
  std::vector<ContentPart> parts;      // non-empty when the content came as parts
  std::vector<ToolCall> tool_calls;    // assistant
  std::string tool_call_id;            // tool
  std::string name;
  bool content_null = false;           // null content (an assistant that only called tools)

  ChatMessage() = default;
  ChatMessage(std::string r, std::string c) : role(std::move(r)), content(std::move(c)) {}
};

// What a provider says it handles (SDK 1.1 "capabilities"; a 1.0 plugin: none).
struct Capabilities {
  bool tools = false;
  bool vision = false;
  bool json_output = false;
  bool embeddings = false;
  bool passthrough = false;
};

// What the host asks a provider for. config_json is the effective config
// (plugin defaults merged with the stored config), options_json per request.
// The OpenAI fields the host does not interpret travel as the client's JSON
// text ("" when absent); the host only checks they are allowed.
struct ProviderRequest {
  std::string model;
  std::vector<ChatMessage> messages;
  std::optional<double> temperature;       // absent: the upstream's default
  std::optional<std::int64_t> max_tokens;  // absent: the upstream's default
  bool max_tokens_is_completion = false;   // the client named it max_completion_tokens
  std::string config_json = "{}";
  std::string options_json = "{}";
  std::string tools_json;
  std::string tool_choice_json;
  std::string parallel_tool_calls_json;
  std::string response_format_json;
  std::string response_format_type;        // "text", "json_object", "json_schema", or ""
  bool stream = true;                      // false: the client wants the reply whole
  std::string stream_options_json;         // the client's stream_options, "" when absent
  // Every other field of the client's request: name → JSON text, in order.
  std::vector<std::pair<std::string, std::string>> extra;
};

enum class ChatStatus { Complete, Error, Cancelled };

struct ChatOutcome {
  ChatStatus status = ChatStatus::Complete;
  std::string finish_reason;          // on Complete
  std::int64_t prompt_tokens = 0;
  std::int64_t completion_tokens = 0;
  std::string usage_details_json;     // other usage fields the upstream gave, as a JSON object; "" if none
  std::string error_code;             // on Error
  std::string error_message;          // on Error
};

// embed(): texts in, one vector each out.
struct EmbedRequest {
  std::string model;
  std::vector<std::string> input;
  std::string config_json = "{}";
  std::vector<std::pair<std::string, std::string>> extra;  // name → JSON text
};
struct EmbedResult {
  std::vector<std::vector<double>> vectors;
  std::int64_t prompt_tokens = 0;
};

// Result of a describe() call.
struct ProviderDescription {
  std::string name;
  std::string version;
  std::string description;
  std::string config_schema_json = "{}";
  std::string default_config_json = "{}";
  std::int64_t max_tokens_limit = 0;  // 0: the provider declares none
  Capabilities capabilities;
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

  // Fills `result` or `error`; returns true on success. A provider without
  // embed() (a 1.0 plugin, or NULL) gives error code "unsupported".
  bool embed(const EmbedRequest& request, EmbedResult& result, ProviderError& error) const;

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
