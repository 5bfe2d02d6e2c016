// The execute service's HTTP routes:
//   POST /execute/tasks   <assignment>  → 202 (queued), 400, 409, 503 (every slot and the
//                                          queue taken: place the task elsewhere)
//   POST /execute/cancel  <cancel>      → 204 (unknown tasks too)
//   POST /execute/cleanup <cancel>      → 204: removes the workflow's (task's) work dirs
//   GET  /execute/logs?workflow=&task=&attempt=&stream=stdout|stderr&max=BYTES
//                                       → 200 text/plain, the tail of the captured stream
#pragma once

#include <memory>

#include "node/http/router.h"
#include "services/execute/logic.h"

namespace fvce::execute {

// Registers the routes on router (at start-up, before the server runs). logic is shared by
// the handlers and lives as long as the router.
void add_routes(http::Router& router, std::shared_ptr<LocalExecute> logic);

}  // namespace fvce::execute
