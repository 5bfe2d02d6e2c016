#!/usr/bin/env python3
"""fault.migrate: `fvce migrate WF TASK --to HOST` moves a running task. A Marmousi shot,
which declares a checkpoint, is checkpointed where it runs, its checkpoint moves with it,
and it resumes on the target from there: its record equals that of a shot that never moved.
A task without a checkpoint is stopped and runs again on the target.

Three nodes with 2 slots each. The shot runs once undisturbed (the reference), then again,
moved to another host some seconds in. Then a plain task (`sleep 20`) is moved the same way.
Needs the Marmousi programs beside fvce.
"""

import re
import time
import unittest

import marmousi_shot
from faultlib import H, RunLogs, by_task, fetched, on, sha256


class Migrate(unittest.TestCase):
    def setUp(self):
        self.logs = RunLogs()

    def tearDown(self):
        self.logs.close()

    def where(self, n1, wf, task):
        a = H.workflow_status(n1.address, wf).tasks[task]
        return a.get("state"), a.get("host")

    def test_a_running_shot_moves_with_its_checkpoint(self):
        with H.Cluster(H.fvce_path(), "fvce-fault-migrate") as c:
            n1, n2, n3 = H.start_federation(c, slots=(2, 2, 2), names=["n1", "n2", "n3"])
            nodes = {n.name: n for n in (n1, n2, n3)}

            path = marmousi_shot.write(c.tmp, "shot-reference")
            t0 = time.monotonic()
            r = H.submit(c, n1, path, "--watch", timeout=300)
            self.assertEqual(r.code, 0, f"{r.stdout}\n{r.stderr}")
            reference = fetched(self, c, n1, r.stdout.strip().splitlines()[0], "raw.bin", "ref")
            took = time.monotonic() - t0
            print(f"the undisturbed shot's workflow took {took:.1f} s")

            path = marmousi_shot.write(c.tmp, "shot-moved")
            r = H.submit(c, n1, path, timeout=30)
            self.assertEqual(r.code, 0, r.stderr)
            wf = r.stdout.strip()
            H.wait_until(lambda: self.where(n1, wf, "model")[0] == "running", 120,
                         "the shot to run")
            state, host = self.where(n1, wf, "model")
            time.sleep(max(1.0, took * 0.3))  # well into the run
            target = next(n for n in ("n1", "n2", "n3") if n != host)
            r = c.cli("migrate", wf, "model", "--to", target, "--node", n1.address, timeout=300)
            print(r.stdout, r.stderr)
            self.assertEqual(r.code, 0, r.stderr)
            self.assertIn(f"runs on {target}", r.stdout)
            self.assertIn("resumed from its checkpoint", r.stdout)
            m = re.search(r"runs on \S+ ([0-9.]+) s after the request", r.stdout)
            self.assertIsNotNone(m, r.stdout)

            st = H.wait_workflow(n1.address, wf, timeout=300)
            self.assertEqual(st.state, "done", st.summary)
            self.assertEqual(st.tasks["model"]["host"], target)
            moved = fetched(self, c, n1, wf, "raw.bin", "moved")
            self.assertEqual(len(moved), len(reference))
            same = sha256(moved) == sha256(reference)
            if not same:
                import numpy as np
                a = np.frombuffer(reference, dtype=np.float32)
                b = np.frombuffer(moved, dtype=np.float32)
                err = float(np.abs(a - b).max() / max(1e-30, float(np.abs(a).max())))
                print(f"largest difference: {err:.3g} of the largest sample")
                self.assertLess(err, 1e-5)
            print(f"record after the move: {'bit-identical' if same else 'within round-off'}"
                  " to the undisturbed one")
            r = c.cli("logs", wf, "model", "--node", n1.address)
            self.assertEqual(r.code, 0, r.stderr)
            self.assertIn("resumed from ck.bin at step", r.stdout)
            said = [x for x in n1.stderr_text().splitlines() if "resumes from its checkpoint" in x]
            print("\n".join(said))
            self.assertTrue(said)
            self.assertIn("checkpointed in", nodes[host].stderr_text())

    def test_a_task_without_a_checkpoint_runs_again_on_the_target(self):
        log = self.logs.new("runs.log")
        with H.Cluster(H.fvce_path(), "fvce-fault-migrate-plain") as c:
            n1, n2 = H.start_federation(c, slots=(1, 1), names=["n1", "n2"])
            record = f'echo "$FVCE_TASK $FVCE_ATTEMPT $PWD" >> {log}'
            path = H.write_file(c.tmp, "plain.xml", f"""<?xml version="1.0" encoding="UTF-8"?>
<workflow xmlns="urn:fvce:1" name="plain">
  <task id="long" cmd="sh" retries="0">
    <arg>-c</arg><arg>sleep 20; echo done > out.txt; {record}</arg>
    <out file="out.txt" result="true"/>
  </task>
</workflow>
""")
            r = H.submit(c, n1, path, timeout=20)
            self.assertEqual(r.code, 0, r.stderr)
            wf = r.stdout.strip()
            H.wait_until(lambda: self.where(n1, wf, "long")[0] == "running", 30, "it to run")
            _, host = self.where(n1, wf, "long")
            target = "n2" if host == "n1" else "n1"
            r = c.cli("migrate", wf, "long", "--to", target, "--node", n1.address, timeout=60)
            print(r.stdout, r.stderr)
            self.assertEqual(r.code, 0, r.stderr)
            self.assertIn(f"runs on {target}", r.stdout)
            self.assertNotIn("checkpoint", r.stdout)
            st = H.wait_workflow(n1.address, wf, timeout=60)
            self.assertEqual(st.state, "done", st.summary)
            ran = by_task(log)["long"]
            self.assertEqual(len(ran), 1, ran)  # the first run was stopped before its end
            self.assertTrue(on({"n1": n1, "n2": n2}[target], ran[0]), ran)

            # Bad requests change nothing and say why.
            r = c.cli("migrate", wf, "long", "--to", "n2", "--node", n1.address)
            self.assertNotEqual(r.code, 0)
            self.assertIn("is not running", r.stderr)
            r = c.cli("migrate", "wf-00000000", "long", "--to", "n2", "--node", n1.address)
            self.assertNotEqual(r.code, 0)


if __name__ == "__main__":
    H.main()
