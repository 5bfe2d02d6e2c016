// A control group per task, where the host permits: the whole process tree of a task is held
// to its declared memory and cores, is counted as one, and nothing it leaves behind (a
// daemon that escaped its process group with setsid) outlives it.
//
// cgroup v2 when the node's own group has the memory or cpu controller and lets the node
// make groups below it (a root node, or a delegated group); otherwise cgroup v1's memory and
// cpu hierarchies when the node may write there. The layout, for the node with pid P:
//   v2  NODE/fvce-P/TASK        NODE: the node's group; when NODE holds processes (the node
//                               itself), the node first moves into NODE/fvce-P-node, because a
//                               v2 group that hands controllers down may hold no processes
//   v1  MEMORY/NODE/fvce-P/TASK (when the task declares memory) and CPU/NODE/fvce-P/TASK
// Limits: memory.max (v2) or memory.limit_in_bytes (v1), swap off where the host offers the
// knob; cpu.max (v2) or cpu.cfs_quota_us (v1) = the declared cores. A task joins its groups in
// the child before it execs (spawn_child.h). Groups of nodes no longer running (fvce-P with no
// process P) are removed at start.
//
// Thread-safety: TaskCgroups and TaskCgroup may be used from any thread.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "node/core/status.h"

namespace fvce::execute {

class TaskCgroups;

// One task's groups; removed (what is left in them killed) when the last reference goes.
class TaskCgroup {
 public:
  ~TaskCgroup();
  TaskCgroup(const TaskCgroup&) = delete;
  TaskCgroup& operator=(const TaskCgroup&) = delete;

  // The cgroup.procs files the task's child writes itself into.
  const std::vector<std::string>& procs() const { return procs_; }
  const std::vector<std::filesystem::path>& dirs() const { return dirs_; }
  // How many of its processes the kernel killed for reaching the memory limit.
  std::uint64_t oom_kills() const;
  std::uint64_t memory_limit() const { return memory_limit_; }
  // Kills every process still in the groups (SIGKILL).
  void kill_all() const;

 private:
  friend class TaskCgroups;
  TaskCgroup(std::shared_ptr<TaskCgroups> owner, std::vector<std::filesystem::path> dirs,
             std::filesystem::path memory_dir, std::uint64_t memory_limit);
  std::shared_ptr<TaskCgroups> owner_;
  std::vector<std::filesystem::path> dirs_;
  std::filesystem::path memory_dir_;  // the one with the memory controller ("" = none)
  std::vector<std::string> procs_;
  std::uint64_t memory_limit_ = 0;
};

class TaskCgroups : public std::enable_shared_from_this<TaskCgroups> {
 public:
  enum class Version { v1, v2 };

  // mode "auto": per-task groups where the host permits, nullptr (with why in *why_not)
  // otherwise; "required": an error (invalid-argument, saying why) instead of nullptr; "off":
  // nullptr. Reads /proc/self/mountinfo and /proc/self/cgroup.
  static Result<std::shared_ptr<TaskCgroups>> Open(std::string_view mode, std::string* why_not);

  ~TaskCgroups();

  // Makes the groups of one task (name: any text; made unique and safe here) with its limits:
  // memory_max bytes (0 = none) and cores (the CPU quota). Errors: io-error naming the file.
  Result<std::shared_ptr<TaskCgroup>> make(std::string_view name, std::uint64_t memory_max,
                                           int cores);

  Version version() const { return version_; }
  // What the groups limit, for the start-up log: e.g. "cgroup v1 (memory, cpu) under ...".
  std::string describe() const;
  // The node's parents of the task groups (one for v2; v1: one per controller).
  const std::vector<std::filesystem::path>& bases() const { return bases_; }

 private:
  friend class TaskCgroup;
  TaskCgroups() = default;
  void release(const std::vector<std::filesystem::path>& dirs);
  // Makes a group with limits and has a child process join it (Open's last check).
  Status probe();
  void retry_pending();

  Version version_ = Version::v2;
  std::vector<std::filesystem::path> bases_;
  bool memory_ = false, cpu_ = false;
  std::filesystem::path memory_base_, cpu_base_;  // v1: each controller's; v2: both bases_[0]
  std::mutex mu_;
  std::uint64_t next_ = 0;
  std::vector<std::filesystem::path> pending_;  // groups not yet empty when released
};

}  // namespace fvce::execute
