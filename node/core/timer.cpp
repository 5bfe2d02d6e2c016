#include "node/core/timer.h"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace fvce {

namespace asio = boost::asio;

void detail::TimerCore::fire() {
  std::uint64_t gen;
  {
    std::lock_guard lock(mu);
    if (!armed) return;
    armed = false;
    fired = true;
    gen = generation;
  }
  // The waiter sees operation_aborted and, finding `fired`, reports the expiry.
  asio::post(timer.get_executor(), [self = shared_from_this(), gen] {
    {
      std::lock_guard lock(self->mu);
      if (self->generation != gen) return;  // re-armed or cancelled since
    }
    self->timer.cancel();
  });
}

void ManualClock::advance(Millis d) {
  ms_ += d.count();
  fire_due();
}

void ManualClock::watch(const std::shared_ptr<detail::TimerCore>& timer) const {
  {
    std::lock_guard lock(mu_);
    std::erase_if(timers_, [](const auto& w) { return w.expired(); });
    timers_.push_back(timer);
  }
  fire_due();
}

std::size_t ManualClock::armed_timers() const {
  std::lock_guard lock(mu_);
  std::size_t n = 0;
  for (const auto& w : timers_)
    if (auto t = w.lock()) {
      std::lock_guard tl(t->mu);
      n += t->armed ? 1 : 0;
    }
  return n;
}

void ManualClock::fire_due() const {
  std::vector<std::shared_ptr<detail::TimerCore>> due;
  {
    std::lock_guard lock(mu_);
    auto t_now = now();
    for (auto it = timers_.begin(); it != timers_.end();) {
      auto t = it->lock();
      if (!t) {
        it = timers_.erase(it);
        continue;
      }
      bool is_due;
      {
        std::lock_guard tl(t->mu);
        is_due = t->armed && t->expiry <= t_now;
      }
      if (is_due) {
        due.push_back(std::move(t));
        it = timers_.erase(it);
      } else {
        ++it;
      }
    }
  }
  for (auto& t : due) t->fire();
}

Timer::Timer(const asio::any_io_executor& ex, const Clock& clock)
    : clock_(clock), core_(std::make_shared<detail::TimerCore>(ex)) {}

Timer::~Timer() {
  {
    std::lock_guard lock(core_->mu);
    ++core_->generation;
    core_->armed = false;
    core_->fired = false;
  }
  // The owner's thread, like a steady_timer's own destructor: a pending wait ends now.
  core_->timer.cancel();
}

void Timer::expires_after(Millis d) {
  expires_at(clock_.now() + d);
}

void Timer::expires_at(Clock::time_point t) {
  {
    std::lock_guard lock(core_->mu);
    ++core_->generation;
    core_->expiry = t;
    core_->armed = clock_.fires_timers();
    core_->fired = false;
  }
  if (!clock_.fires_timers()) {
    core_->timer.expires_at(t);
    return;
  }
  core_->timer.expires_at(asio::steady_timer::time_point::max());
  clock_.watch(core_);
}

void Timer::cancel() {
  {
    std::lock_guard lock(core_->mu);
    ++core_->generation;
    core_->armed = false;
    core_->fired = false;
  }
  std::uint64_t gen;
  {
    std::lock_guard lock(core_->mu);
    gen = core_->generation;
  }
  asio::post(core_->timer.get_executor(), [core = core_, gen] {
    {
      std::lock_guard lock(core->mu);
      if (core->generation != gen) return;  // re-armed since: that wait is not ours to end
    }
    core->timer.cancel();
  });
}

asio::awaitable<bool> Timer::wait() {
  auto core = core_;
  bool manual = clock_.fires_timers();
  if (manual) {
    std::lock_guard lock(core->mu);
    if (core->fired) {
      core->fired = false;
      co_return true;
    }
  }
  auto [ec] = co_await core->timer.async_wait(asio::as_tuple(asio::use_awaitable));
  if (!ec) co_return true;
  if (!manual) co_return false;
  std::lock_guard lock(core->mu);
  bool expired = core->fired;
  core->fired = false;
  co_return expired;
}

void Timer::async_wait(std::function<void(bool)> handler) {
  auto core = core_;
  bool manual = clock_.fires_timers();
  if (manual) {
    std::lock_guard lock(core->mu);
    if (core->fired) {
      core->fired = false;
      asio::post(core->timer.get_executor(), [h = std::move(handler)] { h(true); });
      return;
    }
  }
  core->timer.async_wait(
      [core, manual, h = std::move(handler)](const boost::system::error_code& ec) {
        bool expired = !ec;
        if (ec && manual) {
          std::lock_guard lock(core->mu);
          expired = core->fired;
          core->fired = false;
        }
        h(expired);
      });
}

asio::awaitable<void> sleep_for(const Clock& clock, Millis d) {
  Timer t(co_await asio::this_coro::executor, clock);
  t.expires_after(d);
  co_await t.wait();
}

}  // namespace fvce
