// The submit service: workflows, owned by the node they were submitted at.
//
// The owning node checks a workflow before anything is created, keeps its DAG, task pool and
// every state change in SQLite (WAL) before acknowledging, releases ready tasks to the
// scheduler, applies retries, and takes state reports from executors. A workflow in progress
// survives a restart of its node.
//
// Two views implement this interface: a node's own workflows (LocalSubmit; impl "dag",
// services/submit/impl/dag.*), and the federation's (FederatedSubmit, federated.h), which
// answers for every workflow of the federation at any node: lists are gathered from every
// member, and calls about one workflow are forwarded to its owner. Users reach the
// federation's view; peers reach each other's own (Peers::submit). SubmitRemote speaks
// either to a node.
//
// Every method may be co_awaited from any executor and never blocks a thread: database work
// runs on the node's worker pool, calls to other nodes go through Peers. Arguments and results
// are values the caller owns. A remote stub adds the errors of Peers (unavailable or timeout
// when the node cannot be reached) to those listed here.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "node/core/status.h"
#include "node/model/task.h"
#include "node/model/workflow.h"

namespace fvce::submit {

enum class TaskDetail { all, failed, none };
// "all" | "failed" | "none"; nullopt for anything else.
std::optional<TaskDetail> parse_task_detail(std::string_view text);
std::string_view to_string(TaskDetail detail);

// Which workflows a list holds.
struct WorkflowQuery {
  std::string owner;          // only this user's; "" = everyone's
  std::uint64_t offset = 0;   // skip this many (newest first)
  std::uint64_t limit = 100;  // at most this many (1..kMaxPage)
  // Filters; empty or zero = any.
  std::vector<model::WorkflowState> states;
  std::string name;               // a part of the name
  std::string app;                // made from this application
  std::string node;               // owned by this member (its name)
  std::string search;             // a part of the id or the name
  std::int64_t from = 0, to = 0;  // submitted in [from, to] (unix ms; 0 = open)
};
// Whether summary s passes query's filters (its owner, states, name, app, search, times).
bool matches(const WorkflowQuery& query, const model::WorkflowSummary& s);

// Which parts of a workflow a view holds, and which tasks its page lists.
struct ViewQuery {
  bool tasks = true, graph = false, timeline = false;
  std::uint64_t offset = 0, limit = 100;  // the page of tasks (limit 0..kMaxPage)
  std::vector<model::TaskState> states;   // only tasks in these states; empty = all
  std::string search;                     // only tasks whose id holds this
  std::string group;                      // only the tasks of this group (an array's id)
};
inline constexpr std::uint64_t kMaxPage = 10'000;
// The longest a status call may wait for its workflow to end.
inline constexpr std::chrono::milliseconds kMaxStatusWait{300'000};

class SubmitLogic {
 public:
  virtual ~SubmitLogic() = default;

  // Checks and accepts a workflow submitted by owner. Its inputs must already be in this
  // node's store (PUT /file/store). Errors: invalid-argument naming the task and the
  // problem (cycle, unknown dependency, file with no producer and no source, missing
  // input); nothing is created then.
  virtual boost::asio::awaitable<Result<model::Submitted>> submit(model::WorkflowDoc workflow,
                                                                  std::string owner) = 0;
  // A page of the workflows that match query, newest first, with how many match in all.
  // The federation's view names the members it could not ask (WorkflowList::unreachable).
  virtual boost::asio::awaitable<Result<model::WorkflowList>> workflows(WorkflowQuery query) = 0;
  // The workflow's summary and, as `detail` says, its tasks: all, only the failed ones, or
  // none (cheap to poll for a large workflow). With wait > 0 and the workflow still
  // running, answers once it has ended or wait has passed, whichever comes first (a long
  // poll: whoever follows a workflow learns its end at once without polling it); wait is at
  // most kMaxStatusWait. Errors (for every call about one workflow): not-found when no
  // member knows it; unavailable when its owner cannot be reached (the message names the
  // owner); invalid-argument for a wait beyond the bound.
  virtual boost::asio::awaitable<Result<model::WorkflowStatus>> status(
      std::string id, TaskDetail detail, std::chrono::milliseconds wait) = 0;
  // What the user port draws of a workflow: a page of its tasks as query filters them, and
  // as asked its graph (task arrays collapsed into groups) and timeline. Errors as status(),
  // and invalid-argument for a limit beyond kMaxPage.
  virtual boost::asio::awaitable<Result<model::WorkflowView>> view(std::string id,
                                                                   ViewQuery query) = 0;
  // The user who submitted the workflow (for authorization). Errors as status().
  virtual boost::asio::awaitable<Result<std::string>> owner_of(std::string id) = 0;
  // Cancels the workflow: no new task starts, running ones are stopped. Errors: conflict
  // when it has already ended.
  virtual boost::asio::awaitable<Status> cancel(std::string id) = 0;
  // Runs a workflow that ended failed or cancelled again, from where it stopped: every task
  // that is not done goes back to the queue with a fresh budget of retries, and so does a
  // done task whose outputs are needed again and are no longer anywhere (work directories are
  // cleaned when a workflow ends; declared results stay in the owner's store and are used
  // from there). Answers the workflow with the number of tasks that will run. Errors:
  // conflict while it runs, when it is done, or while its end is still being recorded.
  virtual boost::asio::awaitable<Result<model::Submitted>> retry(std::string id) = 0;
  // Moves a task of a running workflow to the member `to` (name or id): a task not yet
  // placed goes there when it is; one waiting or running elsewhere is given back by its host
  // (ExecuteLogic::release: checkpointed on the way when it declares a checkpoint) and placed
  // there, resuming from the checkpoint. Returns once its host has given it back. Errors:
  // not-found (no such workflow, task or live member), conflict (the workflow is not
  // running, the task is final or already there), invalid-argument (the member cannot run
  // it).
  virtual boost::asio::awaitable<Status> migrate(std::string id, std::string task,
                                                 std::string to) = 0;
  // State changes from executors, for workflows this node owns. Idempotent: a report
  // already applied, or about a workflow or attempt this node no longer tracks, is
  // acknowledged. Called by executors through Peers.
  virtual boost::asio::awaitable<Status> reports(model::TaskReports reports) = 0;
  // The declared results, once the workflow is done, in its owner's store. Errors: conflict
  // while it runs.
  virtual boost::asio::awaitable<Result<model::ResultList>> results(std::string id) = 0;
  // A task's stdout or stderr (stream "stdout" or "stderr"), fetched from the host its
  // latest attempt ran on. Errors: not-found when the workflow has no such task or the task
  // never ran; unavailable when that host cannot be reached; invalid-argument for another
  // stream.
  virtual boost::asio::awaitable<Result<std::string>> logs(std::string id, std::string task,
                                                           std::string stream) = 0;
};

// A node's own workflows, and what the node drives beyond the wire interface.
class LocalSubmit : public SubmitLogic {
 public:
  // Opens the durable state and recovers the workflows in progress. Call once, before
  // start(). Errors: io-error (the database).
  virtual Status open() = 0;
  // Starts dispatching and watching for lost hosts. Call once.
  virtual void start() = 0;
  // Stops for good. Idempotent; any thread.
  virtual void stop() = 0;
  // Whether this node owns the workflow. Thread-safe, cheap.
  virtual bool owns(const std::string& id) const = 0;
};

// The id of a workflow carries its owner: "<name>-<tag><random>", where tag is the first
// four hex digits of the owning node's id. Returns the tag, or "" for an id not of that form.
std::string owner_tag(std::string_view workflow_id);

}  // namespace fvce::submit
