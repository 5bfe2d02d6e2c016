// info impl "declared": a capacity stated in deploy.xml, so one machine can play a
// heterogeneous federation (a "4-core, speed 500" node next to a "1-core, speed 100" one).
#pragma once

#include <boost/asio/io_context.hpp>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>

#include "node/core/clock.h"
#include "services/info/impl/sampled_info.h"

namespace fvce::info {

struct DeclaredOptions {
  SamplingOptions sampling;  // memory_cap is overwritten with memory
  int cores = 1;             // >= 1
  double speed = 0;          // > 0, in calibrate_speed()'s unit (Mref/s)
  std::uint64_t memory = 0;  // bytes, > 0
  std::string cpu_model = "declared";
  double cpu_mhz = 0;
  std::optional<std::uint64_t> disk;  // bytes; unset = free space of the state directory
  int slots = 0;
};

// Static info: exactly what was declared; os and arch are the real ones (tasks still run
// here). Dynamic info: this machine's real load averages and CPU use, with memory_total =
// the declared memory and memory_free = min(real available, declared memory).
//
// Thread-safety and lifetime: as SampledInfo.
class DeclaredInfo final : public SampledInfo {
 public:
  // Errors: invalid_argument when cores < 1, speed <= 0 or memory == 0.
  static Result<std::shared_ptr<DeclaredInfo>> Create(boost::asio::io_context& ioc,
                                                      const Clock& clock,
                                                      const std::filesystem::path& state_dir,
                                                      std::string version,
                                                      const DeclaredOptions& options);

  // Wraps static info built elsewhere; Create() is the usual way in.
  DeclaredInfo(boost::asio::io_context& ioc, const Clock& clock, SamplingOptions sampling,
               model::HostStatic info)
      : SampledInfo(ioc, clock, sampling, std::move(info)) {}
};

}  // namespace fvce::info
