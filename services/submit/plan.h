// Turning a workflow document into concrete tasks, and checking it.
//
// plan_workflow() expands task arrays (one task per index, {i} substituted in arguments,
// environment values and file names), resolves dependencies — explicit (<after>) and
// implicit through files (a task that reads a file waits for the task that writes it) —
// and refuses a workflow that cannot run: a cycle, an unknown dependency, a file that no
// task writes and no <file> provides, a file written twice. Every error names the task
// and the problem. Pure: no I/O, deterministic (restart re-plans the same way).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "node/core/status.h"
#include "node/model/workflow.h"

namespace fvce::submit {

struct PlannedTask {
  std::string id;  // "split", or "model[17]" for index 17 of an array task
  std::string cmd;
  std::vector<std::string> args;
  std::vector<std::pair<std::string, std::string>> env;
  int cores = 1;
  std::uint64_t memory = 0;
  std::int64_t time_limit_ms = 0;
  int retries = 0;
  std::int64_t cost_ms = 0;
  std::vector<std::string> inputs;                    // file names, in order
  std::vector<std::pair<std::string, bool>> outputs;  // file name, is a declared result
  std::vector<int> deps;                              // indices of tasks to wait for
  std::vector<int> dependents;                        // indices of tasks waiting for this
  std::optional<model::CheckpointSpec> checkpoint;
};

struct Plan {
  std::string name;
  std::vector<model::InputFile> inputs;
  std::vector<PlannedTask> tasks;         // in document order (arrays: index-major)
  std::map<std::string, int> producer;    // file name → index of the task that writes it
  std::map<std::string, int> task_index;  // task id → index
};

// At most this many concrete tasks in one workflow.
inline constexpr std::size_t kMaxTasks = 1'000'000;
// At most this many input references over all tasks (an array reading a whole array
// multiplies quickly).
inline constexpr std::size_t kMaxInputs = 4'000'000;

// Whether name can name a file of a workflow: a relative path inside a task's work
// directory. Non-empty, at most 4096 bytes with components of at most 255, no empty, '.'
// or '..' component, not absolute, no control character. Checked for every <file>, input
// and output at submit, so an executor never receives a name it must refuse.
Status check_file_name(std::string_view name);

Result<Plan> plan_workflow(const model::WorkflowDoc& doc);

// Splits an argument string the way a POSIX shell splits words: whitespace separates,
// '...' and "..." group (backslash escapes inside double quotes and outside quotes); no
// expansion of any kind. Errors: invalid-argument on an unterminated quote.
Result<std::vector<std::string>> split_args(std::string_view text);

}  // namespace fvce::submit
