#include "services/info/impl/declared.h"

#include "services/info/impl/sampler.h"

namespace fvce::info {

Result<std::shared_ptr<DeclaredInfo>> DeclaredInfo::Create(boost::asio::io_context& ioc,
                                                           const Clock& clock,
                                                           const std::filesystem::path& state_dir,
                                                           std::string version,
                                                           const DeclaredOptions& options) {
  // The registry's builder checks these with file:line:col; this guards direct callers.
  if (options.cores < 1) return Status::InvalidArgument("declared cores must be at least 1");
  if (!(options.speed > 0)) return Status::InvalidArgument("declared speed must be above 0");
  if (options.memory == 0) return Status::InvalidArgument("declared memory must be above 0");

  // Only what cannot be declared is read from the machine: the OS and arch the tasks meet.
  MachineFacts facts = read_machine_facts();
  model::HostStatic info;
  info.cores = options.cores;
  info.cpu_model = options.cpu_model;
  info.cpu_mhz = options.cpu_mhz;
  info.memory = options.memory;
  info.disk = options.disk ? *options.disk : free_disk_bytes(state_dir);
  info.os = facts.os;
  info.arch = facts.arch;
  info.speed = options.speed;
  info.slots = options.slots;
  info.info_impl = "declared";
  info.started = clock.unix_ms();
  info.version = std::move(version);

  SamplingOptions sampling = options.sampling;
  sampling.memory_cap = options.memory;
  return std::make_shared<DeclaredInfo>(ioc, clock, sampling, std::move(info));
}

}  // namespace fvce::info
