// info impl "statgrab": this machine as libstatgrab, /proc and a short calibration run see it.
#pragma once

#include <boost/asio/io_context.hpp>
#include <chrono>
#include <filesystem>
#include <memory>
#include <string>

#include "node/core/clock.h"
#include "services/info/impl/sampled_info.h"

namespace fvce::info {

struct StatgrabOptions {
  SamplingOptions sampling;
  // Measure speed with calibrate_speed(calibration) at construction. When false, speed is
  // estimated from the clock rate (see StatgrabInfo::Create).
  bool calibrate = true;
  std::chrono::milliseconds calibration{100};
  int slots = 0;  // HostStatic::slots until the execute service sets it
};

// Static info: cores usable by this process, CPU model and MHz (/proc/cpuinfo), RAM, free
// disk in the state directory's file system, OS and arch, the calibrated speed, slots.
// Dynamic info: real load averages, CPU use and available memory (see Sampler).
//
// Thread-safety and lifetime: as SampledInfo.
class StatgrabInfo final : public SampledInfo {
 public:
  // Reads the machine (and, with calibrate, blocks for about options.calibration). Errors:
  // invalid_argument when calibrate is false on a machine whose clock rate is unknown, so
  // no honest speed figure exists.
  static Result<std::shared_ptr<StatgrabInfo>> Create(boost::asio::io_context& ioc,
                                                      const Clock& clock,
                                                      const std::filesystem::path& state_dir,
                                                      std::string version,
                                                      const StatgrabOptions& options);

  // Cycles one reference operation of calibrate_speed() takes at the nominal clock rate
  // (measured: 674 Mref/s on a 2.6 GHz Xeon, i.e. 3.9 cycles). Used only to estimate speed
  // when calibration is off; expect an error of tens of percent on other cores.
  static constexpr double kCyclesPerReferenceOp = 4.0;

  // Wraps static info gathered elsewhere; Create() is the usual way in.
  StatgrabInfo(boost::asio::io_context& ioc, const Clock& clock, SamplingOptions sampling,
               model::HostStatic info)
      : SampledInfo(ioc, clock, sampling, std::move(info)) {}
};

}  // namespace fvce::info
