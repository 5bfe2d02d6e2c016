// The dispatcher on a manual clock, against fake executors: ready tasks that fit nowhere
// wait for an event (a task of ours ending) instead of being placed again in a loop, and a
// slot freed counts at once.
#include <doctest/doctest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_future.hpp>
#include <deque>
#include <filesystem>
#include <future>
#include <mutex>
#include <set>
#include <thread>

#include "node/model/codec.h"
#include "services/file/register_impls.h"
#include "services/schedule/impl/random_adaptive.h"
#include "services/submit/impl/dag.h"
#include "tests/unit/fake_peers.h"
#include "tests/unit/test_node.h"

namespace fvce::submit {
namespace {

namespace asio = boost::asio;
namespace fs = std::filesystem;
using namespace std::chrono_literals;
using model::Member;

Member member(int i) {
  Member m;
  m.id = "00000000-0000-4000-8000-00000000000" + std::to_string(i);
  m.name = "h" + std::to_string(i);
  m.address = "10.0.0." + std::to_string(i) + ":7700";
  m.state = model::MemberState::alive;
  m.host.cores = 2;
  m.host.slots = 2;
  m.host.speed = 1000;
  m.host.memory = 8ull << 30;
  m.host.started = 1;
  return m;
}

class Members : public reg::MembershipView {
 public:
  std::vector<Member> members;  // set before the dag starts; later only through drop()
  Member self() const override {
    std::lock_guard lock(mu_);
    return members.front();
  }
  std::vector<Member> live_members() const override {
    std::lock_guard lock(mu_);
    std::vector<Member> out;
    for (const auto& m : members)
      if (!gone_.count(m.id)) out.push_back(m);
    return out;
  }
  std::optional<Member> find(std::string_view id) const override {
    std::lock_guard lock(mu_);
    for (const auto& m : members)
      if (!gone_.count(m.id) && (m.id == id || m.name == id)) return m;
    return std::nullopt;
  }
  std::uint64_t version() const override {
    std::lock_guard lock(mu_);
    return 1 + gone_.size();
  }
  // The member is declared dead: no longer live.
  void drop(const std::string& id) {
    std::lock_guard lock(mu_);
    gone_.insert(id);
  }

 private:
  mutable std::mutex mu_;
  std::set<std::string> gone_;
};

// An executor with 2 slots and a queue of 2 cores, whose tasks end when the test says.
class FakeExecutor : public test::AbsentExecute, public test::AbsentInfo {
 public:
  explicit FakeExecutor(Member m) : self(std::move(m)) {}
  Member self;
  std::mutex mu;
  std::vector<model::TaskAssignment> running;
  std::deque<model::TaskAssignment> waiting;
  int used = 0, waiting_cores = 0, refused = 0;

  boost::asio::awaitable<Status> assign(model::TaskAssignment a) override {
    std::lock_guard lock(mu);
    if (waiting.empty() && used + a.cores <= 2) {
      used += a.cores;
      running.push_back(std::move(a));
    } else if (waiting_cores + a.cores <= 2) {
      waiting_cores += a.cores;
      waiting.push_back(std::move(a));
    } else {
      ++refused;
      co_return Status::Unavailable("full");
    }
    co_return Status::Ok();
  }
  boost::asio::awaitable<Result<model::HostLoad>> load() override {
    std::lock_guard lock(mu);
    model::HostLoad l;
    l.free_slots = 2 - used;
    l.queue = waiting_cores;
    co_return l;
  }
  // Ends what runs (their reports), and starts what waits.
  std::vector<model::TaskReport> finish() {
    std::lock_guard lock(mu);
    std::vector<model::TaskReport> out;
    for (const auto& a : running) {
      model::TaskReport r;
      r.workflow = a.workflow;
      r.task = a.task;
      r.attempt = a.attempt;
      r.host = self.id;
      r.state = model::TaskState::done;
      r.wall_ms = 3000;
      r.exit_code = 0;
      out.push_back(r);
    }
    running.clear();
    used = 0;
    while (!waiting.empty() && used + waiting.front().cores <= 2) {
      used += waiting.front().cores;
      waiting_cores -= waiting.front().cores;
      running.push_back(std::move(waiting.front()));
      waiting.pop_front();
    }
    return out;
  }
};

struct Fixture {
  fs::path dir = fs::temp_directory_path() / ("fvce-dispatch-test-" + std::to_string(::getpid()));
  // Before the io_context, as in the node: coroutines still queued when it is destroyed may
  // hold strands of the pool.
  asio::thread_pool workers{2};
  asio::io_context ioc;
  asio::executor_work_guard<asio::io_context::executor_type> work{ioc.get_executor()};
  ManualClock clock;
  test::FakePeers peers;
  Random random{5};
  http::Metrics metrics;
  NodeContext ctx{ioc, peers, metrics, clock, random};
  std::shared_ptr<Members> members = std::make_shared<Members>();
  std::vector<std::shared_ptr<FakeExecutor>> executors;
  std::shared_ptr<DagSubmit> dag;
  std::vector<std::thread> threads;

  Fixture() {
    fs::remove_all(dir);
    fs::create_directories(dir);
    ctx.seed = 5;
    ctx.state_dir = dir;
    ctx.workers = &workers;
    members->members = {member(1), member(2)};
    ctx.self = NodeIdentity{members->members[0].id, "h1", "lab", members->members[0].address, 1};
    for (const auto& m : members->members) {
      auto e = std::make_shared<FakeExecutor>(m);
      executors.push_back(e);
      peers.executors[m.address] = e;
      peers.infos[m.address] =
          std::shared_ptr<info::InfoLogic>(e, static_cast<info::InfoLogic*>(e.get()));
    }
    file::FileRegistry files("file");
    file::register_file_impls(files);
    auto built = files.build_default("local", ctx, "deploy.xml");
    REQUIRE(built.ok());
    schedule::LoadFetcher fetch =
        [this](const Member& m) -> asio::awaitable<Result<model::HostLoad>> {
      PeerRef peer(m);
      auto& info = peers.info(peer);
      co_return co_await info.load();
    };
    auto scheduler = std::make_shared<schedule::RandomAdaptive>(members, fetch, clock, Rng(5),
                                                                schedule::RandomAdaptiveConfig{});
    dag = std::make_shared<DagSubmit>(ctx, *built, members, scheduler, DagConfig{});
    REQUIRE(dag->open().ok());
    dag->start();
    for (int i = 0; i < 2; ++i) threads.emplace_back([this] { ioc.run(); });
  }
  ~Fixture() {
    dag->stop();
    work.reset();
    ioc.stop();
    for (auto& t : threads) t.join();
    workers.join();
    std::error_code ec;
    fs::remove_all(dir, ec);
  }

  template <typename T>
  T sync(asio::awaitable<T> op) {
    auto wrapped = [](asio::awaitable<T> inner) -> asio::awaitable<std::optional<T>> {
      co_return co_await std::move(inner);
    };
    return *asio::co_spawn(ioc, wrapped(std::move(op)), asio::use_future).get();
  }
  // Starts op and returns at once; its future holds the result.
  template <typename T>
  std::future<std::optional<T>> start(asio::awaitable<T> op) {
    auto wrapped = [](asio::awaitable<T> inner) -> asio::awaitable<std::optional<T>> {
      co_return co_await std::move(inner);
    };
    return asio::co_spawn(ioc, wrapped(std::move(op)), asio::use_future);
  }

  std::string submit(const std::string& xml) {
    auto doc = model::from_xml<model::WorkflowDoc>(xml);
    REQUIRE(doc.ok());
    auto s = sync(dag->submit(*doc, "tester"));
    REQUIRE_MESSAGE(s.ok(), s.status().message());
    return s->id;
  }
  int running() {
    int n = 0;
    for (auto& e : executors) {
      std::lock_guard lock(e->mu);
      n += static_cast<int>(e->running.size() + e->waiting.size());
    }
    return n;
  }
  double placements() { return metrics.value("fvce_submit_placements_total", {}); }
  // Lets the io threads catch up (the clock does not move).
  static void settle() { std::this_thread::sleep_for(30ms); }
};

std::string array(int n, int cores) {
  return "<workflow xmlns=\"urn:fvce:1\" name=\"wait\"><array id=\"t\" range=\"0.." +
         std::to_string(n - 1) + "\"><task id=\"t\" cmd=\"sleep\" args=\"3\" cores=\"" +
         std::to_string(cores) + "\"/></array></workflow>";
}

TEST_CASE("tasks that fit nowhere wait for a slot to free instead of being placed again") {
  Fixture f;
  auto id = f.submit(array(40, 2));
  // 2 hosts × (1 running + 1 waiting) of 2-core tasks hold 4 of the 40.
  for (int i = 0; i < 100 && f.running() < 4; ++i) Fixture::settle();
  REQUIRE(f.running() == 4);
  double after_first = f.placements();
  // Ten seconds pass while the hosts are full: nothing is placed again.
  for (int i = 0; i < 100; ++i) {
    f.clock.advance(100ms);
    if (i % 10 == 0) Fixture::settle();
  }
  Fixture::settle();
  CHECK(f.placements() == after_first);
  // A task of ours ends: the waiting tasks are placed again, once, and the freed room filled.
  int rounds = 0;
  for (int wave = 0; wave < 3; ++wave) {
    for (auto& e : f.executors) {
      auto done = e->finish();
      REQUIRE(f.sync(f.dag->reports(model::TaskReports{done})).ok());
    }
    for (int i = 0; i < 100 && f.running() < 4; ++i) Fixture::settle();
    CHECK(f.running() == 4);
    ++rounds;
  }
  auto st = f.sync(f.dag->status(id, TaskDetail::none, {}));
  REQUIRE(st.ok());
  CHECK(st->summary.done == 6);  // each wave ended one task on each host
  // Placement attempts per waiting task: the first round, then one per report of a task of
  // ours that ended (each host's is an event), not one per timer tick.
  double per_task = f.placements() / 40.0;
  CAPTURE(f.placements());
  CHECK(per_task <= 1.0 + 2 * rounds);
  int refused = 0;
  for (auto& e : f.executors) refused += e->refused;
  CHECK(refused == 0);  // what the scheduler reserved, the executors could hold
}

TEST_CASE("a status call that waits answers the moment its workflow ends") {
  Fixture f;
  auto id = f.submit(array(2, 1));
  for (int i = 0; i < 100 && f.running() < 2; ++i) Fixture::settle();
  REQUIRE(f.running() == 2);
  auto waiting = f.start(f.dag->status(id, TaskDetail::none, 60s));
  Fixture::settle();
  // The clock stands still and the tasks run: no answer yet.
  CHECK(waiting.wait_for(100ms) == std::future_status::timeout);
  for (auto& e : f.executors) {
    auto done = e->finish();
    REQUIRE(f.sync(f.dag->reports(model::TaskReports{done})).ok());
  }
  // Ended: the answer comes without the clock moving, and says so.
  REQUIRE(waiting.wait_for(10s) == std::future_status::ready);
  auto st = *waiting.get();
  REQUIRE(st.ok());
  CHECK(st->summary.state == model::WorkflowState::done);
  CHECK(st->summary.done == 2);
}

TEST_CASE("a status call that waits answers when its wait is over, the workflow still running") {
  Fixture f;
  auto id = f.submit(array(2, 1));
  for (int i = 0; i < 100 && f.running() < 2; ++i) Fixture::settle();
  auto waiting = f.start(f.dag->status(id, TaskDetail::none, 2s));
  Fixture::settle();
  f.clock.advance(1s);
  CHECK(waiting.wait_for(100ms) == std::future_status::timeout);
  f.clock.advance(1s);
  REQUIRE(waiting.wait_for(10s) == std::future_status::ready);
  auto st = *waiting.get();
  REQUIRE(st.ok());
  CHECK(st->summary.state == model::WorkflowState::running);
  // A wait beyond the bound is refused, naming it.
  auto too_long = f.sync(f.dag->status(id, TaskDetail::none, kMaxStatusWait + 1ms));
  REQUIRE_FALSE(too_long.ok());
  CHECK(too_long.status().code() == ErrorCode::invalid_argument);
  CHECK(too_long.status().message().find("waits at most") != std::string::npos);
}

// Takes the running assignment of task `task` off whichever fake host runs it.
std::optional<std::pair<model::TaskAssignment, Member>> take(Fixture& f, const std::string& task) {
  for (auto& e : f.executors) {
    std::lock_guard lock(e->mu);
    for (auto it = e->running.begin(); it != e->running.end(); ++it)
      if (it->task == task) {
        auto a = *it;
        e->used -= a.cores;
        e->running.erase(it);
        return std::make_pair(a, e->self);
      }
  }
  return std::nullopt;
}

std::optional<std::pair<model::TaskAssignment, Member>> wait_take(Fixture& f,
                                                                  const std::string& task) {
  for (int i = 0; i < 200; ++i) {
    if (auto got = take(f, task)) return got;
    Fixture::settle();
  }
  return std::nullopt;
}

model::TaskReport report(const model::TaskAssignment& a, const Member& host,
                         model::TaskState state) {
  model::TaskReport r;
  r.workflow = a.workflow;
  r.task = a.task;
  r.attempt = a.attempt;
  r.host = host.id;
  r.state = state;
  r.exit_code = state == model::TaskState::done ? 0 : 1;
  r.wall_ms = 10;
  return r;
}

TEST_CASE(
    "an input lost with its holder is made again, and the task that could not fetch it waits") {
  Fixture f;
  auto id = f.submit(
      "<workflow xmlns=\"urn:fvce:1\" name=\"lost\">"
      "<task id=\"a\" cmd=\"true\"><out file=\"a.txt\"/></task>"
      "<task id=\"b\" cmd=\"cat\" args=\"a.txt\"><in file=\"a.txt\"/></task></workflow>");
  auto a = wait_take(f, "a");
  REQUIRE(a);
  auto done = report(a->first, a->second, model::TaskState::done);
  done.outputs.push_back(
      model::FileRef{"a.txt", std::string(64, 'a'), 1, a->second.address, "work/x/a/a.txt", false});
  REQUIRE(f.sync(f.dag->reports(model::TaskReports{{done}})).ok());
  auto b = wait_take(f, "b");
  REQUIRE(b);
  CHECK(b->first.inputs.size() == 1);
  // b cannot fetch a.txt from a's host: a runs again (attempt 2), b waits for it.
  auto lost = report(b->first, b->second, model::TaskState::failed);
  lost.message = "staging input 'a.txt' from " + a->second.address + " failed: refused";
  lost.lost_input = "a.txt";
  REQUIRE(f.sync(f.dag->reports(model::TaskReports{{lost}})).ok());
  auto st = f.sync(f.dag->status(id, TaskDetail::all, {}));
  REQUIRE(st.ok());
  CHECK(st->summary.state == model::WorkflowState::running);
  auto a2 = wait_take(f, "a");
  REQUIRE(a2);
  CHECK(a2->first.attempt == 2);
  CHECK_FALSE(take(f, "b"));  // not before a is done again
  done = report(a2->first, a2->second, model::TaskState::done);
  done.outputs.push_back(model::FileRef{"a.txt", std::string(64, 'a'), 1, a2->second.address,
                                        "work/x/a/a.txt", false});
  REQUIRE(f.sync(f.dag->reports(model::TaskReports{{done}})).ok());
  auto b2 = wait_take(f, "b");
  REQUIRE(b2);
  CHECK(b2->first.attempt == 2);
  REQUIRE(b2->first.inputs.size() == 1);
  CHECK(b2->first.inputs[0].source == a2->second.address);  // from where it is now
  REQUIRE(f.sync(f.dag->reports(
                     model::TaskReports{{report(b2->first, b2->second, model::TaskState::done)}}))
              .ok());
  for (int i = 0; i < 200; ++i) {
    st = f.sync(f.dag->status(id, TaskDetail::none, {}));
    if (st.ok() && st->summary.state != model::WorkflowState::running) break;
    Fixture::settle();
  }
  REQUIRE(st.ok());
  // b had no retries to spend (retries="0"): the lost input did not count against it.
  CHECK(st->summary.state == model::WorkflowState::done);
}

TEST_CASE("a task whose host is lost runs again under a new attempt, its retries unspent") {
  Fixture f;
  auto id = f.submit(
      "<workflow xmlns=\"urn:fvce:1\" name=\"lost-host\">"
      "<task id=\"t\" cmd=\"true\" retries=\"1\"/></workflow>");
  auto first = wait_take(f, "t");
  REQUIRE(first);
  CHECK(first->first.attempt == 1);
  // Its host is declared dead (it may only be cut off, and come back with that run): the
  // task runs again elsewhere, as attempt 2, so that host cannot take the new run for the
  // one it had.
  f.members->drop(first->second.id);
  std::optional<std::pair<model::TaskAssignment, Member>> second;
  for (int i = 0; i < 50 && !second; ++i) {
    f.clock.advance(200ms);
    second = wait_take(f, "t");
  }
  REQUIRE(second);
  CHECK(second->first.attempt == 2);
  CHECK(second->second.id != first->second.id);
  // The report of the first run, should its host send it, counts for nothing.
  REQUIRE(f.sync(f.dag->reports(model::TaskReports{
                     {report(first->first, first->second, model::TaskState::done)}}))
              .ok());
  auto st = f.sync(f.dag->status(id, TaskDetail::all, {}));
  REQUIRE(st.ok());
  CHECK(st->summary.state == model::WorkflowState::running);
  // The lost host did not spend its retry: a failure of attempt 2 is retried (attempt 3).
  REQUIRE(f.sync(f.dag->reports(model::TaskReports{
                     {report(second->first, second->second, model::TaskState::failed)}}))
              .ok());
  auto third = wait_take(f, "t");
  REQUIRE(third);
  CHECK(third->first.attempt == 3);
  REQUIRE(f.sync(f.dag->reports(model::TaskReports{
                     {report(third->first, third->second, model::TaskState::done)}}))
              .ok());
  for (int i = 0; i < 200; ++i) {
    st = f.sync(f.dag->status(id, TaskDetail::all, {}));
    if (st.ok() && st->summary.state != model::WorkflowState::running) break;
    Fixture::settle();
  }
  REQUIRE(st.ok());
  CHECK(st->summary.state == model::WorkflowState::done);
  REQUIRE(st->tasks.size() == 1);
  CHECK(st->tasks[0].attempts == 3);
  CHECK(st->tasks[0].host == third->second.name);
}

}  // namespace
}  // namespace fvce::submit
