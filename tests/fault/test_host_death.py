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

import hashlib
import os
import shutil
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                                "integration"))
import fvce_harness as H  # noqa: E402

N = 30


def workflow(log: str) -> str:
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<workflow xmlns="urn:fvce:1" name="host-death">
  <array id="p" range="0..{N - 1}">
    <task id="part" cmd="sh">
      <arg>-c</arg>
      <arg>sleep 1; echo "part {{i}}" > p{{i}}.txt; echo "$FVCE_TASK $FVCE_ATTEMPT $PWD" >> {log}</arg>
      <out file="p{{i}}.txt"/>
    </task>
  </array>
  <task id="join" cmd="sh">
    <arg>-c</arg>
    <arg>for i in $(seq 0 {N - 1}); do cat p$i.txt; done > all.txt; echo "$FVCE_TASK $FVCE_ATTEMPT $PWD" >> {log}</arg>
    <in array="p" file="p{{i}}.txt"/>
    <out file="all.txt" result="true"/>
  </task>
</workflow>
"""


def runs(log: str) -> dict:
    """task id → the work directories it ran in, from the run log."""
    out: dict = {}
    with open(log) as f:
        for line in f:
            task, _attempt, where = line.split(" ", 2)
            out.setdefault(task, []).append(where.strip())
    return out


class HostDeath(unittest.TestCase):
    def setUp(self):
        # Tasks may run as another account (as root: `nobody`): a log every account can write.
        self.logdir = tempfile.mkdtemp(prefix="fvce-runlog-")
        os.chmod(self.logdir, 0o777)

    def tearDown(self):
        shutil.rmtree(self.logdir, ignore_errors=True)

    def run_log(self, name: str) -> str:
        path = os.path.join(self.logdir, name)
        open(path, "w").close()
        os.chmod(path, 0o666)
        return path

    def fetch_sha(self, c, node, wf: str, into: str) -> str:
        out = os.path.join(c.tmp, into)
        r = c.cli("fetch", wf, out, "--node", node.address)
        self.assertEqual(r.code, 0, r.stderr)
        with open(os.path.join(out, "all.txt"), "rb") as f:
            return hashlib.sha256(f.read()).hexdigest()

    def test_a_dead_hosts_tasks_and_lost_outputs_run_again(self):
        with H.Cluster(H.fvce_path(), "fvce-fault-host-death") as c:
            n1, n2, n3 = H.start_federation(c, slots=(2, 2, 2), names=["n1", "n2", "n3"])

            # The run without a fault: the reference.
            clean_log = self.run_log("clean.log")
            path = H.write_file(c.tmp, "clean.xml", workflow(clean_log))
            r = H.submit(c, n1, path, "--watch", timeout=90)
            self.assertEqual(r.code, 0, f"{r.stdout}\n{r.stderr}")
            reference = self.fetch_sha(c, n1, r.stdout.strip(), "clean")
            self.assertEqual(sum(len(v) for v in runs(clean_log).values()), N + 1)

            # The same with n3 killed 2.5 s in.
            log = self.run_log("fault.log")
            path = H.write_file(c.tmp, "fault.xml", workflow(log))
            t0 = time.monotonic()
            r = H.submit(c, n1, path, timeout=20)
            self.assertEqual(r.code, 0, r.stderr)
            wf = r.stdout.strip()
            time.sleep(max(0.0, 2.5 - (time.monotonic() - t0)))
            n3.kill()
            before = runs(log)
            on_n3 = {t for t, where in before.items() if any(f"/nodes/{n3.name}/" in w for w in where)}
            print(f"n3 killed; it had finished {len(on_n3)} tasks: {sorted(on_n3)}")
            self.assertTrue(on_n3, "n3 finished nothing before it was killed: no lost output")

            st = H.wait_workflow(n1.address, wf, timeout=90)
            print(f"workflow {st.state} {time.monotonic() - t0:.1f}s after the submission")
            self.assertEqual(st.state, "done", st.summary)
            for tid, t in st.tasks.items():
                self.assertEqual(t["state"], "done", (tid, t))
                self.assertNotEqual(t.get("host"), n3.name, (tid, t))
            self.assertEqual(self.fetch_sha(c, n1, wf, "fault"), reference,
                             "the result differs from the fault-free run's")

            # What ran where: nothing reported done by n1 or n2 ran again; n3's ran once more.
            after = runs(log)
            self.assertEqual(set(after), {f"part[{i}]" for i in range(N)} | {"join"})
            for task, where in after.items():
                elsewhere = [w for w in where if f"/nodes/{n3.name}/" not in w]
                self.assertEqual(len(elsewhere), 1, (task, where))
                if task in on_n3:
                    self.assertEqual(len(where), 2, (task, where))
            self.assertEqual(after["join"], [w for w in after["join"] if f"/nodes/{n3.name}/" not in w])

            text = n1.stderr_text()
            self.assertIn("runs again", text)
            self.assertIn(n3.address, text)


if __name__ == "__main__":
    H.main()
