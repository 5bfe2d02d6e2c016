#include "node/deploy/registry.h"

#include <charconv>

#include "node/core/units.h"

namespace fvce::deploy {

const Param* Params::given(const std::string& name) const {
  if (!config_) return nullptr;
  for (const auto& p : config_->params)
    if (p.name == name) return &p;
  return nullptr;
}

std::string Params::text(const std::string& name) const {
  if (auto p = given(name)) return p->value;
  if (specs_)
    for (const auto& s : *specs_)
      if (s.name == name) return s.default_value;
  return {};
}

std::string Params::where(const std::string& name) const {
  if (auto p = given(name)) return p->where.str();
  return config_ ? config_->where.str() : std::string("(default)");
}

Status Params::bad(const std::string& name, const std::string& why) const {
  return Status::InvalidArgument(where(name) + ": parameter '" + name + "' of service '" +
                                 service() + "': " + why);
}

Result<std::int64_t> Params::integer(const std::string& name, std::int64_t min,
                                     std::int64_t max) const {
  auto v = text(name);
  std::int64_t out = 0;
  auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), out);
  if (ec != std::errc() || p != v.data() + v.size() || v.empty())
    return bad(name, "'" + v + "' is not a whole number");
  if (out < min || out > max)
    return bad(name, std::to_string(out) + " is outside " + std::to_string(min) + ".." +
                         std::to_string(max));
  return out;
}

Result<double> Params::number(const std::string& name, double min, double max) const {
  auto v = text(name);
  double out = 0;
  auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), out);
  if (ec != std::errc() || p != v.data() + v.size() || v.empty())
    return bad(name, "'" + v + "' is not a number");
  if (out < min || out > max) return bad(name, v + " is outside the allowed range");
  return out;
}

Result<std::chrono::milliseconds> Params::duration(const std::string& name) const {
  auto v = parse_duration(text(name));
  if (!v.ok()) return bad(name, v.status().message());
  if (v->count() <= 0) return bad(name, "must be longer than 0");
  return *v;
}

Result<std::uint64_t> Params::size(const std::string& name) const {
  auto v = parse_size(text(name));
  if (!v.ok()) return bad(name, v.status().message());
  return *v;
}

Result<bool> Params::boolean(const std::string& name) const {
  auto v = text(name);
  if (v == "true" || v == "yes" || v == "on" || v == "1") return true;
  if (v == "false" || v == "no" || v == "off" || v == "0") return false;
  return bad(name, "'" + v + "' is not true or false");
}

}  // namespace fvce::deploy
