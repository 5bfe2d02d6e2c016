// execute impl "process": tasks run as local processes in a bounded pool of slots.
//
// A task occupies `cores` slots from the moment it leaves the queue (staging included)
// until its process is reaped and its outputs are hashed. Accepted tasks beyond the free
// slots wait in a FIFO queue of at most `queue` tasks; beyond that assign() answers
// unavailable, so the scheduler places the task elsewhere. The head of the queue is never
// overtaken (a wide task is not starved by narrow ones).
//
// Each task is one coroutine on its own strand: it stages the inputs (bounded parallel
// fetches), has the launcher (fvce-exec, see launcher.h) spawn the command (own process
// group, clean environment, stdin /dev/null, stdout/stderr to files) and waits for its
// exit and resource use from the launcher, checks and hashes the declared outputs and
// reports. With launcher="direct" the node spawns the command itself on the worker pool and
// waits for it through a pidfd. Time limits and cancels signal the process group from the
// same strand, so a signal can never reach a reaped (and possibly reused) pid.
//
// Reports go into one outbox per submitter, drained by one coroutine per non-empty outbox
// that batches what is pending into one POST /submit/reports: see docs/execute.md.
//
// Thread-safety: every public method may be called from any thread. Executor-wide state
// (slots, the queue, the task table, the outboxes) is guarded by mu_, never held across a
// co_await. Lifetime: built by Create() as a shared_ptr; coroutines hold a reference, so
// the object lives until the last of them ends. ctx (and the objects it points to) must
// outlive it.
#pragma once

#include <sys/resource.h>

#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "node/core/clock.h"
#include "node/node_context.h"
#include "services/execute/impl/launcher.h"
#include "services/execute/logic.h"

namespace fvce::execute {

struct ProcessOptions {
  int slots = 1;  // >= 1
  int queue = 1;  // >= 0: accepted tasks that may wait beyond the running ones
  std::chrono::milliseconds kill_grace{5'000};  // SIGTERM → SIGKILL
  std::chrono::milliseconds report_retry_for{std::chrono::hours(1)};
  int stage_parallel = 4;                           // concurrent input fetches per task
  std::chrono::milliseconds report_timeout{5'000};  // per POST /submit/reports
  // How long a progress report (staging, running) may wait to share a request with the
  // next one; final reports go at once.
  std::chrono::milliseconds report_linger{20};
  bool direct_spawn = false;  // true: spawn from the node, not through fvce-exec
  std::string launcher_path;  // fvce-exec; "" = beside the running binary
  int nice = 10;              // tasks' nice level (0..19; launcher only)
};

class ProcessExecutor final : public LocalExecute,
                              public std::enable_shared_from_this<ProcessExecutor> {
 public:
  // ctx.files, ctx.info and ctx.workers must be set. Errors: invalid-argument for bad
  // options or a missing dependency.
  static Result<std::shared_ptr<ProcessExecutor>> Create(NodeContext& ctx, ProcessOptions options);
  ~ProcessExecutor() override;

  // ExecuteLogic
  boost::asio::awaitable<Status> assign(model::TaskAssignment task) override;
  boost::asio::awaitable<Status> cancel(model::CancelRequest request) override;
  boost::asio::awaitable<Result<std::string>> logs(std::string workflow, std::string task,
                                                   int attempt, std::string stream,
                                                   std::uint64_t max_bytes) override;
  boost::asio::awaitable<Status> cleanup(model::CancelRequest request) override;

  // LocalExecute
  int slots() const override { return options_.slots; }
  std::pair<int, int> occupancy() const override;
  void start() override;
  void stop() override;
  void set_local_sink(ReportSink sink) override { local_sink_ = std::move(sink); }

  const ProcessOptions& options() const { return options_; }
  // The launcher's process id (-1 when tasks are spawned directly or it is restarting).
  pid_t launcher_pid() const { return launcher_ ? launcher_->pid() : -1; }

  // "model[17]" → "model.17": the task's directory name under work/<workflow>/.
  static std::string task_dir_name(const std::string& task);

  // Internal to the impl (named here so process.cpp's helpers can use them).
  struct Task;  // one accepted task; defined in process.cpp
  enum class StopReason { none, cancelled, time_limit, shutdown };
  enum class Phase { staging, spawning, running, finishing };
  struct ExitInfo {
    int status = 0;             // as wait4 gives it
    std::uint64_t cpu_ms = 0;   // user + system
    std::uint64_t max_rss = 0;  // bytes
    bool lost = false;          // reaped elsewhere, or its launcher died: no status
  };

 private:
  using Key = std::tuple<std::string, std::string, int>;  // workflow, task, attempt
  struct Pending {
    model::TaskReport report;
    std::chrono::steady_clock::time_point give_up;
    std::chrono::steady_clock::time_point queued;
  };
  struct Outbox {
    std::deque<Pending> pending;
    bool sending = false;
    std::size_t one_by_one = 0;  // after a refused batch: send this many singly
    bool lingering = false;      // a delayed start of deliver() is armed
  };

  ProcessExecutor(NodeContext& ctx, ProcessOptions options);

  boost::asio::awaitable<void> run(std::shared_ptr<Task> task);
  boost::asio::awaitable<void> run_steps(std::shared_ptr<Task> task);
  boost::asio::awaitable<Status> stage_inputs(std::shared_ptr<Task> task);
  // After the exit: the final report (outputs checked and hashed on success).
  boost::asio::awaitable<void> finish_exited(std::shared_ptr<Task> task, model::TaskReport report);
  boost::asio::awaitable<ExitInfo> wait_exit(std::shared_ptr<Task> task);
  std::optional<ExitInfo> try_reap(Task& task);
  // Signals the task's process group (through the launcher when it started it). mu_ held.
  void signal_locked(Task& task, int sig);
  // On the task's strand: signals the process (or drops the task) for reason.
  void request_stop(const std::shared_ptr<Task>& task, StopReason reason);
  // Final bookkeeping: frees the slots, starts waiting tasks.
  void release(const std::shared_ptr<Task>& task);
  // Takes tasks off the queue while slots allow. Call with mu_ held; launch them after.
  std::vector<std::shared_ptr<Task>> take_startable_locked();
  void launch(std::vector<std::shared_ptr<Task>> tasks);

  model::TaskReport make_report(const Task& task, model::TaskState state) const;
  // Queues report for the task's submitter; final states also count in the metrics.
  // Queues a report for the task's submitter. A final report frees the task's slots first,
  // so a submitter that learns a task ended finds its slots free.
  void report(Task& task, model::TaskReport report);
  boost::asio::awaitable<void> deliver(std::string submitter);
  boost::asio::awaitable<void> deliver_later(std::string submitter);
  // Sends a batch to its submitter: HTTP status code, or 0 when unreachable (in process: 202
  // or the error's status).
  boost::asio::awaitable<std::pair<int, std::string>> send_reports(const std::string& to,
                                                                   model::TaskReports doc);
  void count_final(model::TaskState state);
  void update_running_gauge_locked();
  // Remembers a finished attempt (bounded), so a repeated assignment is a conflict.
  void remember_locked(const Key& key);

  NodeContext& ctx_;
  const ProcessOptions options_;
  std::vector<std::string> base_env_;   // NAME=value, before the task's own
  std::string base_path_;               // PATH given to tasks
  ReportSink local_sink_;               // reports to this node's own submitter
  std::shared_ptr<Launcher> launcher_;  // fvce-exec, or null (launcher="direct")

  mutable std::mutex mu_;
  bool started_ = false;
  bool stopping_ = false;
  int free_slots_;
  int running_ = 0;
  std::map<Key, std::shared_ptr<Task>> tasks_;  // accepted, not yet finished
  std::deque<std::shared_ptr<Task>> waiting_;   // FIFO, at most options_.queue
  std::set<Key> recent_;                        // finished attempts, for conflict
  std::deque<Key> recent_order_;                // bounded
  std::map<std::string, Outbox> outboxes_;      // by submitter address
  Rng rng_;                                     // back-off jitter
  std::uint64_t next_launch_id_ = 0;
};

}  // namespace fvce::execute
