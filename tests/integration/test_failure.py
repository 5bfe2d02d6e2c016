#!/usr/bin/env python3
"""failure: with the DEFAULT register params (probe every 1 s, suspect after 1 failed probe,
remove after 3 or 4 s unrefuted), a node killed with SIGKILL is dropped by every survivor
within the documented ~5 s (asserted: 8 s, for CI noise), and `fvce hosts --all` shows it
dead."""

import time
import unittest

import fvce_harness as H

DROP_BOUND = 8.0


class Failure(unittest.TestCase):
    def test_kill_9_is_dropped_everywhere(self):
        with H.Cluster(H.fvce_path(), "fvce-failure") as c:
            deploy = c.write_deploy()  # no register params: the defaults
            nodes = [c.start("f1", deploy)]
            for name in ("f2", "f3", "f4"):
                nodes.append(c.start(name, deploy, join=nodes[0]))
            c.wait_converged(nodes, timeout=5)
            victim, survivors = nodes[2], [n for n in nodes if n is not nodes[2]]
            victim_id = victim.node_id()

            victim.kill()
            t_kill = time.monotonic()
            dropped = {}  # survivor → seconds after the kill when it no longer listed the victim

            def all_dropped():
                for s in survivors:
                    if s.name not in dropped and victim.name not in {m.name for m in s.members()}:
                        dropped[s.name] = time.monotonic() - t_kill
                return len(dropped) == len(survivors)

            H.wait_until(all_dropped, DROP_BOUND, f"every survivor to drop {victim.name}",
                         interval=0.05)
            print("dropped after: " + ", ".join(f"{k} {v:.2f}s" for k, v in sorted(dropped.items())))
            self.assertLessEqual(max(dropped.values()), DROP_BOUND)

            # The survivors still agree with each other, all alive.
            c.wait_converged(survivors, timeout=3)

            # The user's view: the member is listed as dead (a tombstone) with --all.
            for s in survivors:
                r = c.cli("hosts", "--node", s.address, "--all")
                self.assertEqual(r.code, 0, r.stderr)
                rows = {row[0]: row for row in H.table_rows(r.stdout)[1:]}
                self.assertIn(victim.name, rows, r.stdout)
                self.assertEqual(rows[victim.name][2], "dead", r.stdout)
                self.assertEqual(rows[victim.name][-1], victim_id)
                for other in survivors:
                    self.assertEqual(rows[other.name][2], "alive", r.stdout)
                # Without --all it is gone from the table.
                r = c.cli("hosts", "--node", s.address)
                self.assertEqual(r.code, 0, r.stderr)
                self.assertNotIn(victim.name, {row[0] for row in H.table_rows(r.stdout)})

            # The metrics tell the same story.
            m = survivors[0].metrics()
            self.assertEqual(m[("fvce_register_members", (("state", "alive"),))], 3)
            self.assertEqual(m[("fvce_register_members", (("state", "dead"),))], 1)
            self.assertGreater(m[("fvce_register_probes_total", ())], 0)


if __name__ == "__main__":
    H.main()
