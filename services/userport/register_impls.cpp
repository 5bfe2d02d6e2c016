#include "services/userport/register_impls.h"

#include <spdlog/spdlog.h>

#include "services/userport/terminal.h"

namespace fvce::userport {

void register_userport_impls(UserportRegistry& registry) {
  // The terminal's parameters are read where the terminal is built (node.cpp).
  std::vector<deploy::ParamSpec> specs = {
      {"assets", "",
       "directory of the built application (index.html, assets/); empty: beside the "
       "program (web/dist, ../share/fvce/web)"},
      {"events-members", "2s", "how often an event stream looks at the federation"},
      {"events-workflows", "500ms", "how often an event stream looks at the user's workflows"},
      {"max-event-streams", "256", "event streams open at once"},
  };
  for (auto& spec : terminal_param_specs()) specs.push_back(std::move(spec));
  registry.add(
      "web", "the browser application and its JSON API (docs/web.md)", std::move(specs),
      [](const deploy::Params& p, WebContext& ctx) -> Result<std::shared_ptr<WebPort>> {
        WebOptions o;
        o.assets = p.text("assets");
        auto members = p.duration("events-members");
        auto workflows = p.duration("events-workflows");
        auto streams = p.integer("max-event-streams", 1, 100'000);
        for (const Status& s : {members.status(), workflows.status(), streams.status()})
          if (!s.ok()) return s;
        o.members_interval = std::max(*members, std::chrono::milliseconds(100));
        o.workflow_interval = std::max(*workflows, std::chrono::milliseconds(100));
        o.max_streams = static_cast<std::size_t>(*streams);
        if (!o.assets.empty() && find_assets(o.assets).empty())
          return Status::InvalidArgument(p.where("assets") + ": parameter 'assets' of service '" +
                                         p.service() + "': " + o.assets.string() +
                                         " holds no index.html");
        auto port = std::make_shared<WebPort>(ctx, o);
        if (port->assets().empty())
          spdlog::warn(
              "userport: the web application is not built (no web/dist beside the program): "
              "the JSON API is served, the pages are not");
        else
          spdlog::info("userport: serving the web application from {}", port->assets().string());
        return port;
      });
}

}  // namespace fvce::userport
