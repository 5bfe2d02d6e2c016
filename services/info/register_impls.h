// The info service's entries in the explicit impl registry (see node/deploy/registry.h).
#pragma once

#include "node/deploy/registry.h"
#include "node/node_context.h"
#include "services/info/logic.h"

namespace fvce::info {

// Adds "statgrab" and "declared" with their parameters:
//   both:     sample-interval (5s), history (24h)
//   statgrab: calibrate (true), calibration (100ms), slots (0)
//   declared: cores*, speed*, memory*, cpu-model (declared), cpu-mhz (0), disk (free space
//             of the state directory), slots (0)                        (* = required)
// Builders use ctx.ioc, ctx.clock, ctx.state_dir and ctx.version; the objects they return
// must not outlive ctx. Call once, before the Factory builds the node's services.
void register_info_impls(deploy::Registry<LocalInfo, NodeContext>& registry);

}  // namespace fvce::info
