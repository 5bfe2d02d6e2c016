// A workflow as the user writes it (xsd/workflow.xsd). services/submit/plan.* turns it
// into concrete tasks and checks it.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace fvce::model {

// An input the submitter provides.
struct InputFile {
  std::string name;
  std::string src;     // path on the submitting side, relative to the workflow file
  std::string sha256;  // filled in by `fvce submit` when absent
  std::optional<std::uint64_t> size;
  bool executable = false;
  bool operator==(const InputFile&) const = default;
};

struct InputRef {
  std::string file;
  std::string array;  // non-empty: one input per index of this array
  bool operator==(const InputRef&) const = default;
};

struct OutputRef {
  std::string file;
  bool result = false;
  bool operator==(const OutputRef&) const = default;
};

struct CheckpointSpec {
  std::string file;
  std::uint64_t every = 0;  // steps; 0 = only when signalled
  std::string signal = "USR1";
  std::string restart_arg;  // argument that makes the program resume, e.g. "--restart"
  // Copies of the checkpoint go to another host this often (0 = never), so that the task
  // survives its host's death: to the member named copy_to, or ("") one the submitter picks.
  std::int64_t copy_every_ms = 0;
  std::string copy_to;
  bool operator==(const CheckpointSpec&) const = default;
};

// A task as written: inside an array, {i} in args, env values and file names is the index.
struct TaskTemplate {
  std::string id;
  std::string cmd;
  std::string args;                   // split like a shell would (quotes, no expansion)
  std::vector<std::string> arg_list;  // <arg> elements, appended after args
  std::vector<std::pair<std::string, std::string>> env;
  std::vector<InputRef> inputs;
  std::vector<OutputRef> outputs;
  std::vector<std::string> after;
  std::optional<CheckpointSpec> checkpoint;
  int cores = 1;
  std::uint64_t memory = 0;        // bytes; 0 = not stated
  std::int64_t time_limit_ms = 0;  // 0 = none
  int retries = 0;
  std::int64_t cost_ms = 0;  // 0 = unknown
  bool operator==(const TaskTemplate&) const = default;
};

struct TaskArray {
  std::string id;
  int first = 0, last = 0;  // inclusive
  std::vector<TaskTemplate> tasks;
  bool operator==(const TaskArray&) const = default;
};

struct WorkflowDoc {
  std::string name;
  std::string app;  // the published application it was made from ("" = none)
  std::vector<InputFile> files;
  std::vector<TaskTemplate> tasks;
  std::vector<TaskArray> arrays;
  bool operator==(const WorkflowDoc&) const = default;
};

}  // namespace fvce::model
