// The node's source of chance: one seeded generator shared by the parts that need a little
// randomness now and then (temporary file names, workflow ids, back-off jitter), so that a
// test can seed it and reproduce a run. Parts that draw often (the scheduler, membership)
// keep their own Rng (clock.h), seeded from the node's seed.
#pragma once

#include <cstdint>
#include <mutex>
#include <random>
#include <string>

#include "node/core/clock.h"

namespace fvce {

class Random {
 public:
  explicit Random(std::uint64_t seed) : rng_(seed) {}

  // A uniformly distributed 64-bit value. Thread-safe.
  std::uint64_t next() {
    std::lock_guard lock(mu_);
    return rng_();
  }
  // A value in [lo, hi] (inclusive); lo when hi < lo. Thread-safe.
  std::int64_t between(std::int64_t lo, std::int64_t hi) {
    if (hi <= lo) return lo;
    std::lock_guard lock(mu_);
    return std::uniform_int_distribution<std::int64_t>(lo, hi)(rng_);
  }
  // A seed for a part that keeps its own generator. Thread-safe.
  Rng fork() { return Rng(next()); }

 private:
  std::mutex mu_;
  Rng rng_;
};

// `digits` lowercase hex digits (1 to 16) drawn from random: for temporary names and ids.
std::string random_suffix(Random& random, int digits = 16);

}  // namespace fvce
