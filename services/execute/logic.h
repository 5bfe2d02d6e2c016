// The execute service: runs tasks on this host in a bounded pool of slots.
//
// A task gets its own work directory (see file/logic.h for the layout), its inputs staged
// into it, its stdout and stderr captured; wall time, CPU time, max RSS and exit status are
// recorded. Every state change (staging, running, done, failed, cancelled) is reported to
// the task's submitter (POST /submit/reports), retried until acknowledged.
//
// Impl: "process" (services/execute/impl/process.*). ExecuteRemote speaks the interface.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <functional>
#include <string>
#include <utility>

#include "node/core/status.h"
#include "node/model/task.h"

namespace fvce::execute {

class ExecuteLogic {
 public:
  virtual ~ExecuteLogic() = default;

  // Accepts a task to run. Returns once it is queued. Errors: unavailable when every slot
  // is taken (the submitter then places it elsewhere), invalid-argument when the task can
  // never run here (more cores than this host offers), conflict when this attempt is known.
  virtual boost::asio::awaitable<Status> assign(model::TaskAssignment task) = 0;

  // Stops a task (or every task of a workflow): the process group gets SIGTERM, then
  // SIGKILL after a grace period; the report says cancelled. Unknown tasks are not an error.
  virtual boost::asio::awaitable<Status> cancel(model::CancelRequest request) = 0;

  // The tail of a task's captured stdout or stderr (stream is "stdout" or "stderr"), at
  // most max_bytes. attempt 0 = the latest. Errors: not-found.
  virtual boost::asio::awaitable<Result<std::string>> logs(std::string workflow, std::string task,
                                                           int attempt, std::string stream,
                                                           std::uint64_t max_bytes) = 0;

  // Removes the work directories (and so the outputs) of a workflow's tasks on this host, or
  // of one task when request.task is set, once the workflow no longer needs them. The
  // captured stdout and stderr are kept for logs(); directories of attempts still active
  // here are left alone. Nothing to remove is not an error. (POST /execute/cleanup)
  virtual boost::asio::awaitable<Status> cleanup(model::CancelRequest request) = 0;
};

class LocalExecute : public ExecuteLogic {
 public:
  // Total slots of this host.
  virtual int slots() const = 0;
  // Free slots and tasks waiting for one (for info's dynamic data). Thread-safe.
  virtual std::pair<int, int> occupancy() const = 0;
  // Starts background work (report delivery). Call once.
  virtual void start() = 0;
  // Kills running tasks and stops. Call from any thread.
  virtual void stop() = 0;

  // Reports for this very node's submitter go to `sink` in process, not over HTTP. Set it
  // before start().
  using ReportSink = std::function<boost::asio::awaitable<Status>(model::TaskReports)>;
  virtual void set_local_sink(ReportSink sink) = 0;
};

}  // namespace fvce::execute
