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

// Members are checked, not believed: a join is for the member the caller proved it is, news
// comes from the member it says it comes from, and only believable news (believable() in
// membership.h) reaches the logic.
void add_routes(http::Router& router, std::shared_ptr<LocalRegister> logic);

}  // namespace fvce::reg
