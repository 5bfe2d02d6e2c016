#include "services/register/register_impls.h"

#include "services/info/logic.h"
#include "services/register/impl/introducer.h"

namespace fvce::reg {

void register_register_impls(RegisterRegistry& registry) {
  registry.add(
      "introducer", "join through an introducer; heartbeat probes, suspicion, removal, refutation",
      {
          {"probe-interval", "1s", "time between probe rounds"},
          {"probes-per-round", "3", "random members probed each round"},
          {"probe-timeout", "500ms", "a probe not answered by then has failed"},
          {"suspect-after", "1", "consecutive failed probes before a member is suspected"},
          {"remove-after", "3", "consecutive failed probes before a suspect is removed"},
          {"suspect-timeout", "4s", "an unrefuted suspicion is confirmed after this"},
          {"tombstone", "60s", "how long removed members are remembered"},
          {"reconnect-for", "24h",
           "how long a member removed as dead is still tried now and then (a partition heals)"},
          {"sync-interval", "10s", "mean time between full list exchanges with a member"},
          {"gossip-repeat", "4", "how many messages carry each piece of news"},
      },
      [](const deploy::Params& p, RegisterContext& rctx) -> Result<std::shared_ptr<LocalRegister>> {
        NodeContext& ctx = rctx.node;
        MembershipConfig c;
        auto probe_interval = p.duration("probe-interval");
        auto probes = p.integer("probes-per-round", 1, 64);
        auto probe_timeout = p.duration("probe-timeout");
        auto suspect_after = p.integer("suspect-after", 1, 100);
        auto remove_after = p.integer("remove-after", 1, 100);
        auto suspect_timeout = p.duration("suspect-timeout");
        auto tombstone = p.duration("tombstone");
        auto reconnect_for = p.duration("reconnect-for");
        auto sync = p.duration("sync-interval");
        auto repeat = p.integer("gossip-repeat", 1, 100);
        for (const Status& s :
             {probe_interval.status(), probes.status(), probe_timeout.status(),
              suspect_after.status(), remove_after.status(), suspect_timeout.status(),
              tombstone.status(), reconnect_for.status(), sync.status(), repeat.status()})
          if (!s.ok()) return s;
        c.probe_interval = *probe_interval;
        c.probes_per_round = static_cast<int>(*probes);
        c.probe_timeout = *probe_timeout;
        c.suspect_after = static_cast<int>(*suspect_after);
        c.remove_after = static_cast<int>(*remove_after);
        c.suspect_timeout = *suspect_timeout;
        c.tombstone = *tombstone;
        c.reconnect_for = *reconnect_for;
        c.sync_interval = *sync;
        c.gossip_repeat = static_cast<int>(*repeat);
        if (c.remove_after < c.suspect_after)
          return Status::InvalidArgument(p.where("remove-after") +
                                         ": remove-after must be at least suspect-after");
        if (!rctx.info) return Status::Internal("the info service must be built before register");
        model::Member self;
        self.id = ctx.self.id;
        self.name = ctx.self.name;
        self.address = ctx.self.address;
        self.incarnation = ctx.self.incarnation;
        self.state = model::MemberState::alive;
        self.host = rctx.info->static_now();
        return std::shared_ptr<LocalRegister>(std::make_shared<Introducer>(ctx, self, c));
      });
}

}  // namespace fvce::reg
