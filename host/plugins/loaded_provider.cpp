// File: host/plugins/loaded_provider.cpp
//
// Boost.DLL loading and ABI negotiation of one provider plugin, and the
// C-callback glue that turns table calls into typed results. The only file of
// the host that includes Boost.DLL.
#include "host/plugins/loaded_provider.h"

#include "host/json_text.h"

#include <switchboard/provider.h>

// BOOST_DLL_USE_STD_FS comes from the build: std::filesystem, no boost_filesystem.
#include <boost/dll/shared_library.hpp>

#include <nlohmann/json.hpp>

#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <system_error>

namespace switchboard {

struct LoadedProvider::Library {
  boost::dll::shared_library lib;
  // A private in-memory copy the library was mapped from (load_copy), closed
  // only after the unload: while it is open its /proc/self/fd name is unique
  // among loaded libraries, which dlopen(3) matches by name first.
  int copy_fd = -1;

  Library() = default;
  Library(const Library&) = delete;
  Library& operator=(const Library&) = delete;
  ~Library() {
    lib.unload();
    if (copy_fd >= 0) ::close(copy_fd);
  }
};

namespace {

using Json = nlohmann::json;

std::string abi_string(std::uint32_t major, std::uint32_t minor) {
  return std::to_string(major) + "." + std::to_string(minor);
}

// Collects what a table call reports through the callbacks.
struct CallState {
  std::string result;
  std::string error_json;
  ChatSink* sink = nullptr;
  ChatOutcome* outcome = nullptr;
  bool saw_terminal = false;
};

void on_result(void* ctx, const char* json, size_t size) {
  static_cast<CallState*>(ctx)->result.assign(json, size);
}

void on_error(void* ctx, const char* json, size_t size) {
  static_cast<CallState*>(ctx)->error_json.assign(json, size);
}

int on_alive(void* ctx) {
  auto* state = static_cast<CallState*>(ctx);
  return state->sink != nullptr && state->sink->alive() ? 1 : 0;
}

int on_wait(void* ctx, uint32_t timeout_ms) {
  auto* state = static_cast<CallState*>(ctx);
  return state->sink != nullptr && state->sink->wait(std::chrono::milliseconds(timeout_ms)) ? 1 : 0;
}

int on_emit(void* ctx, uint32_t kind, const char* json, size_t size) {
  auto* state = static_cast<CallState*>(ctx);
  ChatOutcome& out = *state->outcome;
  if (kind == SB_EVENT_TEXT || kind == SB_EVENT_TEXT_HELD) {
    // The per-token path (SDK 1.2): the text itself, no JSON on either side.
    const std::string_view text(json, size);
    std::string repaired;
    ProviderEvent e = ProviderEvent::of_text(text);
    if (!valid_utf8(text)) {
      repaired = utf8_repaired(text);
      e.text = repaired;
    }
    e.held = kind == SB_EVENT_TEXT_HELD;
    return state->sink->on_event(e) ? 1 : 0;
  }
  // Any other kind ends what TEXT_HELD let the writers hold: alive() sends it.
  if (kind == SB_EVENT_USAGE || kind == SB_EVENT_DONE || kind == SB_EVENT_ERROR) (void)state->sink->alive();
  try {
    const Json payload = Json::parse(json, json + size);
    switch (kind) {
      case SB_EVENT_DELTA: {
        const auto& content = payload.at("content").get_ref<const std::string&>();
        return state->sink->on_event(ProviderEvent::of_text(content)) ? 1 : 0;
      }
      case SB_EVENT_TOOL_CALL: {
        ProviderEvent e;
        e.kind = ProviderEvent::Kind::ToolCall;
        e.tool_call.index = payload.value("index", 0);
        e.tool_call.id = payload.value("id", std::string());
        e.tool_call.name = payload.value("name", std::string());
        e.tool_call.arguments = payload.value("arguments", std::string());
        return state->sink->on_event(e) ? 1 : 0;
      }
      case SB_EVENT_USAGE: {
        out.prompt_tokens = payload.value("prompt_tokens", std::int64_t{0});
        out.completion_tokens = payload.value("completion_tokens", std::int64_t{0});
        // Whatever else the upstream counted (cached, reasoning tokens) is kept as given.
        Json details = payload;
        for (const char* counted : {"prompt_tokens", "completion_tokens", "total_tokens"}) details.erase(counted);
        out.usage_details_json = details.empty() ? std::string() : details.dump();
        return 1;
      }
      case SB_EVENT_DONE:
        out.status = ChatStatus::Complete;
        out.finish_reason = payload.value("finish_reason", std::string("stop"));
        state->saw_terminal = true;
        return 1;
      case SB_EVENT_ERROR:
        out.status = ChatStatus::Error;
        out.error_code = payload.value("code", std::string("provider_error"));
        out.error_message = payload.value("message", std::string());
        state->saw_terminal = true;
        return 1;
      default:
        return 1;  // kinds from a later minor: ignored, by contract
    }
  } catch (const std::exception& e) {
    // A plugin that emits malformed JSON is a broken plugin: stop it.
    out.status = ChatStatus::Error;
    out.error_code = "provider_protocol";
    out.error_message = std::string("plugin emitted a malformed event: ") + e.what();
    state->saw_terminal = true;
    return 0;
  }
}

sb_host_callbacks callbacks_for(CallState& state) {
  sb_host_callbacks cb{};
  cb.struct_size = sizeof(sb_host_callbacks);
  cb.ctx = &state;
  cb.result = &on_result;
  cb.emit = &on_emit;
  cb.alive = &on_alive;
  cb.error = &on_error;
  cb.wait = &on_wait;
  return cb;
}

// The effective config with the host's settings set over whatever it held
// under their key: this, not the config's author, decides them.
Json with_host_settings(const std::string& config_json, const std::string& host_settings_json) {
  Json config = Json::parse(config_json.empty() ? "{}" : config_json);
  if (!config.is_object()) config = Json::object();
  config[SB_HOST_SETTINGS_KEY] = Json::parse(host_settings_json);
  return config;
}

ProviderError parse_error(const std::string& json, const char* fallback_code) {
  ProviderError e{fallback_code, "plugin reported an error without details"};
  if (json.empty()) return e;
  try {
    const Json j = Json::parse(json);
    e.code = j.value("code", e.code);
    e.message = j.value("message", e.message);
  } catch (const std::exception&) {
    e.message = "plugin reported a malformed error";
  }
  return e;
}

}  // namespace

std::shared_ptr<LoadedProvider> LoadedProvider::load(const std::filesystem::path& file,
                                                     std::string& error,
                                                     const std::string& host_settings_json,
                                                     const std::string& create_settings_json) {
  const std::string name = file.string();
  std::error_code fs_ec;
  if (!std::filesystem::exists(file, fs_ec)) {
    error = "plugin file not found: " + name;
    return nullptr;
  }
  auto library = std::make_shared<Library>();
  try {
    // rtld_now: an unresolved symbol fails here, not at the first chat.
    library->lib.load(file, boost::dll::load_mode::rtld_now | boost::dll::load_mode::rtld_local);
  } catch (const std::exception& e) {
    error = "not a loadable library: " + name + ": " + e.what();
    return nullptr;
  }
  return negotiate(std::move(library), file, error, host_settings_json, create_settings_json);
}

std::shared_ptr<LoadedProvider> LoadedProvider::load_copy(int fd, const std::filesystem::path& file,
                                                          std::string& error,
                                                          const std::string& host_settings_json,
                                                          const std::string& create_settings_json) {
  const std::string name = file.string();
  auto library = std::make_shared<Library>();
  // memfd_create(2): an anonymous file, so the copy is never on a disk that
  // may be mounted noexec and leaves nothing behind.
  library->copy_fd = ::memfd_create(("sb-plugin:" + file.filename().string()).c_str(), MFD_CLOEXEC);
  if (library->copy_fd < 0) {
    error = "cannot copy plugin " + name + " into memory: " + std::strerror(errno);
    return nullptr;
  }
  if (::lseek(fd, 0, SEEK_SET) != 0) {
    error = "cannot read plugin " + name + ": " + std::strerror(errno);
    return nullptr;
  }
  char buffer[1 << 16];
  for (;;) {
    const ssize_t got = ::read(fd, buffer, sizeof buffer);
    if (got < 0 && errno == EINTR) continue;
    if (got < 0) {
      error = "cannot read plugin " + name + ": " + std::strerror(errno);
      return nullptr;
    }
    if (got == 0) break;
    for (ssize_t done = 0; done < got;) {
      const ssize_t put = ::write(library->copy_fd, buffer + done, static_cast<size_t>(got - done));
      if (put < 0 && errno == EINTR) continue;
      if (put < 0) {
        error = "cannot copy plugin " + name + " into memory: " + std::strerror(errno);
        return nullptr;
      }
      done += put;
    }
  }
  const std::filesystem::path mapped = "/proc/self/fd/" + std::to_string(library->copy_fd);
  try {
    library->lib.load(mapped, boost::dll::load_mode::rtld_now | boost::dll::load_mode::rtld_local);
  } catch (const std::exception& e) {
    // dlerror(3) names the copy; the reader wants the file.
    std::string why = e.what();
    for (auto at = why.find(mapped.string()); at != std::string::npos; at = why.find(mapped.string(), at + 1))
      why.replace(at, mapped.string().size(), "the file");
    error = "not a loadable library: " + name + ": " + why;
    return nullptr;
  }
  return negotiate(std::move(library), file, error, host_settings_json, create_settings_json);
}

std::shared_ptr<LoadedProvider> LoadedProvider::negotiate(std::shared_ptr<Library> library,
                                                          const std::filesystem::path& file,
                                                          std::string& error,
                                                          const std::string& host_settings_json,
                                                          const std::string& create_settings_json) {
  const std::string name = file.string();
  if (!library->lib.has(SB_ENTRY_SYMBOL)) {
    error = "no entry point [" SB_ENTRY_SYMBOL "] in shared library [" + name + "]";
    return nullptr;
  }
  const auto entry = library->lib.get<const sb_provider_api*()>(SB_ENTRY_SYMBOL);
  const sb_provider_api* api = entry();
  if (api == nullptr) {
    error = "entry point of " + name + " returned no function table";
    return nullptr;
  }
  // Version first: nothing else in the table is read before it checks out.
  if (api->struct_size < SB_API_HEADER_SIZE) {
    error = "plugin " + name + " has a short function table (" + std::to_string(api->struct_size) +
            " bytes, too small to hold an ABI version)";
    return nullptr;
  }
  const std::string plugin_abi = abi_string(api->abi_major, api->abi_minor);
  const std::string host_abi = abi_string(SB_ABI_MAJOR, SB_ABI_MINOR);
  if (api->abi_major != SB_ABI_MAJOR) {
    error = "plugin " + name + " uses ABI " + plugin_abi + ", this host uses ABI " + host_abi +
            ": major versions differ; rebuild the plugin against this SDK";
    return nullptr;
  }
  if (api->abi_minor > SB_ABI_MINOR) {
    error = "plugin " + name + " uses ABI " + plugin_abi + ", newer than this host's ABI " +
            host_abi + "; upgrade switchboard";
    return nullptr;
  }
  if (api->struct_size < offsetof(sb_provider_api, chat) + sizeof(api->chat) ||
      api->create == nullptr || api->destroy == nullptr || api->describe == nullptr ||
      api->list_models == nullptr || api->chat == nullptr) {
    error = "plugin " + name + " (ABI " + plugin_abi + ") has a short function table: " +
            std::to_string(api->struct_size) + " bytes, ABI " + host_abi + " needs " +
            std::to_string(offsetof(sb_provider_api, chat) + sizeof(api->chat));
    return nullptr;
  }

  std::shared_ptr<LoadedProvider> provider(new LoadedProvider());
  provider->library_ = library;
  provider->api_ = api;
  provider->file_ = file;
  provider->abi_major_ = api->abi_major;
  provider->abi_minor_ = api->abi_minor;
  try {
    if (!Json::parse(host_settings_json).is_object()) throw std::invalid_argument("not an object");
    provider->host_settings_json_ = host_settings_json;
  } catch (const std::exception& e) {
    error = "host settings for plugin " + name + " are not a JSON object: " + e.what();
    return nullptr;
  }

  CallState state;
  sb_host_callbacks cb = callbacks_for(state);
  sb_instance* instance = nullptr;
  const std::string& settings = create_settings_json;
  if (api->create(settings.data(), settings.size(), &instance, &cb) != SB_STATUS_OK ||
      instance == nullptr) {
    const ProviderError e = parse_error(state.error_json, "create_failed");
    error = "plugin " + name + " failed to create its provider: " + e.code + ": " + e.message;
    return nullptr;
  }
  provider->instance_ = instance;

  state = CallState{};
  if (api->describe(instance, &cb) != SB_STATUS_OK) {
    const ProviderError e = parse_error(state.error_json, "describe_failed");
    error = "plugin " + name + " failed to describe itself: " + e.code + ": " + e.message;
    return nullptr;  // the destructor destroys the instance before unloading
  }
  try {
    const Json d = Json::parse(state.result);
    ProviderDescription& desc = provider->description_;
    desc.name = d.at("name").get<std::string>();
    desc.version = d.value("version", std::string());
    desc.description = d.value("description", std::string());
    desc.config_schema_json = d.value("config_schema", Json::object()).dump();
    desc.default_config_json = d.value("default_config", Json::object()).dump();
    if (d.contains("max_tokens_limit") && d["max_tokens_limit"].is_number_integer())
      desc.max_tokens_limit = std::max<std::int64_t>(0, d["max_tokens_limit"].get<std::int64_t>());
    if (d.contains("capabilities") && d["capabilities"].is_array()) {
      for (const auto& c : d["capabilities"]) {
        if (!c.is_string()) continue;  // unknown names, from a later minor, are ignored
        const std::string& name = c.get_ref<const std::string&>();
        Capabilities& caps = desc.capabilities;
        if (name == SB_CAP_TOOLS) caps.tools = true;
        if (name == SB_CAP_VISION) caps.vision = true;
        if (name == SB_CAP_JSON_OUTPUT) caps.json_output = true;
        if (name == SB_CAP_EMBEDDINGS) caps.embeddings = sb_has_member(api, embed);
        if (name == SB_CAP_PASSTHROUGH) caps.passthrough = true;
      }
    }
  } catch (const std::exception& e) {
    error = "plugin " + name + " described itself with malformed JSON: " + e.what();
    return nullptr;
  }
  return provider;
}

LoadedProvider::~LoadedProvider() {
  // The instance's code lives in the library: destroy it while still mapped.
  if (instance_ != nullptr)
    static_cast<const sb_provider_api*>(api_)->destroy(static_cast<sb_instance*>(instance_));
  instance_ = nullptr;
  library_.reset();
}

namespace {

// A message in OpenAI's model (SDK 1.1).
Json message_json(const ChatMessage& m) {
  Json j = {{"role", m.role}};
  if (!m.parts.empty()) {
    Json parts = Json::array();
    for (const auto& p : m.parts) {
      if (p.type == ContentPart::Type::Text) {
        parts.push_back({{"type", "text"}, {"text", p.text}});
      } else {
        Json image = {{"url", p.url}};
        if (!p.detail.empty()) image["detail"] = p.detail;
        parts.push_back({{"type", "image_url"}, {"image_url", std::move(image)}});
      }
    }
    j["content"] = std::move(parts);
  } else {
    j["content"] = m.content_null ? Json(nullptr) : Json(m.content);
  }
  if (!m.name.empty()) j["name"] = m.name;
  if (!m.tool_call_id.empty()) j["tool_call_id"] = m.tool_call_id;
  if (!m.tool_calls.empty()) {
    Json calls = Json::array();
    for (const auto& c : m.tool_calls)
      calls.push_back({{"id", c.id}, {"type", "function"}, {"function", {{"name", c.name}, {"arguments", c.arguments}}}});
    j["tool_calls"] = std::move(calls);
  }
  return j;
}

Json extra_json(const std::vector<std::pair<std::string, std::string>>& extra) {
  Json j = Json::object();
  for (const auto& [name, value] : extra) j[name] = Json::parse(value);
  return j;
}

// The chat request as a plugin of ABI minor `minor` reads it: a 1.0 plugin
// gets text messages and the sampling values it always got.
Json request_json(const ProviderRequest& request, std::uint32_t minor) {
  Json body = {{"model", request.model}};
  Json messages = Json::array();
  if (minor >= 1) {
    for (const auto& m : request.messages) messages.push_back(message_json(m));
  } else {
    for (const auto& m : request.messages) messages.push_back({{"role", m.role}, {"content", m.content}});
  }
  body["messages"] = std::move(messages);
  if (request.temperature) body["temperature"] = *request.temperature;
  if (request.max_tokens) body["max_tokens"] = *request.max_tokens;
  if (minor < 1) return body;
  if (request.max_tokens && request.max_tokens_is_completion) body["max_completion_tokens"] = *request.max_tokens;
  for (const auto& [key, text] : {std::pair{"tools", &request.tools_json}, std::pair{"tool_choice", &request.tool_choice_json},
                                  std::pair{"parallel_tool_calls", &request.parallel_tool_calls_json},
                                  std::pair{"response_format", &request.response_format_json},
                                  std::pair{"stream_options", &request.stream_options_json}})
    if (!text->empty()) body[key] = Json::parse(*text);
  body["stream"] = request.stream;
  body["extra"] = extra_json(request.extra);
  return body;
}

}  // namespace

ChatOutcome LoadedProvider::chat(const ProviderRequest& request, ChatSink& sink) const {
  ChatOutcome outcome;
  Json body;
  try {
    body = request_json(request, abi_minor_);
    body["config"] = with_host_settings(request.config_json, host_settings_json_);
    body["options"] = Json::parse(request.options_json.empty() ? "{}" : request.options_json);
  } catch (const std::exception& e) {
    outcome.status = ChatStatus::Error;
    outcome.error_code = "invalid_config";
    outcome.error_message = std::string("config or options are not valid JSON: ") + e.what();
    return outcome;
  }
  const std::string json = body.dump(-1, ' ', false, Json::error_handler_t::replace);

  CallState state;
  state.sink = &sink;
  state.outcome = &outcome;
  sb_host_callbacks cb = callbacks_for(state);
  const auto* api = static_cast<const sb_provider_api*>(api_);
  const sb_status status = api->chat(static_cast<sb_instance*>(instance_), json.data(), json.size(), &cb);
  if (status == SB_STATUS_CANCELLED) {
    outcome.status = ChatStatus::Cancelled;
  } else if (status != SB_STATUS_OK && outcome.status != ChatStatus::Error) {
    outcome.status = ChatStatus::Error;
    outcome.error_code = "provider_error";
    outcome.error_message = "provider failed without reporting an error";
  } else if (status == SB_STATUS_OK && !state.saw_terminal) {
    outcome.status = ChatStatus::Complete;
    outcome.finish_reason = "stop";
  }
  return outcome;
}

bool LoadedProvider::embed(const EmbedRequest& request, EmbedResult& result, ProviderError& error) const {
  const auto* api = static_cast<const sb_provider_api*>(api_);
  if (!sb_has_member(api, embed)) {
    error = {"unsupported", "provider " + description_.name + " does not compute embeddings"};
    return false;
  }
  std::string json;
  try {
    Json body = {{"model", request.model}, {"input", request.input}, {"extra", extra_json(request.extra)}};
    body["config"] = with_host_settings(request.config_json, host_settings_json_);
    json = body.dump(-1, ' ', false, Json::error_handler_t::replace);
  } catch (const std::exception& e) {
    error = {"invalid_config", std::string("config is not valid JSON: ") + e.what()};
    return false;
  }
  CallState state;
  sb_host_callbacks cb = callbacks_for(state);
  if (api->embed(static_cast<sb_instance*>(instance_), json.data(), json.size(), &cb) != SB_STATUS_OK) {
    error = parse_error(state.error_json, "provider_error");
    return false;
  }
  try {
    const Json j = Json::parse(state.result);
    result.vectors = j.at("data").get<std::vector<std::vector<double>>>();
    if (j.contains("usage") && j["usage"].is_object()) result.prompt_tokens = j["usage"].value("prompt_tokens", std::int64_t{0});
    if (result.vectors.size() != request.input.size())
      throw std::runtime_error(std::to_string(result.vectors.size()) + " vectors for " +
                               std::to_string(request.input.size()) + " inputs");
    return true;
  } catch (const std::exception& e) {
    error = {"provider_protocol", std::string("malformed embeddings: ") + e.what()};
    return false;
  }
}

bool LoadedProvider::list_models(const std::string& config_json, std::vector<std::string>& models,
                                 ProviderError& error) const {
  std::string config;
  try {
    config = with_host_settings(config_json, host_settings_json_).dump(-1, ' ', false, Json::error_handler_t::replace);
  } catch (const std::exception& e) {
    error = {"invalid_config", std::string("config is not valid JSON: ") + e.what()};
    return false;
  }
  CallState state;
  sb_host_callbacks cb = callbacks_for(state);
  const auto* api = static_cast<const sb_provider_api*>(api_);
  if (api->list_models(static_cast<sb_instance*>(instance_), config.data(), config.size(), &cb) != SB_STATUS_OK) {
    error = parse_error(state.error_json, "provider_error");
    return false;
  }
  try {
    models = Json::parse(state.result).at("models").get<std::vector<std::string>>();
    return true;
  } catch (const std::exception& e) {
    error = {"provider_protocol", std::string("malformed model list: ") + e.what()};
    return false;
  }
}

}  // namespace switchboard
