// HTTP binding of the submit service:
//   POST /submit/workflows  <workflow>        → 201 <submitted>
//   GET  /submit/workflows[?owner=NAME]       → <workflows>
//   GET  /submit/status?workflow=ID           → <workflow-status>
//   POST /submit/cancel?workflow=ID           → 204
//   POST /submit/reports    <task-reports>    → 204   (from executors)
//   GET  /submit/results?workflow=ID          → <results>
//   GET  /submit/logs?workflow=ID&task=T&stream=stdout|stderr → text/plain
// The requesting user is the X-Fvce-User header (the CLI sends the OS user); until user
// authentication exists it is taken at its word. A user may cancel only their own workflows.
#pragma once

#include <memory>

#include "node/http/router.h"
#include "services/submit/impl/dag.h"

namespace fvce::submit {

void add_routes(http::Router& router, std::shared_ptr<DagSubmit> submit);

}  // namespace fvce::submit
