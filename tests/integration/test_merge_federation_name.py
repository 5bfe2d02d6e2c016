#!/usr/bin/env python3
"""merge_federation_name: `fvce probe` refuses to merge a federation of ANOTHER NAME, as
POST /register/join does: the probe fails (exit 1, a conflict naming the federations) and both
member lists stay as they were.
"""

import unittest

import fvce_harness as H


class MergeFederationName(unittest.TestCase):
    def test_probe_refuses_another_federation(self):
        with H.Cluster(H.fvce_path(), "fvce-merge-name") as c:
            a = c.start("a", c.write_deploy(federation="x"))
            b = c.start("b", c.write_deploy(federation="y"))
            r = c.cli("probe", "--node", a.address, b.address)
            print(f"exit {r.code}: {r.stdout.strip()} {r.stderr.strip()}")
            self.assertEqual({m.name for m in b.members()}, {"b"},
                             "b (federation 'y') now lists a member of federation 'x'")
            self.assertEqual({m.name for m in a.members()}, {"a"},
                             "a (federation 'x') now lists a member of federation 'y'")
            self.assertEqual(r.code, 1, r.stdout)
            self.assertIn("federation", r.stderr)


if __name__ == "__main__":
    H.main()
