// HTTP binding of the register service:
//   POST /register/join     <join>     → <members>
//   POST /register/ping     <ping>     → <ack>
//   POST /register/updates  <updates>  → 204
//   POST /register/merge    <members>  → <members>
//   POST /register/probe    <probe>    → <members>
//   GET  /register/members[?all=true]  → <members>
//   POST /register/leave               → 204, then the node stops
#pragma once

#include <memory>

#include "node/http/router.h"
#include "services/register/logic.h"

namespace fvce::reg {

void add_routes(http::Router& router, std::shared_ptr<RegisterLogic> logic);

}  // namespace fvce::reg
