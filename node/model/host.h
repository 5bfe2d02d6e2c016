// Model types of the info service: what a host is and how busy it is.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace fvce::model {

// What a node is. Fixed while the node runs; travels with membership.
struct HostStatic {
  int cores = 1;
  std::string cpu_model;
  double cpu_mhz = 0;
  std::uint64_t memory = 0;  // bytes
  std::uint64_t disk = 0;    // bytes free in the state directory's file system at start
  std::string os;            // e.g. "Linux 6.1.0-18-amd64"
  std::string arch;          // e.g. "x86_64"
  double speed = 0;          // million reference operations per second on one core
  int slots = 0;             // task slots offered (execute service)
  std::string info_impl;     // which info impl produced this ("statgrab", "declared")
  std::int64_t started = 0;  // unix ms
  std::string version;

  bool operator==(const HostStatic&) const = default;
};

// One sample of a node's dynamic state.
struct HostLoad {
  std::int64_t time = 0;  // unix ms
  double load1 = 0, load5 = 0, load15 = 0;
  double cpu = 0;  // percent of all cores busy since the previous sample
  std::uint64_t memory_free = 0, memory_total = 0;
  int free_slots = 0;
  int queue = 0;
  // The file system of the work root: bytes available to tasks, and its size (0, 0: not
  // known, e.g. from a node that does not say).
  std::uint64_t disk_free = 0, disk_total = 0;
  // Why this host takes no new work now ("" when it does): it failed tasks for reasons of
  // its own (its disk is full, its task launcher died) and has not yet recovered.
  std::string down;

  bool operator==(const HostLoad&) const = default;
};

// GET /info/load
struct HostLoadReport {
  std::string id, name;
  HostLoad load;
  bool operator==(const HostLoadReport&) const = default;
};

// GET /info/history: oldest first.
struct LoadHistory {
  std::string id, name;
  int interval_ms = 5000;
  std::vector<HostLoad> samples;
  bool operator==(const LoadHistory&) const = default;
};

}  // namespace fvce::model
