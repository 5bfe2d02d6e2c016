// The schedule service's registry: deploy.xml's <service name="schedule" impl="...">.
#pragma once

#include "node/deploy/registry.h"
#include "node/node_context.h"
#include "services/schedule/logic.h"

namespace fvce::schedule {

using ScheduleRegistry = deploy::Registry<ScheduleLogic, NodeContext>;

// Registers "random-adaptive", "round-robin" and "local". Builders need ctx.membership
// and ctx.info.
void register_schedule_impls(ScheduleRegistry& registry);

}  // namespace fvce::schedule
