// File: host/services/result.h
//
// Expected failures are values: every service call returns Result<T>, either a
// value or an Error with a canonical kind (which the HTTP layer maps to a
// status) and a stable code string clients can switch on.
#pragma once

#include <string>
#include <utility>
#include <variant>

namespace switchboard {

enum class ErrorKind {
  InvalidArgument,      // fix the request; retrying it unchanged fails again
  Unauthenticated,      // no key, or a wrong, revoked or expired one
  PermissionDenied,     // the caller is known but lacks the right
  NotFound,             // the id names nothing (or nothing of the caller's)
  Conflict,             // the state forbids it now (name taken, config in use, no default)
  Unavailable,          // a provider is not loaded; fix the deployment
  Upstream,             // the model's server failed or refused
  UpstreamTimeout,      // the model's server did not answer in time
  ShuttingDown,         // the host is stopping; retry elsewhere or later
  Internal,             // a bug or a broken database: logged in full
};

struct Error {
  ErrorKind kind = ErrorKind::Internal;
  std::string code;     // stable, snake_case: "session_not_found", "upstream_timeout", ...
  std::string message;  // for humans; never a secret
  std::string field;    // the request field at fault, for InvalidArgument
};

inline Error invalid(std::string field, std::string message) {
  return {ErrorKind::InvalidArgument, "invalid_" + field, std::move(message), field};
}

inline Error permission_denied(std::string message) {
  return {ErrorKind::PermissionDenied, "permission_denied", std::move(message), ""};
}

template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}      // NOLINT: implicit by design
  Result(Error error) : v_(std::move(error)) {}  // NOLINT: implicit by design

  bool ok() const noexcept { return v_.index() == 0; }
  explicit operator bool() const noexcept { return ok(); }
  T& value() & { return std::get<0>(v_); }
  const T& value() const& { return std::get<0>(v_); }
  T&& value() && { return std::get<0>(std::move(v_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const Error& error() const { return std::get<1>(v_); }

 private:
  std::variant<T, Error> v_;
};

struct Unit {};

}  // namespace switchboard
