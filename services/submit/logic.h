// The submit service: owns the workflows submitted at this node.
//
// It checks a workflow before anything is created, keeps its DAG, task pool and every
// state change in SQLite (WAL) before acknowledging, releases ready tasks to the scheduler,
// applies retries, and takes state reports from executors. A workflow in progress survives a
// restart of this node.
//
// Impl: "dag" (services/submit/impl/dag.*). SubmitRemote speaks the same interface.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "node/core/status.h"
#include "node/model/task.h"
#include "node/model/workflow.h"

namespace fvce::submit {

enum class TaskDetail { all, failed, none };
// "all" | "failed" | "none"; nullopt for anything else.
std::optional<TaskDetail> parse_task_detail(std::string_view text);
std::string_view to_string(TaskDetail detail);

class SubmitLogic {
 public:
  virtual ~SubmitLogic() = default;

  // Checks and accepts a workflow submitted by owner. Its inputs must already be in this
  // node's store (PUT /file/store). Errors: invalid-argument naming the task and the
  // problem (cycle, unknown dependency, file with no producer and no source, missing
  // input); nothing is created then.
  virtual boost::asio::awaitable<Result<model::Submitted>> submit(model::WorkflowDoc workflow,
                                                                  std::string owner) = 0;
  // Workflows of owner (all owners when empty), newest first.
  virtual boost::asio::awaitable<Result<model::WorkflowList>> workflows(std::string owner) = 0;
  // The workflow's summary and, as `detail` says, its tasks: all, only the failed ones, or
  // none (cheap to poll for a large workflow).
  virtual boost::asio::awaitable<Result<model::WorkflowStatus>> status(std::string id,
                                                                       TaskDetail detail) = 0;
  // Cancels the workflow: no new task starts, running ones are killed.
  virtual boost::asio::awaitable<Status> cancel(std::string id) = 0;
  // State changes from executors. Idempotent: a report already applied is acknowledged.
  virtual boost::asio::awaitable<Status> reports(model::TaskReports reports) = 0;
  // The declared results, once the workflow is done, in this node's store.
  virtual boost::asio::awaitable<Result<model::ResultList>> results(std::string id) = 0;
  // A task's stdout or stderr, fetched from the host it ran on.
  virtual boost::asio::awaitable<Result<std::string>> logs(std::string id, std::string task,
                                                           std::string stream) = 0;
};

}  // namespace fvce::submit
