// Parsing of the human units used in deploy.xml parameters: durations ("500ms", "1s",
// "2m", "1h") and sizes ("64KiB", "8MiB", "2GiB", or plain bytes).
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include "node/core/status.h"

namespace fvce {

Result<std::chrono::milliseconds> parse_duration(std::string_view text);
Result<std::uint64_t> parse_size(std::string_view text);
// "1.5 GiB", "512 MiB"... for tables a person reads.
std::string format_bytes(std::uint64_t bytes);
// "850ms", "3.2s", "4m05s", "2h10m"
std::string format_duration(std::chrono::milliseconds d);

}  // namespace fvce
