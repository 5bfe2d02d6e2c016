// Whether this host takes new work. A host that fails tasks for reasons of its own — the
// file system of its work root is full, the launcher running its tasks died — says so in its
// dynamic info (HostLoad.down) and refuses new tasks until it has recovered, so that the
// federation's schedulers send the work elsewhere instead of feeding it more to fail. It has
// recovered when a pause has passed since its last such failure and, for a full disk, its
// work root has room again (a quarter of the file system, or 256 MiB, whichever is less).
//
// Thread-safety: every method may be called from any thread. disk() is one statvfs call.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <mutex>
#include <string>
#include <string_view>

#include "node/core/clock.h"

namespace fvce::execute {

struct DiskSpace {
  std::uint64_t free = 0;   // bytes an unprivileged process may still write
  std::uint64_t total = 0;  // the file system's size
  bool known = false;       // statvfs answered
};

// The file system holding path, now.
DiskSpace disk_space(const std::filesystem::path& path);

// Whether a file system this close to full explains a task's failure: less than 1 % of it
// (at most 64 MiB, at least 64 KiB) is left.
bool nearly_full(const DiskSpace& d);

// Whether a task's stderr says it ran out of space (ENOSPC, EDQUOT).
bool says_disk_full(std::string_view text);

class HostHealth {
 public:
  // work_root: the file system a full disk is judged on. pause: how long a host stays down
  // after a failure of its own at least.
  HostHealth(const Clock& clock, std::filesystem::path work_root, std::chrono::milliseconds pause)
      : clock_(clock), work_root_(std::move(work_root)), pause_(pause) {}

  const std::filesystem::path& work_root() const { return work_root_; }
  DiskSpace disk() const { return disk_space(work_root_); }

  // A task failed for a reason of this host's: kind "disk" or "launcher", why in words. The
  // host is down for new work from now on, until it recovers.
  void fault(const std::string& kind, const std::string& why);
  // Why the host takes no new work now, or "" when it does (it recovers here, and says so
  // in the log).
  std::string down();
  // The host is being drained: it takes no new work until it restarts.
  void drain(const std::string& why);

 private:
  const Clock& clock_;
  const std::filesystem::path work_root_;
  const std::chrono::milliseconds pause_;
  std::mutex mu_;
  std::string kind_, why_;  // kind_ "" = up
  std::string draining_;    // "" = not draining
  Clock::time_point until_{};
};

}  // namespace fvce::execute
