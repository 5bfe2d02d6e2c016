#!/usr/bin/env python3
"""fault.drain: `fvce drain HOST` moves every task off a host, and `fvce leave` drains the node
before it leaves; nothing is lost and nothing is counted twice.

Three nodes: n1 (the submitter, 1 slot), n2 (4 slots) and n3 (2 slots). A workflow of 14
tasks (`sleep 3`, each writing p{i}.txt, retries="0") and a join. Once n2 runs tasks,
`fvce drain n2`: it answers when n2 holds nothing, having given its tasks back; n2 says it
takes no new work, and nothing runs on it afterwards. The workflow ends done with the
fault-free result and every task finished once. Then a second workflow, and while n3 runs
some of it `fvce leave` at n3: it drains, then leaves; the second workflow ends done too.
"""

import time
import unittest

from faultlib import H, RunLogs, by_task, expected_join, fetched, on, parts_workflow, read_runs

N = 14


class Drain(unittest.TestCase):
    def setUp(self):
        self.logs = RunLogs()

    def tearDown(self):
        self.logs.close()

    def running_on(self, node, n1, wf):
        st = H.workflow_status(n1.address, wf)
        return [t for t, a in st.tasks.items()
                if a.get("state") == "running" and a.get("host") == node.name]

    def test_drain_and_leave_move_the_work(self):
        with H.Cluster(H.fvce_path(), "fvce-fault-drain") as c:
            n1, n2, n3 = H.start_federation(c, slots=(1, 4, 2), names=["n1", "n2", "n3"])

            log = self.logs.new("drain.log")
            path = H.write_file(c.tmp, "drain.xml", parts_workflow("drain", N, log, join_logs=False,
                                                                    sleep=3, retries=0))
            r = H.submit(c, n1, path, timeout=20)
            self.assertEqual(r.code, 0, r.stderr)
            wf = r.stdout.strip()
            H.wait_until(lambda: len(self.running_on(n2, n1, wf)) >= 2, 30, "tasks running on n2")
            moved = self.running_on(n2, n1, wf)
            r = c.cli("drain", "n2", "--node", n1.address, "--reason", "maintenance", timeout=120)
            print(r.stdout, r.stderr)
            self.assertEqual(r.code, 0, r.stderr)
            self.assertIn("n2 drained", r.stdout)
            drained_at = len(read_runs(log))
            r = c.cli("hosts", "--node", n1.address)
            self.assertIn("n2 takes no new work: draining: maintenance", r.stdout)

            st = H.wait_workflow(n1.address, wf, timeout=120)
            self.assertEqual(st.state, "done", st.summary)
            self.assertEqual(fetched(self, c, n1, wf, "all.txt"), expected_join(N))
            ran = by_task(log)
            self.assertEqual(set(ran), {f"part[{i}]" for i in range(N)})
            for task, where in ran.items():
                self.assertEqual(len(where), 1, (task, where))
            after = read_runs(log)[drained_at:]
            self.assertFalse([x for x in after if on(n2, x[2])], "n2 ran tasks after its drain")
            for task in moved:  # given back, they ran to their end elsewhere
                self.assertFalse(on(n2, ran[task][0]), (task, ran[task]))
            said = [x for x in n1.stderr_text().splitlines() if "given up: n2 is draining" in x]
            self.assertTrue(said, "the submitter's log does not say what n2 gave back")

            # fvce leave drains the node first.
            log2 = self.logs.new("leave.log")
            path = H.write_file(c.tmp, "leave.xml", parts_workflow("leave", N, log2, join_logs=False,
                                                                    sleep=3, retries=0))
            r = H.submit(c, n1, path, timeout=20)
            self.assertEqual(r.code, 0, r.stderr)
            wf2 = r.stdout.strip()
            H.wait_until(lambda: self.running_on(n3, n1, wf2), 30, "tasks running on n3")
            t0 = time.monotonic()
            r = c.cli("leave", "--node", n3.address, timeout=120)
            print(r.stdout, r.stderr)
            self.assertEqual(r.code, 0, r.stderr)
            self.assertIn("n3 drained", r.stdout)
            self.assertEqual(n3.wait_exit(20), 0)
            print(f"n3 drained and left in {time.monotonic() - t0:.2f} s")
            st = H.wait_workflow(n1.address, wf2, timeout=120)
            self.assertEqual(st.state, "done", st.summary)
            self.assertEqual(fetched(self, c, n1, wf2, "all.txt"), expected_join(N))
            for task, where in by_task(log2).items():
                self.assertEqual(len(where), 1, (task, where))


if __name__ == "__main__":
    H.main()
