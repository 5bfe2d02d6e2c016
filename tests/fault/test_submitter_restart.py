#!/usr/bin/env python3
"""fault.submitter_restart: the submitting node crashes and restarts; what ran meanwhile is
collected, not run again.

Three nodes (n1 the submitter with 1 slot, n2 and n3 with 2); an array of 51 tasks
(`sleep 1`, each writing p{i}.txt) and a `join` that reads them all, submitted at n1. Once
20 are done, n1 is killed (`kill -9`); 3 s later it starts again with the same state
directory and address. Meanwhile n2 and n3 finish the tasks they held; their reports wait
for n1. The workflow resumes and ends done with the result of a fault-free run. From the
run log (a line per finished run, outside the work directories): no task ran to its end
twice on n2 or n3 — a task ran again only if a run of it was on n1 (killed with it) — and
some tasks did finish while n1 was down, so the test shows their collection.
"""

import time
import unittest

from faultlib import H, RunLogs, by_task, expected_join, fetched, on, parts_workflow, read_runs

N = 51


class SubmitterRestart(unittest.TestCase):
    def setUp(self):
        self.logs = RunLogs()
        self.log = self.logs.new("runs.log")

    def tearDown(self):
        self.logs.close()

    def test_reports_made_while_it_was_down_are_collected(self):
        with H.Cluster(H.fvce_path(), "fvce-fault-submitter-restart") as c:
            n1, n2, n3 = H.start_federation(c, slots=(1, 2, 2), names=["n1", "n2", "n3"])
            path = H.write_file(c.tmp, "wf.xml", parts_workflow("submitter-restart", N, self.log, join_logs=False))
            r = H.submit(c, n1, path, timeout=20)
            self.assertEqual(r.code, 0, r.stderr)
            wf = r.stdout.strip()
            H.wait_until(lambda: int(H.workflow_status(n1.address, wf, tasks="none")
                                     .summary["done"]) >= 20, 60, "20 tasks done", interval=0.05)
            n1.kill()
            at_kill = len(read_runs(self.log))
            time.sleep(3.0)
            meanwhile = [x for x in read_runs(self.log)[at_kill:] if not on(n1, x[2])]
            c.restart(n1, same_address=True)
            print(f"n1 killed with {at_kill} runs logged; {len(meanwhile)} finished elsewhere "
                  "while it was down")
            self.assertTrue(meanwhile, "nothing finished while n1 was down: nothing to collect")

            st = H.wait_workflow(n1.address, wf, timeout=90)
            self.assertEqual(st.state, "done", st.summary)
            self.assertEqual(fetched(self, c, n1, wf, "all.txt"), expected_join(N))

            ran = by_task(self.log)
            self.assertEqual(set(ran), {f"part[{i}]" for i in range(N)})
            twice = {}
            for task, where in ran.items():
                elsewhere = [w for w in where if not on(n1, w)]
                self.assertLessEqual(len(elsewhere), 1, (task, where))
                if len(where) > 1:
                    twice[task] = where
                    self.assertTrue(any(on(n1, w) for w in where), (task, where))
            print(f"ran again (a run of theirs was on n1): {sorted(twice)}")


if __name__ == "__main__":
    H.main()
