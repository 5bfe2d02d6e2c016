#!/usr/bin/env python3
"""fault.executor_restart: an executor keeps its reports on disk until its submitter has
them, so a host that crashes while its submitter is down still delivers what it finished.

Three nodes (n1 the submitter with 1 slot, n2 and n3 with 2); an array of 41 tasks
(`sleep 1`, each writing p{i}.txt) and a `join`, submitted at n1. Once 8 are done n1 is
killed; while it is down n2 and n3 finish tasks, whose reports wait in their outboxes. Then
n2 is killed too (`kill -9`, with the tasks it runs) and started again with its state
directory, and then n1. The workflow ends done with the fault-free result, and no task
finished twice on n2 or n3: what n2 finished before its crash came back from its spool and
was collected, and the tasks killed with it were reported given up at once and ran again.
"""

import os
import time
import unittest

from faultlib import H, RunLogs, by_task, expected_join, fetched, on, parts_workflow, read_runs

N = 41


class ExecutorRestart(unittest.TestCase):
    def setUp(self):
        self.logs = RunLogs()
        self.log = self.logs.new("runs.log")

    def tearDown(self):
        self.logs.close()

    def test_reports_survive_the_executors_crash(self):
        with H.Cluster(H.fvce_path(), "fvce-fault-executor-restart") as c:
            n1, n2, n3 = H.start_federation(c, slots=(1, 2, 2), names=["n1", "n2", "n3"])
            path = H.write_file(c.tmp, "wf.xml",
                                parts_workflow("executor-restart", N, self.log, join_logs=False))
            r = H.submit(c, n1, path, timeout=20)
            self.assertEqual(r.code, 0, r.stderr)
            wf = r.stdout.strip()
            H.wait_until(lambda: int(H.workflow_status(n1.address, wf, tasks="none")
                                     .summary["done"]) >= 8, 60, "8 tasks done", interval=0.05)
            n1.kill()
            at_kill = len(read_runs(self.log))
            time.sleep(2.5)
            n2.kill()
            on_n2 = [x for x in read_runs(self.log)[at_kill:] if on(n2, x[2])]
            spool = os.path.join(n2.state_dir, "outbox")
            kept = [f for f in os.listdir(spool) if f.endswith(".report")]
            print(f"n1 down with {at_kill} runs logged; n2 finished {len(on_n2)} while it was "
                  f"down, then crashed with {len(kept)} report(s) in its spool")
            self.assertTrue(on_n2, "n2 finished nothing while n1 was down: nothing to collect")
            self.assertGreaterEqual(len(kept), len(on_n2))
            c.restart(n2, same_address=True)
            time.sleep(1.0)
            c.restart(n1, same_address=True)

            st = H.wait_workflow(n1.address, wf, timeout=120)
            self.assertEqual(st.state, "done", st.summary)
            self.assertEqual(fetched(self, c, n1, wf, "all.txt"), expected_join(N))

            ran = by_task(self.log)
            self.assertEqual(set(ran), {f"part[{i}]" for i in range(N)})
            again = {}
            for task, where in ran.items():
                elsewhere = [w for w in where if not on(n1, w)]
                self.assertLessEqual(len(elsewhere), 1, (task, where))
                if len(where) > 1:
                    again[task] = where
            print(f"ran again (a run of theirs was on n1): {sorted(again)}")
            for task, _attempt, _where in on_n2:
                self.assertEqual(len(ran[task]), 1, (task, ran[task]))
            # Delivered and acknowledged: the spool is empty again.
            H.wait_until(lambda: not [f for f in os.listdir(spool) if f.endswith(".report")],
                         10, "n2's spool to empty")


if __name__ == "__main__":
    H.main()
