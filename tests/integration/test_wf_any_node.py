#!/usr/bin/env python3
"""wf_any_node: through any node a user reaches every workflow of the federation.

Three nodes. `hello` submitted at n2 is listed by `fvce workflows` at n1 with its owning
node; `fvce status`, `logs` and `fetch` at n1 answer for it; a long workflow submitted at n3
is cancelled from n1, and a status call at n1 that waits for its end answers when it is
cancelled. The list is gathered from every member, newest first, and paged
(offset, limit, total). Once n2 is killed, a call about its workflow at n1 fails with an
error that names n2, and the list says n2's workflows are missing.
"""

import os
import threading
import time
import unittest

import fvce_harness as H

HELLO = os.path.join(H.REPO, "examples", "hello", "workflow.xml")
LONG = """<workflow xmlns="urn:fvce:1" name="long">
  <task id="nap" cmd="sleep" args="60"/>
</workflow>
"""
QUICK = """<workflow xmlns="urn:fvce:1" name="quick{i}">
  <task id="t" cmd="true"/>
</workflow>
"""


class AnyNode(unittest.TestCase):
    def test_any_node_answers_for_every_workflow(self):
        with H.Cluster(H.fvce_path(), "fvce-wf-any-node") as c:
            n1, n2, n3 = H.start_federation(c, slots=(2, 2, 2), names=["n1", "n2", "n3"])

            r = H.submit(c, n2, HELLO, "--watch", timeout=60)
            self.assertEqual(r.code, 0, r.stderr)
            wf = r.stdout.strip().splitlines()[0]

            # Listed at n1, with its owner.
            r = c.cli("workflows", "--all", "--node", n1.address)
            self.assertEqual(r.code, 0, r.stderr)
            rows = {row[0]: row for row in H.table_rows(r.stdout)[1:]}
            self.assertIn(wf, rows, r.stdout)
            self.assertEqual(rows[wf][3], "n2", r.stdout)  # NODE
            self.assertEqual(rows[wf][4], "done", r.stdout)

            # status, logs, fetch at n1.
            r = c.cli("status", wf, "--node", n1.address)
            self.assertEqual(r.code, 0, r.stderr)
            self.assertIn(f"workflow {wf} (hello)", r.stdout)
            self.assertIn("on n2", r.stdout)
            r = c.cli("logs", wf, "gather", "--node", n1.address)
            self.assertEqual(r.code, 0, r.stderr)
            out = os.path.join(c.tmp, "results")
            r = c.cli("fetch", wf, out, "--node", n1.address)
            self.assertEqual(r.code, 0, r.stderr)
            self.assertEqual(len([l for l in r.stdout.splitlines() if l.endswith(" ok")]), 2,
                             r.stdout)
            self.assertTrue(os.path.exists(os.path.join(out, "total.txt")))

            # Cancel from another node than the owner.
            long_path = H.write_file(c.tmp, "long.xml", LONG)
            r = H.submit(c, n3, long_path)
            self.assertEqual(r.code, 0, r.stderr)
            long_wf = r.stdout.strip()
            H.wait_until(lambda: H.workflow_status(n3.address, long_wf, tasks="none")
                         .summary["running"] == "1", 10, "the long task to run")
            # A status call at n1 that waits for the end (forwarded to the owner, n3) answers
            # when the workflow ends, long before its wait of 60 s is over.
            waited = {}

            def wait_for_end():
                try:
                    waited["root"] = H.get_xml(
                        n1.address,
                        f"/submit/status?workflow={long_wf}&tasks=none&wait=60s", timeout=30)
                except Exception as e:  # noqa: BLE001 - reported below
                    waited["error"] = e

            waiter = threading.Thread(target=wait_for_end)
            waiter.start()
            time.sleep(0.3)
            self.assertTrue(waiter.is_alive(), waited)  # still running: no answer yet
            r = c.cli("cancel", long_wf, "--node", n1.address)
            self.assertEqual(r.code, 0, r.stderr)
            waiter.join(40)
            self.assertNotIn("error", waited)
            self.assertEqual(waited["root"].find(H.q("summary")).get("state"), "cancelled")
            st = H.wait_workflow(n1.address, long_wf, timeout=20)
            self.assertEqual(st.state, "cancelled")
            # A wait beyond the bound is refused, naming the parameter.
            r = H.get(n1.address, f"/submit/status?workflow={long_wf}&wait=1h")
            self.assertEqual(r.status, 400, r.text)
            self.assertIn("wait='1h'", r.text)

            # Paged, newest first, gathered from all three.
            ids = [long_wf, wf]
            for i, n in enumerate((n1, n2, n3)):
                p = H.write_file(c.tmp, f"quick{i}.xml", QUICK.format(i=i))
                r = H.submit(c, n, p, "--watch", timeout=30)
                self.assertEqual(r.code, 0, r.stderr)
                ids.insert(0, r.stdout.strip().splitlines()[0])
                time.sleep(0.01)
            root = H.get_xml(n3.address, "/submit/workflows?limit=2&offset=1")
            self.assertEqual(root.get("total"), str(len(ids)))
            self.assertEqual(root.get("offset"), "1")
            page = [w.get("id") for w in root.findall(H.q("workflow"))]
            self.assertEqual(page, ids[1:3])
            root = H.get_xml(n1.address, "/submit/workflows?limit=100")
            self.assertEqual([w.get("id") for w in root.findall(H.q("workflow"))], ids)
            # A node's own view holds only its own.
            own = H.get_xml(n2.address, "/submit/workflows?scope=node")
            self.assertEqual({w.get("node") for w in own.findall(H.q("workflow"))}, {"n2"})

            # The owner dies: the error names it.
            n2.kill()
            H.wait_until(lambda: "n2" not in n1.alive_names(), 15, "n1 to drop n2")
            r = c.cli("status", wf, "--node", n1.address)
            self.assertEqual(r.code, 1)
            self.assertIn("n2", r.stderr)
            self.assertRegex(r.stderr, r"dead|does not answer")
            r = c.cli("workflows", "--all", "--node", n1.address)
            self.assertEqual(r.code, 0, r.stderr)
            self.assertNotIn(wf, r.stdout)
            self.assertIn("n2", r.stderr)
            self.assertIn("missing", r.stderr)
            # An id nobody knows is not found.
            r = c.cli("status", "nosuch-00000000", "--node", n1.address)
            self.assertEqual(r.code, 1)
            self.assertIn("nosuch-00000000", r.stderr)


if __name__ == "__main__":
    H.main()
