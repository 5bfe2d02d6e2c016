#!/usr/bin/env python3
"""wf_suspect: a host that is only suspected (and refutes) keeps its tasks; none runs twice.

Three nodes (fast membership params). Six tasks of ~4 s, one per slot, each appending a
line to a file outside the work roots when it starts, so every run is counted. The third
node (not the submitter) is stopped with SIGSTOP until the submitter suspects it, then
resumed with SIGCONT: it refutes the suspicion with a higher incarnation, as a live member
does. It never died, so its tasks must not be run a second time elsewhere: every task
runs exactly once and the workflow completes.
"""

import os
import signal
import time
import unittest

import fvce_harness as H

N = 6


class Suspect(unittest.TestCase):
    def test_refuted_suspicion_does_not_rerun_tasks(self):
        with H.Cluster(H.fvce_path(), "fvce-wf-suspect") as c:
            runs = os.path.join(c.tmp, "runs")
            os.makedirs(runs)
            os.chmod(runs, 0o1777)  # the tasks may run as a mapped account (harness: AS_ROOT)
            tasks = "\n".join(
                f'  <task id="t{i}" cmd="sh"><arg>-c</arg>'
                f'<arg>echo "$FVCE_ATTEMPT $$" >> {runs}/t{i}; sleep 4</arg></task>'
                for i in range(N))
            text = f'<workflow xmlns="urn:fvce:1" name="suspect">\n{tasks}\n</workflow>\n'
            nodes = H.start_federation(c, slots=(1, 2, 3), execute={"queue": "0"})
            sub, victim = nodes[0], nodes[2]
            path = H.write_file(c.tmp, "suspect.xml", text)
            r = H.submit(c, sub, path, timeout=20)
            self.assertEqual(r.code, 0, r.stderr)
            wf = r.stdout.strip()

            def victim_runs():
                st = H.workflow_status(sub.address, wf)
                return sum(1 for t in st.tasks.values()
                           if t["state"] == "running" and t.get("host") == victim.name) == 3

            H.wait_until(victim_runs, 20, f"3 tasks running on {victim.name}")
            inc0 = sub.view()[victim.name].incarnation
            victim.signal(signal.SIGSTOP)
            try:
                H.wait_until(lambda: sub.view()[victim.name].state == "suspect", 5,
                             f"{sub.name} to suspect {victim.name}", interval=0.02)
            finally:
                victim.signal(signal.SIGCONT)
            H.wait_until(lambda: sub.view()[victim.name].incarnation > inc0
                         and sub.view()[victim.name].state == "alive", 5,
                         f"{victim.name} to refute")

            st = H.wait_workflow(sub.address, wf, timeout=40)
            self.assertEqual(st.state, "done", st.summary)
            counts = {}
            for i in range(N):
                with open(os.path.join(runs, f"t{i}")) as f:
                    counts[f"t{i}"] = len(f.read().splitlines())
            print(f"runs per task: {counts}")
            self.assertEqual(counts, {f"t{i}": 1 for i in range(N)},
                             "a task of a merely suspected host was run again")


if __name__ == "__main__":
    H.main()
