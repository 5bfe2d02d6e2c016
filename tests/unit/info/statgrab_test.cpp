// The info impls against this machine: static facts, samples, calibration, the sampling loop.
#include "services/info/impl/statgrab.h"

#include <doctest/doctest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>
#include <cmath>
#include <filesystem>
#include <future>
#include <optional>
#include <thread>

#include "services/info/calibrate.h"
#include "services/info/impl/declared.h"
#include "services/info/impl/sampler.h"

namespace fvce::info {
namespace {

namespace asio = boost::asio;
using std::chrono::milliseconds;

// Runs an io_context on a thread for the test's lifetime.
struct RunningIo {
  asio::io_context ioc;
  asio::executor_work_guard<asio::io_context::executor_type> work{ioc.get_executor()};
  std::thread thread{[this] { ioc.run(); }};
  ~RunningIo() {
    work.reset();
    ioc.stop();
    thread.join();
  }
};

// Spawns op on ioc; the future's value is op's (use_future needs a default-constructible
// value, which Result<T> is not, hence the optional).
template <typename T>
std::future<std::optional<T>> spawn(asio::io_context& ioc, asio::awaitable<T> op) {
  auto wrapped = [](asio::awaitable<T> inner) -> asio::awaitable<std::optional<T>> {
    co_return co_await std::move(inner);
  };
  return asio::co_spawn(ioc, wrapped(std::move(op)), asio::use_future);
}

// Runs op on an io_context that another thread runs, and waits for its result.
template <typename T>
T await(asio::io_context& running, asio::awaitable<T> op) {
  return *spawn(running, std::move(op)).get();
}

// Runs op on an idle io_context (nothing else pending) until it completes.
template <typename T>
T run(asio::io_context& idle, asio::awaitable<T> op) {
  auto future = spawn(idle, std::move(op));
  idle.restart();
  idle.run();
  return *future.get();
}

StatgrabOptions quick_statgrab() {
  StatgrabOptions o;
  o.calibration = milliseconds(20);
  return o;
}

DeclaredOptions small_declared() {
  DeclaredOptions o;
  o.cores = 2;
  o.speed = 100;
  o.memory = 1ull << 20;  // 1 MiB: below any real machine's free memory
  return o;
}

std::filesystem::path state_dir() {
  return std::filesystem::temp_directory_path();
}

}  // namespace

TEST_CASE("parse_cpuinfo reads x86 and falls back on machines without model name or MHz") {
  auto x86 = parse_cpuinfo(
      "processor\t: 0\nvendor_id\t: GenuineIntel\nmodel name\t: Intel(R) Xeon(R) Gold 6138\n"
      "cpu MHz\t\t: 2000.123\n\nprocessor\t: 1\nmodel name\t: Other\ncpu MHz\t\t: 1.0\n");
  CHECK(x86.model == "Intel(R) Xeon(R) Gold 6138");
  CHECK(x86.mhz == doctest::Approx(2000.123));

  auto arm = parse_cpuinfo(
      "processor\t: 0\nBogoMIPS\t: 108.00\nFeatures\t: fp asimd\nCPU part\t: 0xd08\n\n"
      "Hardware\t: BCM2835\n");
  CHECK(arm.model == "BCM2835");
  CHECK(arm.mhz == 0);

  auto power = parse_cpuinfo("processor\t: 0\ncpu\t\t: POWER9 (raw), altivec supported\n");
  CHECK(power.model == "POWER9 (raw), altivec supported");

  auto empty = parse_cpuinfo("");
  CHECK(empty.model.empty());
  CHECK(empty.mhz == 0);
}

TEST_CASE("statgrab static info is plausible on this machine") {
  asio::io_context ioc;
  auto info =
      StatgrabInfo::Create(ioc, SystemClock::instance(), state_dir(), "1.2.3", quick_statgrab());
  REQUIRE_MESSAGE(info.ok(), info.status().message());
  model::HostStatic s = (*info)->static_now();
  CHECK(s.cores >= 1);
  CHECK(s.cores <= static_cast<int>(std::max(1u, std::thread::hardware_concurrency())));
  CHECK(s.memory > 0);
  CHECK(s.disk > 0);
  CHECK_FALSE(s.arch.empty());
  CHECK_FALSE(s.os.empty());
  CHECK_FALSE(s.cpu_model.empty());
  CHECK(s.speed > 0);
  CHECK(std::isfinite(s.speed));
  CHECK(s.info_impl == "statgrab");
  CHECK(s.version == "1.2.3");
  CHECK(s.started > 0);

  // static_info() (the wire operation) answers the same, and slots can be set later.
  CHECK(run(ioc, (*info)->static_info()).value() == s);
  (*info)->set_slots(5);
  CHECK((*info)->static_now().slots == 5);
}

TEST_CASE("statgrab without calibration estimates speed from the clock rate") {
  asio::io_context ioc;
  auto options = quick_statgrab();
  options.calibrate = false;
  auto info = StatgrabInfo::Create(ioc, SystemClock::instance(), state_dir(), "v", options);
  if (read_machine_facts().cpu_mhz > 0) {
    REQUIRE(info.ok());
    auto s = (*info)->static_now();
    CHECK(s.speed == doctest::Approx(s.cpu_mhz / StatgrabInfo::kCyclesPerReferenceOp));
  } else {
    REQUIRE_FALSE(info.ok());
    CHECK(info.status().message().find("calibrate") != std::string::npos);
  }
}

TEST_CASE("a dynamic sample has real memory and a CPU share within 0..100") {
  asio::io_context ioc;
  auto info =
      StatgrabInfo::Create(ioc, SystemClock::instance(), state_dir(), "v", quick_statgrab());
  REQUIRE(info.ok());
  auto load = run(ioc, (*info)->load());
  REQUIRE_MESSAGE(load.ok(), load.status().message());
  CHECK(load->memory_total > 0);
  CHECK(load->memory_free <= load->memory_total);
  CHECK(load->cpu >= 0);
  CHECK(load->cpu <= 100);
  CHECK(load->load1 >= 0);
  CHECK(load->time > 0);
  CHECK(load->free_slots == 0);  // no slot source
  CHECK(load->queue == 0);
  CHECK(load->memory_total == (*info)->static_now().memory);
}

TEST_CASE("load() keeps the machine's figures for up to a second, and reads the slots each time") {
  asio::io_context ioc;
  ManualClock clock;
  auto info = DeclaredInfo::Create(ioc, clock, state_dir(), "v", small_declared());
  REQUIRE(info.ok());
  int calls = 0;
  LocalInfo::ExecuteNow slots{3, 7, "", 0, 0};
  (*info)->set_slot_source([&] {
    ++calls;
    return slots;
  });
  auto first = (*info)->load_now();
  REQUIRE(first.ok());
  CHECK(first->free_slots == 3);
  CHECK(first->queue == 7);
  CHECK(first->time == clock.unix_ms());

  // Tasks ended since, and the host went down for new work: the answer says so at once,
  // though the sample is still in use.
  slots = {4, 0, "its work root is full", 10, 100};
  clock.advance(milliseconds(999));
  auto cached = (*info)->load_now();
  REQUIRE(cached.ok());
  CHECK(cached->time == first->time);  // the same sample of the machine
  CHECK(cached->memory_free == first->memory_free);
  CHECK(cached->load1 == first->load1);
  CHECK(cached->free_slots == 4);
  CHECK(cached->queue == 0);
  CHECK(cached->down == "its work root is full");
  CHECK(cached->disk_free == 10);
  CHECK(cached->disk_total == 100);
  CHECK(calls == 2);

  clock.advance(milliseconds(1));
  auto fresh = (*info)->load_now();
  REQUIRE(fresh.ok());
  CHECK(fresh->time == first->time + 1000);
  CHECK(fresh->free_slots == 4);
  CHECK(calls == 3);
}

TEST_CASE("declared caps memory at the declared size and keeps the real CPU") {
  asio::io_context ioc;
  auto info =
      DeclaredInfo::Create(ioc, SystemClock::instance(), state_dir(), "v", small_declared());
  REQUIRE(info.ok());
  auto load = run(ioc, (*info)->load());
  REQUIRE(load.ok());
  CHECK(load->memory_total == 1ull << 20);
  CHECK(load->memory_free <= 1ull << 20);
  CHECK(load->memory_free > 0);
  CHECK(load->cpu >= 0);
  CHECK(load->cpu <= 100);
}

TEST_CASE("DeclaredInfo::Create refuses an impossible capacity") {
  asio::io_context ioc;
  auto options = small_declared();
  options.speed = 0;
  CHECK_FALSE(DeclaredInfo::Create(ioc, SystemClock::instance(), state_dir(), "v", options).ok());
  options = small_declared();
  options.memory = 0;
  CHECK_FALSE(DeclaredInfo::Create(ioc, SystemClock::instance(), state_dir(), "v", options).ok());
  options = small_declared();
  options.cores = 0;
  CHECK_FALSE(DeclaredInfo::Create(ioc, SystemClock::instance(), state_dir(), "v", options).ok());
}

TEST_CASE("calibration is repeatable") {
  double a = calibrate_speed(milliseconds(100));
  double b = calibrate_speed(milliseconds(100));
  INFO("runs: " << a << " and " << b << " Mref/s");
  CHECK(a > 0);
  CHECK(b > 0);
  CHECK(std::abs(a - b) <= 0.25 * std::max(a, b));
}

TEST_CASE("start() samples into a bounded history, stop() ends it") {
  RunningIo io;
  auto options = small_declared();
  options.sampling.interval = milliseconds(20);
  options.sampling.history = milliseconds(100);  // 5 samples
  auto created = DeclaredInfo::Create(io.ioc, SystemClock::instance(), state_dir(), "v", options);
  REQUIRE(created.ok());
  auto info = *created;
  CHECK(info->history_capacity() == 5);

  info->start();
  info->start();  // a second call changes nothing
  // 5 samples take ~80 ms; allow a loaded machine up to 700 ms.
  const auto deadline = std::chrono::steady_clock::now() + milliseconds(700);
  while (info->history_size() < 5 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(milliseconds(5));
  REQUIRE(info->history_size() == 5);

  auto history = await(io.ioc, info->history(0));
  REQUIRE(history.ok());
  CHECK(history->interval_ms == 20);
  REQUIRE(history->samples.size() == 5);
  for (std::size_t i = 1; i < history->samples.size(); ++i)
    CHECK(history->samples[i - 1].time <= history->samples[i].time);
  for (const auto& s : history->samples) {
    CHECK(s.memory_total == 1ull << 20);
    CHECK(s.cpu >= 0);
    CHECK(s.cpu <= 100);
  }
  auto recent = await(io.ioc, info->history(history->samples[2].time));
  REQUIRE(recent.ok());
  CHECK(recent->samples.size() >= 2);  // those after the 3rd, and any taken since

  info->stop();
  std::this_thread::sleep_for(milliseconds(30));  // let a sample in flight land
  auto last = info->history(0);
  auto before = await(io.ioc, std::move(last));
  REQUIRE(before.ok());
  std::this_thread::sleep_for(milliseconds(80));  // four intervals
  auto after = await(io.ioc, info->history(0));
  REQUIRE(after.ok());
  CHECK(after->samples == before->samples);
}

TEST_CASE("destroying a started impl while its timer waits is safe") {
  RunningIo io;
  auto options = small_declared();
  options.sampling.interval = milliseconds(10);
  {
    auto info = DeclaredInfo::Create(io.ioc, SystemClock::instance(), state_dir(), "v", options);
    REQUIRE(info.ok());
    (*info)->start();
    std::this_thread::sleep_for(milliseconds(25));
  }
  std::this_thread::sleep_for(milliseconds(25));  // the cancelled wait runs on the io thread
}

}  // namespace fvce::info
