// LoadRing: the bound, the order and since().
#include "services/info/history.h"

#include <doctest/doctest.h>

#include <thread>

namespace fvce::info {
namespace {

model::HostLoad sample_at(std::int64_t time) {
  model::HostLoad s;
  s.time = time;
  s.load1 = static_cast<double>(time) / 1000;
  return s;
}

std::vector<std::int64_t> times(const std::vector<model::HostLoad>& samples) {
  std::vector<std::int64_t> out;
  for (const auto& s : samples) out.push_back(s.time);
  return out;
}

}  // namespace

TEST_CASE("LoadRing capacity follows history / interval") {
  using std::chrono::hours;
  using std::chrono::milliseconds;
  using std::chrono::seconds;
  CHECK(LoadRing::capacity_for(hours(24), seconds(5)) == 17280);
  CHECK(LoadRing::capacity_for(seconds(1), milliseconds(20)) == 50);
  CHECK(LoadRing::capacity_for(milliseconds(10), seconds(5)) == 1);  // never 0
  CHECK(LoadRing(0).capacity() == 1);
}

TEST_CASE("LoadRing keeps the newest samples, oldest first, within its bound") {
  LoadRing ring(4);
  CHECK(ring.size() == 0);
  CHECK(ring.since(0).empty());

  ring.push(sample_at(100));
  ring.push(sample_at(200));
  CHECK(ring.size() == 2);
  CHECK(times(ring.since(0)) == std::vector<std::int64_t>{100, 200});

  for (std::int64_t t = 300; t <= 900; t += 100) ring.push(sample_at(t));
  CHECK(ring.size() == 4);
  CHECK(ring.capacity() == 4);
  CHECK(times(ring.since(0)) == std::vector<std::int64_t>{600, 700, 800, 900});
  CHECK(ring.since(0).back().load1 == doctest::Approx(0.9));
}

TEST_CASE("LoadRing::since returns only samples taken after the given time") {
  LoadRing ring(10);
  for (std::int64_t t = 1000; t <= 5000; t += 1000) ring.push(sample_at(t));
  CHECK(times(ring.since(2500)) == std::vector<std::int64_t>{3000, 4000, 5000});
  CHECK(times(ring.since(3000)) == std::vector<std::int64_t>{4000, 5000});  // strictly after
  CHECK(ring.since(5000).empty());
  CHECK(ring.since(0).size() == 5);

  // After wrapping, since() still walks from the oldest kept sample.
  for (std::int64_t t = 6000; t <= 13000; t += 1000) ring.push(sample_at(t));
  CHECK(times(ring.since(10500)) == std::vector<std::int64_t>{11000, 12000, 13000});
  CHECK(ring.since(0).front().time == 4000);
}

TEST_CASE("LoadRing stays consistent under concurrent writers and readers") {
  LoadRing ring(64);
  std::vector<std::thread> writers;
  for (int w = 0; w < 2; ++w)
    writers.emplace_back([&ring, w] {
      for (int i = 1; i <= 2000; ++i) ring.push(sample_at(w * 100000 + i));
    });
  std::size_t max_seen = 0;
  for (int i = 0; i < 200; ++i) max_seen = std::max(max_seen, ring.since(0).size());
  for (auto& t : writers) t.join();
  CHECK(max_seen <= 64);
  CHECK(ring.size() == 64);
}

}  // namespace fvce::info
