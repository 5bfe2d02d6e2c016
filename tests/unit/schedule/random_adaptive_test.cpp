// The randomized adaptive scheduler against a fake federation, a manual clock and a seeded
// random generator.
#include "services/schedule/impl/random_adaptive.h"

#include <doctest/doctest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>
#include <map>

#include "services/schedule/impl/baselines.h"

namespace fvce::schedule {
namespace {

namespace asio = boost::asio;
using model::Member;

Member host(const std::string& name, double speed, int slots, int cores = 0) {
  Member m;
  m.id = "00000000-0000-4000-8000-0000000000" + std::to_string(10 + name.back() % 90);
  m.name = name;
  m.address = name + ":7700";
  m.host.speed = speed;
  m.host.slots = slots;
  m.host.cores = cores ? cores : slots;
  m.host.memory = 16ull << 30;
  return m;
}

class FakeFederation : public reg::MembershipView {
 public:
  std::vector<Member> members;
  Member self() const override { return members.front(); }
  std::vector<Member> live_members() const override { return members; }
  std::optional<Member> find(std::string_view id) const override {
    for (const auto& m : members)
      if (m.id == id || m.name == id) return m;
    return std::nullopt;
  }
  std::uint64_t version() const override { return 1; }
};

struct Fixture {
  std::shared_ptr<FakeFederation> fed = std::make_shared<FakeFederation>();
  std::map<std::string, model::HostLoad> loads;  // by name; absent = idle
  int probes = 0;
  ManualClock clock;
  RandomAdaptiveConfig config;
  std::unique_ptr<RandomAdaptive> sched;

  void make(std::uint64_t seed = 7) {
    LoadFetcher fetch = [this](const Member& m) -> asio::awaitable<Result<model::HostLoad>> {
      ++probes;
      auto it = loads.find(m.name);
      if (it != loads.end()) co_return it->second;
      model::HostLoad idle;
      idle.free_slots = m.host.slots;
      co_return idle;
    };
    sched = std::make_unique<RandomAdaptive>(fed, fetch, clock, Rng(seed), config);
  }

  std::vector<Placement> place(std::vector<TaskNeeds> tasks) {
    asio::io_context ioc;
    auto fut = asio::co_spawn(ioc, sched->place(std::move(tasks)), asio::use_future);
    ioc.run();
    return fut.get();
  }

  // Places n equal tasks one batch at a time and counts the first choice per host.
  std::map<std::string, int> spread(int n, int batch, std::int64_t cost = 1000) {
    std::map<std::string, int> count;
    for (int done = 0; done < n; done += batch) {
      auto p = place(std::vector<TaskNeeds>(batch, TaskNeeds{1, 0, cost, {}, {}}));
      for (const auto& x : p) {
        REQUIRE_FALSE(x.hosts.empty());
        ++count[x.hosts.front().name];
        sched->dispatched(x.hosts.front().id, 1);
      }
    }
    return count;
  }
};

TEST_CASE("a long array lands in proportion to host speed (1:2:4)") {
  Fixture f;
  f.fed->members = {host("a", 250, 8), host("b", 500, 8), host("c", 1000, 8)};
  f.config.overload_queue = 1000;  // hosts with deep queues: only speed decides
  f.make();
  auto c = f.spread(700, 700);
  CAPTURE(c["a"]);
  CAPTURE(c["b"]);
  CAPTURE(c["c"]);
  CHECK(c["a"] + c["b"] + c["c"] == 700);
  CHECK(c["a"] == doctest::Approx(100).epsilon(0.15));
  CHECK(c["b"] == doctest::Approx(200).epsilon(0.15));
  CHECK(c["c"] == doctest::Approx(400).epsilon(0.15));
}

TEST_CASE("placing one task at a time also follows speed, through in-flight accounting") {
  Fixture f;
  f.fed->members = {host("a", 250, 4), host("b", 500, 4), host("c", 1000, 4)};
  f.config.sample = 3;  // every host sampled: the split is then decided by the estimate
  f.config.overload_queue = 1000;
  f.make();
  auto c = f.spread(350, 1);
  CHECK(c["c"] > c["b"]);
  CHECK(c["b"] > c["a"]);
  CHECK(c["c"] == doctest::Approx(200).epsilon(0.2));
}

TEST_CASE("an overloaded host gets nothing") {
  Fixture f;
  f.fed->members = {host("a", 1000, 4), host("b", 1000, 4), host("c", 1000, 4)};
  model::HostLoad busy;
  busy.free_slots = 0;
  busy.queue = 4;  // queue ≥ overload-queue × slots
  f.loads["b"] = busy;
  model::HostLoad hot;
  hot.free_slots = 4;
  hot.load1 = 40;  // ≥ overload-load × cores
  f.loads["c"] = hot;
  f.make();
  std::map<std::string, int> c;
  for (int round = 0; round < 10; ++round) {
    for (const auto& x : f.place(std::vector<TaskNeeds>(20, TaskNeeds{}))) {
      if (x.hosts.empty()) continue;  // a is full: the task waits rather than go to b or c
      ++c[x.hosts.front().name];
      f.sched->dispatched(x.hosts.front().id, 1);
      f.sched->finished(x.hosts.front().id, 1, 0, 0, true);
    }
  }
  CHECK(c["b"] == 0);
  CHECK(c["c"] == 0);
  CHECK(c["a"] == 10 * 8);  // each round, as many as a holds (slots × 2)
}

TEST_CASE("a host whose tasks run slow loses share through feedback") {
  Fixture f;
  f.fed->members = {host("a", 1000, 4), host("b", 1000, 4), host("c", 1000, 4)};
  f.config.overload_queue = 1000;
  f.make();
  auto before = f.spread(300, 300);
  CHECK(before["c"] == doctest::Approx(100).epsilon(0.2));
  auto c_id = f.fed->members[2].id;
  auto a_id = f.fed->members[0].id;
  for (int i = 0; i < 30; ++i) {
    f.sched->finished(c_id, 1, 1000, 3000, true);  // three times slower than its speed says
    f.sched->finished(a_id, 1, 1000, 1000, true);  // as predicted
  }
  CHECK(f.sched->factor(c_id) < 0.45);
  CHECK(f.sched->factor(a_id) == doctest::Approx(1.0).epsilon(0.05));
  // A fresh scheduler (no tasks in flight) that has learned only that c is slow.
  f.make();
  for (int i = 0; i < 30; ++i) f.sched->finished(c_id, 1, 1000, 3000, true);
  auto after = f.spread(300, 300);
  CHECK(after["c"] < before["c"] / 2);
  // Success lets it recover.
  for (int i = 0; i < 40; ++i) f.sched->finished(c_id, 1, 1000, 1000, true);
  CHECK(f.sched->factor(c_id) > 0.8);
}

TEST_CASE("a host never gets more of our tasks than it can hold, the rest wait here") {
  Fixture f;
  f.fed->members = {host("a", 1000, 2), host("b", 1000, 3)};  // hold 4 and 6 (queue = slots)
  f.config.sample = 2;
  f.make();
  auto p = f.place(std::vector<TaskNeeds>(20, TaskNeeds{}));
  std::map<std::string, int> count;
  int waiting = 0;
  for (const auto& x : p) {
    if (x.hosts.empty()) {
      CHECK(x.no_room != NoRoom::never);  // busy, not impossible
      ++waiting;
    } else {
      ++count[x.hosts.front().name];
    }
  }
  CHECK(count["a"] == 4);
  CHECK(count["b"] == 6);
  CHECK(waiting == 10);
  // Nothing more fits until a task ends; a refusal gives its reservation back.
  CHECK(f.place({TaskNeeds{}})[0].hosts.empty());
  f.sched->refused(f.fed->members[1].id, 1);
  f.clock.advance(std::chrono::milliseconds(250));
  auto again = f.place({TaskNeeds{}});
  REQUIRE_FALSE(again[0].hosts.empty());
  CHECK(again[0].hosts.front().name == "b");
  // Accepted tasks count until they finish.
  f.sched->dispatched(f.fed->members[1].id, 1);
  CHECK(f.place({TaskNeeds{}})[0].hosts.empty());
  f.sched->dispatched(f.fed->members[0].id, 1);  // one of a's is accepted, then ends
  f.sched->finished(f.fed->members[0].id, 1, 0, 10, true);
  CHECK(f.place({TaskNeeds{}})[0].hosts.front().name == "a");
}

// A host's load sample is taken at one moment and reused for load-ttl; what the scheduler
// hears afterwards from its own reports must count at once.
TEST_CASE("a stale sample never holds back a host known to have room") {
  Fixture f;
  // 2 slots each, each holds 4 of ours (queue = slots). b is full of someone else's work.
  f.fed->members = {host("a", 1000, 2), host("b", 1000, 2)};
  model::HostLoad full;
  full.free_slots = 0;
  full.queue = 2;
  f.loads["b"] = full;
  f.make();
  const std::string a = f.fed->members[0].id;
  auto first = f.place(std::vector<TaskNeeds>(4, TaskNeeds{}));
  for (const auto& x : first) {
    REQUIRE_FALSE(x.hosts.empty());
    CHECK(x.hosts.front().name == "a");
    f.sched->dispatched(a, 1);
  }
  // The next probe of a sees it full: our 4 tasks, 2 running and 2 waiting.
  f.loads["a"] = full;
  f.clock.advance(std::chrono::milliseconds(300));  // past load-ttl: fresh probes
  int probes = f.probes;
  auto none = f.place({TaskNeeds{}});
  CHECK(f.probes > probes);
  REQUIRE(none[0].hosts.empty());
  CHECK(none[0].no_room != NoRoom::never);
  probes = f.probes;
  // Two of ours end on a. Its cached sample still says "full" — as full as b, which is
  // busy with others' work — but the scheduler knows a has room for two.
  f.sched->finished(a, 1, 0, 10, true);
  f.sched->finished(a, 1, 0, 10, true);
  auto two = f.place(std::vector<TaskNeeds>(2, TaskNeeds{}));
  CHECK(f.probes == probes);  // no new probe: the samples were reused
  for (const auto& x : two) {
    REQUIRE_FALSE(x.hosts.empty());
    CHECK(x.hosts.front().name == "a");
  }
}

TEST_CASE("failures lower a host's factor") {
  Fixture f;
  f.fed->members = {host("a", 1000, 4)};
  f.make();
  for (int i = 0; i < 5; ++i) f.sched->finished(f.fed->members[0].id, 1, 0, 0, false);
  CHECK(f.sched->factor(f.fed->members[0].id) < 0.2);
}

TEST_CASE("a refusal leads to a resample elsewhere") {
  Fixture f;
  f.fed->members = {host("a", 1000, 2), host("b", 1000, 2), host("c", 1000, 2)};
  f.make();
  auto first = f.place({TaskNeeds{}});
  REQUIRE(first[0].hosts.size() >= 2);  // alternatives to fall back on
  auto refused = first[0].hosts.front();
  f.sched->refused(refused.id, 1);
  for (int i = 0; i < 20; ++i) {
    auto p = f.place({TaskNeeds{}});
    REQUIRE_FALSE(p[0].hosts.empty());
    CHECK(p[0].hosts.front().id != refused.id);
    f.sched->declined(p[0].hosts.front().id, 1);
  }
  f.clock.advance(std::chrono::milliseconds(250));  // the pause is over
  bool seen = false;
  for (int i = 0; i < 50 && !seen; ++i) {
    auto p = f.place({TaskNeeds{}});
    seen = p[0].hosts.front().id == refused.id;
    f.sched->declined(p[0].hosts.front().id, 1);
  }
  CHECK(seen);
}

TEST_CASE("a retry avoids the host where its attempt failed, unless it is the only one") {
  Fixture f;
  f.fed->members = {host("a", 1000, 2), host("b", 1000, 2), host("c", 1000, 2)};
  f.config.sample = 3;  // every host sampled: the choice is the ranking's
  f.make();
  for (const auto& bad : f.fed->members) {
    for (int i = 0; i < 10; ++i) {
      TaskNeeds t;
      t.avoid = {bad.id};
      auto p = f.place({t});
      REQUIRE_FALSE(p[0].hosts.empty());
      CHECK(p[0].hosts.front().id != bad.id);
      f.sched->declined(p[0].hosts.front().id, 1);
    }
  }
  // Alone, the avoided host still runs it.
  f.fed->members = {host("a", 1000, 2)};
  TaskNeeds t;
  t.avoid = {f.fed->members[0].id};
  auto p = f.place({t});
  REQUIRE(p[0].hosts.size() == 1);
  CHECK(p[0].hosts.front().name == "a");
  f.sched->declined(p[0].hosts.front().id, 1);
}

TEST_CASE("only the sampled hosts are probed, and answers are cached briefly") {
  Fixture f;
  for (int i = 0; i < 20; ++i) f.fed->members.push_back(host("h" + std::to_string(i), 1000, 2));
  f.make();
  f.place({TaskNeeds{}});
  CHECK(f.probes == 2);  // d = 2
  f.place({TaskNeeds{}});
  CHECK(f.probes <= 4);
  int before = f.probes;
  f.place(std::vector<TaskNeeds>(5, TaskNeeds{}));
  CHECK(f.probes - before <= 10);  // d·m for a batch of m
}

TEST_CASE("a task no member can run is reported as such") {
  Fixture f;
  f.fed->members = {host("a", 1000, 4), host("b", 1000, 8)};
  f.make();
  auto p = f.place({TaskNeeds{64, 0, 0, {}, {}}});
  CHECK(p[0].hosts.empty());
  CHECK(p[0].no_room == NoRoom::never);
  CHECK(p[0].why_none.find("no live member can run it") != std::string::npos);
  auto big = f.place({TaskNeeds{8, 0, 0, {}, {}}});
  REQUIRE_FALSE(big[0].hosts.empty());
  CHECK(big[0].hosts.front().name == "b");
}

TEST_CASE("data locality: the host holding a large input is preferred") {
  Fixture f;
  f.fed->members = {host("a", 1000, 4), host("b", 1000, 4)};
  f.config.sample = 2;
  f.make();
  int on_b = 0;
  for (int i = 0; i < 20; ++i) {
    auto p = f.place({TaskNeeds{1, 0, 1000, {{"b:7700", 2'000'000'000}}, {}}});
    on_b += p[0].hosts.front().name == "b";
    f.sched->declined(p[0].hosts.front().id, 1);
  }
  CHECK(on_b == 20);
}

TEST_CASE("the same seed gives the same placements") {
  Fixture f1, f2;
  for (auto* f : {&f1, &f2}) {
    for (int i = 0; i < 10; ++i)
      f->fed->members.push_back(host("h" + std::to_string(i), 500.0 + 100 * i, 2));
    f->make(99);
  }
  for (int i = 0; i < 20; ++i) {
    auto a = f1.place({TaskNeeds{}});
    auto b = f2.place({TaskNeeds{}});
    CHECK(a[0].hosts.front().id == b[0].hosts.front().id);
  }
}

TEST_CASE("round-robin takes every host in turn, local takes this node") {
  auto fed = std::make_shared<FakeFederation>();
  fed->members = {host("a", 1000, 2), host("b", 1000, 2), host("c", 1000, 2)};
  RoundRobin rr(fed);
  LocalOnly local(fed);
  asio::io_context ioc;
  auto fut =
      asio::co_spawn(ioc, rr.place(std::vector<TaskNeeds>(6, TaskNeeds{})), asio::use_future);
  auto fut2 =
      asio::co_spawn(ioc, local.place(std::vector<TaskNeeds>(3, TaskNeeds{})), asio::use_future);
  ioc.run();
  auto p = fut.get();
  std::vector<std::string> names;
  for (const auto& x : p) names.push_back(x.hosts.front().name);
  CHECK(names == std::vector<std::string>{"a", "b", "c", "a", "b", "c"});
  for (const auto& x : fut2.get()) CHECK(x.hosts.front().name == "a");
}

TEST_CASE("local holds back what its node has no room for, until tasks end") {
  auto fed = std::make_shared<FakeFederation>();
  fed->members = {host("a", 1000, 2)};
  LocalOnly local(fed);
  asio::io_context ioc;
  auto place = [&](std::size_t n) {
    auto fut =
        asio::co_spawn(ioc, local.place(std::vector<TaskNeeds>(n, TaskNeeds{})), asio::use_future);
    ioc.restart();
    ioc.run();
    std::size_t placed = 0;
    for (const auto& p : fut.get()) {
      CHECK(p.no_room != NoRoom::never);  // later, not never
      placed += p.hosts.empty() ? 0 : 1;
    }
    return placed;
  };
  CHECK(place(10) == 4);  // 2 slots + 2 waiting
  CHECK(place(10) == 0);
  for (int i = 0; i < 4; ++i) local.dispatched("a", 1);
  CHECK(place(10) == 0);  // accepted: still there
  local.finished("a", 1, 0, 10, true);
  local.refused("a", 1);  // (nothing pending: no effect)
  CHECK(place(10) == 1);
  local.declined("a", 1);
  local.abandoned("a", 1);
  CHECK(place(10) == 2);
}

}  // namespace
}  // namespace fvce::schedule
