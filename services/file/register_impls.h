// The file service's registry: deploy.xml's <service name="file" impl="..."> names one of
// these (see node/deploy/registry.h).
#pragma once

#include "node/deploy/registry.h"
#include "node/node_context.h"
#include "services/file/logic.h"

namespace fvce::file {

using FileRegistry = deploy::Registry<LocalFile, NodeContext>;

// Registers "local" with its parameters:
//   work-root  (default: <state-dir>/work; a relative path is taken from the state dir)
//   max-upload (64GiB: the largest body one PUT /file/content or /file/store accepts)
//   list-limit (10000: entries per /file/list or /file/find answer)
// The builder creates the work root and uses ctx.state_dir, ctx.workers and
// ctx.self.address (read at each fetch); the service must not outlive ctx. Call once,
// before the Factory builds the node's services.
void register_file_impls(FileRegistry& registry);

}  // namespace fvce::file
