// Measuring this machine: the part the "statgrab" and "declared" info impls share.
//
// All libstatgrab use in the node goes through this file: sg_init runs once per process,
// only the re-entrant *_r calls are used (libstatgrab's other calls keep per-thread state,
// and the node samples from whichever I/O thread runs the timer), and every call is
// serialised by one process-wide mutex.
#pragma once

#include <cstdint>
#include <filesystem>
#include <mutex>
#include <string>
#include <string_view>

#include "node/core/status.h"
#include "node/model/host.h"

namespace fvce::info {

// What /proc/cpuinfo says about the first processor. Empty / 0 when it does not say.
struct CpuInfo {
  std::string model;  // "model name" (x86), else "Hardware", "cpu model", "cpu"
  double mhz = 0;     // "cpu MHz"
};
CpuInfo parse_cpuinfo(std::string_view text);

// The facts about this machine that do not change while the node runs. Never fails: each
// field the OS does not reveal falls back as documented in sampler.cpp.
struct MachineFacts {
  int cores = 1;             // CPUs this process may run on (>= 1)
  std::string cpu_model;     // never empty
  double cpu_mhz = 0;        // 0 when unknown
  std::uint64_t memory = 0;  // bytes of RAM; 0 only if the OS will not say
  std::string os;            // "Linux 6.1.0-18-amd64"
  std::string arch;          // "x86_64"
};
MachineFacts read_machine_facts();

// Bytes an unprivileged user may still write in the file system holding dir. When dir does
// not exist yet, its nearest existing ancestor is asked. 0 when nothing can be asked.
std::uint64_t free_disk_bytes(const std::filesystem::path& dir);

// Reads the machine's load averages, CPU use and memory.
//
// CPU use is the busy share of all cores between the previous reading and this one. A
// reading less than ~100 ms of CPU time after the previous one would be mostly rounding
// (the kernel counts in 10 ms ticks), so it repeats the previous figure and keeps the older
// baseline instead.
//
// Memory free is the kernel's MemAvailable (free plus the page cache and slabs it can
// reclaim: what a new task can get without swapping). Where the kernel has no MemAvailable,
// it is libstatgrab's free + cache.
//
// Thread-safe. Each Sampler has its own CPU baseline.
class Sampler {
 public:
  Sampler();
  Sampler(const Sampler&) = delete;
  Sampler& operator=(const Sampler&) = delete;

  // Fills load1/5/15, cpu (0..100), memory_free and memory_total; leaves time, free_slots and
  // queue at 0. Errors: unavailable when the OS refuses a reading (message says which).
  Result<model::HostLoad> read();

 private:
  struct Ticks {
    std::uint64_t busy = 0;
    std::uint64_t all = 0;
  };
  std::mutex mu_;
  Ticks baseline_;         // guarded by mu_
  double last_cpu_ = 0;    // guarded by mu_
  bool have_cpu_ = false;  // guarded by mu_; false until a full window was measured
  std::uint64_t min_window_ticks_;
};

}  // namespace fvce::info
