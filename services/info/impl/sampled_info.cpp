#include "services/info/impl/sampled_info.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <mutex>

#include "services/info/history.h"
#include "services/info/impl/sampler.h"

namespace fvce::info {

namespace asio = boost::asio;

// Everything the timer's handlers touch. Owned jointly by the SampledInfo and by a pending
// wait, so a handler that runs after the SampledInfo is gone finds valid (stopped) state.
struct SampledInfo::Shared {
  Shared(asio::io_context& ioc, const Clock& clock_in, SamplingOptions options_in,
         model::HostStatic info_in)
      : clock(clock_in),
        options(options_in),
        ring(LoadRing::capacity_for(options_in.history, options_in.interval)),
        strand(asio::make_strand(ioc)),
        timer(strand),
        info(std::move(info_in)) {}

  const Clock& clock;
  const SamplingOptions options;
  Sampler sampler;
  LoadRing ring;
  asio::strand<asio::io_context::executor_type> strand;
  asio::steady_timer timer;  // used only on strand
  bool failing = false;      // used only on strand: log a failure once, not every interval
  std::atomic<bool> started{false};
  std::atomic<bool> stopped{false};

  mutable std::mutex mu;
  model::HostStatic info;                           // guarded by mu
  SlotSource slot_source;                           // guarded by mu
  std::optional<model::HostLoad> cached;            // guarded by mu
  std::chrono::steady_clock::time_point cached_at;  // guarded by mu

  // The slot source is called with no lock held: it belongs to the execute service, which
  // may well ask info something while holding its own lock.
  LocalInfo::ExecuteNow slots() {
    SlotSource source;
    {
      std::lock_guard lock(mu);
      source = slot_source;
    }
    return source ? source() : LocalInfo::ExecuteNow{};
  }

  static void apply(model::HostLoad& l, const LocalInfo::ExecuteNow& e) {
    l.free_slots = e.free_slots;
    l.queue = e.queue;
    l.down = e.down;
    l.disk_free = e.disk_free;
    l.disk_total = e.disk_total;
  }

  // Requires mu held (so two readers do not split one CPU window between them).
  Result<model::HostLoad> measure_locked(const LocalInfo::ExecuteNow& slot_pair) {
    auto reading = sampler.read();
    if (!reading.ok()) return reading.status();
    model::HostLoad sample = *reading;
    sample.time = clock.unix_ms();
    apply(sample, slot_pair);
    if (options.memory_cap) {
      sample.memory_total = *options.memory_cap;
      sample.memory_free = std::min(sample.memory_free, *options.memory_cap);
    }
    cached = sample;
    cached_at = clock.now();
    return sample;
  }

  bool fresh_locked() const { return cached && clock.now() - cached_at < options.max_age; }

  // The machine's figures (CPU, memory, load average) may come from a sample up to max_age
  // old; the slots are always read now. A scheduler subtracts its own tasks from them, so
  // slots of a sample taken before its tasks ended would look like others' work.
  Result<model::HostLoad> fresh() {
    auto slot_pair = slots();
    std::lock_guard lock(mu);
    if (!fresh_locked()) return measure_locked(slot_pair);
    model::HostLoad out = *cached;
    apply(out, slot_pair);
    return out;
  }

  // On strand.
  void tick() {
    auto slot_pair = slots();
    Result<model::HostLoad> sample = [&] {
      std::lock_guard lock(mu);
      return measure_locked(slot_pair);
    }();
    if (!sample.ok()) {
      if (!failing) spdlog::warn("info: sampling failed: {}", sample.status().message());
      failing = true;
      return;
    }
    if (failing) spdlog::info("info: sampling works again");
    failing = false;
    ring.push(*sample);
  }

  // On strand. Keeps a steady cadence (the next expiry follows the previous one, not the
  // end of the sample), but does not fire a burst to catch up after the process stalled.
  static void arm(const std::shared_ptr<Shared>& self) {
    if (self->stopped) return;
    const auto now = std::chrono::steady_clock::now();
    auto next = self->timer.expiry() + self->options.interval;
    if (next <= now) next = now + self->options.interval;
    self->timer.expires_at(next);
    self->timer.async_wait([self](boost::system::error_code ec) {
      if (ec || self->stopped) return;
      self->tick();
      arm(self);
    });
  }
};

SampledInfo::SampledInfo(asio::io_context& ioc, const Clock& clock, SamplingOptions options,
                         model::HostStatic info)
    : shared_(std::make_shared<Shared>(ioc, clock, options, std::move(info))) {}

SampledInfo::~SampledInfo() {
  stop();
}

asio::awaitable<Result<model::HostStatic>> SampledInfo::static_info() {
  co_return Result<model::HostStatic>(static_now());
}

asio::awaitable<Result<model::HostLoad>> SampledInfo::load() {
  co_return load_now();
}

asio::awaitable<Result<model::LoadHistory>> SampledInfo::history(std::int64_t since) {
  model::LoadHistory out;
  out.interval_ms = static_cast<int>(shared_->options.interval.count());
  out.samples = shared_->ring.since(since);
  co_return Result<model::LoadHistory>(std::move(out));
}

model::HostStatic SampledInfo::static_now() const {
  std::lock_guard lock(shared_->mu);
  return shared_->info;
}

void SampledInfo::start() {
  if (shared_->started.exchange(true)) return;
  asio::post(shared_->strand, [self = shared_] {
    if (self->stopped) return;
    // A first sample now, so the history and load() have something before the first tick.
    self->tick();
    Shared::arm(self);
  });
}

void SampledInfo::stop() {
  if (shared_->stopped.exchange(true)) return;
  // Nothing was posted to the io_context unless sampling started; not touching it then
  // lets an unstarted object outlive its io_context.
  if (!shared_->started) return;
  asio::post(shared_->strand, [self = shared_] { self->timer.cancel(); });
}

void SampledInfo::set_slot_source(SlotSource source) {
  std::lock_guard lock(shared_->mu);
  shared_->slot_source = std::move(source);
}

void SampledInfo::set_slots(int slots) {
  std::lock_guard lock(shared_->mu);
  shared_->info.slots = slots;
}

Result<model::HostLoad> SampledInfo::load_now() {
  return shared_->fresh();
}

std::size_t SampledInfo::history_size() const {
  return shared_->ring.size();
}

std::size_t SampledInfo::history_capacity() const {
  return shared_->ring.capacity();
}

}  // namespace fvce::info
