// The report outbox against a fake submitter and a manual clock: coalescing, batching, the
// linger, back-off on a submitter that is down, refusals found one report at a time, and the
// spool that keeps final reports across a restart.
#include "services/execute/outbox.h"

#include <doctest/doctest.h>
#include <unistd.h>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <set>
#include <thread>

#include "tests/unit/fake_peers.h"

namespace fvce::execute {
namespace {

namespace asio = boost::asio;
using model::TaskReport;
using model::TaskState;
using namespace std::chrono_literals;

constexpr const char* kSubmitter = "10.0.0.1:7700";

// Takes reports as a submitter would, or refuses them as it is told.
class RecordingSubmit : public test::AbsentSubmit {
 public:
  std::mutex mu;
  std::vector<std::vector<TaskReport>> batches;
  int down = 0;             // answer unavailable to this many calls first
  std::string refuse_task;  // a batch holding this task is refused (invalid-argument)

  boost::asio::awaitable<Status> reports(model::TaskReports r) override {
    std::lock_guard lock(mu);
    if (down > 0) {
      --down;
      co_return Status::Unavailable("restarting");
    }
    for (const auto& x : r.reports)
      if (x.task == refuse_task) co_return Status::InvalidArgument("bad report");
    batches.push_back(r.reports);
    co_return Status::Ok();
  }
  std::size_t count() {
    std::lock_guard lock(mu);
    std::size_t n = 0;
    for (const auto& b : batches) n += b.size();
    return n;
  }
};

struct Fixture {
  asio::io_context ioc;
  asio::executor_work_guard<asio::io_context::executor_type> work{ioc.get_executor()};
  ManualClock clock;
  Random random{3};
  test::FakePeers peers;
  std::shared_ptr<RecordingSubmit> submitter = std::make_shared<RecordingSubmit>();
  std::shared_ptr<ReportOutbox> outbox;
  std::thread thread;

  explicit Fixture(OutboxOptions options = {}) {
    peers.submitters[kSubmitter] = submitter;
    outbox = ReportOutbox::Create(ioc, peers, clock, random, options);
    outbox->start();
    thread = std::thread([this] { ioc.run(); });
  }
  ~Fixture() {
    work.reset();
    ioc.stop();
    thread.join();
  }
  template <typename P>
  bool eventually(P pred) {
    for (int i = 0; i < 400; ++i) {
      if (pred()) return true;
      std::this_thread::sleep_for(5ms);
    }
    return pred();
  }
};

TaskReport report(std::string task, TaskState state) {
  TaskReport r;
  r.workflow = "wf-test";
  r.task = std::move(task);
  r.attempt = 1;
  r.host = "00000000-0000-4000-8000-000000000001";
  r.state = state;
  return r;
}

TEST_CASE("a progress report waits for company and is superseded by the final one") {
  Fixture f;
  f.outbox->add(kSubmitter, report("t", TaskState::staging));
  f.outbox->add(kSubmitter, report("t", TaskState::running));
  std::this_thread::sleep_for(30ms);  // real time: the linger is on the manual clock
  CHECK(f.submitter->count() == 0);
  f.outbox->add(kSubmitter, report("t", TaskState::done));
  REQUIRE(f.eventually([&] { return f.submitter->count() == 1; }));
  std::lock_guard lock(f.submitter->mu);
  CHECK(f.submitter->batches[0][0].state == TaskState::done);
  CHECK(f.outbox->pending() == 0);
}

TEST_CASE("after the linger, progress reports go out on their own") {
  Fixture f;
  f.outbox->add(kSubmitter, report("t", TaskState::running));
  std::this_thread::sleep_for(20ms);
  CHECK(f.submitter->count() == 0);
  f.clock.advance(20ms);
  REQUIRE(f.eventually([&] { return f.submitter->count() == 1; }));
}

TEST_CASE("a submitter that is down gets the reports later, in one batch, in order") {
  Fixture f;
  f.submitter->down = 3;
  for (int i = 0; i < 5; ++i)
    f.outbox->add(kSubmitter, report("t" + std::to_string(i), TaskState::done));
  // The first try fails at once; every retry waits its back-off on the manual clock.
  REQUIRE(f.eventually([&] {
    std::lock_guard lock(f.submitter->mu);
    return f.submitter->down < 3;
  }));
  std::this_thread::sleep_for(30ms);
  CHECK(f.submitter->count() == 0);
  for (int i = 0; i < 20 && f.submitter->count() == 0; ++i) {
    f.clock.advance(10s);  // past any back-off
    std::this_thread::sleep_for(20ms);
  }
  REQUIRE(f.eventually([&] { return f.submitter->count() == 5; }));
  std::lock_guard lock(f.submitter->mu);
  REQUIRE(f.submitter->batches.size() == 1);
  for (int i = 0; i < 5; ++i) CHECK(f.submitter->batches[0][i].task == "t" + std::to_string(i));
}

TEST_CASE("a refused report is found by sending one at a time, and dropped, the rest arrive") {
  Fixture f;
  f.submitter->refuse_task = "bad";
  f.outbox->add(kSubmitter, report("a", TaskState::done));
  f.outbox->add(kSubmitter, report("bad", TaskState::done));
  f.outbox->add(kSubmitter, report("c", TaskState::done));
  REQUIRE(f.eventually([&] { return f.submitter->count() == 2 && f.outbox->pending() == 0; }));
  std::lock_guard lock(f.submitter->mu);
  std::vector<std::string> got;
  for (const auto& b : f.submitter->batches)
    for (const auto& r : b) got.push_back(r.task);
  CHECK(got == std::vector<std::string>{"a", "c"});
}

TEST_CASE("reports not delivered within retry-for are given up") {
  OutboxOptions o;
  o.retry_for = 1min;
  Fixture f(o);
  f.submitter->down = 1'000'000;
  f.outbox->add(kSubmitter, report("t", TaskState::done));
  REQUIRE(f.eventually([&] { return f.outbox->pending() == 1; }));
  for (int i = 0; i < 20 && f.outbox->pending() > 0; ++i) {
    f.clock.advance(10s);
    std::this_thread::sleep_for(10ms);
  }
  CHECK(f.eventually([&] { return f.outbox->pending() == 0; }));
  CHECK(f.submitter->count() == 0);
}

// The spool files of a directory (what a restarted node would find).
std::size_t spool_files(const std::filesystem::path& dir) {
  std::size_t n = 0;
  for (const auto& e : std::filesystem::directory_iterator(dir))
    n += e.path().extension() == ".report";
  return n;
}

TEST_CASE("final reports wait on disk until acknowledged, and a new outbox delivers them") {
  auto dir = std::filesystem::temp_directory_path() /
             ("fvce-outbox-" + std::to_string(::getpid()) + "-" +
              std::to_string(std::chrono::steady_clock::now().time_since_epoch().count()));
  OutboxOptions options;
  options.spool = dir;
  {
    Fixture f(options);
    f.submitter->down = 1000;  // the submitter is away for this whole run
    // Accepted tasks: what the submitter is to hear if the node goes down first.
    for (const char* t : {"a", "c"}) f.outbox->journal(kSubmitter, report(t, TaskState::cancelled));
    f.outbox->add(kSubmitter, report("a", TaskState::running));
    f.outbox->add(kSubmitter, report("a", TaskState::done));  // replaces a's journal entry
    f.outbox->add(kSubmitter, report("b", TaskState::failed));
    f.outbox->add(kSubmitter, report("c", TaskState::running));  // progress: not kept
    REQUIRE(f.eventually([&] { return spool_files(dir) == 3; }));
    CHECK(f.outbox->spooled() == 3);
    CHECK(f.outbox->pending() == 3);  // a, b, and c's progress; the journal is not sent
    CHECK(f.submitter->count() == 0);
  }  // the node goes down with them undelivered

  // A spool file that cannot be read is dropped with a warning; the rest are delivered.
  { std::ofstream(dir / "0000000000000000.report") << "not a report"; }
  Fixture g(options);
  CHECK(g.outbox->spooled() == 3);
  REQUIRE(g.eventually([&] { return g.submitter->count() == 3; }));
  {
    std::lock_guard lock(g.submitter->mu);
    std::set<std::string> got;
    for (const auto& b : g.submitter->batches)
      for (const auto& r : b) got.insert(r.task + ":" + std::string(model::to_string(r.state)));
    // c was still running when the node went down: its submitter hears it was given up.
    CHECK(got == std::set<std::string>{"a:done", "b:failed", "c:cancelled"});
  }
  // Acknowledged: nothing is left for a third run.
  REQUIRE(g.eventually([&] { return spool_files(dir) == 0; }));
  CHECK(g.outbox->spooled() == 0);
  CHECK(g.outbox->pending() == 0);
  std::filesystem::remove_all(dir);
}

TEST_CASE("a report the submitter refuses leaves the spool with it") {
  auto dir = std::filesystem::temp_directory_path() /
             ("fvce-outbox-refused-" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  OutboxOptions options;
  options.spool = dir;
  Fixture f(options);
  f.submitter->refuse_task = "bad";
  f.outbox->add(kSubmitter, report("bad", TaskState::done));
  REQUIRE(f.eventually([&] { return f.outbox->pending() == 0; }));
  REQUIRE(f.eventually([&] { return spool_files(dir) == 0; }));
  CHECK(f.submitter->count() == 0);
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace fvce::execute
