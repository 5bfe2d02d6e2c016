// The register service's registry: deploy.xml's <service name="register" impl="..."> names
// one of these.
#pragma once

#include "node/deploy/registry.h"
#include "node/node_context.h"
#include "services/info/logic.h"
#include "services/register/logic.h"

namespace fvce::reg {

// What a register builder needs: the node, and this node's info service (the static info that
// travels with membership).
struct RegisterContext {
  NodeContext& node;
  std::shared_ptr<info::LocalInfo> info;
};

using RegisterRegistry = deploy::Registry<LocalRegister, RegisterContext>;

// Registers "introducer". Its builder needs ctx.info (this node's static info).
void register_register_impls(RegisterRegistry& registry);

}  // namespace fvce::reg
