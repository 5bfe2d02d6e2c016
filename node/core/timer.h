// A timer on a Clock: the system clock's timers are the operating system's (an Asio
// steady_timer); a ManualClock's fire when the test advances it. Protocol code uses Timer
// instead of a steady_timer so that its waits can be driven by a manual clock in tests.
//
// Like an Asio timer, a Timer is used from one executor at a time (the one it was made with,
// or a strand of it); cancel() may be called from any thread. Re-arming cancels a pending
// wait. Destroying the Timer cancels it.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>
#include <functional>
#include <memory>
#include <mutex>

#include "node/core/clock.h"

namespace fvce {

namespace detail {
// Shared by the Timer, its pending waits and a manual clock's watch list.
struct TimerCore : std::enable_shared_from_this<TimerCore> {
  explicit TimerCore(const boost::asio::any_io_executor& ex) : timer(ex) {}
  boost::asio::steady_timer timer;
  std::mutex mu;
  Clock::time_point expiry{};    // manual clocks only
  std::uint64_t generation = 0;  // one more at every arm and cancel
  bool armed = false;            // manual: waiting for the clock
  bool fired = false;            // manual: the clock reached expiry, not yet seen by a wait
  // Called by a manual clock whose time reached expiry.
  void fire();
};
}  // namespace detail

class Timer {
 public:
  Timer(const boost::asio::any_io_executor& ex, const Clock& clock);
  ~Timer();
  Timer(const Timer&) = delete;
  Timer& operator=(const Timer&) = delete;

  void expires_after(Millis d);
  void expires_at(Clock::time_point t);
  // Waits for the expiry: true when it came, false when the timer was cancelled or
  // re-armed first.
  boost::asio::awaitable<bool> wait();
  // The same with a callback, called on the timer's executor.
  void async_wait(std::function<void(bool expired)> handler);
  // Ends a pending wait (it answers false). Thread-safe.
  void cancel();

 private:
  const Clock& clock_;
  std::shared_ptr<detail::TimerCore> core_;
};

// Waits d on clock (a sleep that a manual clock drives).
boost::asio::awaitable<void> sleep_for(const Clock& clock, Millis d);

}  // namespace fvce
