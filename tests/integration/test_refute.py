#!/usr/bin/env python3
"""refute: a node frozen with SIGSTOP long enough to be suspected (but not removed) and then
resumed with SIGCONT refutes the suspicion: it ends up alive everywhere with a higher
incarnation, and nobody removed it on the way."""

import signal
import time
import unittest

import fvce_harness as H

# Suspected after one failed probe, removed only after 50 failed probes or 30 s.
REGISTER = {
    "probe-interval": "200ms",
    "probe-timeout": "200ms",
    "suspect-after": "1",
    "remove-after": "50",
    "suspect-timeout": "30s",
    "sync-interval": "2s",
}


class Refute(unittest.TestCase):
    def test_sigstop_then_sigcont(self):
        with H.Cluster(H.fvce_path(), "fvce-refute") as c:
            deploy = c.write_deploy(register=REGISTER)
            nodes = [c.start("s1", deploy)]
            for name in ("s2", "s3"):
                nodes.append(c.start(name, deploy, join=nodes[-1]))
            c.wait_converged(nodes, timeout=5)
            frozen, others = nodes[2], nodes[:2]
            before = max(o.view()[frozen.name].incarnation for o in others)

            frozen.signal(signal.SIGSTOP)
            try:
                H.wait_until(lambda: all(o.view()[frozen.name].state == "suspect" for o in others),
                             5, f"{frozen.name} to be suspected by every other member")
                suspected = {o.name: o.view()[frozen.name].incarnation for o in others}
                # Suspected, not removed: still listed (without --all), as suspect.
                for o in others:
                    self.assertIn(frozen.name, o.view())
            finally:
                frozen.signal(signal.SIGCONT)
            t0 = time.monotonic()

            def refuted():
                for n in nodes:
                    m = n.view()[frozen.name]
                    if m.state != "alive" or m.incarnation <= before:
                        return False
                return True

            H.wait_until(refuted, 5, f"{frozen.name} to be alive with incarnation > {before} "
                                     "everywhere")
            print(f"refuted {time.monotonic() - t0:.2f}s after SIGCONT; incarnation "
                  f"{before} -> {frozen.view()[frozen.name].incarnation} (suspected at {suspected})")
            c.wait_converged(nodes, timeout=3)
            self.assertIn("refuting a suspicion", frozen.stderr_text())
            # Never declared dead: the --all lists carry no dead record.
            for n in nodes:
                self.assertEqual({m.state for m in n.members(all=True)}, {"alive"})
            # The refutation survives a restart: the incarnation was written to the state dir.
            with open(f"{frozen.state_dir}/incarnation") as f:
                self.assertGreaterEqual(int(f.read()), frozen.view()[frozen.name].incarnation)


if __name__ == "__main__":
    H.main()
