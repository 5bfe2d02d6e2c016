#include "node/core/random.h"

#include <algorithm>

namespace fvce {

std::string random_suffix(Random& random, int digits) {
  static constexpr char kHex[] = "0123456789abcdef";
  digits = std::clamp(digits, 1, 16);
  std::uint64_t v = random.next();
  std::string out(static_cast<std::size_t>(digits), '0');
  for (int i = digits - 1; i >= 0; --i, v >>= 4) out[static_cast<std::size_t>(i)] = kHex[v & 15];
  return out;
}

}  // namespace fvce
