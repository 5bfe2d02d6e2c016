// Helpers shared by the codec files: reading attributes with errors that name the element
// and attribute, and writing numbers that read back exactly. Internal to node/model.
#pragma once

#include <charconv>
#include <pugixml.hpp>
#include <string>

#include "node/core/status.h"

namespace fvce::model::detail {

// Reading helpers: each names the element and attribute that is wrong.
inline Status missing(const pugi::xml_node& n, const char* attr) {
  return Status::InvalidArgument(std::string("<") + n.name() + "> lacks attribute '" + attr + "'");
}
inline Status bad(const pugi::xml_node& n, const char* attr, const char* what) {
  return Status::InvalidArgument(std::string("<") + n.name() + " " + attr + "=\"" +
                                 n.attribute(attr).value() + "\"> is not " + what);
}

template <typename Int>
Status read_int(const pugi::xml_node& n, const char* attr, Int& out, bool required = true) {
  auto a = n.attribute(attr);
  if (!a) return required ? missing(n, attr) : Status::Ok();
  std::string_view v = a.value();
  auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), out);
  if (ec != std::errc() || p != v.data() + v.size()) return bad(n, attr, "an integer");
  return Status::Ok();
}

inline Status read_double(const pugi::xml_node& n, const char* attr, double& out) {
  auto a = n.attribute(attr);
  if (!a) return missing(n, attr);
  std::string_view v = a.value();
  auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), out);
  if (ec != std::errc() || p != v.data() + v.size()) return bad(n, attr, "a number");
  return Status::Ok();
}

inline Status read_string(const pugi::xml_node& n, const char* attr, std::string& out,
                          bool required = true) {
  auto a = n.attribute(attr);
  if (!a) return required ? missing(n, attr) : Status::Ok();
  out = a.value();
  return Status::Ok();
}

// Shortest text that reads back to the same double.
inline std::string fmt(double v) {
  char buf[64];
  auto [p, ec] = std::to_chars(buf, buf + sizeof buf, v);
  return ec == std::errc() ? std::string(buf, p) : "0";
}

#define FVCE_TRY(expr)       \
  do {                       \
    Status s_ = (expr);      \
    if (!s_.ok()) return s_; \
  } while (0)

}  // namespace fvce::model::detail
