#include "services/schedule/register_impls.h"

#include "services/info/logic.h"
#include "services/register/logic.h"
#include "services/schedule/impl/baselines.h"
#include "services/schedule/impl/random_adaptive.h"

namespace fvce::schedule {

namespace asio = boost::asio;

void register_schedule_impls(ScheduleRegistry& registry) {
  registry.add(
      "random-adaptive",
      "weighted random sampling of d hosts, load probes, earliest finish, feedback",
      {
          {"sample", "2", "hosts drawn per task (d)"},
          {"load-ttl", "250ms", "how long a host's load answer is reused"},
          {"load-timeout", "300ms", "deadline of a load probe"},
          {"overload-queue", "1", "skip a host whose queue is at least this many times its slots"},
          {"overload-load", "4",
           "skip a host whose 1-minute load is at least this many times its cores"},
          {"ewma", "0.3", "weight of a new observation in a host's adaptive factor"},
          {"bandwidth", "100MiB", "bytes per second assumed for moving inputs"},
          {"refused-pause", "200ms", "how long to avoid a host that refused a task"},
      },
      [](const deploy::Params& p, ScheduleContext& ctx) -> Result<std::shared_ptr<ScheduleLogic>> {
        RandomAdaptiveConfig c;
        auto sample = p.integer("sample", 1, 64);
        auto ttl = p.duration("load-ttl");
        auto timeout = p.duration("load-timeout");
        auto oq = p.number("overload-queue", 0, 1e6);
        auto ol = p.number("overload-load", 0, 1e6);
        auto ewma = p.number("ewma", 0.0, 1.0);
        auto bw = p.size("bandwidth");
        auto pause = p.duration("refused-pause");
        for (const Status& s : {sample.status(), ttl.status(), timeout.status(), oq.status(),
                                ol.status(), ewma.status(), bw.status(), pause.status()})
          if (!s.ok()) return s;
        c.sample = static_cast<int>(*sample);
        c.load_ttl = *ttl;
        c.load_timeout = *timeout;
        c.overload_queue = *oq;
        c.overload_load = *ol;
        c.ewma = *ewma;
        c.bandwidth = std::max<double>(1.0, static_cast<double>(*bw));
        c.refused_pause = *pause;
        if (!ctx.membership)
          return Status::Internal("schedule needs the register service built first");
        Peers* peers = &ctx.node.peers;
        CallOptions probe{c.load_timeout, 1};
        // Through Peers: this node's own info service for itself, a peer's over HTTP.
        LoadFetcher fetch =
            [peers, probe](const model::Member& m) -> asio::awaitable<Result<model::HostLoad>> {
          // Named, not a temporary in the co_await (GCC 12: docs/architecture.md).
          PeerRef peer(m);
          auto& info = peers->info(peer, probe);
          co_return co_await info.load();
        };
        return std::shared_ptr<ScheduleLogic>(std::make_shared<RandomAdaptive>(
            ctx.membership, std::move(fetch), ctx.node.clock, Rng(ctx.node.seed ^ 0x5c4ed), c));
      });
  registry.add(
      "round-robin", "every fitting member in turn (baseline)", {},
      [](const deploy::Params&, ScheduleContext& ctx) -> Result<std::shared_ptr<ScheduleLogic>> {
        if (!ctx.membership) return Status::Internal("schedule needs register first");
        return std::shared_ptr<ScheduleLogic>(std::make_shared<RoundRobin>(ctx.membership));
      });
  registry.add(
      "local", "everything on this node (baseline)", {},
      [](const deploy::Params&, ScheduleContext& ctx) -> Result<std::shared_ptr<ScheduleLogic>> {
        if (!ctx.membership) return Status::Internal("schedule needs register first");
        return std::shared_ptr<ScheduleLogic>(std::make_shared<LocalOnly>(ctx.membership));
      });
}

}  // namespace fvce::schedule
