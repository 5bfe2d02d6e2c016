// The execute service's registry: deploy.xml's <service name="execute" impl="...">.
#pragma once

#include <memory>

#include "node/deploy/registry.h"
#include "node/node_context.h"
#include "services/execute/logic.h"
#include "services/file/logic.h"
#include "services/info/logic.h"

namespace fvce::execute {

// What an execute builder needs: the node, and this node's file and info services (the
// work directories; the host's cores for slots="auto").
struct ExecuteContext {
  NodeContext& node;
  std::shared_ptr<file::LocalFile> files;
  std::shared_ptr<info::LocalInfo> info;
};

using ExecuteRegistry = deploy::Registry<LocalExecute, ExecuteContext>;

// Registers "process".
void register_execute_impls(ExecuteRegistry& registry);

}  // namespace fvce::execute
