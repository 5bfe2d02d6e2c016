// The "process" executor against real processes, the real "local" file service and a real
// HTTP submitter on loopback that records the reports it receives.
#include "services/execute/impl/process.h"

#include <doctest/doctest.h>
#include <openssl/evp.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_future.hpp>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <latch>
#include <mutex>
#include <optional>
#include <sstream>
#include <thread>

#include "node/core/files.h"
#include "node/http/router.h"
#include "node/http/server.h"
#include "node/model/codec.h"
#include "services/execute/executor.h"
#include "services/execute/register_impls.h"
#include "services/execute/remote.h"
#include "services/execute/resource.h"
#include "services/file/register_impls.h"
#include "services/file/resource.h"
#include "services/info/impl/declared.h"
#include "tests/unit/test_auth.h"
#include "tests/unit/test_node.h"

namespace fvce::execute {
namespace {

namespace asio = boost::asio;
namespace fs = std::filesystem;
using model::TaskReport;
using model::TaskState;
using namespace std::chrono_literals;

constexpr const char* kWorkflow = "wf-test";

std::string sha256_hex(std::string_view data) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(data.data(), data.size(), md, &len, EVP_sha256(), nullptr);
  static const char* hex = "0123456789abcdef";
  std::string out;
  for (unsigned i = 0; i < len; ++i) {
    out += hex[md[i] >> 4];
    out += hex[md[i] & 15];
  }
  return out;
}

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// A process that exists and is not a zombie (a reparented zombie may linger in a container
// whose init does not reap).
bool alive(pid_t pid) {
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  if (!stat) return false;
  std::string line;
  std::getline(stat, line);
  auto close = line.rfind(')');
  return close != std::string::npos && close + 2 < line.size() && line[close + 2] != 'Z';
}

// The executor's options: the core's and the process runner's.
struct Options {
  ExecutorOptions exec;
  ProcessOptions process;
};

// A node's worth of machinery: io_context on two threads, worker pool, the real file
// service, declared info (4 cores), an HTTP server playing the submitter (and serving the
// execute routes), and the executor under test (the core over the process runner). Reports
// reach the submitter through the node's Peers, over HTTP.
struct Fixture {
  fs::path dir;
  // Before the io_context, as in the node: coroutines still queued when it is destroyed may
  // hold strands of the pool.
  asio::thread_pool workers{2};
  asio::io_context ioc;
  asio::executor_work_guard<asio::io_context::executor_type> guard = asio::make_work_guard(ioc);
  http::Client client{ioc};  // the tests' own, for the routes
  const Clock& clock;        // the executor's (a manual one drives its timers)
  fvce::test::TestNode node{ioc, "127.0.0.1:1", clock};
  NodeContext& ctx = node.ctx;
  http::Metrics& metrics = node.metrics;
  http::Router router;
  http::Server server{ioc, router, metrics, http::ServerOptions{}};
  std::shared_ptr<file::LocalFile> files;
  std::shared_ptr<info::LocalInfo> info;
  std::shared_ptr<PoolExecutor> exec;
  std::string address;
  std::vector<std::thread> threads;

  std::mutex mu;
  std::condition_variable cv;
  std::vector<TaskReport> reports;
  std::vector<std::size_t> batch_sizes;
  bool refusing = false;  // answer 503 to every POST while set
  int refused = 0;
  std::vector<TaskReport> last_refused;  // what the last refused POST carried

  explicit Fixture(Options options = default_options(),
                   const Clock& executor_clock = SystemClock::instance())
      : clock(executor_clock) {
    char tmpl[] = "/tmp/fvce-execute-test-XXXXXX";
    REQUIRE(::mkdtemp(tmpl) != nullptr);
    dir = tmpl;
    REQUIRE(server.listen(asio::ip::tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0)).ok());
    address = "127.0.0.1:" + std::to_string(server.local_endpoint().port());
    // This node is the submitter too, but has no submit service installed in its Peers: the
    // reports go over HTTP, to the test's own /submit/reports.
    node.set_address(address);

    ctx.state_dir = dir;
    ctx.workers = &workers;
    model::HostStatic host;
    host.cores = 4;
    host.memory = 8ull << 30;
    host.speed = 100;
    info = std::make_shared<info::DeclaredInfo>(ioc, SystemClock::instance(),
                                                info::SamplingOptions{}, host);
    file::FileRegistry file_registry("file");
    file::register_file_impls(file_registry);
    auto built = file_registry.build_default("local", ctx, "deploy.xml");
    REQUIRE_MESSAGE(built.ok(), built.status().ToString());
    files = *built;

    auto runner = ProcessRunner::Create(ctx, options.process);
    REQUIRE(runner.ok());
    auto e = PoolExecutor::Create(ctx, files, std::move(*runner), options.exec);
    REQUIRE(e.ok());
    exec = *e;
    node.peers.set_local({exec, nullptr, files, info, nullptr, nullptr});
    add_routes(router, exec);
    file::add_routes(router, files);  // inputs are fetched from here, over HTTP
    server.set_authenticator(&fvce::test::member_authenticator());
    router.add(http::Verb::post, "/submit/reports", auth::Access::peer,
               [this](const http::RequestView& v) -> asio::awaitable<http::Response> {
                 // Validated against the schema, as the real submitter does.
                 auto in = http::parse_body<model::TaskReports>(v.body());
                 if (!in.ok()) co_return http::error_response(in.status());
                 {
                   std::lock_guard lock(mu);
                   if (refusing) {
                     ++refused;
                     last_refused = in->reports;
                     cv.notify_all();
                     co_return http::error_response(Status::Unavailable("busy, try later"));
                   }
                   batch_sizes.push_back(in->reports.size());
                   for (auto& r : in->reports) reports.push_back(std::move(r));
                 }
                 cv.notify_all();
                 co_return http::no_content();
               });
    server.start();
    exec->start();
    for (int i = 0; i < 2; ++i) threads.emplace_back([this] { ioc.run(); });
  }

  ~Fixture() {
    exec->stop();
    asio::co_spawn(ioc, server.stop(500ms), asio::use_future).get();
    guard.reset();
    ioc.stop();
    for (auto& t : threads) t.join();
    workers.join();
    std::error_code ec;
    fs::remove_all(dir, ec);
  }

  static Options default_options() {
    Options o;
    o.exec.slots = 2;
    o.exec.queue = 2;
    o.exec.kill_grace = 1s;
    o.process.launcher_path = FVCE_EXEC_PATH;
    return o;
  }

  ProcessRunner& runner() { return static_cast<ProcessRunner&>(exec->runner()); }
  // Runs a coroutine on the io_context and waits for its result.
  template <typename F>
  auto sync(F f) {
    using R = typename decltype(f())::value_type;
    std::optional<R> out;
    asio::co_spawn(
        ioc, [&]() -> asio::awaitable<void> { out.emplace(co_await f()); }, asio::use_future)
        .get();
    return std::move(*out);
  }

  model::TaskAssignment task(std::string id, std::string script) const {
    model::TaskAssignment a;
    a.workflow = kWorkflow;
    a.task = std::move(id);
    a.attempt = 1;
    a.submitter = address;
    a.owner = "tester";
    a.cmd = "sh";
    a.args = {"-c", std::move(script)};
    return a;
  }

  // A task that runs `program` with no arguments.
  model::TaskAssignment program(std::string id, std::string program) const {
    auto a = task(std::move(id), "");
    a.cmd = std::move(program);
    a.args.clear();
    return a;
  }

  Status assign(model::TaskAssignment a) {
    return sync([&] { return exec->assign(a); });
  }

  // The reports of a task, once its final one arrived (or the deadline passed).
  std::vector<TaskReport> wait_final(const std::string& id,
                                     std::chrono::milliseconds timeout = 5s) {
    std::unique_lock lock(mu);
    auto of_task = [&] {
      std::vector<TaskReport> out;
      for (const auto& r : reports)
        if (r.task == id) out.push_back(r);
      return out;
    };
    cv.wait_for(lock, timeout, [&] {
      for (const auto& r : of_task())
        if (model::is_final(r.state)) return true;
      return false;
    });
    return of_task();
  }

  // Waits until the task reported state.
  bool wait_state(const std::string& id, TaskState state, std::chrono::milliseconds timeout = 5s) {
    std::unique_lock lock(mu);
    return cv.wait_for(lock, timeout, [&] {
      for (const auto& r : reports)
        if (r.task == id && r.state == state) return true;
      return false;
    });
  }

  fs::path work_root() const { return files->work_root(); }
  fs::path workdir(const std::string& task_dir) const {
    return work_root() / "work" / kWorkflow / task_dir / "a1";
  }
  // Attempt 1's captured stdout (".out") or stderr (".err"), in the capture root (the state
  // directory's captures/, off the work root).
  fs::path capture(const std::string& task_dir, const std::string& ext) const {
    return fs::path(dir) / "captures" / kWorkflow / task_dir / ("a1" + ext);
  }
};

std::vector<TaskState> states(const std::vector<TaskReport>& rs) {
  std::vector<TaskState> out;
  for (const auto& r : rs) out.push_back(r.state);
  return out;
}

// Kills the executor's launcher outright; returns its pid.
pid_t kill_launcher(Fixture& f) {
  pid_t launcher = f.runner().launcher_pid();
  REQUIRE(launcher > 0);
  REQUIRE(::kill(launcher, SIGKILL) == 0);
  return launcher;
}

// One slot, and room for one task to wait.
Options one_slot_one_queued() {
  Options o = Fixture::default_options();
  o.exec.slots = 1;
  o.exec.queue = 1;
  return o;
}

// Waits for a file to hold a line (a task writing its pid).
pid_t read_pid(const fs::path& p) {
  for (int i = 0; i < 200; ++i) {
    std::ifstream in(p);
    pid_t pid = 0;
    if (in >> pid && pid > 0) return pid;
    std::this_thread::sleep_for(10ms);
  }
  return 0;
}

}  // namespace

TEST_CASE("a task runs in its work directory: running, done, output captured") {
  Fixture f;
  // Staging without inputs is usually over before its report goes out ("running"
  // supersedes it); on a slow machine it may go out on its own.
  REQUIRE(f.assign(f.task("hello", "sleep 0.3; echo hi; echo err >&2")).ok());
  auto rs = f.wait_final("hello");
  if (rs.size() == 3) {
    CHECK(rs[0].state == TaskState::staging);
    rs.erase(rs.begin());
  }
  REQUIRE(states(rs) == std::vector<TaskState>{TaskState::running, TaskState::done});
  const auto& done = rs.back();
  CHECK(done.workflow == kWorkflow);
  CHECK(done.attempt == 1);
  CHECK(done.host == f.ctx.self.id);
  CHECK(done.exit_code == 0);
  CHECK_FALSE(done.signal);
  REQUIRE(done.started);
  REQUIRE(done.finished);
  CHECK(*done.finished >= *done.started);
  CHECK(rs[0].started == done.started);
  REQUIRE(done.wall_ms);
  // From the launcher's start message to its end message: a few ms can fall outside.
  CHECK(*done.wall_ms >= 280);
  CHECK(*done.wall_ms < 5000);

  auto task_dir = f.work_root() / "work" / kWorkflow / "hello";
  CHECK(slurp(f.capture("hello", ".out")) == "hi\n");
  CHECK(slurp(f.capture("hello", ".err")) == "err\n");
  CHECK(fs::is_directory(task_dir / "a1"));

  auto out = f.sync([&] { return f.exec->logs(kWorkflow, "hello", 0, "stdout", 100); });
  REQUIRE(out.ok());
  CHECK(*out == "hi\n");
  auto err = f.sync([&] { return f.exec->logs(kWorkflow, "hello", 1, "stderr", 2); });
  REQUIRE(err.ok());
  CHECK(*err == "r\n");  // the tail: at most max bytes
  auto none = f.sync([&] { return f.exec->logs(kWorkflow, "other", 0, "stdout", 100); });
  CHECK(none.status().code() == ErrorCode::not_found);
  auto bad = f.sync([&] { return f.exec->logs("../etc", "hello", 0, "stdout", 100); });
  CHECK(bad.status().code() == ErrorCode::invalid_argument);

  CHECK(f.metrics.value("fvce_execute_tasks_total", {{"state", "done"}}) == 1);
  CHECK(f.metrics.value("fvce_execute_running", {}) == 0);
  CHECK(f.metrics.value("fvce_execute_spawns_total", {}) == 1);
}

TEST_CASE("a short task's progress reports are superseded by its final one: one report") {
  auto slow = Fixture::default_options();
  slow.exec.reports.linger = 5s;  // far longer than `true` takes, even on a loaded machine
  Fixture f(slow);
  REQUIRE(f.assign(f.task("quick", "true")).ok());
  auto rs = f.wait_final("quick");
  REQUIRE(states(rs) == std::vector<TaskState>{TaskState::done});
  CHECK(rs[0].started);
  CHECK(rs[0].finished);
  // With no linger every state change goes out as it happens.
  auto o = Fixture::default_options();
  o.exec.reports.linger = 0ms;
  Fixture g(o);
  REQUIRE(g.assign(g.task("slow", "sleep 1")).ok());
  auto gs = g.wait_final("slow");
  CHECK(states(gs) ==
        std::vector<TaskState>{TaskState::staging, TaskState::running, TaskState::done});
}

TEST_CASE("inputs are staged, an input can be the program, outputs carry hash and size") {
  Fixture f;
  auto root = f.work_root();
  fs::create_directories(root / "inputs");
  REQUIRE(write_file_atomic(root / "inputs/data.txt", "abc\n").ok());
  REQUIRE(write_file_atomic(root / "inputs/run.sh",
                            "#!/bin/sh\nmkdir -p sub && cat data.txt data.txt > sub/out.txt\n")
              .ok());
  auto ref = [&](std::string name, std::string path, bool executable) {
    auto h = f.sync([&] { return f.files->hash(path); });
    REQUIRE(h.ok());
    return model::FileRef{std::move(name), h->first, h->second, f.address, path, executable};
  };
  auto a = f.task("array[3]", "");
  a.cmd = "./run.sh";
  a.args.clear();
  a.inputs.push_back(ref("data.txt", "inputs/data.txt", false));
  a.inputs.push_back(ref("run.sh", "inputs/run.sh", true));
  a.outputs = {"sub/out.txt"};
  REQUIRE(f.assign(a).ok());
  auto rs = f.wait_final("array[3]");
  REQUIRE(!rs.empty());
  INFO(rs.back().message);
  REQUIRE(rs.back().state == TaskState::done);
  REQUIRE(rs.back().outputs.size() == 1);
  const auto& out = rs.back().outputs[0];
  CHECK(out.name == "sub/out.txt");
  CHECK(out.sha256 == sha256_hex("abc\nabc\n"));
  CHECK(out.size == 8);
  CHECK(out.source == f.address);
  CHECK(out.path == "work/wf-test/array.3/a1/sub/out.txt");  // "[3]" → ".3"
  CHECK(slurp(root / out.path) == "abc\nabc\n");
}

TEST_CASE("a non-zero exit is a failure with the exit code and the end of stderr") {
  Fixture f;
  REQUIRE(f.assign(f.task("fails", "echo noise >&2; echo 'the last words' >&2; exit 3")).ok());
  auto rs = f.wait_final("fails");
  REQUIRE(!rs.empty());
  const auto& r = rs.back();
  CHECK(r.state == TaskState::failed);
  CHECK(r.exit_code == 3);
  CHECK(r.message.find("exited with code 3") != std::string::npos);
  CHECK(r.message.find("the last words") != std::string::npos);
  CHECK(f.metrics.value("fvce_execute_tasks_total", {{"state", "failed"}}) == 1);
}

TEST_CASE("exit 0 without a declared output is a failure naming the output") {
  Fixture f;
  auto a = f.task("lazy", "true");
  a.outputs = {"result.bin"};
  REQUIRE(f.assign(a).ok());
  auto rs = f.wait_final("lazy");
  REQUIRE(!rs.empty());
  CHECK(rs.back().state == TaskState::failed);
  CHECK(rs.back().exit_code == 0);
  CHECK(rs.back().message == "task exited 0 but did not write output 'result.bin'");
  CHECK(rs.back().outputs.empty());
}

TEST_CASE("a task past its time limit is terminated and fails") {
  Fixture f;
  auto a = f.task("slow", "");
  a.cmd = "sleep";
  a.args = {"10"};
  a.time_limit_ms = 200;
  auto t0 = std::chrono::steady_clock::now();
  REQUIRE(f.assign(a).ok());
  auto rs = f.wait_final("slow");
  auto took = std::chrono::steady_clock::now() - t0;
  REQUIRE(!rs.empty());
  CHECK(rs.back().state == TaskState::failed);
  CHECK(rs.back().message == "time limit of 200ms exceeded");
  CHECK(rs.back().signal == SIGTERM);
  CHECK(took < 1500ms);
  CHECK(took >= 200ms);
}

TEST_CASE("on a manual clock, a time limit and the kill grace fire when the clock says") {
  ManualClock clock;
  auto o = Fixture::default_options();
  o.exec.reports.linger = 0ms;  // the linger is on the manual clock too
  Fixture f(o, clock);
  // Ignores SIGTERM: only the SIGKILL after the grace ends it.
  auto a = f.task("stubborn", "trap '' TERM; echo $$ > pid; sleep 30 & wait; sleep 30");
  a.time_limit_ms = 60'000;
  REQUIRE(f.assign(a).ok());
  REQUIRE(f.wait_state("stubborn", TaskState::running));
  pid_t pid = read_pid(f.workdir("stubborn") / "pid");
  REQUIRE(pid > 0);
  std::this_thread::sleep_for(200ms);
  CHECK(alive(pid));   // real time passes, the executor's clock does not
  clock.advance(60s);  // the time limit: SIGTERM, which it ignores
  std::this_thread::sleep_for(200ms);
  CHECK(alive(pid));
  auto early = f.wait_final("stubborn", 10ms);
  CHECK((early.empty() || !model::is_final(early.back().state)));
  clock.advance(1s);  // the kill grace (1 s in these tests): SIGKILL
  auto rs = f.wait_final("stubborn");
  REQUIRE(!rs.empty());
  CHECK(rs.back().state == TaskState::failed);
  CHECK(rs.back().message == "time limit of 1m00s exceeded");
  CHECK(rs.back().signal == SIGKILL);
  REQUIRE(rs.back().wall_ms);
  CHECK(*rs.back().wall_ms == 61'000);  // the executor's clock, not the wall's
}

TEST_CASE("cancel terminates the whole process group and reports cancelled") {
  Fixture f;
  REQUIRE(
      f.assign(f.task("victim", "echo $$ > self.pid; sleep 10 & echo $! > child.pid; wait")).ok());
  REQUIRE(f.wait_state("victim", TaskState::running));
  pid_t leader = read_pid(f.workdir("victim") / "self.pid");
  pid_t child = read_pid(f.workdir("victim") / "child.pid");
  REQUIRE(leader > 0);
  REQUIRE(child > 0);
  CHECK(alive(child));
  auto t0 = std::chrono::steady_clock::now();
  REQUIRE(f.sync([&] { return f.exec->cancel(model::CancelRequest{kWorkflow, "victim"}); }).ok());
  auto rs = f.wait_final("victim");
  CHECK(std::chrono::steady_clock::now() - t0 < 1s);
  REQUIRE(!rs.empty());
  CHECK(rs.back().state == TaskState::cancelled);
  CHECK(::kill(leader, 0) == -1);  // reaped by the executor
  // The rest of the group was signalled before the report; dying takes the kernel a moment.
  for (int i = 0; i < 100 && alive(child); ++i) std::this_thread::sleep_for(5ms);
  CHECK_FALSE(alive(child));
  // Unknown tasks and workflows are not an error.
  CHECK(f.sync([&] { return f.exec->cancel(model::CancelRequest{"no-such-wf", ""}); }).ok());
}

TEST_CASE("slots and queue bound what is accepted, a workflow cancel clears both") {
  Fixture f(one_slot_one_queued());
  auto sleeper = [&](std::string id) {
    auto a = f.task(std::move(id), "");
    a.cmd = "sleep";
    a.args = {"10"};
    return a;
  };
  REQUIRE(f.assign(sleeper("one")).ok());
  REQUIRE(f.assign(sleeper("two")).ok());
  CHECK(f.exec->occupancy() == std::pair<int, int>{0, 1});
  Status full = f.assign(sleeper("three"));
  CHECK(full.code() == ErrorCode::unavailable);
  CHECK(full.message() == "all 1 slots busy and the queue is full (1 waiting)");
  CHECK(f.assign(sleeper("one")).code() == ErrorCode::conflict);
  REQUIRE(f.wait_state("one", TaskState::running));

  REQUIRE(f.sync([&] { return f.exec->cancel(model::CancelRequest{kWorkflow, ""}); }).ok());
  auto one = f.wait_final("one");
  auto two = f.wait_final("two");
  REQUIRE(!one.empty());
  REQUIRE(!two.empty());
  CHECK(one.back().state == TaskState::cancelled);
  CHECK(states(two) == std::vector<TaskState>{TaskState::cancelled});  // never started
  for (int i = 0; i < 100 && f.exec->occupancy() != std::pair<int, int>{1, 0}; ++i)
    std::this_thread::sleep_for(10ms);
  CHECK(f.exec->occupancy() == std::pair<int, int>{1, 0});
  CHECK(f.metrics.value("fvce_execute_tasks_total", {{"state", "cancelled"}}) == 2);
}

// Occupies the executor's only slot with task `id`, which runs until the returned file is
// removed.
fs::path hold_the_slot(Fixture& f, const std::string& id) {
  auto gate = f.dir / ("gate-" + id);
  REQUIRE(write_file_atomic(gate, "").ok());
  REQUIRE(f.assign(f.task(id, "while [ -e '" + gate.string() + "' ]; do sleep 0.02; done")).ok());
  REQUIRE(f.wait_state(id, TaskState::running));
  return gate;
}

TEST_CASE("a queued task is prepared while it waits and starts once the slot frees") {
  Fixture f(one_slot_one_queued());
  auto root = f.work_root();
  fs::create_directories(root / "inputs");
  REQUIRE(write_file_atomic(root / "inputs/data.txt", "abc\n").ok());
  auto h = f.sync([&] { return f.files->hash("inputs/data.txt"); });
  REQUIRE(h.ok());
  auto gate = hold_the_slot(f, "first");
  auto second = f.task("second", "cat data.txt");
  second.inputs.push_back(
      model::FileRef{"data.txt", h->first, h->second, f.address, "inputs/data.txt", false});
  REQUIRE(f.assign(second).ok());
  // While it waits its input is staged already, and it has said nothing yet.
  auto staged = f.workdir("second") / "data.txt";
  for (int i = 0; i < 200 && !fs::exists(staged); ++i) std::this_thread::sleep_for(10ms);
  CHECK(fs::exists(staged));
  std::this_thread::sleep_for(100ms);
  CHECK(f.wait_final("second", 0ms).empty());
  CHECK(f.exec->occupancy() == std::pair<int, int>{0, 1});
  fs::remove(gate);
  auto rs = f.wait_final("second");
  REQUIRE(!rs.empty());
  INFO(rs.back().message);
  CHECK(rs.back().state == TaskState::done);
  CHECK(slurp(f.capture("second", ".out")) == "abc\n");
}

// Waits until the executor has handed n queued tasks over to the launcher.
bool wait_handovers(Fixture& f, double n) {
  for (int i = 0; i < 300; ++i) {
    if (f.metrics.value("fvce_execute_handovers_total", {}) >= n) return true;
    std::this_thread::sleep_for(10ms);
  }
  return false;
}

// Nanoseconds since the epoch, as a task wrote them with `date +%s%N`.
long long read_ns(const fs::path& p) {
  std::ifstream in(p);
  long long v = 0;
  in >> v;
  return v;
}

TEST_CASE("a queued task starts the moment the task before it ends, even while the node is busy") {
  Fixture f(one_slot_one_queued());
  auto end = f.dir / "first-ended";
  auto start = f.dir / "second-started";
  REQUIRE(f.assign(f.task("first", "sleep 0.6; date +%s%N > '" + end.string() + "'")).ok());
  REQUIRE(f.wait_state("first", TaskState::running));
  REQUIRE(f.assign(f.task("second", "date +%s%N > '" + start.string() + "'")).ok());
  REQUIRE(wait_handovers(f, 1));
  // Both of the node's I/O threads are held for 2 s, across the end of the first task: the
  // second starts without them.
  std::latch both(2);
  for (int i = 0; i < 2; ++i)
    asio::post(f.ioc, [&both] {
      both.arrive_and_wait();
      std::this_thread::sleep_for(2s);
    });
  auto second = f.wait_final("second", 10s);
  REQUIRE(!second.empty());
  CHECK(second.back().state == TaskState::done);
  auto first = f.wait_final("first");
  REQUIRE(!first.empty());
  CHECK(first.back().state == TaskState::done);
  long long gap_ms = (read_ns(start) - read_ns(end)) / 1'000'000;
  INFO("the second task started ", gap_ms, " ms after the first ended");
  CHECK(read_ns(end) > 0);
  CHECK(gap_ms >= 0);
  CHECK(gap_ms < 500);
  CHECK(f.exec->occupancy() == std::pair<int, int>{1, 0});
}

TEST_CASE("a task handed over behind another and then cancelled never runs") {
  Fixture f(one_slot_one_queued());
  auto gate = hold_the_slot(f, "first");
  auto ran = f.dir / "second-ran";
  REQUIRE(f.assign(f.task("second", "touch '" + ran.string() + "'")).ok());
  REQUIRE(wait_handovers(f, 1));
  REQUIRE(f.sync([&] { return f.exec->cancel(model::CancelRequest{kWorkflow, "second"}); }).ok());
  auto second = f.wait_final("second");
  REQUIRE(!second.empty());
  CHECK(states(second) == std::vector<TaskState>{TaskState::cancelled});
  fs::remove(gate);
  auto first = f.wait_final("first");
  REQUIRE(!first.empty());
  CHECK(first.back().state == TaskState::done);
  // The slot passes to the next task as usual.
  REQUIRE(f.assign(f.task("third", "echo fine")).ok());
  auto third = f.wait_final("third");
  REQUIRE(!third.empty());
  CHECK(third.back().state == TaskState::done);
  CHECK(!fs::exists(ran));
  CHECK(f.exec->occupancy() == std::pair<int, int>{1, 0});
}

TEST_CASE("a launcher that dies with a task handed over behind the one it runs starts it anew") {
  Fixture f(one_slot_one_queued());
  REQUIRE(f.assign(f.task("long", "sleep 30")).ok());
  REQUIRE(f.wait_state("long", TaskState::running));
  REQUIRE(f.assign(f.task("next", "echo fine")).ok());
  REQUIRE(wait_handovers(f, 1));
  pid_t launcher = kill_launcher(f);
  auto rs = f.wait_final("long");
  REQUIRE(!rs.empty());
  CHECK(rs.back().state == TaskState::failed);
  auto next = f.wait_final("next");
  REQUIRE(!next.empty());
  INFO(next.back().message);
  CHECK(next.back().state == TaskState::done);
  CHECK(slurp(f.capture("next", ".out")) == "fine\n");
  CHECK(f.runner().launcher_pid() != launcher);
}

TEST_CASE("a released task is given back: dropped from the queue, or stopped, and cancelled") {
  Fixture f(one_slot_one_queued());
  REQUIRE(f.assign(f.task("long", "sleep 30")).ok());
  REQUIRE(f.wait_state("long", TaskState::running));
  REQUIRE(f.assign(f.task("next", "echo next")).ok());
  auto release = [&](std::string task) {
    return f.sync([&] {
      return f.exec->release(model::ReleaseRequest{kWorkflow, task, "moved to n9", true});
    });
  };
  // Queued: given back before it starts.
  REQUIRE(release("next").ok());
  auto next = f.wait_final("next");
  REQUIRE(!next.empty());
  CHECK(next.back().state == TaskState::cancelled);
  CHECK(next.back().message == "given up before it started: moved to n9");
  // Running, without a checkpoint: stopped, and given back without one.
  auto t0 = std::chrono::steady_clock::now();
  REQUIRE(release("long").ok());
  auto rs = f.wait_final("long");
  REQUIRE(!rs.empty());
  CHECK(rs.back().state == TaskState::cancelled);
  CHECK(rs.back().message == "given up: moved to n9");
  CHECK_FALSE(rs.back().checkpoint);
  CHECK(std::chrono::steady_clock::now() - t0 < 10s);
  // Nothing of it is here any more.
  CHECK(release("long").code() == ErrorCode::not_found);
  CHECK(release("nope").code() == ErrorCode::not_found);
}

TEST_CASE("a drained host gives its tasks back and takes no new work") {
  Fixture f;
  REQUIRE(f.assign(f.task("a", "sleep 30")).ok());
  REQUIRE(f.assign(f.task("b", "sleep 30")).ok());
  REQUIRE(f.wait_state("a", TaskState::running));
  REQUIRE(f.wait_state("b", TaskState::running));
  auto d = f.sync([&] { return f.exec->drain("maintenance", 20s); });
  REQUIRE_MESSAGE(d.ok(), d.status().message());
  CHECK(d->released == 2);
  CHECK(d->left == 0);
  CHECK(d->checkpointed == 0);
  for (const char* t : {"a", "b"}) {
    auto rs = f.wait_final(t);
    REQUIRE(!rs.empty());
    CHECK(rs.back().state == TaskState::cancelled);
    CHECK(rs.back().message.find("is draining: maintenance") != std::string::npos);
  }
  CHECK(f.exec->health().down == "draining: maintenance");
  Status refused = f.assign(f.task("c", "true"));
  CHECK(refused.code() == ErrorCode::unavailable);
  CHECK(refused.message().find("draining: maintenance") != std::string::npos);
}

TEST_CASE("handed-over tasks never run more cores at once than the slots, a wide one in turn") {
  Options o = Fixture::default_options();
  o.exec.slots = 2;
  o.exec.queue = 12;
  Fixture f(o);
  auto live = f.dir / "live";
  auto counts = f.dir / "counts";
  auto order = f.dir / "order";
  fs::create_directories(live);
  // Each task marks its cores as in use, records how many are, and clears them.
  auto script = [&](int cores) {
    std::string marks;
    for (int c = 0; c < cores; ++c)
      marks += " '" + live.string() + "'/$FVCE_TASK." + std::to_string(c);
    return "touch" + marks + "; ls '" + live.string() + "' | wc -l >> '" + counts.string() +
           "'; echo $FVCE_TASK >> '" + order.string() + "'; sleep 0.1; rm" + marks;
  };
  std::vector<std::string> ids;
  for (int i = 0; i < 10; ++i) {
    std::string id = i == 4 ? "wide" : "t" + std::to_string(i);
    auto a = f.task(id, script(i == 4 ? 2 : 1));
    a.cores = i == 4 ? 2 : 1;
    REQUIRE(f.assign(a).ok());
    ids.push_back(id);
  }
  for (const auto& id : ids) {
    auto rs = f.wait_final(id, 10s);
    REQUIRE(!rs.empty());
    INFO(id, ": ", rs.back().message);
    CHECK(rs.back().state == TaskState::done);
  }
  std::ifstream in(counts);
  int n = 0, most = 0, lines = 0;
  while (in >> n) {
    most = std::max(most, n);
    ++lines;
  }
  CHECK(lines == 10);
  CHECK(most <= 2);
  CHECK(most >= 1);
  CHECK(f.metrics.value("fvce_execute_handovers_total", {}) >= 4);
  // The wide task is not overtaken by the narrow ones queued behind it.
  std::ifstream ord(order);
  std::vector<std::string> seen;
  for (std::string id; ord >> id;) seen.push_back(id);
  auto at = [&](const std::string& id) {
    return std::find(seen.begin(), seen.end(), id) - seen.begin();
  };
  CHECK(at("wide") < at("t5"));
  CHECK(at("wide") > at("t3"));
  CHECK(f.exec->occupancy() == std::pair<int, int>{2, 0});
}

TEST_CASE("a queued task whose input cannot be staged fails and gives its queue place back") {
  Fixture f(one_slot_one_queued());
  auto gate = hold_the_slot(f, "first");
  auto broken = f.task("broken", "true");
  broken.inputs.push_back(model::FileRef{"missing.txt", std::string(64, 'a'), 3, f.address,
                                         "inputs/missing.txt", false});
  REQUIRE(f.assign(broken).ok());
  auto rs = f.wait_final("broken");
  REQUIRE(!rs.empty());
  CHECK(states(rs) == std::vector<TaskState>{TaskState::failed});  // one report, final
  CHECK(rs.back().message.find("missing.txt") != std::string::npos);
  // Its place in the queue is free again while the slot is still busy.
  for (int i = 0; i < 100 && f.exec->occupancy() != std::pair<int, int>{0, 0}; ++i)
    std::this_thread::sleep_for(10ms);
  CHECK(f.exec->occupancy() == std::pair<int, int>{0, 0});
  REQUIRE(f.assign(f.task("next", "true")).ok());
  fs::remove(gate);
  auto next = f.wait_final("next");
  REQUIRE(!next.empty());
  CHECK(next.back().state == TaskState::done);
}

TEST_CASE("with no queue a second task is refused while the slot is busy") {
  Options o = Fixture::default_options();
  o.exec.slots = 1;
  o.exec.queue = 0;
  Fixture f(o);
  auto a = f.task("first", "sleep 10");
  REQUIRE(f.assign(a).ok());
  CHECK(f.assign(f.task("second", "true")).code() == ErrorCode::unavailable);
  CHECK(f.exec->occupancy() == std::pair<int, int>{0, 0});
}

TEST_CASE("a task needing more cores than the host's slots is refused") {
  Fixture f;  // 2 slots
  auto a = f.task("wide", "true");
  a.cores = 3;
  Status s = f.assign(a);
  CHECK(s.code() == ErrorCode::invalid_argument);
  CHECK(s.message() == "task needs 3 cores, this host offers 2");
  // Names that would leave the work directory are refused by the schema, on the wire.
  a.outputs = {"../escape"};
  a.cores = 1;
  ExecuteRemote remote(f.client, f.address);
  Status escape = f.sync([&] { return remote.assign(a); });
  CHECK(escape.code() == ErrorCode::invalid_argument);
  CHECK(escape.message().find("escape") != std::string::npos);
}

TEST_CASE("wall time, CPU time and max RSS are recorded") {
  Fixture f;
  // dd holds a 50 MB buffer; the loop burns ~0.1 s of CPU in sh.
  REQUIRE(f.assign(f.task("heavy",
                          "dd if=/dev/zero of=/dev/null bs=50000000 count=1 2>/dev/null; "
                          "i=0; while [ $i -lt 100000 ]; do i=$((i+1)); done"))
              .ok());
  auto rs = f.wait_final("heavy");
  REQUIRE(!rs.empty());
  const auto& r = rs.back();
  REQUIRE(r.state == TaskState::done);
  REQUIRE(r.max_rss);
  REQUIRE(r.cpu_ms);
  REQUIRE(r.wall_ms);
  CHECK(*r.max_rss >= 45'000'000);
  CHECK(*r.max_rss < 1'000'000'000);
  CHECK(*r.cpu_ms >= 20);
  CHECK(*r.cpu_ms <= *r.wall_ms + 20);
  CHECK(*r.finished - *r.started >= static_cast<std::int64_t>(*r.wall_ms) - 20);
}

TEST_CASE("through the launcher a task's max RSS is its own, not the node's") {
  // Make this process (the "node") large: 200 MB touched.
  std::vector<char> ballast(200'000'000, 1);
  for (std::size_t i = 0; i < ballast.size(); i += 4096) ballast[i] = static_cast<char>(i);
  auto max_rss_of_true = [](Options o) {
    Fixture f(o);
    REQUIRE(f.assign(f.program("small", "true")).ok());
    auto rs = f.wait_final("small");
    REQUIRE(!rs.empty());
    REQUIRE(rs.back().state == TaskState::done);
    REQUIRE(rs.back().max_rss);
    return *rs.back().max_rss;
  };
  CHECK(max_rss_of_true(Fixture::default_options()) < 20'000'000);
  // Spawned from the node itself, the task is charged with the node's size.
  auto direct = Fixture::default_options();
  direct.process.direct_spawn = true;
  CHECK(max_rss_of_true(direct) >= 200'000'000);
  CHECK(ballast[4096] == static_cast<char>(4096));
}

TEST_CASE("tasks run at the executor's nice level") {
  auto o = Fixture::default_options();
  o.process.nice = 7;
  Fixture f(o);
  REQUIRE(f.assign(f.task("niced", "nice")).ok());
  auto rs = f.wait_final("niced");
  REQUIRE(!rs.empty());
  REQUIRE(rs.back().state == TaskState::done);
  auto out = f.sync([&] { return f.exec->logs(kWorkflow, "niced", 0, "stdout", 100); });
  REQUIRE(out.ok());
  CHECK(*out == "7\n");
  o.process.nice = 20;
  CHECK(!ProcessRunner::Create(f.ctx, o.process).ok());
}

TEST_CASE("a launcher that dies loses its running tasks, the host's fault, and the next runs") {
  auto o = Fixture::default_options();
  o.exec.fault_pause = 300ms;
  Fixture f(o);
  REQUIRE(f.assign(f.task("long", "echo $$ > pid; sleep 30")).ok());
  REQUIRE(f.wait_state("long", TaskState::running));
  pid_t task_pid = read_pid(f.workdir("long") / "pid");
  REQUIRE(task_pid > 0);
  pid_t launcher = kill_launcher(f);
  auto rs = f.wait_final("long");
  REQUIRE(!rs.empty());
  // Not the task's fault: its submitter runs it again without counting the attempt.
  CHECK(rs.back().state == TaskState::failed);
  CHECK(rs.back().host_fault == "launcher");
  CHECK(rs.back().message.find("the task runs again") != std::string::npos);
  // The host takes no new work for the pause, and says why.
  Status refused = f.assign(f.task("early", "echo early"));
  CHECK(refused.code() == ErrorCode::unavailable);
  CHECK(refused.message().find("takes no new work: its task launcher died") != std::string::npos);
  CHECK(f.exec->health().down.find("task launcher died") != std::string::npos);
  std::this_thread::sleep_for(400ms);
  CHECK(f.exec->health().down.empty());
  // A new launcher takes the next task.
  REQUIRE(f.assign(f.task("after", "echo fine")).ok());
  auto after = f.wait_final("after");
  REQUIRE(!after.empty());
  CHECK(after.back().state == TaskState::done);
  CHECK(f.runner().launcher_pid() != launcher);
  // The orphaned task does not run on unseen.
  bool gone = false;
  for (int i = 0; i < 200 && !gone; ++i) {
    std::ifstream stat("/proc/" + std::to_string(task_pid) + "/stat");
    std::string pid, comm, state;
    gone = !(stat >> pid >> comm >> state) || state == "Z";
    if (!gone) std::this_thread::sleep_for(10ms);
  }
  CHECK(gone);
}

TEST_CASE("an unknown command fails with a message naming it and the PATH") {
  Fixture f;
  REQUIRE(f.assign(f.program("ghost", "no-such-program-fvce")).ok());
  auto rs = f.wait_final("ghost");
  REQUIRE(!rs.empty());
  CHECK(rs.back().state == TaskState::failed);
  CHECK(rs.back().message.find("command 'no-such-program-fvce' not found on this host (PATH=") ==
        0);
}

TEST_CASE("a task gets a clean environment: its own variables, PATH with fvce's directory") {
  Fixture f;
  auto a = f.task("env",
                  "echo \"$FVCE_WORKFLOW $FVCE_TASK $FVCE_ATTEMPT $OMP_NUM_THREADS "
                  "$MY_VAR\"; echo \"$TMPDIR\"; pwd; echo \"$PATH\"; echo \"$LC_ALL\"");
  a.cores = 2;
  a.env = {{"MY_VAR", "x y"}};
  REQUIRE(f.assign(a).ok());
  auto rs = f.wait_final("env");
  REQUIRE(!rs.empty());
  REQUIRE(rs.back().state == TaskState::done);
  std::istringstream out(slurp(f.capture("env", ".out")));
  std::string vars, tmpdir, cwd, path, locale;
  std::getline(out, vars);
  std::getline(out, tmpdir);
  std::getline(out, cwd);
  std::getline(out, path);
  std::getline(out, locale);
  CHECK(vars == "wf-test env 1 2 x y");
  CHECK(fs::path(tmpdir) == f.workdir("env"));
  CHECK(fs::path(cwd) == f.workdir("env"));
  auto exe_dir = fs::read_symlink("/proc/self/exe").parent_path().string();
  CHECK(path.rfind(exe_dir + ":", 0) == 0);
  CHECK(locale == "C.UTF-8");
}

TEST_CASE("reports are retried until the submitter takes them, in order, batched") {
  Fixture f;
  {
    std::lock_guard lock(f.mu);
    f.refusing = true;
  }
  REQUIRE(f.assign(f.task("patient", "sleep 0.1")).ok());
  REQUIRE(f.assign(f.task("other", "true")).ok());
  // The submitter refuses until a refused POST carried both tasks' final reports: nothing
  // is lost while it refuses, and the executor keeps trying.
  {
    std::unique_lock lock(f.mu);
    auto both_final = [&] {
      int finals = 0;
      for (const auto& r : f.last_refused) finals += model::is_final(r.state) ? 1 : 0;
      return finals == 2;
    };
    REQUIRE(f.cv.wait_for(lock, 10s, both_final));
    CHECK(f.refused >= 1);
    CHECK(f.reports.empty());
    f.refusing = false;
  }
  // Each task's reports arrive in order, each state once, ending done: a progress report is
  // superseded by a later one while both wait, but not one that was on its way when the
  // submitter refused it (it goes again, ahead of the rest).
  auto in_order = [](const std::vector<TaskState>& seen) {
    auto rank = [](TaskState s) { return static_cast<int>(s); };
    for (std::size_t i = 1; i < seen.size(); ++i)
      if (rank(seen[i - 1]) >= rank(seen[i])) return false;
    return !seen.empty() && seen.back() == TaskState::done;
  };
  for (const char* id : {"patient", "other"}) {
    auto seen = states(f.wait_final(id));
    std::string text;
    for (auto st : seen) text += std::string(model::to_string(st)) + " ";
    INFO(id << ": " << text);
    CHECK(in_order(seen));
  }
  std::lock_guard lock(f.mu);
  // What piled up during the back-off went out together, once the submitter took it.
  CHECK(f.batch_sizes.size() == 1);
}

TEST_CASE("the HTTP routes and ExecuteRemote: 202, 503 when full, logs, cancel, cleanup") {
  Options o = Fixture::default_options();
  o.exec.slots = 1;
  o.exec.queue = 0;
  Fixture f(o);
  ExecuteRemote remote(f.client, f.address);
  REQUIRE(f.sync([&] { return remote.assign(f.task("remote", "echo over http")); }).ok());
  REQUIRE(f.wait_final("remote").back().state == TaskState::done);
  auto text = f.sync([&] { return remote.logs(kWorkflow, "remote", 0, "stdout", 1000); });
  REQUIRE(text.ok());
  CHECK(*text == "over http\n");

  auto busy = f.task("busy[1]", "sleep 10");
  REQUIRE(f.sync([&] { return remote.assign(busy); }).ok());
  Status full = f.sync([&] { return remote.assign(f.task("extra", "true")); });
  CHECK(full.code() == ErrorCode::unavailable);
  CHECK(full.message().find("slots busy") != std::string::npos);
  auto wide = f.task("wide", "true");
  wide.cores = 2;
  CHECK(f.sync([&] { return remote.assign(wide); }).code() == ErrorCode::invalid_argument);
  REQUIRE(f.sync([&] { return remote.cancel(model::CancelRequest{kWorkflow, "busy[1]"}); }).ok());
  CHECK(f.wait_final("busy[1]").back().state == TaskState::cancelled);

  auto task_dir = f.work_root() / "work" / kWorkflow / "remote";
  REQUIRE(fs::is_directory(task_dir / "a1"));
  REQUIRE(f.sync([&] { return remote.cleanup(model::CancelRequest{kWorkflow, ""}); }).ok());
  CHECK_FALSE(fs::exists(task_dir / "a1"));
  CHECK(fs::exists(f.capture("remote", ".out")));  // logs stay
  auto again = f.sync([&] { return remote.logs(kWorkflow, "remote", 1, "stdout", 1000); });
  CHECK(again.ok());
}

TEST_CASE("register_execute_impls: process with documented params, auto slots, clear errors") {
  Fixture f;
  ExecuteRegistry registry("execute");
  register_execute_impls(registry);
  CHECK(registry.names() == std::vector<std::string>{"process"});
  for (const auto& spec : *registry.params_of("process")) CHECK_FALSE(spec.help.empty());

  auto config = [](std::vector<deploy::Param> params) {
    return deploy::ServiceConfig{"execute", "process", std::move(params),
                                 deploy::Location{"deploy.xml", 9, 3}};
  };
  ExecuteContext ectx{f.ctx, f.files, f.info};
  std::vector<deploy::Param> base;
  auto with = [&](std::vector<deploy::Param> more) {
    more.insert(more.end(), base.begin(), base.end());
    return config(std::move(more));
  };
  std::vector<deploy::Param> direct = {
      {"launcher", "direct", deploy::Location{"deploy.xml", 10, 5}}};
  if (::geteuid() == 0) {
    // As root, tasks never run as root: without a map the node does not start.
    auto unmapped = registry.build(config(direct), ectx);
    REQUIRE_FALSE(unmapped.ok());
    CHECK(unmapped.status().message().find("tasks never run as root") != std::string::npos);
    base.push_back({"accounts", "*=nobody", deploy::Location{"deploy.xml", 11, 5}});
    // The accounts must reach the work root: mkdtemp made its parent 0700.
    auto unreachable = registry.build(with(direct), ectx);
    REQUIRE_FALSE(unreachable.ok());
    CHECK(unreachable.status().message().find("deploy.xml:11") != std::string::npos);
    CHECK(unreachable.status().message().find(f.dir.string() + " is mode 0700") !=
          std::string::npos);
    ::chmod(f.dir.c_str(), 0711);
  }
  // This test binary has no fvce-exec beside it: the default launcher is missing.
  auto missing = registry.build(with({}), ectx);
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.status().message().find("fvce-exec") != std::string::npos);
  CHECK(missing.status().message().find("launcher=\"direct\"") != std::string::npos);
  auto bad_nice =
      registry.build(with({{"nice", "25", deploy::Location{"deploy.xml", 12, 5}}}), ectx);
  REQUIRE_FALSE(bad_nice.ok());
  CHECK(bad_nice.status().message().find("deploy.xml:12") != std::string::npos);

  auto built = registry.build(with(direct), ectx);
  REQUIRE(built.ok());
  CHECK((*built)->slots() == 4);  // auto: the declared cores
  CHECK((*built)->occupancy() == std::pair<int, int>{4, 0});
  auto p = std::dynamic_pointer_cast<PoolExecutor>(*built);
  REQUIRE(p);
  CHECK(p->options().queue == 4);
  CHECK(p->options().kill_grace == 5s);
  auto& process = dynamic_cast<ProcessRunner&>(p->runner());
  CHECK(process.options().nice == 10);
  CHECK(process.options().direct_spawn);

  auto zero = registry.build(with({{"slots", "0", deploy::Location{"deploy.xml", 10, 5}}}), ectx);
  REQUIRE_FALSE(zero.ok());
  CHECK(zero.status().message().find("deploy.xml:10") != std::string::npos);

  ExecuteContext bare{f.ctx, nullptr, f.info};
  auto no_files = registry.build(config({}), bare);
  REQUIRE_FALSE(no_files.ok());
  CHECK(no_files.status().message().find("needs the file service") != std::string::npos);
}

}  // namespace fvce::execute

namespace fvce::execute {
namespace {

TEST_CASE("the account map: pairs, every other user, and its errors") {
  auto m = AccountMap::Parse(" alice=alice_l , bob=lab , *=* ");
  REQUIRE(m.ok());
  CHECK(m->account_of("alice") == "alice_l");
  CHECK(m->account_of("bob") == "lab");
  CHECK(m->account_of("carol") == "carol");
  auto one = AccountMap::Parse("alice=a,*=shared");
  REQUIRE(one.ok());
  CHECK(one->account_of("zed") == "shared");
  auto none = AccountMap::Parse("alice=a");
  REQUIRE(none.ok());
  CHECK(none->account_of("bob").empty());
  CHECK(AccountMap::Parse("").value().empty());
  CHECK(AccountMap::Parse("alice").status().message().find("'alice' is not USER=ACCOUNT") !=
        std::string::npos);
  CHECK(AccountMap::Parse("alice=*").status().message().find("only for user '*'") !=
        std::string::npos);
}

TEST_CASE("a task's identity: mapped, unmapped, missing, root") {
  auto m = *AccountMap::Parse("alice=nobody,root-user=root,ghost=no-such-account-here");
  // Not root: the node's own user, whatever the map says.
  auto mine = task_identity(m, "alice", false);
  REQUIRE(mine.ok());
  CHECK_FALSE(*mine);
  auto alice = task_identity(m, "alice", true);
  REQUIRE(alice.ok());
  REQUIRE(*alice);
  CHECK((*alice)->uid == 65534);
  auto unmapped = task_identity(m, "bob", true);
  CHECK(unmapped.status().code() == ErrorCode::forbidden);
  CHECK(unmapped.status().message().find("user 'bob' has no local account") != std::string::npos);
  auto root = task_identity(m, "root-user", true);
  CHECK(root.status().message().find("which is root; tasks never run as root") !=
        std::string::npos);
  auto ghost = task_identity(m, "ghost", true);
  CHECK(ghost.status().message().find("does not exist on this host") != std::string::npos);
}

// Runs as root only: tasks become the mapped accounts (nobody and daemon, on every Debian).
TEST_CASE("a node run as root runs each task as its owner's account, never as root") {
  if (::geteuid() != 0) {
    MESSAGE("skipped: needs root (the node changes user only when it runs as root)");
    return;
  }
  for (bool direct : {false, true}) {
    CAPTURE(direct);
    auto options = Fixture::default_options();
    options.process.direct_spawn = direct;
    options.process.accounts = *AccountMap::Parse("alice=nobody,bob=daemon");
    Fixture f(options);
    ::chmod(f.dir.c_str(), 0711);  // mkdtemp made it 0700: the accounts pass through it
    auto a = f.task("alice-writes",
                    "id -u > uid.txt; id -G >> uid.txt; echo secret > mine.txt; "
                    "echo $HOME > home.txt; cat /etc/shadow > shadow.txt 2>&1; true");
    a.owner = "alice";
    REQUIRE(f.assign(a).ok());
    auto ra = f.wait_final("alice-writes");
    REQUIRE(ra.back().state == TaskState::done);
    auto alice_dir = f.work_root() / "work" / kWorkflow / "alice-writes";
    auto uid = slurp(alice_dir / "a1" / "uid.txt");
    CHECK(uid.rfind("65534\n", 0) == 0);
    CHECK(uid.find(" 0 ") == std::string::npos);
    CHECK(slurp(alice_dir / "a1" / "shadow.txt").find("Permission denied") != std::string::npos);
    CHECK(slurp(alice_dir / "a1" / "home.txt") == (alice_dir / "a1").string() + "\n");
    struct stat st {};
    REQUIRE(::stat(alice_dir.c_str(), &st) == 0);
    CHECK(st.st_uid == 65534);
    CHECK((st.st_mode & 07777) == 0700);

    // bob's task cannot read alice's work files, nor list her directory.
    auto b = f.task("bob-reads", "cat " + (alice_dir / "a1" / "mine.txt").string() +
                                     " > got.txt 2>&1; ls " + alice_dir.string() +
                                     " >> got.txt 2>&1; id -u >> got.txt; true");
    b.owner = "bob";
    REQUIRE(f.assign(b).ok());
    auto rb = f.wait_final("bob-reads");
    REQUIRE(rb.back().state == TaskState::done);
    auto got = slurp(f.work_root() / "work" / kWorkflow / "bob-reads" / "a1" / "got.txt");
    CHECK(got.find("secret") == std::string::npos);
    CHECK(got.find("Permission denied") != std::string::npos);
    CHECK(got.find("\n1\n") != std::string::npos);  // daemon's uid

    // An unmapped user's task is refused, with why.
    auto c = f.task("carol", "true");
    c.owner = "carol";
    REQUIRE(f.assign(c).ok());
    auto rc = f.wait_final("carol");
    CHECK(rc.back().state == TaskState::failed);
    CHECK(rc.back().message.find("user 'carol' has no local account") != std::string::npos);
  }
}

TEST_CASE("a task's declared needs become its limits") {
  auto options = Fixture::default_options();
  Fixture f(options);
  // 64 MiB declared: the task may not grow its heap to 256 MiB.
  auto a =
      f.task("greedy", "ulimit -d; ulimit -c; ulimit -t; python3 -c 'b = bytearray(256 << 20)'");
  a.memory = 64ull << 20;
  a.time_limit_ms = 5000;
  REQUIRE(f.assign(a).ok());
  auto r = f.wait_final("greedy");
  CHECK(r.back().state == TaskState::failed);
  CHECK(r.back().message.find("MemoryError") != std::string::npos);
  auto out = slurp(f.capture("greedy", ".out"));
  // ulimit -d is in KiB: 64 MiB + 64 MiB headroom = 131072; no core dumps; 5 s + 10 s of CPU.
  CHECK(out == "131072\n0\n15\n");
}

}  // namespace
}  // namespace fvce::execute

namespace fvce::execute {
namespace {

// Whether process pid is gone (or a zombie no one has reaped yet).
bool gone(pid_t pid) {
  std::string stat = slurp("/proc/" + std::to_string(pid) + "/stat");
  if (stat.empty()) return true;
  auto close = stat.rfind(')');
  return close != std::string::npos && close + 2 < stat.size() && stat[close + 2] == 'Z';
}

TEST_CASE("a task's control group holds its process tree to its memory and cores, and ends it") {
  std::string why;
  auto probe = TaskCgroups::Open("auto", &why);
  REQUIRE(probe.ok());
  if (!*probe) {
    MESSAGE("skipped: no per-task control groups on this host: " << why);
    return;
  }
  probe->reset();
  for (bool direct : {false, true}) {
    CAPTURE(direct);
    auto options = Fixture::default_options();
    options.process.direct_spawn = direct;
    std::vector<fs::path> bases;
    {
      auto cg = TaskCgroups::Open("required", &why);
      REQUIRE(cg.ok());
      options.process.cgroups = *cg;
      bases = (*cg)->bases();
      const bool v2 = (*cg)->version() == TaskCgroups::Version::v2;
      Fixture f(options);
      options.process.cgroups.reset();

      // Three processes of 60 MiB each: every one is under its rlimit (64 MiB declared + 64
      // MiB), together they are over the group's 128 MiB, and the kernel kills one.
      auto a = f.task("tree",
                      "cat /proc/self/cgroup > cg.txt; "
                      "p='import time; b = b\"x\" * (60 << 20); time.sleep(3)'; "
                      "python3 -c \"$p\" & x=$!; python3 -c \"$p\" & y=$!; "
                      "python3 -c \"$p\" & z=$!; wait $x && wait $y && wait $z");
      a.memory = 64ull << 20;
      REQUIRE(f.assign(a).ok());
      auto r = f.wait_final("tree");
      CHECK(r.back().state == TaskState::failed);
      CAPTURE(r.back().message);
      CHECK(r.back().message.find("exited with code 137 (the kernel killed ") == 0);
      CHECK(r.back().message.find("of its processes, which together reached their control "
                                  "group's memory limit of 128 MiB") != std::string::npos);
      auto cg_txt = slurp(f.work_root() / "work" / kWorkflow / "tree" / "a1" / "cg.txt");
      CHECK(cg_txt.find(bases[0].filename().string() + "/" + kWorkflow + ".tree.a1-") !=
            std::string::npos);

      // A task of 1 core gets one core's quota; a daemon it leaves behind in a session of its
      // own (out of reach of its process group) ends with it.
      auto b = f.task("spin",
                      "setsid sleep 300 & echo $! > daemon.txt; "
                      "(while :; do :; done) & s1=$!; (while :; do :; done) & s2=$!; "
                      "sleep 1.5; kill $s1 $s2; wait $s1 $s2; true");
      b.cores = 1;
      REQUIRE(f.assign(b).ok());
      fs::path cpu_base = bases.back();
      fs::path group;
      for (int i = 0; i < 500 && group.empty(); ++i) {
        std::error_code ec;
        for (auto it = fs::directory_iterator(cpu_base, ec); !ec && it != fs::directory_iterator();
             it.increment(ec))
          if (it->path().filename().string().find(".spin.a1-") != std::string::npos)
            group = it->path();
        if (group.empty()) std::this_thread::sleep_for(10ms);
      }
      REQUIRE_FALSE(group.empty());
      CHECK(slurp(group / (v2 ? "cpu.max" : "cpu.cfs_quota_us")) ==
            (v2 ? "100000 100000\n" : "100000\n"));
      auto rs = f.wait_final("spin");
      CHECK(rs.back().state == TaskState::done);
      // Two spinning processes for 1.5 s, held to one core: about 1.5 s of CPU, not 3.
      REQUIRE(rs.back().cpu_ms.has_value());
      MESSAGE("two spinning processes held to one core: " << *rs.back().cpu_ms << " ms of CPU");
      CHECK(*rs.back().cpu_ms < 2400);
      auto daemon = slurp(f.work_root() / "work" / kWorkflow / "spin" / "a1" / "daemon.txt");
      pid_t pid = static_cast<pid_t>(std::atol(daemon.c_str()));
      REQUIRE(pid > 1);
      for (int i = 0; i < 500 && !gone(pid); ++i) std::this_thread::sleep_for(10ms);
      CHECK(gone(pid));
    }
    // The executor gone, so are its groups.
    for (const auto& b : bases) CHECK_FALSE(fs::exists(b));
  }
}

}  // namespace
}  // namespace fvce::execute
