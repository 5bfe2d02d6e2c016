// The submit service's registry: deploy.xml's <service name="submit" impl="...">.
#pragma once

#include <memory>

#include "node/deploy/registry.h"
#include "node/node_context.h"
#include "services/schedule/logic.h"
#include "services/submit/impl/dag.h"

namespace fvce::submit {

// What the submit builder needs beyond the node context: the scheduler it places with.
struct SubmitContext {
  NodeContext& node;
  std::shared_ptr<schedule::ScheduleLogic> scheduler;
};

using SubmitRegistry = deploy::Registry<DagSubmit, SubmitContext>;

// Registers "dag".
void register_submit_impls(SubmitRegistry& registry);

}  // namespace fvce::submit
