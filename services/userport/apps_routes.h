// The JSON routes of the published applications (docs/web.md):
//   GET    /api/apps            user   {"apps": [App]}
//   POST   /api/apps            admin  body: an application description (XML) → 201 App,
//                                      published federation-wide
//   DELETE /api/apps?name=NAME  admin  204: withdrawn federation-wide
//   POST   /api/apps/submit     user   {"app": NAME, "values": {...}} → {"id","name","tasks"},
//                                      or 400 with "errors": [{"field","message"}] and nothing
//                                      created
// An error is {"error": {"code", "message"[, "field"]}[, "errors": [...]]} with the HTTP status
// of the XML API.
#pragma once

#include <boost/json/value.hpp>
#include <functional>
#include <memory>
#include <vector>

#include "node/auth/caller.h"
#include "node/http/router.h"
#include "services/submit/logic.h"
#include "services/userport/app_store.h"

namespace fvce::userport {

// The submit service a caller's submission goes to (the federation's view for that caller,
// as /submit/workflows uses); the workflow belongs to the caller's user.
using SubmitFor = std::function<std::shared_ptr<submit::SubmitLogic>(const auth::Caller&)>;

void add_app_routes(http::Router& router, std::shared_ptr<AppStore> store, SubmitFor submit);

}  // namespace fvce::userport
