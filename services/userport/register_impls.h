// The user port's registry: deploy.xml's <service name="userport" impl="...">.
#pragma once

#include "node/deploy/registry.h"
#include "services/userport/web.h"

namespace fvce::userport {

using UserportRegistry = deploy::Registry<WebPort, WebContext>;

// Registers "web".
void register_userport_impls(UserportRegistry& registry);

}  // namespace fvce::userport
