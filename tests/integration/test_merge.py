#!/usr/bin/env python3
"""merge: two separate federations (a1+a2, b1+b2) become one with `fvce probe --node A C`:
the command exits 0 and all four nodes list all four as alive."""

import unittest

import fvce_harness as H

MERGE_BOUND = 3.0


class Merge(unittest.TestCase):
    def test_probe_merges_two_federations(self):
        with H.Cluster(H.fvce_path(), "fvce-merge") as c:
            # Default sync-interval (10 s): a merge must not wait for periodic sync.
            deploy = c.write_deploy()
            a1 = c.start("a1", deploy)
            a2 = c.start("a2", deploy, join=a1)
            b1 = c.start("b1", deploy)
            b2 = c.start("b2", deploy, join=b1)
            c.wait_converged([a1, a2], timeout=5)
            c.wait_converged([b1, b2], timeout=5)
            self.assertEqual(a2.alive_names(), {"a1", "a2"})
            self.assertEqual(b2.alive_names(), {"b1", "b2"})

            r = c.cli("probe", "--node", a1.address, b1.address)
            self.assertEqual(r.code, 0, r.stderr)
            self.assertIn("merged with the federation at " + b1.address, r.stdout)
            self.assertIn("4 members", r.stdout)

            took = c.wait_converged([a1, a2, b1, b2], timeout=MERGE_BOUND)
            print(f"all four list all four {took:.2f}s after the probe returned")
            ids = {n.name: n.node_id() for n in (a1, a2, b1, b2)}
            for n in (a1, a2, b1, b2):
                self.assertEqual({m.name: m.id for m in n.members()}, ids)

            # The accounts spread with the merge: b's side learns a's admin.
            c.wait_accounts(b2, timeout=MERGE_BOUND)
            # Probing a member of the same federation again changes nothing and succeeds.
            r = c.cli("probe", "--node", b2.address, a2.address)
            self.assertEqual(r.code, 0, r.stderr)
            self.assertTrue(c.converged([a1, a2, b1, b2]))

            # Probing nothing is a failure the user sees.
            r = c.cli("probe", "--node", a1.address, H.free_dead_address())
            self.assertEqual(r.code, 1)
            self.assertIn("probing", r.stderr)
            # ... and so is probing the node itself.
            r = c.cli("probe", "--node", a1.address, a1.address)
            self.assertEqual(r.code, 1)
            self.assertIn("this node itself", r.stderr)


if __name__ == "__main__":
    H.main()
