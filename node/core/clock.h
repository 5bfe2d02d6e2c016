// Clock and random source, injected everywhere time or chance matters, so tests can
// drive protocols step by step (ManualClock) and reproduce randomized choices (seeded Rng).
//
// Time that protocols wait for (probe rounds, back-off, linger, time limits, the dispatcher's
// wake-ups) is read from a Clock and waited for with a Timer (timer.h) on that clock; a test
// with a ManualClock moves time by advance() and the timers that fall due fire. Deadlines of
// network reads and writes stay with the operating system (real time).
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <random>
#include <vector>

namespace fvce {

using Millis = std::chrono::milliseconds;

namespace detail {
struct TimerCore;
}

class Clock {
 public:
  using time_point = std::chrono::steady_clock::time_point;
  virtual ~Clock() = default;
  // Monotonic time for timeouts and intervals. Thread-safe.
  virtual time_point now() const = 0;
  // Wall-clock milliseconds since the Unix epoch, for what users read. Thread-safe.
  virtual std::int64_t unix_ms() const = 0;

  // For Timer: whether this clock fires its timers itself (a manual clock) rather than the
  // operating system, and the registration of a timer that is armed on it. Thread-safe.
  virtual bool fires_timers() const { return false; }
  virtual void watch(const std::shared_ptr<detail::TimerCore>&) const {}
};

class SystemClock final : public Clock {
 public:
  time_point now() const override { return std::chrono::steady_clock::now(); }
  std::int64_t unix_ms() const override {
    return std::chrono::duration_cast<Millis>(std::chrono::system_clock::now().time_since_epoch())
        .count();
  }
  static SystemClock& instance() {
    static SystemClock clock;
    return clock;
  }
};

// A clock that moves only when told to. For tests: advance() fires every Timer on this clock
// that falls due (its waiters resume on their own executors).
class ManualClock final : public Clock {
 public:
  time_point now() const override { return time_point(Millis(ms_.load())); }
  std::int64_t unix_ms() const override { return 1'700'000'000'000 + ms_.load(); }
  void advance(Millis d);

  bool fires_timers() const override { return true; }
  void watch(const std::shared_ptr<detail::TimerCore>& timer) const override;
  // Timers armed on this clock and not yet fired or cancelled. Thread-safe.
  std::size_t armed_timers() const;

 private:
  void fire_due() const;
  std::atomic<std::int64_t> ms_{1'000'000};
  mutable std::mutex mu_;
  mutable std::vector<std::weak_ptr<detail::TimerCore>> timers_;
};

// The project's random source for a part that draws often. Not thread-safe: each owner keeps
// its own, seeded from the node's seed (deploy.xml or the OS) so a test can reproduce a run.
using Rng = std::mt19937_64;

}  // namespace fvce
