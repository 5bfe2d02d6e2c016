// submit impl "dag": workflows as DAGs of tasks, durable in SQLite.
//
// All workflow state lives in memory under one mutex (never held across a co_await) and is
// mirrored to the Store. A change is in the store before it is acknowledged: a workflow
// before submit() answers, a placement before the assignment is sent, a report before
// reports() answers. Writes that must reach the disk (fsync: a new workflow, a cancel, the
// end of a workflow) run on a strand of the node's worker pool; the others only append to
// SQLite's write-ahead log and run inline, in call order behind any queued write. The log
// is checkpointed in the background (Store::checkpoint).
//
// The dispatcher coroutine takes ready tasks in batches, asks the scheduler for ranked
// hosts, records the placement, and hands each task to the first host that accepts it
// (through Peers: this node's own executor in process, a peer's over HTTP). A task no host
// has room for is parked, not placed again in a loop: it waits for an event that can make
// room (one of this node's tasks ending, a host lost, a member joining) or, when the room is
// taken by others' work, a bounded timer that backs off (busy-retry, doubling up to 2 s).
// A watcher returns tasks on hosts that left, died or restarted to the ready queue (without
// counting a retry). A workflow whose tasks are all final has its results fetched into the
// store and its work directories cleaned on every host that ran a task.
//
// Time comes from the node's Clock (timers too) and ids' randomness from its Random, so
// tests can drive the dispatcher with a manual clock.
#pragma once

#include <atomic>
#include <boost/asio/strand.hpp>
#include <boost/asio/thread_pool.hpp>
#include <chrono>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <set>

#include "node/core/timer.h"
#include "node/node_context.h"
#include "services/file/logic.h"
#include "services/register/logic.h"
#include "services/schedule/logic.h"
#include "services/submit/logic.h"
#include "services/submit/plan.h"
#include "services/submit/store.h"

namespace fvce::submit {

struct DagConfig {
  int batch = 256;                                 // ready tasks placed per round
  bool full_sync = false;                          // fsync every state change
  std::chrono::milliseconds watch_interval{1000};  // how often lost hosts are looked for
  std::chrono::milliseconds busy_retry{200};       // first wait when others' work fills every
                                                   // host (doubles up to max_busy_retry)
  std::chrono::milliseconds max_busy_retry{2000};
  // After a restart, a task recorded as placed waits this long for a report from its host
  // (which may have accepted and even run it meanwhile) before it is placed again.
  std::chrono::milliseconds recover_grace{10'000};
  std::size_t max_workflows = 10'000;  // kept in memory (finished ones beyond
                                       // this are forgotten, oldest first)
};

class DagSubmit final : public LocalSubmit, public std::enable_shared_from_this<DagSubmit> {
 public:
  // files and membership are this node's; ctx must outlive the object.
  DagSubmit(NodeContext& ctx, std::shared_ptr<file::LocalFile> files,
            std::shared_ptr<reg::MembershipView> membership,
            std::shared_ptr<schedule::ScheduleLogic> scheduler, DagConfig config);
  ~DagSubmit() override;

  // LocalSubmit. open() uses submit.db in the state directory.
  Status open() override;
  void start() override;
  void stop() override;
  bool owns(const std::string& id) const override;

  boost::asio::awaitable<Result<model::Submitted>> submit(model::WorkflowDoc workflow,
                                                          std::string owner) override;
  boost::asio::awaitable<Result<model::WorkflowList>> workflows(WorkflowQuery query) override;
  boost::asio::awaitable<Result<model::WorkflowStatus>> status(
      std::string id, TaskDetail detail, std::chrono::milliseconds wait) override;
  boost::asio::awaitable<Result<model::WorkflowView>> view(std::string id,
                                                           ViewQuery query) override;
  boost::asio::awaitable<Result<std::string>> owner_of(std::string id) override;
  boost::asio::awaitable<Status> cancel(std::string id) override;
  boost::asio::awaitable<Result<model::Submitted>> retry(std::string id) override;
  boost::asio::awaitable<Status> migrate(std::string id, std::string task, std::string to) override;
  boost::asio::awaitable<Status> reports(model::TaskReports reports) override;
  boost::asio::awaitable<Result<model::ResultList>> results(std::string id) override;
  boost::asio::awaitable<Result<std::string>> logs(std::string id, std::string task,
                                                   std::string stream) override;

 private:
  struct Run {
    model::TaskState state = model::TaskState::pending;
    int attempts = 0;
    // Attempts that do not count against the task's retries: made before the user's last
    // retry (its retries start over), or lost with their host or with an input.
    int retry_base = 0;
    std::string host_id, host_name, host_address;
    std::uint64_t host_started = 0;  // the host's start time (unix ms) when it got the task
    std::optional<int> exit_code;
    std::optional<std::uint64_t> wall_ms, cpu_ms, max_rss;
    std::optional<std::int64_t> started, finished;
    std::string message;
    int deps_left = 0;
    Clock::time_point ready_at{};
    // The scheduler's picture of this run (docs/scheduling.md): every placement is settled
    // once (dispatched, refused or declined: by its send), and every accepted one ended
    // once (finished or abandoned). placement names the current one; accepted: its host took
    // it; ended: finished or abandoned was said for it.
    std::uint64_t placement = 0;
    bool accepted = false;
    bool ended = true;
    // Its end was reported before its host's acceptance came back (a very short task): the
    // scheduler hears of the end once it has heard of the acceptance.
    struct EarlyEnd {
      std::int64_t observed_ms = 0;
      bool success = false;
    };
    std::optional<EarlyEnd> early_end;
    // Recovered as placed after a restart: placed again if its host says nothing by then.
    std::optional<Clock::time_point> recover_until;
    // Attempts that failed for their hosts' own reasons (TaskReport::host_fault), which do
    // not count against its retries while there are at most kMaxHostFaults of them; the
    // latest such host, which its next placement avoids.
    int host_faults = 0;
    std::string fault_host;
    // Where its next attempt resumes from (a checkpoint it was moved with, or the latest
    // periodic copy), and the host it must go to next (a migration's target, by id).
    std::optional<model::FileRef> checkpoint;
    std::string pin_host;
  };
  struct Workflow {
    std::string id, name, owner, doc;
    std::string app;  // the application it was made from
    model::WorkflowState state = model::WorkflowState::running;
    bool cancel_requested = false;
    bool finalizing = false;
    bool settled = false;  // its end is recorded and its work directories cleaned
    // (id, address) of every host an attempt of it was placed on since this node started:
    // each gets the clean-up (a host that only failed its tasks holds their directories too).
    std::set<std::pair<std::string, std::string>> hosts_used;
    std::int64_t submitted = 0;
    std::optional<std::int64_t> finished;
    Plan plan;
    std::vector<Run> runs;
    std::map<std::string, model::FileRef> files;  // where each file is now
    std::vector<model::FileRef> results;          // in this node's store, once done
    int final_count = 0;
    // Status calls waiting for the end (long polls); each is woken by cancelling its timer.
    std::vector<std::shared_ptr<Timer>> waiters;
    // How often each file was made again because it was lost (bounded: kMaxRemakes).
    std::map<std::string, int> remakes;
  };
  using WorkflowPtr = std::shared_ptr<Workflow>;
  struct ReadyItem {
    WorkflowPtr wf;
    int index;
  };

  boost::asio::awaitable<void> dispatch_loop();
  boost::asio::awaitable<void> watch_loop();
  boost::asio::awaitable<void> send(WorkflowPtr wf, int index, int attempt, std::uint64_t placement,
                                    std::vector<model::Member> hosts, model::TaskAssignment a,
                                    Clock::time_point round_start);
  // Tells the scheduler the run's accepted placement will not end there (host lost, task
  // cancelled or given up), once; a placement not yet accepted is settled by its send.
  // Under mu_.
  void abandon_locked(Workflow& wf, int index);
  // Tells the scheduler the run's placement ended (its final report), once. Under mu_.
  void end_locked(Workflow& wf, int index, std::int64_t observed_ms, bool success);
  boost::asio::awaitable<void> finalize(WorkflowPtr wf);
  // Waits, on a strand of its own, until the workflow has ended, wait has passed or the
  // node stops. Run on a strand so that a wake-up posted while it registers cannot be lost.
  boost::asio::awaitable<void> wait_for_end(std::string id, std::chrono::milliseconds wait);
  // Wakes every status call waiting for the workflow. Under mu_.
  static void wake_waiters_locked(Workflow& wf);
  boost::asio::awaitable<Status> write(Batch batch, bool durable);

 public:
  // A write queued on the database strand (internal to write()).
  Status write_queued(const Batch& batch, bool durable);

 private:
  // Under mu_:
  void make_ready(Workflow& wf, int index, Clock::time_point now);
  void set_final(Workflow& wf, int index, model::TaskState state, Batch& batch);
  void release_dependents(Workflow& wf, int index, Batch& batch);
  // A final task (or one never run) becomes pending again, to run anew with a fresh budget
  // of retries; its deps_left is the caller's to set.
  void reset_for_rerun_locked(Workflow& wf, int index);
  // A task to stop on its host (its inputs are lost); sent after mu_ is released.
  struct StopOn {
    std::string host_id, address, workflow, task;
  };
  // The files named are gone with the host that held them: every done task that made one a
  // task not done still needs runs again (and, in turn, the makers of its own lost inputs);
  // tasks that wait for them wait again, and those staging one are stopped (stops) and wait
  // too, without counting an attempt. why goes into the message of each task made again.
  // Returns how many tasks run again.
  int remake_lost_locked(Workflow& wf, const std::set<std::string>& lost, const std::string& why,
                         Batch& batch, std::vector<StopOn>& stops);
  // Asks each host to stop its task (best effort: a host that is gone has stopped it).
  boost::asio::awaitable<void> stop_tasks(std::vector<StopOn> stops);
  // A lost file is made again at most this often; then a task that cannot fetch it fails.
  static constexpr int kMaxRemakes = 3;
  // A task whose attempts failed this often for their hosts' reasons counts further ones.
  static constexpr int kMaxHostFaults = 5;
  TaskRow row(const Workflow& wf, int index) const;
  // Where a task placed on host sends its checkpoint copies: the member named (if alive and
  // not host), else this node (unless it is host), else another live member.
  std::string backup_for(const std::string& named, const model::Member& host) const;
  WorkflowRow workflow_row(const Workflow& wf) const;
  model::WorkflowSummary summary(const Workflow& wf) const;
  model::TaskAssignment assignment(const Workflow& wf, int index, int attempt) const;
  bool all_final(const Workflow& wf) const {
    return wf.final_count == static_cast<int>(wf.runs.size());
  }
  // Wakes the dispatcher for new ready tasks. Thread-safe.
  void notify();
  // Something happened that can make room (a task of ours ended, a host was lost, the
  // members changed): the parked tasks are placed again, now. Thread-safe.
  void notify_room();
  // Starts finalize() once, when every task of wf is final. Takes mu_.
  void finalize_if_done(const WorkflowPtr& wf);
  void record_latency(double dispatch_seconds, double wait_seconds);

  NodeContext& ctx_;
  std::shared_ptr<file::LocalFile> files_;
  std::shared_ptr<reg::MembershipView> membership_;
  std::shared_ptr<schedule::ScheduleLogic> scheduler_;
  DagConfig config_;
  boost::asio::strand<boost::asio::thread_pool::executor_type> db_strand_;
  std::mutex db_mu_;       // the writing connection: one write at a time
  int queued_writes_ = 0;  // writes waiting on db_strand_ (guarded by db_mu_)
  std::atomic<bool> checkpointing_{false};
  Store store_;
  mutable std::mutex mu_;
  std::map<std::string, WorkflowPtr> workflows_;
  std::deque<ReadyItem> ready_;
  // Ready tasks no host had room for, oldest first, waiting for notify_room() or the
  // backstop; room_ says the next round takes a batch of them first.
  std::deque<ReadyItem> parked_;
  bool room_ = false;
  // The dispatcher runs on this strand and sleeps on wake_; notify() sets wake_pending_ and
  // cancels wake_ on the same strand. These three touched only on the strand.
  boost::asio::strand<boost::asio::io_context::executor_type> dispatch_strand_;
  std::unique_ptr<Timer> wake_;
  bool wake_pending_ = false;
  std::chrono::milliseconds busy_wait_{0};  // the backstop's current wait (0: none armed)
  std::uint64_t members_version_ = 0;       // of the membership, as the watcher last saw it
  std::uint64_t placements_ = 0;            // placements made (ids of Run::placement); under mu_
  std::atomic<bool> stopping_{false};
  std::vector<double> latencies_;  // ring of the last scheduling latencies (seconds)
  std::vector<double> waits_;      // and of the waits from ready to accepted
  std::size_t latency_next_ = 0;
  std::uint64_t latency_count_ = 0;
};

}  // namespace fvce::submit
