#include "services/info/impl/statgrab.h"

#include "services/info/calibrate.h"
#include "services/info/impl/sampler.h"

namespace fvce::info {

Result<std::shared_ptr<StatgrabInfo>> StatgrabInfo::Create(boost::asio::io_context& ioc,
                                                           const Clock& clock,
                                                           const std::filesystem::path& state_dir,
                                                           std::string version,
                                                           const StatgrabOptions& options) {
  MachineFacts facts = read_machine_facts();
  model::HostStatic info;
  info.cores = facts.cores;
  info.cpu_model = facts.cpu_model;
  info.cpu_mhz = facts.cpu_mhz;
  info.memory = facts.memory;
  info.disk = free_disk_bytes(state_dir);
  info.os = facts.os;
  info.arch = facts.arch;
  if (options.calibrate) {
    info.speed = calibrate_speed(options.calibration);
  } else if (facts.cpu_mhz > 0) {
    // Same unit as the calibrated figure, so a federation may mix both kinds of node.
    info.speed = facts.cpu_mhz / kCyclesPerReferenceOp;
  } else {
    return Status::InvalidArgument(
        "calibrate=false needs the CPU clock rate to estimate speed, and this machine does not "
        "report one (no 'cpu MHz' in /proc/cpuinfo, no cpufreq): set calibrate=true, or use "
        "impl 'declared' to state the speed");
  }
  info.slots = options.slots;
  info.info_impl = "statgrab";
  info.started = clock.unix_ms();
  info.version = std::move(version);
  return std::make_shared<StatgrabInfo>(ioc, clock, options.sampling, std::move(info));
}

}  // namespace fvce::info
