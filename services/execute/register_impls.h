// The execute service's entries in the explicit impl registry (see node/deploy/registry.h).
#pragma once

#include "node/deploy/registry.h"
#include "node/node_context.h"
#include "services/execute/logic.h"

namespace fvce::execute {

using ExecuteRegistry = deploy::Registry<LocalExecute, NodeContext>;

// Adds "process" with its parameters:
//   slots (auto = the host's cores from info), queue (auto = slots),
//   kill-grace (5s), report-retry-for (1h)
// The builder needs ctx.files, ctx.info and ctx.workers (built before execute) and fails
// naming what is missing. The object it returns must not outlive ctx. Call once, before
// the Factory builds the node's services.
void register_execute_impls(ExecuteRegistry& registry);

}  // namespace fvce::execute
