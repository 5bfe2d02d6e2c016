#!/usr/bin/env python3
"""fault.host_death: a host dies mid-workflow (`kill -9`); nothing is lost, nothing counted twice.

Three nodes with 2 slots each; an array of 30 tasks (`sleep 1`, each writing p{i}.txt) and a
`join` that reads all of them, submitted at n1. Once without a fault, then again with n3
killed 2.5 s after the submission, when it has finished some tasks and runs others. The
second run must end done with a result byte-identical to the first: the tasks n3 held run
elsewhere, and those it had finished run again because their outputs, needed by `join`,
went with it. Every task appends a line to a run log outside its work directory: a task
that finished on n1 or n2 ran exactly once; one that ran on n3 ran once more elsewhere;
`join` ran once. The submitter's log names what it did.
"""

import time
import unittest

from faultlib import H, RunLogs, by_task, fetched, on, parts_workflow, sha256

N = 30


class HostDeath(unittest.TestCase):
    def setUp(self):
        self.logs = RunLogs()

    def tearDown(self):
        self.logs.close()

    def test_a_dead_hosts_tasks_and_lost_outputs_run_again(self):
        with H.Cluster(H.fvce_path(), "fvce-fault-host-death") as c:
            n1, n2, n3 = H.start_federation(c, slots=(2, 2, 2), names=["n1", "n2", "n3"])

            # The run without a fault: the reference.
            clean_log = self.logs.new("clean.log")
            path = H.write_file(c.tmp, "clean.xml", parts_workflow("host-death", N, clean_log))
            r = H.submit(c, n1, path, "--watch", timeout=90)
            self.assertEqual(r.code, 0, f"{r.stdout}\n{r.stderr}")
            reference = sha256(fetched(self, c, n1, r.stdout.strip(), "all.txt", "clean"))
            self.assertEqual(sum(len(v) for v in by_task(clean_log).values()), N + 1)

            # The same with n3 killed 2.5 s in.
            log = self.logs.new("fault.log")
            path = H.write_file(c.tmp, "fault.xml", parts_workflow("host-death", N, log))
            t0 = time.monotonic()
            r = H.submit(c, n1, path, timeout=20)
            self.assertEqual(r.code, 0, r.stderr)
            wf = r.stdout.strip()
            time.sleep(max(0.0, 2.5 - (time.monotonic() - t0)))
            n3.kill()
            before = by_task(log)
            on_n3 = {t for t, where in before.items() if any(on(n3, w) for w in where)}
            print(f"n3 killed; it had finished {len(on_n3)} tasks: {sorted(on_n3)}")
            self.assertTrue(on_n3, "n3 finished nothing before it was killed: no lost output")

            st = H.wait_workflow(n1.address, wf, timeout=90)
            print(f"workflow {st.state} {time.monotonic() - t0:.1f}s after the submission")
            self.assertEqual(st.state, "done", st.summary)
            for tid, t in st.tasks.items():
                self.assertEqual(t["state"], "done", (tid, t))
                self.assertNotEqual(t.get("host"), n3.name, (tid, t))
            self.assertEqual(sha256(fetched(self, c, n1, wf, "all.txt", "fault")), reference,
                             "the result differs from the fault-free run's")

            # What ran where: nothing reported done by n1 or n2 ran again; n3's ran once more.
            after = by_task(log)
            self.assertEqual(set(after), {f"part[{i}]" for i in range(N)} | {"join"})
            for task, where in after.items():
                elsewhere = [w for w in where if not on(n3, w)]
                self.assertEqual(len(elsewhere), 1, (task, where))
                if task in on_n3:
                    self.assertEqual(len(where), 2, (task, where))
            self.assertEqual(after["join"], [w for w in after["join"] if not on(n3, w)])

            text = n1.stderr_text()
            self.assertIn("runs again", text)
            self.assertIn(n3.address, text)


if __name__ == "__main__":
    H.main()
