// The seam between the executor core (executor.h) and an execute impl: how a task is
// started, watched and stopped. The core does everything else — slots and queue, the work
// directory, staging the inputs, time limits, checking and hashing the outputs, the reports.
//
// "process" (impl/process.h) runs a task as a local process group; a batch-system impl
// submits a job and follows its state. The contract is one either can honour: a run ends
// exactly once, with an exit status when one is known; stop() asks first, then insists.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "node/core/status.h"
#include "node/model/task.h"
#include "services/file/logic.h"

namespace fvce::execute {

// One attempt, its inputs staged, ready to start.
struct RunRequest {
  model::TaskAssignment assignment;
  file::TaskDir dir;  // its work directory (the cwd) and capture files
};

// What a run tells, in this order: `started` once (it runs now), then `ended` once. A run
// handed over by start_after() may instead tell `not_started` once (message: why) and
// nothing more.
struct RunEvent {
  enum Kind { started, ended, not_started } kind = ended;
  std::int64_t at_ms = 0;  // when it happened (unix ms)
  // ended:
  std::optional<int> exit_code;  // it exited with this code
  std::optional<int> signal;     // it was killed by this signal
  std::uint64_t cpu_ms = 0, max_rss = 0;
  bool lost = false;    // its end was not seen (the thing running it died): no status
  std::string message;  // lost, or it never started: why
};

// A task a runner started. Used from one coroutine (next) and any thread (stop).
class TaskRun {
 public:
  virtual ~TaskRun() = default;
  // The next event: `started`, then `ended`. Call again only after `started`.
  virtual boost::asio::awaitable<RunEvent> next() = 0;
  // Asks the task to stop: force = false lets it end cleanly (process: SIGTERM to its group;
  // a batch system: cancel with a signal); force = true ends it for good (SIGKILL; the
  // batch system's cancel). Its `ended` event follows. Harmless once it has ended.
  virtual void stop(bool force) = 0;
  // Sends a started run a signal (a checkpoint request: SIGUSR1, ...) to its process group,
  // so a task that is asked for checkpoints must handle it in every process of it (a shell
  // wrapper would end). False when this runner cannot signal its runs.
  virtual bool signal(int sig) {
    (void)sig;
    return false;
  }
};

class TaskRunner {
 public:
  virtual ~TaskRunner() = default;
  // Starts the task; returns once it is started (or handed to the system that runs it).
  // Errors: what keeps it from starting (command not found, the runner is stopping, the
  // batch system refused the job), with a message the user reads.
  virtual boost::asio::awaitable<Result<std::unique_ptr<TaskRun>>> start(RunRequest request) = 0;
  // Whether start_after() is offered.
  virtual bool starts_after() const { return false; }
  // Hands a task over to start the moment `after` (a run of this runner, started) ends — at
  // once if it has ended — without waiting for the executor to hear of that end: a slot then
  // passes from one task to the next with no round trip through the node. The executor does
  // this only for the task that is to take `after`'s slots. The run's first next() is
  // `started`, or `not_started` when it never starts (stop() withdrew it while it waited,
  // or it was refused). Returns without waiting. Errors: as start(), for what can be told
  // at once (command not found).
  virtual Result<std::unique_ptr<TaskRun>> start_after(const RunRequest& request, TaskRun& after) {
    (void)request;
    (void)after;
    return Status::Internal("this runner has no start_after");
  }
  // The executor is stopping: nothing starts any more, and every run started is ended for
  // good now (their `ended` events may never be delivered). Idempotent, any thread.
  virtual void stop() = 0;
};

}  // namespace fvce::execute
