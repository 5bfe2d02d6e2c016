#include "node/core/units.h"

#include <charconv>
#include <cmath>
#include <cstdio>

namespace fvce {
namespace {

bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

// "'<text>' <what>", built by appending (GCC 12 at -O3 warns falsely, -Wrestrict, about
// `"'" + std::string(text)`).
std::string quoted(std::string_view text, std::string_view what) {
  std::string out;
  out.reserve(text.size() + what.size() + 3);
  out.append("'").append(text).append("' ").append(what);
  return out;
}

// Splits "250ms" into 250 and "ms". Accepts a decimal fraction ("1.5s") and white space
// between the number and the unit (as the schema's patterns do).
bool split_number(std::string_view text, double& number, std::string_view& unit) {
  size_t i = 0;
  while (i < text.size() && (std::isdigit(static_cast<unsigned char>(text[i])) || text[i] == '.'))
    ++i;
  if (i == 0) return false;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + i, number);
  if (ec != std::errc() || ptr != text.data() + i) return false;
  unit = text.substr(i);
  while (!unit.empty() && is_space(unit.front())) unit.remove_prefix(1);
  return std::isfinite(number) && number >= 0;
}

}  // namespace

Result<std::chrono::milliseconds> parse_duration(std::string_view text) {
  double n = 0;
  std::string_view unit;
  if (!split_number(text, n, unit))
    return Status::InvalidArgument(quoted(text, "is not a duration (examples: 500ms, 1s, 2m, 1h)"));
  double factor = 0;
  if (unit == "ms")
    factor = 1;
  else if (unit == "s" || unit.empty())
    factor = 1000;
  else if (unit == "m" || unit == "min")
    factor = 60'000;
  else if (unit == "h")
    factor = 3'600'000;
  else
    return Status::InvalidArgument(quoted(text, "has an unknown unit")
                                       .append(" '")
                                       .append(unit)
                                       .append("' (known: ms, s, m, h)"));
  return std::chrono::milliseconds(static_cast<std::int64_t>(std::llround(n * factor)));
}

Result<std::uint64_t> parse_size(std::string_view text) {
  double n = 0;
  std::string_view unit;
  if (!split_number(text, n, unit))
    return Status::InvalidArgument(
        quoted(text, "is not a size (examples: 4096, 64KiB, 8MiB, 2GiB)"));
  double factor = 0;
  if (unit.empty() || unit == "B")
    factor = 1;
  else if (unit == "KiB" || unit == "K" || unit == "KB")
    factor = 1024.0;
  else if (unit == "MiB" || unit == "M" || unit == "MB")
    factor = 1024.0 * 1024;
  else if (unit == "GiB" || unit == "G" || unit == "GB")
    factor = 1024.0 * 1024 * 1024;
  else if (unit == "TiB" || unit == "T" || unit == "TB")
    factor = 1024.0 * 1024 * 1024 * 1024;
  else
    return Status::InvalidArgument(quoted(text, "has an unknown unit")
                                       .append(" '")
                                       .append(unit)
                                       .append("' (known: B, KiB, MiB, GiB, TiB)"));
  return static_cast<std::uint64_t>(std::llround(n * factor));
}

std::string format_bytes(std::uint64_t bytes) {
  static const char* kUnits[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
  double v = static_cast<double>(bytes);
  int u = 0;
  while (v >= 1024 && u < 5) {
    v /= 1024;
    ++u;
  }
  char buf[32];
  if (u == 0)
    std::snprintf(buf, sizeof buf, "%llu B", static_cast<unsigned long long>(bytes));
  else
    std::snprintf(buf, sizeof buf, v < 10 ? "%.1f %s" : "%.0f %s", v, kUnits[u]);
  return buf;
}

std::string format_duration(std::chrono::milliseconds d) {
  long long ms = d.count();
  char buf[48];
  if (ms < 0) ms = 0;
  if (ms < 1000)
    std::snprintf(buf, sizeof buf, "%lldms", ms);
  else if (ms < 60'000)
    std::snprintf(buf, sizeof buf, "%.1fs", static_cast<double>(ms) / 1000.0);
  else if (ms < 3'600'000)
    std::snprintf(buf, sizeof buf, "%lldm%02llds", ms / 60'000, (ms / 1000) % 60);
  else
    std::snprintf(buf, sizeof buf, "%lldh%02lldm", ms / 3'600'000, (ms / 60'000) % 60);
  return buf;
}

}  // namespace fvce
