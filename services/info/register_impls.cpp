#include "services/info/register_impls.h"

#include <string>
#include <vector>

#include "services/info/history.h"
#include "services/info/impl/declared.h"
#include "services/info/impl/statgrab.h"

namespace fvce::info {
namespace {

using deploy::Params;
using deploy::ParamSpec;

// A day of 5 s samples is 17280; a million bounds a mistaken "1ms" interval to ~100 MB.
constexpr std::size_t kMaxHistorySamples = 1'000'000;
constexpr std::chrono::milliseconds kMinInterval{10};

std::vector<ParamSpec> sampling_specs() {
  return {
      {"sample-interval", "5s",
       "how often the node samples its own load into the history (a duration, at least 10ms)",
       false},
      {"history", "24h",
       "how much load history the node keeps for the charts (a duration; memory grows with "
       "history / sample-interval samples, at most 1000000)",
       false},
  };
}

Result<SamplingOptions> parse_sampling(const Params& params) {
  SamplingOptions out;
  auto interval = params.duration("sample-interval");
  if (!interval.ok()) return interval.status();
  if (*interval < kMinInterval)
    return Status::InvalidArgument(params.where("sample-interval") +
                                   ": parameter 'sample-interval' of service '" + params.service() +
                                   "': must be at least 10ms");
  auto history = params.duration("history");
  if (!history.ok()) return history.status();
  if (*history < *interval)
    return Status::InvalidArgument(params.where("history") + ": parameter 'history' of service '" +
                                   params.service() +
                                   "': must be at least as long as sample-interval");
  if (LoadRing::capacity_for(*history, *interval) > kMaxHistorySamples)
    return Status::InvalidArgument(params.where("history") + ": parameter 'history' of service '" +
                                   params.service() + "': history / sample-interval is " +
                                   std::to_string(LoadRing::capacity_for(*history, *interval)) +
                                   " samples, at most " + std::to_string(kMaxHistorySamples) +
                                   " (lengthen sample-interval or shorten history)");
  out.interval = *interval;
  out.history = *history;
  return out;
}

Result<std::shared_ptr<LocalInfo>> build_statgrab(const Params& params, NodeContext& ctx) {
  StatgrabOptions options;
  auto sampling = parse_sampling(params);
  if (!sampling.ok()) return sampling.status();
  options.sampling = *sampling;
  auto calibrate = params.boolean("calibrate");
  if (!calibrate.ok()) return calibrate.status();
  options.calibrate = *calibrate;
  auto calibration = params.duration("calibration");
  if (!calibration.ok()) return calibration.status();
  if (*calibration > std::chrono::seconds(10))
    return Status::InvalidArgument(params.where("calibration") +
                                   ": parameter 'calibration' of service '" + params.service() +
                                   "': at most 10s (it delays the node's start)");
  options.calibration = *calibration;
  auto slots = params.integer("slots", 0, 1 << 20);
  if (!slots.ok()) return slots.status();
  options.slots = static_cast<int>(*slots);

  auto info = StatgrabInfo::Create(ctx.ioc, ctx.clock, ctx.state_dir, ctx.version, options);
  if (!info.ok())
    return Status::InvalidArgument(params.where("calibrate") + ": " + info.status().message());
  return std::shared_ptr<LocalInfo>(std::move(*info));
}

Result<std::shared_ptr<LocalInfo>> build_declared(const Params& params, NodeContext& ctx) {
  DeclaredOptions options;
  auto sampling = parse_sampling(params);
  if (!sampling.ok()) return sampling.status();
  options.sampling = *sampling;
  auto cores = params.integer("cores", 1, 1 << 16);
  if (!cores.ok()) return cores.status();
  options.cores = static_cast<int>(*cores);
  // Above 0 and finite; 1e9 Mref/s is far beyond any core.
  auto speed = params.number("speed", 1e-9, 1e9);
  if (!speed.ok()) return speed.status();
  options.speed = *speed;
  auto memory = params.size("memory");
  if (!memory.ok()) return memory.status();
  if (*memory == 0)
    return Status::InvalidArgument(params.where("memory") + ": parameter 'memory' of service '" +
                                   params.service() + "': must be above 0");
  options.memory = *memory;
  options.cpu_model = params.text("cpu-model");
  auto mhz = params.number("cpu-mhz", 0, 1e6);
  if (!mhz.ok()) return mhz.status();
  options.cpu_mhz = *mhz;
  if (!params.text("disk").empty()) {
    auto disk = params.size("disk");
    if (!disk.ok()) return disk.status();
    options.disk = *disk;
  }
  auto slots = params.integer("slots", 0, 1 << 20);
  if (!slots.ok()) return slots.status();
  options.slots = static_cast<int>(*slots);

  auto info = DeclaredInfo::Create(ctx.ioc, ctx.clock, ctx.state_dir, ctx.version, options);
  if (!info.ok()) return info.status();
  return std::shared_ptr<LocalInfo>(std::move(*info));
}

}  // namespace

void register_info_impls(deploy::Registry<LocalInfo, NodeContext>& registry) {
  auto statgrab = sampling_specs();
  statgrab.push_back({"calibrate", "true",
                      "measure the speed figure with a short CPU run at start (true/false); "
                      "false estimates it from the clock rate in /proc/cpuinfo",
                      false});
  statgrab.push_back({"calibration", "100ms",
                      "how long the start-up speed calibration runs (a duration, at most 10s; "
                      "longer is steadier)",
                      false});
  statgrab.push_back(
      {"slots", "0", "task slots to advertise until the execute service sets them", false});
  registry.add("statgrab",
               "measures this machine: cores, CPU, memory and disk via libstatgrab and /proc, a "
               "calibrated speed, and real load",
               std::move(statgrab), build_statgrab);

  auto declared = sampling_specs();
  declared.push_back({"cores", "", "cores this node claims (a whole number, at least 1)", true});
  declared.push_back(
      {"speed", "",
       "speed figure this node claims, in million reference operations per second (the unit "
       "of the statgrab calibration; above 0)",
       true});
  declared.push_back({"memory", "", "memory this node claims (a size above 0, e.g. 8GiB)", true});
  declared.push_back({"cpu-model", "declared", "CPU model name to show", false});
  declared.push_back({"cpu-mhz", "0", "CPU clock rate to show, in MHz (0 = unknown)", false});
  declared.push_back({"disk", "",
                      "free disk to claim (a size; default: the free space of the file "
                      "system holding the state directory)",
                      false});
  declared.push_back(
      {"slots", "0", "task slots to advertise until the execute service sets them", false});
  registry.add("declared",
               "capacity stated here (cores, speed, memory) with this machine's real load: "
               "simulates heterogeneous hosts on one machine",
               std::move(declared), build_declared);
}

}  // namespace fvce::info
