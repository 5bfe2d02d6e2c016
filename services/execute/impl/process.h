// execute impl "process": each task runs as a local process group, started by a Spawner
// (spawner.h: the fvce-exec launcher, or the node itself with launcher="direct").
//
// The executor core (../executor.h) does the rest; this runner only turns a staged task into
// a process: the program (a name on the task's PATH, or an input when it contains '/'), its
// argv, a clean environment (docs/execute.md lists it), the work directory and the capture
// files; and turns the spawner's news into the core's run events.
#pragma once

#include <atomic>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "node/node_context.h"
#include "services/execute/accounts.h"
#include "services/execute/impl/cgroup.h"
#include "services/execute/impl/spawner.h"
#include "services/execute/runner.h"

namespace fvce::execute {

// The identity a task of `owner` runs as on this node: nullopt when the node does not run as
// root, or runs as root with an empty map (tasks run as the node's own user; a node refuses to
// start that way: the deploy builder requires a map when it runs as root). Errors (forbidden):
// the owner is unmapped, the account does not exist, or it is root — naming the user, the account
// and what to change.
Result<std::optional<Spawner::Spec::Identity>> task_identity(const AccountMap& map,
                                                             const std::string& owner,
                                                             bool node_is_root);

// Whether accounts other than the node's can reach dir: every directory from / down to dir must
// let others search it (mode o+x). Errors (forbidden) name the first that does not, with its
// mode, and what to change.
Status reachable_by_others(const std::filesystem::path& dir);

struct ProcessOptions {
  bool direct_spawn = false;  // true: spawn from the node, not through fvce-exec
  std::string launcher_path;  // fvce-exec; "" = beside the running binary
  int nice = 10;              // tasks' nice level (0..19; launcher only)
  AccountMap accounts;        // when the node runs as root
  // A control group per task (cgroup.h); null: none (the rlimits still apply).
  std::shared_ptr<TaskCgroups> cgroups;
};

class ProcessRunner final : public TaskRunner {
 public:
  // Errors: io-error when the launcher cannot be started (the message names its path),
  // invalid-argument for a nice level out of range.
  static Result<std::unique_ptr<ProcessRunner>> Create(NodeContext& ctx, ProcessOptions options);

  boost::asio::awaitable<Result<std::unique_ptr<TaskRun>>> start(RunRequest request) override;
  // Through the fvce-exec launcher only (launcher="direct" starts every task when asked).
  bool starts_after() const override { return spawner_->spawns_after(); }
  Result<std::unique_ptr<TaskRun>> start_after(const RunRequest& request, TaskRun& after) override;
  void stop() override;

  // The launcher's process id (-1 with launcher="direct").
  pid_t launcher_pid() const { return spawner_->launcher_pid(); }
  const ProcessOptions& options() const { return options_; }

 private:
  ProcessRunner(NodeContext& ctx, ProcessOptions options, std::shared_ptr<Spawner> spawner);
  // The process a staged task becomes: program, argv, environment, cwd, capture files.
  // The spec of a task's process, and its control group in *group when there are any.
  Result<Spawner::Spec> make_spec(const RunRequest& request, std::shared_ptr<TaskCgroup>* group);

  NodeContext& ctx_;
  const ProcessOptions options_;
  std::shared_ptr<Spawner> spawner_;
  std::vector<std::string> base_env_;  // NAME=value, before the task's own
  std::string base_path_;              // PATH given to tasks
  std::atomic<std::uint64_t> next_id_{0};
  // Commands found on a PATH, by PATH and name: a hit costs one access() to confirm it.
  std::mutex found_mu_;
  std::unordered_map<std::string, std::string> found_;
};

}  // namespace fvce::execute
