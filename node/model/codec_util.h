// Helpers shared by the codec files: reading attributes with errors that name the element
// and attribute, and writing numbers that read back exactly. Internal to node/model.
#pragma once

#include <charconv>
#include <optional>
#include <pugixml.hpp>
#include <string>

#include "node/core/status.h"
#include "node/core/units.h"

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

inline std::string ms_text(std::int64_t ms) {
  return std::to_string(ms) + "ms";
}

// A duration attribute ("500ms", "2s", "10m", "1h", or seconds) in milliseconds; nothing when
// absent. The one parser of durations (core/units.h) reads it.
inline Status read_duration(const pugi::xml_node& n, const char* attr, std::int64_t& out) {
  auto a = n.attribute(attr);
  if (!a) return Status::Ok();
  auto d = parse_duration(a.value());
  if (!d.ok()) return bad(n, attr, "a duration (ms, s, m, h)");
  out = d->count();
  return Status::Ok();
}

// A size attribute ("512MiB", "2GiB", "4096") in bytes; nothing when absent.
inline Status read_size(const pugi::xml_node& n, const char* attr, std::uint64_t& out) {
  auto a = n.attribute(attr);
  if (!a) return Status::Ok();
  auto s = parse_size(a.value());
  if (!s.ok()) return bad(n, attr, "a size (B, KiB, MiB, GiB, TiB)");
  out = *s;
  return Status::Ok();
}

inline Status read_bool(const pugi::xml_node& n, const char* attr, bool& out) {
  auto a = n.attribute(attr);
  if (!a) return Status::Ok();
  std::string_view v = a.value();
  if (v == "true" || v == "1")
    out = true;
  else if (v == "false" || v == "0")
    out = false;
  else
    return bad(n, attr, "true or false");
  return Status::Ok();
}

template <typename T>
Status read_opt(const pugi::xml_node& n, const char* attr, std::optional<T>& out) {
  if (!n.attribute(attr)) return Status::Ok();
  T v{};
  FVCE_TRY(read_int(n, attr, v));
  out = v;
  return Status::Ok();
}

template <typename T>
void write_opt(pugi::xml_node& n, const char* attr, const std::optional<T>& v) {
  if (v) n.append_attribute(attr) = std::to_string(*v).c_str();
}

}  // namespace fvce::model::detail

namespace fvce::model {
struct CheckpointSpec;
}

namespace fvce::model::detail {

// <checkpoint>, in a workflow (wire = false: defaults left out) and in an assignment.
void encode_checkpoint(pugi::xml_node& parent, const CheckpointSpec& c, bool wire);
Result<CheckpointSpec> decode_checkpoint(const pugi::xml_node& n);

}  // namespace fvce::model::detail
