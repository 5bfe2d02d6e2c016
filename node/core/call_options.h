// How long one call to another node may take, and how many times it is tried.
#pragma once

#include <chrono>

namespace fvce {

struct CallOptions {
  std::chrono::milliseconds timeout{0};  // per attempt; 0: the callee's default
  int attempts = 0;                      // total tries; 0: the callee's default
};

}  // namespace fvce
