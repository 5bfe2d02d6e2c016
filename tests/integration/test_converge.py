#!/usr/bin/env python3
"""converge: five nodes joined in a chain (each through the previous one) all list all five
as alive within a bound, and the CLI shows them: `fvce hosts`, `fvce info --host`, --xml."""

import re
import time
import unittest

import fvce_harness as H
from fvce_harness import q

N = 5
CONVERGE_BOUND = 3.0  # seconds after the last node listens (joins are pushed, not gossiped)


def declared(i):
    # Distinct, recognisable capacities: n1 has 2 cores and 1 GiB, n2 3 cores and 2 GiB...
    return ("declared", {"cores": str(i + 1), "speed": str(100 * i), "memory": f"{i}GiB"})


class Converge(unittest.TestCase):
    def test_chain_of_five(self):
        with H.Cluster(H.fvce_path(), "fvce-converge") as c:
            nodes = []
            for i in range(1, N + 1):
                # Default register params: joins must converge without help from probes.
                deploy = c.write_deploy(info=declared(i))
                nodes.append(c.start(f"n{i}", deploy, join=nodes[-1] if nodes else None))
            names = {f"n{i}" for i in range(1, N + 1)}
            took = c.wait_converged(nodes, timeout=CONVERGE_BOUND)
            print(f"converged {took:.2f}s after the last node listened")

            # Every view agrees on ids, addresses and the static info that travels along.
            ids = {n.name: n.node_id() for n in nodes}
            for n in nodes:
                view = n.view()
                self.assertEqual(set(view), names)
                for i, other in enumerate(nodes, start=1):
                    m = view[other.name]
                    self.assertEqual(m.id, ids[other.name], f"{n.name}'s view of {other.name}")
                    self.assertEqual(m.address, other.address)
                    self.assertEqual(m.host["cores"], str(i + 1))
                    self.assertEqual(int(m.host["memory"]), i << 30)

            # fvce hosts: exit 0 and a row per member, each with its address.
            r = c.cli("hosts", "--node", nodes[0].address)
            self.assertEqual(r.code, 0, r.stderr)
            rows = H.table_rows(r.stdout)
            self.assertEqual(rows[0][0], "NAME", r.stdout)
            listed = {row[0]: row for row in rows[1:] if row[0] in names}
            self.assertEqual(set(listed), names, r.stdout)
            for other in nodes:
                self.assertIn(other.address, listed[other.name], r.stdout)
                self.assertIn("alive", listed[other.name], r.stdout)
            self.assertIn(f"{N} members in federation 'test'", r.stdout)

            # fvce info --host n2, asked of n5: n2's capacity (not n5's) and a load.
            r = c.cli("info", "--node", nodes[4].address, "--host", "n2")
            self.assertEqual(r.code, 0, r.stderr)
            info = dict(re.findall(r"^([a-z ]+):\s+(.*)$", r.stdout, re.M))
            self.assertEqual(info.get("name"), "n2", r.stdout)
            self.assertEqual(info.get("id"), ids["n2"], r.stdout)
            self.assertEqual(info.get("cores"), "3", r.stdout)
            self.assertRegex(info.get("memory", ""), r"^2(\.0)? GiB$", r.stdout)
            self.assertRegex(info.get("load", ""), r"^\d+\.\d\d \d+\.\d\d \d+\.\d\d ", r.stdout)
            self.assertIn("memory free", info, r.stdout)

            # --xml: the documents themselves, with the right root elements.
            r = c.cli("hosts", "--node", nodes[2].address, "--xml")
            self.assertEqual(r.code, 0, r.stderr)
            root = H.ET.fromstring(r.stdout)
            self.assertEqual(root.tag, q("hosts"))
            self.assertEqual(root.get("federation"), "test")
            self.assertEqual(root.get("self"), ids["n3"])
            his = root.findall(q("host-info"))
            self.assertEqual({h.find(q("member")).get("name") for h in his}, names)
            for h in his:
                self.assertIsNotNone(h.find(q("load")), f"no load for a host: {r.stdout}")
                self.assertIsNotNone(h.find(q("member")).find(q("host")))

            r = c.cli("hosts", "--node", nodes[2].address, "--all", "--xml")
            self.assertEqual(r.code, 0, r.stderr)
            root = H.ET.fromstring(r.stdout)
            self.assertEqual(root.tag, q("members"))
            self.assertEqual({m.name for m in H.parse_members(root)}, names)

            r = c.cli("info", "--node", nodes[0].address, "--host", "n2", "--xml")
            self.assertEqual(r.code, 0, r.stderr)
            root = H.ET.fromstring(r.stdout)
            self.assertEqual(root.tag, q("host-info"))
            member = root.find(q("member"))
            self.assertEqual(member.get("name"), "n2")
            self.assertEqual(member.find(q("host")).get("cores"), "3")
            load = root.find(q("load"))
            self.assertIsNotNone(load, r.stdout)
            for attr in ("time", "load1", "load5", "load15", "cpu", "memory-free",
                         "memory-total", "free-slots", "queue"):
                self.assertIsNotNone(load.get(attr), f"<load> lacks {attr}")

            # An unknown host is an error the user sees: exit 1 and a reason on stderr.
            r = c.cli("info", "--node", nodes[0].address, "--host", "nosuch")
            self.assertEqual(r.code, 1)
            self.assertIn("nosuch", r.stderr)
            self.assertEqual(r.stdout, "")


if __name__ == "__main__":
    H.main()
