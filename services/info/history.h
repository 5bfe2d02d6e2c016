// LoadRing: the bounded local history of a node's own load, for the user port's charts.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <vector>

#include "node/model/host.h"

namespace fvce::info {

// A ring of the most recent HostLoad samples. Holds at most capacity() samples; once full,
// each push() drops the oldest. Memory grows with the samples actually taken and never
// beyond capacity() samples, so a node that runs for a minute does not pay for a day.
//
// Thread-safe: every method may be called from any thread.
class LoadRing {
 public:
  // capacity >= 1 (0 is treated as 1).
  explicit LoadRing(std::size_t capacity);

  // The capacity that keeps `history` worth of samples taken every `interval`, e.g.
  // 24 h / 5 s = 17280. At least 1.
  static std::size_t capacity_for(std::chrono::milliseconds history,
                                  std::chrono::milliseconds interval);

  LoadRing(const LoadRing&) = delete;
  LoadRing& operator=(const LoadRing&) = delete;

  // Appends a sample (the newest), dropping the oldest when full.
  void push(const model::HostLoad& sample);

  // Copies of the samples whose time is after since_unix_ms, oldest first (in push order).
  // since_unix_ms = 0 returns every sample.
  std::vector<model::HostLoad> since(std::int64_t since_unix_ms) const;

  std::size_t size() const;
  std::size_t capacity() const { return capacity_; }

 private:
  const std::size_t capacity_;
  mutable std::mutex mu_;
  std::vector<model::HostLoad> samples_;  // guarded by mu_; grows up to capacity_
  std::size_t oldest_ = 0;                // guarded by mu_; index of the oldest once full
};

}  // namespace fvce::info
