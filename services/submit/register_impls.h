// The submit service's registry: deploy.xml's <service name="submit" impl="...">.
#pragma once

#include <memory>

#include "node/deploy/registry.h"
#include "node/node_context.h"
#include "services/file/logic.h"
#include "services/register/logic.h"
#include "services/schedule/logic.h"
#include "services/submit/logic.h"

namespace fvce::submit {

// What a submit builder needs beyond the node context: this node's file service (the store,
// results), its view of the membership (lost hosts), and the scheduler it places with.
struct SubmitContext {
  NodeContext& node;
  std::shared_ptr<file::LocalFile> files;
  std::shared_ptr<reg::MembershipView> membership;
  std::shared_ptr<schedule::ScheduleLogic> scheduler;
};

using SubmitRegistry = deploy::Registry<LocalSubmit, SubmitContext>;

// Registers "dag".
void register_submit_impls(SubmitRegistry& registry);

}  // namespace fvce::submit
