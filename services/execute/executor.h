// The executor core, shared by every execute impl: a bounded pool of slots, the queue, each
// task's life from acceptance to its final report, and the report outbox (executor.cpp);
// giving tasks back to be moved (release, drain) and the periodic checkpoint copies
// (moving.cpp). The impl is a TaskRunner (runner.h) that says how a task is started,
// watched and stopped.
//
// A task occupies `cores` slots from the moment it leaves the queue until its run has ended
// and its outputs are hashed. Accepted tasks beyond the free slots wait in a FIFO queue
// holding at most `queue` cores; beyond that assign() answers unavailable, so the scheduler
// places the task elsewhere. The head of the queue is never overtaken (a wide task is not
// starved by narrow ones). A queued task is prepared while it waits — its work directory
// made, its inputs staged — so that it starts the moment its slots free; it reports nothing
// until then (a cancel may still take it off the queue). When the runner offers it, the
// prepared tasks at the head of the queue are each handed over behind one running task at
// least as wide (start_after), in queue order: it starts the moment that one ends, and the
// executor's bookkeeping follows when it hears of the end: the slots of a task that ended go
// to the task handed over behind it, the rest to the queue.
//
// Each task is one coroutine on its own strand: it has the file service prepare its work
// directory, stages the inputs (bounded parallel fetches), has the runner start it, waits
// for its end under its time limit, has the file service check and hash the declared
// outputs, and reports. Time limits and cancels stop the run from the same strand.
//
// Thread-safety: every public method may be called from any thread. Executor-wide state
// (slots, the queue, the task table) is guarded by mu_, never held across a co_await.
// Lifetime: built by Create() as a shared_ptr; coroutines hold a reference, so the object
// lives until the last of them ends. ctx (and what it refers to) must outlive it.
#pragma once

#include <atomic>
#include <chrono>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <tuple>
#include <utility>

#include "node/core/timer.h"
#include "node/node_context.h"
#include "services/execute/health.h"
#include "services/execute/logic.h"
#include "services/execute/outbox.h"
#include "services/execute/runner.h"
#include "services/file/logic.h"

namespace fvce::execute {

struct ExecutorOptions {
  int slots = 1;  // >= 1
  int queue = 1;  // >= 0: cores of accepted tasks that may wait beyond the running ones
  std::chrono::milliseconds kill_grace{5'000};  // stop(false) → stop(true)
  int stage_parallel = 4;                       // concurrent input fetches per task
  // A prepared task at the head of the queue is handed to the runner to start the moment a
  // running task whose slots it will take ends (TaskRunner::start_after), when the runner
  // offers it: the slot then passes on without a round trip through the node.
  bool hand_over = true;
  OutboxOptions reports;
  // After a task failed for a reason of this host's (a full disk, a dead launcher), the host
  // takes no new work for at least this long (health.h).
  std::chrono::milliseconds fault_pause{30'000};
};

class PoolExecutor final : public LocalExecute, public std::enable_shared_from_this<PoolExecutor> {
 public:
  // Errors: invalid-argument for bad options or a missing dependency.
  static Result<std::shared_ptr<PoolExecutor>> Create(NodeContext& ctx,
                                                      std::shared_ptr<file::LocalFile> files,
                                                      std::unique_ptr<TaskRunner> runner,
                                                      ExecutorOptions options);
  ~PoolExecutor() override;

  // ExecuteLogic
  boost::asio::awaitable<Status> assign(model::TaskAssignment task) override;
  boost::asio::awaitable<Status> cancel(model::CancelRequest request) override;
  boost::asio::awaitable<Result<std::string>> logs(std::string workflow, std::string task,
                                                   int attempt, std::string stream,
                                                   std::uint64_t max_bytes) override;
  boost::asio::awaitable<Status> cleanup(model::CancelRequest request) override;
  boost::asio::awaitable<Status> release(model::ReleaseRequest request) override;
  boost::asio::awaitable<Result<model::Drained>> drain(std::string reason,
                                                       std::chrono::milliseconds wait) override;

  // LocalExecute
  int slots() const override { return options_.slots; }
  std::pair<int, int> occupancy() const override;
  ExecuteHealth health() override;
  void start() override;
  void stop() override;

  const ExecutorOptions& options() const { return options_; }
  TaskRunner& runner() { return *runner_; }
  // Reports not yet acknowledged by their submitters.
  std::size_t reports_pending() const { return outbox_->pending(); }

  // Internal to the core (named here so executor.cpp's helpers can use them).
  struct Task;  // one accepted task; defined in executor.cpp
  enum class StopReason { none, cancelled, time_limit, shutdown, released };
  enum class Phase { staging, starting, running, finishing };

 private:
  using Key = std::tuple<std::string, std::string, int>;  // workflow, task, attempt

  PoolExecutor(NodeContext& ctx, std::shared_ptr<file::LocalFile> files,
               std::unique_ptr<TaskRunner> runner, ExecutorOptions options);

  boost::asio::awaitable<void> run(std::shared_ptr<Task> task);
  boost::asio::awaitable<void> run_steps(std::shared_ptr<Task> task);
  boost::asio::awaitable<Status> stage_inputs(std::shared_ptr<Task> task);
  // After the run ended: the final report (outputs checked and hashed on success).
  boost::asio::awaitable<void> finish(std::shared_ptr<Task> task, model::TaskReport report,
                                      const RunEvent& ended);
  // A failed run's report, when the host is to blame: its work root filled up (stderr_tail
  // may say so). Sets report.host_fault and the message, marks the host down, and returns
  // true; false when nothing points at the host.
  // On the task's strand: a running task that declares a checkpoint is asked for one (its
  // signal, then the file's next version, up to kReleaseWait), which goes to its submitter's
  // store; then it is stopped and reported given up (cancelled) with it.
  boost::asio::awaitable<Status> release_running(std::shared_ptr<Task> task,
                                                 model::ReleaseRequest request);
  // On the task's strand while it runs: every checkpoint copy-every, a checkpoint file that
  // changed since the last copy goes to the assignment's backup host, and a running report
  // tells its submitter where it is (it resumes from there if this host is lost).
  boost::asio::awaitable<void> copy_checkpoints(std::shared_ptr<Task> task);
  // Copies the task's checkpoint file, as it is now, into the store of the node at `to`
  // (HOST:PORT, this node too); returns its FileRef there.
  boost::asio::awaitable<Result<model::FileRef>> push_checkpoint(std::shared_ptr<Task> task,
                                                                 std::string to);
  boost::asio::awaitable<bool> blame_disk(std::shared_ptr<Task> task, model::TaskReport& report,
                                          const std::string& what, const std::string& stderr_tail);
  // On the task's strand: stops the run (or drops the task) for reason.
  void request_stop(const std::shared_ptr<Task>& task, StopReason reason);
  // Final bookkeeping: frees the slots, starts waiting tasks.
  void release(const std::shared_ptr<Task>& task);
  // Gives the task's cores back (once): to the task handed over behind it, if any (returned),
  // else to the pool. Call with mu_ held; take_startable_locked() after.
  std::vector<std::shared_ptr<Task>> give_back_locked(Task& task);
  // Gives the task's cores back (once) and returns the waiting tasks that may start now.
  std::vector<std::shared_ptr<Task>> free_slots(Task& task);
  // Takes tasks off the queue while slots allow, and finds running tasks for queued ones to
  // be handed over behind. Call with mu_ held; wake them after.
  std::vector<std::shared_ptr<Task>> take_startable_locked();
  // Pairs prepared queued tasks, in queue order, with running tasks to start after; returns
  // those paired (their coroutines hand them to the runner). Call with mu_ held.
  std::vector<std::shared_ptr<Task>> hand_over_locked();
  // Starts the coroutines of newly accepted tasks.
  void launch(std::vector<std::shared_ptr<Task>> tasks);
  // Tells tasks that have just been given their slots (their coroutines wait for them).
  void wake(std::vector<std::shared_ptr<Task>> tasks);
  // On the task's strand, once prepared: true when it holds its slots, false when it was
  // stopped or dropped from the queue meanwhile.
  boost::asio::awaitable<bool> wait_for_slots(std::shared_ptr<Task> task);
  // Before a task's own final report: false when cancel() or stop() dropped it from the
  // queue (they reported it); a queued task is taken off the queue. Any thread.
  bool claim_final(Task& task);

  model::TaskReport make_report(const Task& task, model::TaskState state) const;
  // Queues a report for the task's submitter. A final report frees the task's slots first,
  // so a submitter that learns a task ended finds its slots free.
  void report(Task& task, model::TaskReport report);
  // Remembers a finished attempt (bounded), so a repeated assignment is a conflict.
  void remember_locked(const Key& key);
  void update_running_gauge_locked();

  NodeContext& ctx_;
  const std::shared_ptr<file::LocalFile> files_;
  const std::unique_ptr<TaskRunner> runner_;
  const ExecutorOptions options_;
  const std::shared_ptr<ReportOutbox> outbox_;
  HostHealth health_;
  std::atomic<int> checkpointed_{0};  // releases that moved with a checkpoint (drain counts)

  mutable std::mutex mu_;
  bool stopping_ = false;
  bool hand_over_ = false;  // options_.hand_over and the runner offers start_after
  int free_slots_;
  int waiting_cores_ = 0;
  int running_ = 0;
  std::map<Key, std::shared_ptr<Task>> tasks_;  // accepted, not yet finished
  std::deque<std::shared_ptr<Task>> waiting_;   // FIFO, at most options_.queue cores
  std::set<Key> recent_;                        // finished attempts, for conflict
  std::deque<Key> recent_order_;                // bounded
};

}  // namespace fvce::execute
