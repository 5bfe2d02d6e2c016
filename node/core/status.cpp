#include "node/core/status.h"

#include <array>

namespace fvce {
namespace {
struct CodeInfo {
  ErrorCode code;
  std::string_view name;
  int http;
};
constexpr std::array<CodeInfo, 12> kCodes{{
    {ErrorCode::ok, "ok", 200},
    {ErrorCode::invalid_argument, "invalid-argument", 400},
    {ErrorCode::unauthenticated, "unauthenticated", 401},
    {ErrorCode::forbidden, "forbidden", 403},
    {ErrorCode::not_found, "not-found", 404},
    {ErrorCode::conflict, "conflict", 409},
    {ErrorCode::too_large, "too-large", 413},
    {ErrorCode::rate_limited, "rate-limited", 429},
    {ErrorCode::unavailable, "unavailable", 503},
    {ErrorCode::timeout, "timeout", 504},
    {ErrorCode::io_error, "io-error", 500},
    {ErrorCode::internal, "internal", 500},
}};
}  // namespace

std::string_view to_string(ErrorCode code) {
  for (const auto& c : kCodes)
    if (c.code == code) return c.name;
  return "internal";
}

ErrorCode error_code_from_string(std::string_view text) {
  for (const auto& c : kCodes)
    if (c.name == text) return c.code;
  return ErrorCode::internal;
}

int http_status(ErrorCode code) {
  for (const auto& c : kCodes)
    if (c.code == code) return c.http;
  return 500;
}

std::string Status::ToString() const {
  if (ok()) return "ok";
  return std::string(to_string(code_)) + ": " + message_;
}

}  // namespace fvce
