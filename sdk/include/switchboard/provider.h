/*
 * File: switchboard/provider.h
 *
 * The whole plugin contract of Switchboard, in C. A provider plugin is a shared
 * library that exports one function, sb_provider_entry(), returning a const
 * function table. Nothing C++ crosses this boundary: strings are UTF-8 with an
 * explicit length, structured payloads are JSON text, and errors come back as
 * data ({"code": "...", "message": "..."}), never as exceptions.
 *
 * Most plugin authors use the C++ face in provider.hpp instead of this file.
 */
#ifndef SWITCHBOARD_PROVIDER_H
#define SWITCHBOARD_PROVIDER_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/*
 * ABI version.
 * - Bump SB_ABI_MAJOR when an existing member changes meaning, type or position,
 *   or is removed. Hosts refuse plugins of any other major.
 * - Bump SB_ABI_MINOR when members are appended at the end of a table (mark them
 *   "since 1.N"). A host refuses plugins of a newer minor than it knows; an older
 *   minor loads, and the host checks sb_has_member() before calling later members.
 */
#define SB_ABI_MAJOR 1
#define SB_ABI_MINOR 2

/* Name of the one symbol every plugin exports. */
#define SB_ENTRY_SYMBOL "sb_provider_entry"

/*
 * The member of the effective config (chat's "config", list_models' config)
 * that holds the host's own settings for the plugin. The host always sets it,
 * overriding anything else, and refuses it in stored configs and requests, so
 * a plugin may trust it:
 *   {"upstream_deny": ["169.254.0.0/16", "fe80::/10", "host.name", ...],
 *    "upstream_allow": [...],   empty: any address not denied
 *    "ca_dir": "..."}           the only directory ca_file may name ("" : none)
 * A plugin driven without it applies its own defaults.
 */
#define SB_HOST_SETTINGS_KEY "_switchboard"

/* Status of every table call. */
typedef enum sb_status {
  SB_STATUS_OK = 0,
  SB_STATUS_ERROR = 1,     /* details were reported as {code,message} JSON */
  SB_STATUS_CANCELLED = 2  /* chat stopped because the host asked it to */
} sb_status;

/*
 * Kinds of events a chat stream emits, in this order: (DELTA | TEXT | TEXT_HELD | TOOL_CALL)*, USAGE?,
 * then DONE or ERROR. A host ignores kinds it does not know.
 */
typedef enum sb_event_kind {
  SB_EVENT_DELTA = 1, /* {"content": "..."} a piece of the reply */
  /*
   * {"prompt_tokens": N, "completion_tokens": N} and, since 1.1, any detail the
   * upstream gave (e.g. "prompt_tokens_details": {"cached_tokens": N},
   * "completion_tokens_details": {"reasoning_tokens": N}); the host keeps it.
   */
  SB_EVENT_USAGE = 2,
  /* {"finish_reason": "stop"|"length"|"tool_calls"|...} the reply is complete */
  SB_EVENT_DONE = 3,
  SB_EVENT_ERROR = 4, /* {"code": "...", "message": "..."} the stream failed */
  /*
   * since 1.1: a piece of a tool call, as OpenAI streams them:
   * {"index": N, "id"?: "call_..", "name"?: "fn", "arguments": "fragment"}.
   * The first piece of call N carries its id and name; later pieces append to
   * its arguments (a JSON text once whole). Sent only for requests with "tools".
   */
  SB_EVENT_TOOL_CALL = 5,
  /*
   * since 1.2: a piece of the reply, as DELTA, but the payload is the text
   * itself (UTF-8, not JSON): no encode in the plugin, no parse in the host,
   * per token. A host replaces invalid UTF-8 with U+FFFD. A plugin built
   * against 1.2 runs only on hosts of 1.2 or later, which all read it.
   */
  SB_EVENT_TEXT = 6,
  /*
   * since 1.2: as TEXT, and more may follow at once: the host may hold it
   * (with the ones after it) and send them to its client together, until the
   * plugin next emits another kind, calls alive() or wait(), or returns. For
   * plugins that read several events from one upstream read and call alive()
   * before each wait (as every shipped network plugin does): one write to the
   * client per upstream read instead of one per event.
   */
  SB_EVENT_TEXT_HELD = 7
} sb_event_kind;

/*
 * since 1.1: capabilities a provider declares in describe() as
 * "capabilities": ["tools", "vision", ...]. The host refuses (400, naming the
 * capability and the provider) a request that needs one the provider lacks:
 *   "tools"        request "tools", "tool_choice", assistant "tool_calls", "tool" messages
 *   "vision"       "image_url" content parts
 *   "json_output"  "response_format" other than {"type": "text"}
 *   "embeddings"   the embed() member
 *   "passthrough"  the request's "extra" object is forwarded verbatim upstream
 * A 1.0 plugin declares none.
 */
#define SB_CAP_TOOLS "tools"
#define SB_CAP_VISION "vision"
#define SB_CAP_JSON_OUTPUT "json_output"
#define SB_CAP_EMBEDDINGS "embeddings"
#define SB_CAP_PASSTHROUGH "passthrough"

/*
 * Callbacks the host passes into each call.
 *
 * OWNERSHIP: every buffer passed to a callback is borrowed for the duration of
 * that callback only; the receiver copies what it keeps. The struct itself is
 * owned by the host and valid until the call it was passed to returns.
 * THREADING: callbacks are invoked on the thread that made the call, never after
 * the call returned.
 */
typedef struct sb_host_callbacks {
  /* sizeof(sb_host_callbacks) as the host compiled it. */
  size_t struct_size;
  /* Opaque host pointer handed back to every callback. */
  void* ctx;
  /*
   * Receives the JSON result of describe() and list_models().
   * @param ctx  the ctx member above
   * @param json UTF-8 JSON, not NUL-terminated
   * @param size length of json in bytes
   */
  void (*result)(void* ctx, const char* json, size_t size);
  /*
   * Receives one chat event.
   * @param kind an sb_event_kind
   * @param json the event payload (see sb_event_kind)
   * @return non-zero to go on; 0 when the host wants the stream stopped. After a
   *         0 the plugin stops promptly (closing any upstream request) and
   *         returns SB_STATUS_CANCELLED.
   */
  int (*emit)(void* ctx, uint32_t kind, const char* json, size_t size);
  /*
   * Polled by a plugin while it waits (for an upstream, or a timer).
   * @return non-zero while the host still wants the reply; 0 once it wants the
   *         stream stopped. Must be cheap: plugins call it every few milliseconds.
   */
  int (*alive)(void* ctx);
  /*
   * Receives {"code": "...", "message": "..."} for a failed describe(), create()
   * or list_models(). Called at most once, before SB_STATUS_ERROR is returned.
   * Chat failures are SB_EVENT_ERROR events instead.
   */
  void (*error)(void* ctx, const char* json, size_t size);

  /* since 1.2: check sb_has_callback(cb, wait) before calling it */
  /*
   * Optional: waits up to timeout_ms without burning a thread's time on
   * polling; returns early once the host wants the stream stopped (the client
   * left, shutdown) and may return early for no reason. A plugin that pauses
   * (a timer, a rate limit) calls it in a loop instead of sleeping and polling
   * alive(); one waiting for its upstream keeps polling alive().
   * @return as alive(): non-zero while the host still wants the reply.
   * THREADING: only during chat(), on its thread.
   */
  int (*wait)(void* ctx, uint32_t timeout_ms);
} sb_host_callbacks;

/*
 * True when the host's callbacks hold member `member` (appended in later
 * minors) and it is set.
 */
#define sb_has_callback(cb, member)                                      \
  ((cb)->struct_size >= offsetof(sb_host_callbacks, member) +           \
                            sizeof(((sb_host_callbacks*)0)->member) &&  \
   (cb)->member != NULL)

/* A provider instance; opaque to the host. */
typedef struct sb_instance sb_instance;

/*
 * The function table. Members are only ever appended (see SB_ABI_MINOR).
 * THREADING: after create() returns, describe(), list_models() and chat() may be
 * called from many threads at once on the same instance.
 */
typedef struct sb_provider_api {
  /* sizeof(sb_provider_api) as the plugin compiled it. */
  size_t struct_size;
  /* SB_ABI_MAJOR / SB_ABI_MINOR the plugin was built against. */
  uint32_t abi_major;
  uint32_t abi_minor;

  /*
   * Creates an instance.
   * @param settings_json host settings for the instance ({} today)
   * @param out receives the instance on SB_STATUS_OK
   * @return SB_STATUS_OK, or SB_STATUS_ERROR after cb->error
   * OWNERSHIP: the host owns *out and frees it with destroy().
   */
  sb_status (*create)(const char* settings_json, size_t size, sb_instance** out,
                      const sb_host_callbacks* cb);
  /*
   * Destroys an instance. No other call on it may be running.
   */
  void (*destroy)(sb_instance* instance);
  /*
   * Describes the provider through cb->result:
   * {"name", "version", "description",
   *  "config_schema": {field: {"type", "description", "minimum"?, "maximum"?}},
   *  "default_config": {...}, "max_tokens_limit"?: N,
   *  "capabilities"?: ["tools", ...]}                            (since 1.1)
   * "type" is one JSON type name or a list of them; the host refuses options
   * (stored or per request) of another type or outside minimum..maximum.
   * "max_tokens_limit", when present, is the largest max_tokens the provider
   * takes; the host refuses larger requests.
   */
  sb_status (*describe)(sb_instance* instance, const sb_host_callbacks* cb);
  /*
   * Lists the models the provider offers for an effective config, through
   * cb->result as {"models": ["...", ...]}.
   * @param config_json the effective config (defaults merged with the stored one)
   */
  sb_status (*list_models)(sb_instance* instance, const char* config_json, size_t size,
                           const sb_host_callbacks* cb);
  /*
   * Runs one chat completion, streaming events through cb->emit.
   * @param request_json {"model", "messages": [{"role","content"}], "temperature",
   *        "max_tokens", "config": {effective config}, "options": {...}}
   *        Since 1.1 (a host sends these only to plugins of minor >= 1):
   *        - "temperature" and "max_tokens" are absent when the client sent none;
   *          "max_completion_tokens" is set (same value as "max_tokens") when the
   *          client used that name;
   *        - a message is OpenAI's: "content" a string, null, or a list of parts
   *          ({"type": "text", "text"} | {"type": "image_url", "image_url":
   *          {"url": "data:..." or "https://...", "detail"?}}); "name"; an
   *          assistant's "tool_calls": [{"id", "type": "function", "function":
   *          {"name", "arguments"}}]; role "tool" with "tool_call_id";
   *        - "tools", "tool_choice", "parallel_tool_calls", "response_format"
   *          as OpenAI defines them, when the client sent them;
   *        - "stream": false when the client wants the reply whole (a plugin
   *          may then call its upstream without streaming; events are the same);
   *          "stream_options" as the client sent them;
   *        - "extra": {every other field of the client's request}, for plugins
   *          that declare "passthrough".
   * @return SB_STATUS_OK after a DONE event, SB_STATUS_ERROR after an ERROR event,
   *         SB_STATUS_CANCELLED when emit() returned 0 or alive() turned 0.
   */
  sb_status (*chat)(sb_instance* instance, const char* request_json, size_t size,
                    const sb_host_callbacks* cb);

  /* since 1.1 */
  /*
   * Optional (NULL, or absent from a 1.0 table): embeds texts. The host calls it
   * only for providers that declare "embeddings".
   * @param request_json {"model", "input": ["text", ...], "config": {effective
   *        config}, "extra": {other request fields: "dimensions", ...}}
   * @return SB_STATUS_OK after cb->result received {"data": [[number, ...], ...]
   *         (one vector per input, in order), "usage": {"prompt_tokens": N,
   *         "total_tokens": N}}; SB_STATUS_ERROR after cb->error.
   * OWNERSHIP: request_json is borrowed for the call.
   * THREADING: as chat().
   */
  sb_status (*embed)(sb_instance* instance, const char* request_json, size_t size,
                     const sb_host_callbacks* cb);
} sb_provider_api;

/*
 * True when a table of this struct_size holds member `member` (for members
 * appended in later minors). Use before calling any "since 1.N" member.
 */
#define sb_has_member(api, member)                                      \
  ((api)->struct_size >= offsetof(sb_provider_api, member) +            \
                             sizeof(((sb_provider_api*)0)->member) &&   \
   (api)->member != NULL)

/* Smallest table a host can read the version from. */
#define SB_API_HEADER_SIZE (offsetof(sb_provider_api, abi_minor) + sizeof(uint32_t))

/*
 * The one exported entry point.
 * @return a table with static storage duration; never NULL.
 * THREADING: may be called from any thread, any number of times.
 */
typedef const sb_provider_api* (*sb_provider_entry_fn)(void);

#ifdef __cplusplus
}
#endif

#endif /* SWITCHBOARD_PROVIDER_H */
