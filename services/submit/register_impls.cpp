#include "services/submit/register_impls.h"

#include "services/submit/impl/dag.h"

namespace fvce::submit {

void register_submit_impls(SubmitRegistry& registry) {
  registry.add(
      "dag", "workflows as DAGs of tasks, durable in SQLite",
      {
          {"batch", "256", "ready tasks placed per scheduling round"},
          {"sync", "normal",
           "normal: state survives a crash of the node; full: also of the machine (fsync "
           "every change)"},
          {"watch-interval", "1s", "how often tasks on lost hosts are looked for"},
          {"recover-grace", "10s",
           "after a restart, how long a task placed before it waits for word from its host "
           "(which may have run it meanwhile) before it is placed again"},
          {"busy-retry", "200ms",
           "when others' work fills every host, the first wait before tasks are placed again "
           "(it doubles up to 2s; one of this node's tasks ending, or a member joining, places "
           "them at once)"},
      },
      [](const deploy::Params& p, SubmitContext& c) -> Result<std::shared_ptr<LocalSubmit>> {
        DagConfig cfg;
        auto batch = p.integer("batch", 1, 100000);
        auto watch = p.duration("watch-interval");
        auto busy = p.duration("busy-retry");
        auto grace = p.duration("recover-grace");
        for (const Status& s : {batch.status(), watch.status(), busy.status(), grace.status()})
          if (!s.ok()) return s;
        auto sync = p.text("sync");
        if (sync != "normal" && sync != "full")
          return Status::InvalidArgument(p.where("sync") +
                                         ": parameter 'sync' of service "
                                         "'submit': '" +
                                         sync + "' is not normal or full");
        cfg.batch = static_cast<int>(*batch);
        cfg.watch_interval = *watch;
        cfg.busy_retry = *busy;
        cfg.recover_grace = *grace;
        cfg.full_sync = sync == "full";
        if (!c.files || !c.membership || !c.scheduler)
          return Status::Internal("submit needs file, register and schedule first");
        if (!c.node.workers) return Status::Internal("submit needs the node's worker pool");
        return std::shared_ptr<LocalSubmit>(
            std::make_shared<DagSubmit>(c.node, c.files, c.membership, c.scheduler, cfg));
      });
}

}  // namespace fvce::submit
