// JSON for the browser (docs/web.md, "Conventions"): answers, errors, and request bodies.
#pragma once

#include <boost/json/value.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "node/core/status.h"
#include "node/http/message.h"

namespace fvce::http {

namespace json = boost::json;

inline constexpr std::string_view kJsonType = "application/json; charset=utf-8";

// One input of a form that is wrong, and why.
struct FieldError {
  std::string field, message;
  bool operator==(const FieldError&) const = default;
};

Response json_response(const json::value& value, bhttp::status status = bhttp::status::ok);
// {"error":{"code","message"[,"field"]}} with the status's HTTP code; with field errors,
// "errors":[{"field","message"}...] beside it.
Response json_error(const Status& status, std::string_view field = {},
                    const std::vector<FieldError>& errors = {});

// The request body as a JSON object. Errors: invalid-argument naming the position.
Result<json::object> json_body(std::string_view body);
// A string member of o ("" when absent); invalid-argument when present and not a string.
Result<std::string> string_field(const json::object& o, std::string_view key, bool required);

// Optional values as JSON (null when absent).
template <typename T>
json::value opt(const std::optional<T>& v) {
  if (!v) return nullptr;
  return json::value(*v);
}

}  // namespace fvce::http
