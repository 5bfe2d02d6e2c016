#include "node/http/json.h"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

namespace fvce::http {

Response json_response(const json::value& value, bhttp::status status) {
  return text_response(json::serialize(value), kJsonType, status);
}

namespace {

json::object error_object(const Status& status, std::string_view field) {
  json::object e;
  e["code"] = std::string(to_string(status.code()));
  e["message"] = status.message();
  if (!field.empty()) e["field"] = field;
  return e;
}

bhttp::status code_of(const Status& status) {
  return static_cast<bhttp::status>(http_status(status.code()));
}

}  // namespace

Response json_error(const Status& status, std::string_view field,
                    const std::vector<FieldError>& errors) {
  json::object o;
  o["error"] = error_object(status, field);
  if (!errors.empty()) {
    json::array list;
    for (const auto& e : errors)
      list.push_back(json::object{{"field", e.field}, {"message", e.message}});
    o["errors"] = std::move(list);
  }
  return json_response(o, code_of(status));
}

Result<json::object> json_body(std::string_view body) {
  boost::system::error_code ec;
  auto v = json::parse(body, ec);
  if (ec) return Status::InvalidArgument("the body is not JSON: " + ec.message());
  if (!v.is_object()) return Status::InvalidArgument("the body is not a JSON object");
  return std::move(v.as_object());
}

Result<std::string> string_field(const json::object& o, std::string_view key, bool required) {
  auto it = o.find(key);
  if (it == o.end() || it->value().is_null()) {
    if (required) return Status::InvalidArgument("the body has no '" + std::string(key) + "'");
    return std::string();
  }
  if (!it->value().is_string())
    return Status::InvalidArgument("'" + std::string(key) + "' is not a string");
  return std::string(it->value().as_string());
}

}  // namespace fvce::http
