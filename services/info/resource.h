// HTTP binding of the info service:
//   GET /info/load                   → <host-load>    a fresh sample of this node
//   GET /info/history[?since=MS]     → <load-history> this node's recent samples
//   GET /info/hosts                  → <hosts>        every live member with its load
//   GET /info/host[?name=NAME|ID]    → <host-info>    a member's static info and, when it
//                                      answers, its current load (default: this node)
#pragma once

#include <memory>
#include <string>

#include "node/http/router.h"
#include "services/info/federation.h"
#include "services/info/logic.h"
#include "services/register/logic.h"

namespace fvce::info {

void add_routes(http::Router& router, std::shared_ptr<LocalInfo> info,
                std::shared_ptr<reg::MembershipView> members,
                std::shared_ptr<FederationInfo> federation);

}  // namespace fvce::info
