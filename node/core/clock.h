// Clock and random source, injected everywhere time or chance matters, so tests can
// drive protocols step by step (ManualClock) and reproduce randomized choices (seeded Rng).
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <random>

namespace fvce {

using Millis = std::chrono::milliseconds;

class Clock {
 public:
  virtual ~Clock() = default;
  // Monotonic time for timeouts and intervals. Thread-safe.
  virtual std::chrono::steady_clock::time_point now() const = 0;
  // Wall-clock milliseconds since the Unix epoch, for what users read. Thread-safe.
  virtual std::int64_t unix_ms() const = 0;
};

class SystemClock final : public Clock {
 public:
  std::chrono::steady_clock::time_point now() const override {
    return std::chrono::steady_clock::now();
  }
  std::int64_t unix_ms() const override {
    return std::chrono::duration_cast<Millis>(std::chrono::system_clock::now().time_since_epoch())
        .count();
  }
  static SystemClock& instance() {
    static SystemClock clock;
    return clock;
  }
};

// A clock that moves only when told to. For tests.
class ManualClock final : public Clock {
 public:
  std::chrono::steady_clock::time_point now() const override {
    return std::chrono::steady_clock::time_point(Millis(ms_.load()));
  }
  std::int64_t unix_ms() const override { return 1'700'000'000'000 + ms_.load(); }
  void advance(Millis d) { ms_ += d.count(); }

 private:
  std::atomic<std::int64_t> ms_{1'000'000};
};

// The project's random source. Not thread-safe: each owner keeps its own, seeded from
// the node's seed (deploy.xml or the OS) so a test can reproduce a run.
using Rng = std::mt19937_64;

}  // namespace fvce
