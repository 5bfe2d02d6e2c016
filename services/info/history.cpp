#include "services/info/history.h"

#include <algorithm>

namespace fvce::info {

LoadRing::LoadRing(std::size_t capacity) : capacity_(std::max<std::size_t>(capacity, 1)) {}

std::size_t LoadRing::capacity_for(std::chrono::milliseconds history,
                                   std::chrono::milliseconds interval) {
  if (interval.count() <= 0 || history.count() <= 0) return 1;
  return std::max<std::int64_t>(1, history.count() / interval.count());
}

void LoadRing::push(const model::HostLoad& sample) {
  std::lock_guard lock(mu_);
  if (samples_.size() < capacity_) {
    // Grow by doubling ourselves rather than letting push_back do it, so the reservation
    // never exceeds the capacity (std::vector may over-allocate by up to 2x).
    if (samples_.size() == samples_.capacity())
      samples_.reserve(std::min(capacity_, std::max<std::size_t>(16, samples_.size() * 2)));
    samples_.push_back(sample);
    return;
  }
  samples_[oldest_] = sample;
  oldest_ = (oldest_ + 1) % capacity_;
}

std::vector<model::HostLoad> LoadRing::since(std::int64_t since_unix_ms) const {
  std::lock_guard lock(mu_);
  std::vector<model::HostLoad> out;
  const std::size_t n = samples_.size();
  // A linear scan rather than a binary search: the wall clock may step backwards, so the
  // ring is in push order, not necessarily in time order.
  for (std::size_t i = 0; i < n; ++i) {
    const auto& s = samples_[(oldest_ + i) % n];
    if (s.time > since_unix_ms) out.push_back(s);
  }
  return out;
}

std::size_t LoadRing::size() const {
  std::lock_guard lock(mu_);
  return samples_.size();
}

}  // namespace fvce::info
