#include "services/execute/register_impls.h"

#include <spdlog/spdlog.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "node/core/files.h"
#include "services/execute/executor.h"
#include "services/execute/impl/process.h"

namespace fvce::execute {
namespace {

using deploy::Params;
using deploy::ParamSpec;

constexpr std::int64_t kMaxSlots = 1 << 16;

Status bad(const Params& params, const std::string& name, const std::string& why) {
  return Status::InvalidArgument(params.where(name) + ": parameter '" + name + "' of service '" +
                                 params.service() + "': " + why);
}

Result<std::shared_ptr<LocalExecute>> build_process(const Params& params, ExecuteContext& ctx) {
  if (!ctx.files)
    return Status::InvalidArgument(params.where("slots") +
                                   ": execute impl 'process' needs the file service, which is "
                                   "built before it: is it missing from this build?");
  if (!ctx.info)
    return Status::InvalidArgument(params.where("slots") +
                                   ": execute impl 'process' needs the info service, which is "
                                   "built before it");
  ExecutorOptions options;
  if (params.text("slots") == "auto") {
    options.slots = std::max(1, ctx.info->static_now().cores);
  } else {
    auto slots = params.integer("slots", 1, kMaxSlots);
    if (!slots.ok()) return slots.status();
    options.slots = static_cast<int>(*slots);
  }
  if (params.text("queue") == "auto") {
    options.queue = options.slots;
  } else {
    auto queue = params.integer("queue", 0, kMaxSlots * 64);
    if (!queue.ok()) return queue.status();
    options.queue = static_cast<int>(*queue);
  }
  auto grace = params.duration("kill-grace");
  if (!grace.ok()) return grace.status();
  if (*grace > std::chrono::minutes(10))
    return bad(params, "kill-grace", "at most 10m (a stop or cancel waits this long at worst)");
  options.kill_grace = *grace;
  auto retry = params.duration("report-retry-for");
  if (!retry.ok()) return retry.status();
  if (*retry < std::chrono::seconds(1))
    return bad(params, "report-retry-for", "at least 1s (reports must survive a short outage)");
  options.reports.retry_for = *retry;
  if (!ctx.node.state_dir.empty()) options.reports.spool = ctx.node.state_dir / "outbox";
  auto pause = params.duration("fault-pause");
  if (!pause.ok()) return pause.status();
  if (*pause > std::chrono::hours(24)) return bad(params, "fault-pause", "at most 24h");
  options.fault_pause = *pause;

  ProcessOptions process;
  auto launcher = params.text("launcher");
  if (launcher != "fvce-exec" && launcher != "direct")
    return bad(params, "launcher", "'" + launcher + "' is not fvce-exec or direct");
  process.direct_spawn = launcher == "direct";
  auto nice = params.integer("nice", 0, 19);
  if (!nice.ok()) return nice.status();
  process.nice = static_cast<int>(*nice);
  auto accounts = AccountMap::Parse(params.text("accounts"));
  if (!accounts.ok()) return bad(params, "accounts", accounts.status().message());
  process.accounts = std::move(*accounts);
  if (::geteuid() == 0) {
    // Tasks never run as root: a node run as root runs them only as mapped accounts, and
    // those must be able to reach their work directories.
    if (process.accounts.empty())
      return bad(params, "accounts",
                 "the node runs as root, and tasks never run as root: map federation users to "
                 "local accounts, e.g. value=\"*=*\" (every user as the account of the same "
                 "name) or value=\"alice=alice,*=nobody\" (docs/SECURITY.md, \"Tasks run as "
                 "the user\"); or run the node as an ordinary user");
    std::vector<std::string> named;
    for (const auto& [user, account] : process.accounts.accounts) named.push_back(user);
    if (!process.accounts.others.empty() && process.accounts.others != "*") named.push_back("*");
    for (const auto& user : named)
      if (auto id = task_identity(process.accounts, user, true); !id.ok())
        return bad(params, "accounts", id.status().message());
    if (auto s = reachable_by_others(ctx.files->work_root() / "work"); !s.ok())
      return bad(params, "accounts",
                 "tasks run as mapped accounts, which cannot reach the work root: " + s.message());
    if (auto s = reachable_by_others(program_dir()); !s.ok())
      spdlog::warn(
          "{}: tasks run as mapped accounts, which cannot run the programs beside fvce: {}. "
          "Install fvce where every account can read it (cmake --install BUILD --prefix DIR)",
          params.where("accounts"), s.message());
  }

  std::string no_cgroups;
  auto cgroups = TaskCgroups::Open(params.text("cgroups"), &no_cgroups);
  if (!cgroups.ok()) return bad(params, "cgroups", cgroups.status().message());
  process.cgroups = std::move(*cgroups);
  if (process.cgroups)
    spdlog::info("tasks run in control groups of their own: {}", process.cgroups->describe());
  else
    spdlog::info(
        "tasks run without control groups of their own ({}); their limits are "
        "rlimits per process",
        no_cgroups);

  auto runner = ProcessRunner::Create(ctx.node, process);
  if (!runner.ok())
    return Status::InvalidArgument(params.where("launcher") + ": " + runner.status().message());
  auto executor = PoolExecutor::Create(ctx.node, ctx.files, std::move(*runner), options);
  if (!executor.ok())
    return Status::InvalidArgument(params.where("slots") + ": " + executor.status().message());
  return std::shared_ptr<LocalExecute>(std::move(*executor));
}

}  // namespace

void register_execute_impls(ExecuteRegistry& registry) {
  std::vector<ParamSpec> process = {
      {"slots", "auto",
       "task slots of this host: a task needing N cores takes N slots (a whole number, at least "
       "1, or auto = the host's cores as the info service reports them)",
       false},
      {"queue", "auto",
       "how many cores of accepted tasks may wait for a slot beyond the running ones (a task "
       "of N cores counts N); past that the executor refuses with 503 and the scheduler places "
       "the task elsewhere (a whole number, at least 0, or auto = slots)",
       false},
      {"kill-grace", "5s",
       "after SIGTERM (time limit, cancel), how long a task's processes get before SIGKILL (a "
       "duration, at most 10m)",
       false},
      {"report-retry-for", "1h",
       "how long a state report is retried while its submitter is unreachable before it is "
       "dropped (a duration, at least 1s)",
       false},
      {"fault-pause", "30s",
       "after a task failed for a reason of this host's own (its work root's disk filled up, "
       "the task launcher died), how long the host takes no new work at least; a full disk "
       "keeps it down until its work root has room again (a duration, at most 24h)",
       false},
      {"launcher", "fvce-exec",
       "fvce-exec: tasks are spawned, reaped and measured by one long-lived launcher process "
       "beside fvce (each task's max RSS is its own, and the node never forks); direct: the "
       "node spawns them itself (max RSS then includes the node's own size)",
       false},
      {"accounts", "",
       "when the node runs as root (then it is required: tasks never run as root), the local "
       "account each federation user's tasks run as: "
       "comma-separated USER=ACCOUNT pairs, '*=*' for every other user's account of the same "
       "name, '*=ACCOUNT' for one account; an unmapped user's task is refused, and so is an "
       "account that is root. Not running as root, tasks run as the node's own user",
       false},
      {"cgroups", "auto",
       "a control group per task, holding its whole process tree to its declared memory and "
       "cores, and killing what it leaves behind: auto = where the host permits (cgroup v2 "
       "with the memory or cpu controller delegated to the node, else cgroup v1's memory and "
       "cpu hierarchies; the node says at start which, or why not), required = the node does "
       "not start without them, off = none (rlimits per process only)",
       false},
      {"nice", "10",
       "nice level of the tasks (0 to 19; with the fvce-exec launcher). Above 0 the node's own "
       "work (membership probes, scheduling, transfers, reports) goes before the tasks' when "
       "they keep every core busy, and so does other work on a shared host; 0: tasks compete "
       "with the node on equal terms",
       false},
  };
  registry.add("process",
               "runs tasks as local processes in a bounded pool of slots, each in its own work "
               "directory and process group",
               std::move(process), build_process);
}

}  // namespace fvce::execute
