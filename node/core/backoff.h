// Bounded exponential back-off with jitter, the one policy every retry loop uses (reports to
// a submitter, file transfers, HTTP requests to peers).
#pragma once

#include <algorithm>
#include <chrono>

#include "node/core/random.h"

namespace fvce {

struct Backoff {
  std::chrono::milliseconds base{100};   // the wait before the first retry, at most
  std::chrono::milliseconds max{5'000};  // the ceiling of every wait

  // The wait before retry number `retry` (1 = the first retry): a uniform draw from the upper
  // half of min(max, base * 2^(retry-1)), so peers retrying together spread out while each
  // still backs off. 0 for retry < 1.
  std::chrono::milliseconds delay(int retry, Random& random) const {
    if (retry < 1) return std::chrono::milliseconds(0);
    long long cap = base.count();
    for (int i = 1; i < retry && cap < max.count(); ++i) cap *= 2;
    cap = std::min<long long>(cap, max.count());
    return std::chrono::milliseconds(random.between(cap / 2, cap));
  }
};

}  // namespace fvce
