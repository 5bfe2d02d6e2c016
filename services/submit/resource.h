// HTTP binding of the submit service:
//   POST /submit/workflows  <workflow>                        → 201 <submitted>
//   GET  /submit/workflows[?owner=NAME&offset=N&limit=N]      → <workflows> (a page, newest
//                                                               first, with the total)
//   GET  /submit/status?workflow=ID[&tasks=all|failed|none]   → <workflow-status>
//   POST /submit/cancel?workflow=ID                           → 204
//   POST /submit/reports    <task-reports>                    → 204   (from executors)
//   GET  /submit/results?workflow=ID                          → <results>
//   GET  /submit/logs?workflow=ID&task=T&stream=stdout|stderr → text/plain
// Every query answers for the whole federation (the workflow's owner is asked, lists are
// gathered from every member); with scope=node, for this node's own workflows only (what
// peers ask each other).
// The requesting user is the X-Fvce-User header (the CLI sends the OS user); until user
// authentication exists it is taken at its word. A user may cancel only their own workflows:
// the node the request came in at checks it; a scope=node call is a peer forwarding a
// request it checked (node-to-node authentication is the security layer's).
#pragma once

#include <functional>
#include <memory>

#include "node/http/router.h"
#include "services/register/logic.h"
#include "services/submit/logic.h"

namespace fvce::submit {

// federation answers users, node (this node's own workflows) answers peers. Both are shared
// by the handlers and live as long as the router.
// The federation's view for one caller (a FederatedSubmit carrying the caller's token).
using FederationView = std::function<std::shared_ptr<SubmitLogic>(const auth::Caller&)>;

// Every call goes through OwnedSubmit (owned.h) for the request's caller; reports are taken
// only from the member each report says ran the task.
void add_routes(http::Router& router, FederationView federation, std::shared_ptr<LocalSubmit> node,
                std::shared_ptr<reg::MembershipView> members);

}  // namespace fvce::submit
