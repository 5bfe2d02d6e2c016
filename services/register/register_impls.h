// The register service's registry: deploy.xml's <service name="register" impl="..."> names
// one of these.
#pragma once

#include "node/deploy/registry.h"
#include "node/node_context.h"
#include "services/register/logic.h"

namespace fvce::reg {

using RegisterRegistry = deploy::Registry<LocalRegister, NodeContext>;

// Registers "introducer". Its builder needs ctx.info (this node's static info).
void register_register_impls(RegisterRegistry& registry);

}  // namespace fvce::reg
