#!/usr/bin/env python3
"""leave: `fvce leave` and SIGTERM are graceful: the process exits 0 soon, and every other
member drops it at once (well before failure detection could, with the default register
params), listing it as `left` with --all."""

import signal
import time
import unittest

import fvce_harness as H

EXIT_BOUND = 5.0  # the node stops within this after being told to leave
DROP_BOUND = 1.5  # "at once": failure detection alone needs >= 2.5 s with the defaults


class Leave(unittest.TestCase):
    def check_left(self, c, gone, others, t0, how):
        dropped = {}

        def all_dropped():
            for o in others:
                if o.name not in dropped and gone.name not in {m.name for m in o.members()}:
                    dropped[o.name] = time.monotonic() - t0
            return len(dropped) == len(others)

        H.wait_until(all_dropped, DROP_BOUND, f"every member to drop {gone.name} ({how})",
                     interval=0.02)
        print(f"{how}: dropped after " +
              ", ".join(f"{k} {v:.3f}s" for k, v in sorted(dropped.items())))
        for o in others:
            r = c.cli("hosts", "--node", o.address, "--all")
            self.assertEqual(r.code, 0, r.stderr)
            rows = {row[0]: row for row in H.table_rows(r.stdout)[1:]}
            self.assertEqual(rows[gone.name][2], "left", r.stdout)
        # Nobody suspected anybody on the way: a leave is not a failure.
        for o in others:
            states = {m.name: m.state for m in o.members(all=True)}
            self.assertEqual(states.pop(gone.name), "left")
            self.assertTrue(all(s in ("alive", "left") for s in states.values()), states)

    def test_leave_and_sigterm(self):
        with H.Cluster(H.fvce_path(), "fvce-leave") as c:
            deploy = c.write_deploy()  # default register params
            nodes = [c.start("l1", deploy)]
            for name in ("l2", "l3", "l4"):
                nodes.append(c.start(name, deploy, join=nodes[-1]))
            c.wait_converged(nodes, timeout=5)

            # 1. fvce leave
            gone = nodes[1]
            t0 = time.monotonic()
            r = c.cli("leave", "--node", gone.address)
            self.assertEqual(r.code, 0, r.stderr)
            self.assertIn("left", r.stdout)
            self.assertEqual(gone.wait_exit(EXIT_BOUND), 0, gone.stderr_text()[-2000:])
            print(f"fvce leave: CLI {r.seconds:.3f}s, process gone {time.monotonic() - t0:.3f}s")
            others = [n for n in nodes if n is not gone]
            self.check_left(c, gone, others, t0, "fvce leave")

            # 2. SIGTERM
            gone2 = nodes[3]
            others2 = [n for n in others if n is not gone2]
            t0 = time.monotonic()
            gone2.signal(signal.SIGTERM)
            self.assertEqual(gone2.wait_exit(EXIT_BOUND), 0, gone2.stderr_text()[-2000:])
            print(f"SIGTERM: process gone {time.monotonic() - t0:.3f}s")
            self.check_left(c, gone2, others2, t0, "SIGTERM")
            self.assertIn("leaving federation", gone2.stderr_text())

            # The two that remain still serve and agree.
            c.wait_converged(others2, timeout=3)


if __name__ == "__main__":
    H.main()
