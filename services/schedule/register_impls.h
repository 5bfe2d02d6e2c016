// The schedule service's registry: deploy.xml's <service name="schedule" impl="...">.
#pragma once

#include <memory>

#include "node/deploy/registry.h"
#include "node/node_context.h"
#include "services/register/logic.h"
#include "services/schedule/logic.h"

namespace fvce::schedule {

// What a schedule builder needs: the node, and this node's view of the membership.
struct ScheduleContext {
  NodeContext& node;
  std::shared_ptr<reg::MembershipView> membership;
};

using ScheduleRegistry = deploy::Registry<ScheduleLogic, ScheduleContext>;

// Registers "random-adaptive", "round-robin" and "local".
void register_schedule_impls(ScheduleRegistry& registry);

}  // namespace fvce::schedule
