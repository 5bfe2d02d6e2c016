// Timers on a manual clock fire when the test advances it, and only then; the back-off
// helper stays within its bounds.
#include "node/core/timer.h"

#include <doctest/doctest.h>

#include <atomic>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <set>
#include <thread>

#include "node/core/backoff.h"
#include "node/core/random.h"

namespace fvce {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;

struct Loop {
  asio::io_context ioc;
  asio::executor_work_guard<asio::io_context::executor_type> work{ioc.get_executor()};
  std::thread thread{[this] { ioc.run(); }};
  ~Loop() {
    work.reset();
    ioc.stop();
    thread.join();
  }
};

template <typename P>
bool eventually(P pred) {
  for (int i = 0; i < 400; ++i) {
    if (pred()) return true;
    std::this_thread::sleep_for(5ms);
  }
  return pred();
}

TEST_CASE("a timer on a manual clock fires when the clock reaches it, not before") {
  Loop loop;
  ManualClock clock;
  std::atomic<int> result{-1};
  auto timer = std::make_shared<Timer>(loop.ioc.get_executor(), clock);
  asio::post(loop.ioc, [&] {
    timer->expires_after(5s);
    asio::co_spawn(
        loop.ioc, [&]() -> asio::awaitable<void> { result = co_await timer->wait() ? 1 : 0; },
        asio::detached);
  });
  std::this_thread::sleep_for(50ms);
  CHECK(result == -1);  // real time passes, the clock does not
  clock.advance(4999ms);
  std::this_thread::sleep_for(20ms);
  CHECK(result == -1);
  clock.advance(1ms);
  CHECK(eventually([&] { return result == 1; }));
  CHECK(clock.armed_timers() == 0);
}

TEST_CASE("cancel ends a wait with false, a callback wait gets the same answers") {
  Loop loop;
  ManualClock clock;
  std::atomic<int> first{-1}, second{-1};
  Timer timer(loop.ioc.get_executor(), clock);
  asio::post(loop.ioc, [&] {
    timer.expires_after(1s);
    timer.async_wait([&](bool expired) { first = expired ? 1 : 0; });
  });
  std::this_thread::sleep_for(20ms);
  timer.cancel();
  CHECK(eventually([&] { return first == 0; }));
  asio::post(loop.ioc, [&] {
    timer.expires_after(1s);
    timer.async_wait([&](bool expired) { second = expired ? 1 : 0; });
  });
  std::this_thread::sleep_for(20ms);
  clock.advance(2s);
  CHECK(eventually([&] { return second == 1; }));
}

TEST_CASE("a timer already due when armed fires at once, the system clock's timers are real") {
  Loop loop;
  ManualClock clock;
  std::atomic<int> due{-1};
  Timer timer(loop.ioc.get_executor(), clock);
  asio::post(loop.ioc, [&] {
    timer.expires_after(0ms);
    timer.async_wait([&](bool expired) { due = expired ? 1 : 0; });
  });
  CHECK(eventually([&] { return due == 1; }));

  std::atomic<int> real{-1};
  Timer system(loop.ioc.get_executor(), SystemClock::instance());
  auto t0 = std::chrono::steady_clock::now();
  asio::post(loop.ioc, [&] {
    system.expires_after(30ms);
    system.async_wait([&](bool expired) { real = expired ? 1 : 0; });
  });
  CHECK(eventually([&] { return real == 1; }));
  CHECK(std::chrono::steady_clock::now() - t0 >= 30ms);
}

TEST_CASE("back-off doubles from its base, stays under its ceiling, and is jittered") {
  Random random(42);
  Backoff b{100ms, 1000ms};
  CHECK(b.delay(0, random) == 0ms);
  for (int i = 0; i < 50; ++i) {
    auto d1 = b.delay(1, random);
    CHECK(d1 >= 50ms);
    CHECK(d1 <= 100ms);
    auto d3 = b.delay(3, random);
    CHECK(d3 >= 200ms);
    CHECK(d3 <= 400ms);
    auto d9 = b.delay(9, random);
    CHECK(d9 >= 500ms);
    CHECK(d9 <= 1000ms);
  }
  std::set<long long> seen;
  for (int i = 0; i < 20; ++i) seen.insert(b.delay(4, random).count());
  CHECK(seen.size() > 5);
}

TEST_CASE("random suffixes are hex of the asked length and differ") {
  Random random(1);
  auto a = random_suffix(random, 8), b = random_suffix(random, 8);
  CHECK(a.size() == 8);
  CHECK(a != b);
  CHECK(a.find_first_not_of("0123456789abcdef") == std::string::npos);
  Random again(1);
  CHECK(random_suffix(again, 8) == a);  // seeded: reproducible
}

}  // namespace
}  // namespace fvce
