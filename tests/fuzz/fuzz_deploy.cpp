// Fuzzes the deploy.xml loader: schema, limits, every attribute's parser, <security>.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "node/deploy/deploy.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto cfg = fvce::deploy::parse_deploy(text, "/fuzz/deploy.xml");
  static_cast<void>(cfg);
  return 0;
}
