// Tasks on the wire: assignments to executors, their reports, and what users see.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "node/model/workflow.h"

namespace fvce::model {

// pending → ready → placed → staging → running → done | failed | cancelled
enum class TaskState { pending, ready, placed, staging, running, done, failed, cancelled };
std::string_view to_string(TaskState s);
std::optional<TaskState> task_state_from_string(std::string_view s);
inline bool is_final(TaskState s) {
  return s == TaskState::done || s == TaskState::failed || s == TaskState::cancelled;
}

enum class WorkflowState { running, done, failed, cancelled };
std::string_view to_string(WorkflowState s);
std::optional<WorkflowState> workflow_state_from_string(std::string_view s);

// A file and where to fetch it.
struct FileRef {
  std::string name;
  std::string sha256;
  std::uint64_t size = 0;
  std::string source;  // HOST:PORT of the node that holds it
  std::string path;    // its path in that node's work root
  bool executable = false;
  bool operator==(const FileRef&) const = default;
};

// POST /execute/tasks
struct TaskAssignment {
  std::string workflow;
  std::string task;
  int attempt = 1;
  std::string submitter;  // HOST:PORT to report to
  std::string owner;
  std::string cmd;
  std::vector<std::string> args;
  std::vector<std::pair<std::string, std::string>> env;
  int cores = 1;
  std::uint64_t memory = 0;
  std::int64_t time_limit_ms = 0;
  std::vector<FileRef> inputs;
  std::vector<std::string> outputs;
  std::optional<CheckpointSpec> checkpoint;
  // Where the periodic checkpoint copies go (HOST:PORT, its store); "" = none.
  std::string backup;
  bool operator==(const TaskAssignment&) const = default;
};

struct TaskReport {
  std::string workflow;
  std::string task;
  int attempt = 1;
  std::string host;  // executor's node id
  TaskState state = TaskState::running;
  std::optional<int> exit_code;
  std::optional<int> signal;
  std::optional<std::uint64_t> wall_ms, cpu_ms, max_rss;
  std::optional<std::int64_t> started, finished;
  std::string message;
  std::vector<FileRef> outputs;  // on done: what the task wrote, on the executor
  // On failed: the input that could not be staged because the host holding it did not
  // answer ("" for any other failure). Not the task's fault: its producer runs again.
  std::string lost_input;
  // On failed: the host's own trouble, not the task's ("" for a failure of the task): its
  // work root's disk filled up, or the launcher running the task died. The attempt does not
  // count; the task runs again on another host, and this one takes no new work until it
  // recovers.
  std::string host_fault;
  // The run's checkpoint (the task declares one): on cancelled, given up to be moved (a
  // migration, a drain), the checkpoint it wrote on the way; on running, the latest
  // periodic copy (in the backup host's store). The next attempt resumes from it.
  std::optional<FileRef> checkpoint;
  bool operator==(const TaskReport&) const = default;
};

// POST /execute/release: give a task back to its submitter, to be run elsewhere. A task
// still waiting is dropped; a running one that declares a checkpoint (and checkpoint is set)
// is asked for one, which its report carries; any other is stopped. It is reported
// cancelled with `reason`, which the submitter answers by placing it again.
struct ReleaseRequest {
  std::string workflow;
  std::string task;
  std::string reason;
  bool checkpoint = true;
  bool operator==(const ReleaseRequest&) const = default;
};

// POST /execute/drain: what a drain did.
struct Drained {
  std::string host;      // the drained host's name
  int released = 0;      // tasks given back to their submitters
  int checkpointed = 0;  // of them, those that moved with a checkpoint
  int left = 0;          // tasks still here when the wait ran out (0: drained)
  std::uint64_t ms = 0;  // how long it took
  bool operator==(const Drained&) const = default;
};

// POST /submit/reports
struct TaskReports {
  std::vector<TaskReport> reports;
  bool operator==(const TaskReports&) const = default;
};

// POST /execute/cancel
struct CancelRequest {
  std::string workflow;
  std::string task;  // empty: every task of the workflow
  bool operator==(const CancelRequest&) const = default;
};

struct WorkflowSummary {
  std::string id, name, owner, node;
  std::string app;  // the application it was made from, or ""

  WorkflowState state = WorkflowState::running;
  std::int64_t submitted = 0;
  std::optional<std::int64_t> finished;
  int tasks = 0, pending = 0, ready = 0, running = 0, done = 0, failed = 0, cancelled = 0;
  bool operator==(const WorkflowSummary&) const = default;
};

struct Submitted {
  std::string id, name;
  int tasks = 0;
  bool operator==(const Submitted&) const = default;
};

// A member that could not be asked for its workflows, and why.
struct Unreachable {
  std::string node, address, reason;
  bool operator==(const Unreachable&) const = default;
};

// A page of a list of workflows, newest first: `workflows` are the entries from `offset` on,
// of `total` that match. `unreachable` names the members whose workflows are missing from it.
struct WorkflowList {
  std::vector<WorkflowSummary> workflows;
  std::uint64_t total = 0;
  std::uint64_t offset = 0;
  std::vector<Unreachable> unreachable;
  bool operator==(const WorkflowList&) const = default;
};

struct TaskStatus {
  std::string id;
  TaskState state = TaskState::pending;
  std::string host;  // name of the host it ran (or runs) on
  int attempts = 0;
  std::optional<int> exit_code;
  std::optional<std::uint64_t> wall_ms, cpu_ms, max_rss;
  std::optional<std::int64_t> started, finished;
  std::string message;
  bool operator==(const TaskStatus&) const = default;
};

struct WorkflowStatus {
  WorkflowSummary summary;
  std::vector<TaskStatus> tasks;
  bool operator==(const WorkflowStatus&) const = default;
};

// What the user port draws of a workflow (GET /submit/view): the DAG with every task array
// collapsed into one group, and the timeline of its tasks.
struct TaskGroup {
  std::string id;      // a task's id, or an array task's id without its index ("model")
  bool array = false;  // one node per index of an array
  int first = 0, last = 0;
  int tasks = 0, pending = 0, ready = 0, running = 0, done = 0, failed = 0, cancelled = 0;
  bool operator==(const TaskGroup&) const = default;
};

// One bar per task that started: its latest attempt, on the host it ran on. Parallel
// arrays (a 100,000-task workflow stays a few MB); times are ms after t0.
struct Timeline {
  std::int64_t t0 = 0;
  std::vector<std::string> hosts;
  std::vector<std::string> task;
  std::vector<int> host;
  std::vector<std::int64_t> start, end;  // end -1: still running
  std::vector<TaskState> state;
  bool operator==(const Timeline&) const = default;
};

struct WorkflowView {
  WorkflowSummary summary;
  // The page of tasks that match the query, of `total`, from `offset`.
  std::uint64_t total = 0, offset = 0;
  std::vector<TaskStatus> tasks;
  std::vector<TaskGroup> groups;                           // when asked for the graph
  std::vector<std::pair<std::string, std::string>> edges;  // group → group that waits for it
  std::optional<Timeline> timeline;
  bool operator==(const WorkflowView&) const = default;
};

struct ResultList {
  std::string workflow;
  std::vector<FileRef> results;
  bool operator==(const ResultList&) const = default;
};

}  // namespace fvce::model
