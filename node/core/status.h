// Status and Result<T>: the error style of the Logic layer.
//
// A Status is ok or carries an error code and a message a user can act on. Codes map
// one-to-one onto HTTP status codes at the Resource layer (see http_status()), so an
// error raised deep in a service reaches the client with the right status and text.
// Exceptions are used only while parsing configuration at start-up.
#pragma once

#include <cassert>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace fvce {

enum class ErrorCode {
  ok = 0,
  invalid_argument,  // 400: malformed or schema-invalid input
  unauthenticated,   // 401
  forbidden,         // 403: e.g. a path outside the work root
  not_found,         // 404
  conflict,          // 409: the request contradicts the current state
  too_large,         // 413
  rate_limited,      // 429: too many requests from one user or client
  unavailable,       // 503: pool full, shutting down, peer unreachable
  timeout,           // 504: a deadline expired
  io_error,          // 500: the local file system failed
  internal,          // 500: a bug
};

std::string_view to_string(ErrorCode code);
// Parses the wire spelling produced by to_string(); unknown spellings map to internal.
ErrorCode error_code_from_string(std::string_view text);
int http_status(ErrorCode code);

class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(ErrorCode code, std::string message) : code_(code), message_(std::move(message)) {}

  static Status Ok() { return {}; }
  static Status InvalidArgument(std::string m) {
    return {ErrorCode::invalid_argument, std::move(m)};
  }
  static Status Forbidden(std::string m) { return {ErrorCode::forbidden, std::move(m)}; }
  static Status NotFound(std::string m) { return {ErrorCode::not_found, std::move(m)}; }
  static Status Conflict(std::string m) { return {ErrorCode::conflict, std::move(m)}; }
  static Status TooLarge(std::string m) { return {ErrorCode::too_large, std::move(m)}; }
  static Status RateLimited(std::string m) { return {ErrorCode::rate_limited, std::move(m)}; }
  static Status Unavailable(std::string m) { return {ErrorCode::unavailable, std::move(m)}; }
  static Status Timeout(std::string m) { return {ErrorCode::timeout, std::move(m)}; }
  static Status IOError(std::string m) { return {ErrorCode::io_error, std::move(m)}; }
  static Status Internal(std::string m) { return {ErrorCode::internal, std::move(m)}; }

  bool ok() const { return code_ == ErrorCode::ok; }
  explicit operator bool() const { return ok(); }
  ErrorCode code() const { return code_; }
  const std::string& message() const { return message_; }
  // "invalid-argument: <message>"
  std::string ToString() const;

 private:
  ErrorCode code_ = ErrorCode::ok;
  std::string message_;
};

// A value or the Status that explains why there is none.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}        // NOLINT: implicit by design
  Result(Status status) : v_(std::move(status)) {  // NOLINT
    assert(!std::get<Status>(v_).ok() && "a Result holding a Status must hold an error");
  }

  bool ok() const { return std::holds_alternative<T>(v_); }
  explicit operator bool() const { return ok(); }
  T& value() & { return std::get<T>(v_); }
  const T& value() const& { return std::get<T>(v_); }
  T&& value() && { return std::get<T>(std::move(v_)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  // The error; Status::Ok() when there is a value.
  Status status() const { return ok() ? Status::Ok() : std::get<Status>(v_); }

 private:
  std::variant<T, Status> v_;
};

}  // namespace fvce
