// The execute service: runs the tasks placed on this host, in a bounded pool of slots.
//
// A task gets its own work directory (the file service owns the layout: file/logic.h), its
// inputs staged into it, its stdout and stderr captured; wall time, CPU time, max RSS and
// exit status are recorded. Every state change (staging, running, done, failed, cancelled) is
// reported to the task's submitter (SubmitLogic::reports through Peers), retried until it is
// acknowledged.
//
// Impls (chosen by deploy.xml): "process" runs each task as a local process group
// (services/execute/impl/process.*). Impls share the executor core (executor.h): slots and
// queue, staging, output hashing, the report outbox, work directories; an impl says only how
// a task is started, watched and stopped (runner.h). ExecuteRemote speaks this interface to
// a peer.
//
// Every method may be called from any thread; each returns once its work is queued or done,
// never blocking a thread.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <cstdint>
#include <string>
#include <utility>

#include "node/core/status.h"
#include "node/model/task.h"

namespace fvce::execute {

// How long a release waits for a task's checkpoint at most; then it is stopped without one.
inline constexpr std::chrono::milliseconds kReleaseWait{120'000};

class ExecuteLogic {
 public:
  virtual ~ExecuteLogic() = default;

  // Accepts a task to run. Returns once it is started or queued; what becomes of it comes
  // later, as reports to task.submitter. Errors:
  //   unavailable       no room now (every slot busy and the queue full), or the executor is
  //                     stopping: the submitter places the task elsewhere;
  //   invalid-argument  the task can never run here (it needs more cores than this host
  //                     offers);
  //   conflict          this very attempt is already known here (the submitter sent it
  //                     again, e.g. after a restart): it runs, or ran, once.
  // The assignment's fields have been checked against the schema (xsd/task.xsd) by whoever
  // received it.
  virtual boost::asio::awaitable<Status> assign(model::TaskAssignment task) = 0;

  // Stops a task (request.task set) or every task of a workflow here. A task still waiting
  // for a slot is dropped; a running one is asked to stop and, when it has not ended after
  // the impl's grace period, stopped for good (process: SIGTERM to its process group, then
  // SIGKILL; a batch-system impl cancels the job). Its report says cancelled. Returns once the
  // stop is under way, not when it took effect. Unknown tasks are not an error.
  virtual boost::asio::awaitable<Status> cancel(model::CancelRequest request) = 0;

  // The tail of a task's captured stdout or stderr (stream "stdout" or "stderr"), at most
  // max_bytes (capped at 8 MiB). attempt 0 = the latest attempt that ran here. Errors:
  // not-found (no such capture here), invalid-argument (a stream other than the two).
  virtual boost::asio::awaitable<Result<std::string>> logs(std::string workflow, std::string task,
                                                           int attempt, std::string stream,
                                                           std::uint64_t max_bytes) = 0;

  // Removes the work directories (and so the outputs) of a workflow's tasks on this host, or
  // of one task when request.task is set, once the workflow no longer needs them. The
  // captured stdout and stderr are kept for logs(); directories of attempts still active
  // here are left alone. Nothing to remove is not an error.
  virtual boost::asio::awaitable<Status> cleanup(model::CancelRequest request) = 0;

  // Gives a task back to its submitter to run elsewhere (a migration): dropped if it waits;
  // if it runs and declares a checkpoint (and request.checkpoint), asked for one — its
  // checkpoint signal, then the file's next version — which goes to its submitter's store
  // and with its report; then stopped. Reported cancelled with request.reason, which the
  // submitter answers by placing it again without counting an attempt. Returns once the
  // task has been given back. Errors: not-found when no attempt of it is here.
  virtual boost::asio::awaitable<Status> release(model::ReleaseRequest request) = 0;

  // Drains the host: from now on it takes no new work (its dynamic info says why), and every
  // task it holds is released as above. Returns when none is left and their reports are
  // delivered, or after `wait` with the tasks still here counted in the answer.
  virtual boost::asio::awaitable<Result<model::Drained>> drain(std::string reason,
                                                               std::chrono::milliseconds wait) = 0;
};

// What the info service's dynamic data says of the execute side of this host.
struct ExecuteHealth {
  std::string down;  // why it takes no new work now (health.h), "" when it does
  std::uint64_t disk_free = 0, disk_total = 0;  // the work root's file system (0, 0: unknown)
};

// What the node drives beyond the wire interface.
class LocalExecute : public ExecuteLogic {
 public:
  // Total slots of this host (a task of N cores takes N). Fixed once built.
  virtual int slots() const = 0;
  // Free slots and the cores of the tasks waiting for them, now (for the info service's
  // dynamic data). Thread-safe, cheap.
  virtual std::pair<int, int> occupancy() const = 0;
  // Whether it takes new work, and the work root's free disk, now. Thread-safe, cheap (one
  // statvfs).
  virtual ExecuteHealth health() = 0;
  // Starts background work (report delivery). Call once, after the node's services exist.
  virtual void start() = 0;
  // Stops for good: from now on no task starts (assign answers unavailable); waiting tasks
  // are given back and running ones killed, both reported cancelled so that their submitters
  // run them elsewhere. Idempotent; call from any thread, as early in a shutdown as possible.
  virtual void stop() = 0;
};

}  // namespace fvce::execute
