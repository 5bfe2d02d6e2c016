// The user port (impl "web", docs/web.md): the browser application and the JSON API it
// calls, beside the XML API of the other services.
//
// Every answer about the federation comes through the same Logic the XML API uses, in the
// caller's name: workflows through the federation's view of submit wrapped in OwnedSubmit (a
// user sees only their own), members and loads through FederationInfo, files through the
// members' file services by way of Peers. What a user may see of the files is decided here
// (files_policy below): their own area users/<user>, the work directories of their own
// workflows, and their workflows' results; an admin sees every path under the work root.
//
// Live updates go out as server-sent events (GET /api/events): each stream polls what its
// user sees (the federation every 2 s, the user's running workflows every 500 ms) and sends
// what changed.
#pragma once

#include <atomic>
#include <boost/json/array.hpp>
#include <chrono>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>

#include "node/http/router.h"
#include "node/node_context.h"
#include "services/file/logic.h"
#include "services/info/federation.h"
#include "services/register/logic.h"
#include "services/submit/logic.h"

namespace fvce::auth {
class Accounts;
}

namespace fvce::userport {

struct WebOptions {
  // The built browser application (index.html, assets/); empty: found beside the program
  // (web/dist in a build tree, ../share/fvce/web when installed).
  std::filesystem::path assets;
  std::chrono::milliseconds members_interval{2000};  // events: the federation
  std::chrono::milliseconds workflow_interval{500};  // events: the user's workflows
  std::chrono::milliseconds keepalive{15000};        // events: a comment line
  std::size_t max_streams = 256;                     // event streams open at once
};

struct WebContext {
  NodeContext& node;
  // The federation's submit view for a caller, already restricted to what it may see.
  std::function<std::shared_ptr<submit::SubmitLogic>(const auth::Caller&)> submit;
  std::shared_ptr<reg::MembershipView> membership;
  std::shared_ptr<info::FederationInfo> federation;
  std::shared_ptr<auth::Accounts> accounts;
};

class WebPort : public std::enable_shared_from_this<WebPort> {
 public:
  WebPort(WebContext ctx, WebOptions options);

  // Where the application was found ("" when it was not: the API still works, "/" says the
  // application is not built).
  const std::filesystem::path& assets() const { return assets_; }

  void add_routes(http::Router& router);
  // Ends every event stream (at their next wake-up). Idempotent.
  void stop();
  // The published applications: list gives them as JSON (an array), and after each
  // apps_changed() every event stream sends them (an `apps` event). Set list once, before
  // the node serves; apps_changed() from any thread.
  void set_apps(std::function<boost::json::array()> list);
  void apps_changed();

  struct Env;  // what the routes share (web.cpp)

 private:
  std::shared_ptr<Env> env_;
  std::filesystem::path assets_;
};

// The assets directory to serve: given, else beside the program; "" when none holds an
// index.html.
std::filesystem::path find_assets(const std::filesystem::path& given);

// A path of the Files page, resolved against what the caller may see (docs/web.md, Files).
// kind: "work" (a path of the member's work root, returned in path), "results" (a result
// of workflow `workflow` named `name`), or "root" / "list-work" / "list-results" /
// "list-users" for the virtual directories. Errors: forbidden with the reason,
// invalid-argument for "..", absolute or empty segments.
struct FilePlace {
  enum Kind { root, work, results_dir, result, users_dir, work_dir } kind = root;
  std::string path;      // work: relative to the work root
  std::string workflow;  // result, work (when under work/<workflow>)
  std::string name;      // result
};
Result<FilePlace> place_of(std::string_view path, const auth::Caller& who);

}  // namespace fvce::userport
