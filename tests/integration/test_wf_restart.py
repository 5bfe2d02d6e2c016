#!/usr/bin/env python3
"""wf_restart: a workflow in progress survives a restart of its node.

Two nodes (2 slots each); 20 tasks of about a second each are submitted to the first with
`fvce submit --watch` left running. Midway (some tasks done, some running on both hosts)
the submitting node is killed with SIGKILL and started again with the same state dir and
address. The workflow completes: status done, every task done (attempts 1, or 2 for a task
that was running on the killed node and was run again), every task's output fetched, and
the `--watch` that was following it exits 0.
"""

import os
import time
import unittest

import fvce_harness as H

N = 20


def workflow() -> str:
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<workflow xmlns="urn:fvce:1" name="restart">
  <array id="part" range="0..{N - 1}">
    <task id="nap" cmd="sh">
      <arg>-c</arg>
      <arg>sleep 1; echo {{i}} > nap{{i}}.txt</arg>
      <out file="nap{{i}}.txt"/>
    </task>
  </array>
  <task id="gather" cmd="sh">
    <arg>-c</arg>
    <arg>cat nap*.txt > all.txt</arg>
    <in array="part" file="nap{{i}}.txt"/>
    <out file="all.txt" result="true"/>
  </task>
</workflow>
"""


class Restart(unittest.TestCase):
    def test_workflow_survives_restart_of_its_node(self):
        with H.Cluster(H.fvce_path(), "fvce-wf-restart") as c:
            nodes = H.start_federation(c, slots=(2, 2), names=["owner", "peer"])
            owner, peer = nodes
            path = H.write_file(c.tmp, "restart.xml", workflow())
            watch = c.cli_background("submit", path, "--watch", "--node", owner.address)
            wf = H.wait_until(lambda: watch.stdout().strip(), 10, "the workflow id")

            def midway():
                st = H.workflow_status(owner.address, wf)
                running = {t.get("host") for t in st.tasks.values() if t["state"] == "running"}
                return int(st.summary["done"]) >= 4 and running == {"owner", "peer"}

            H.wait_until(midway, 30, "some tasks done and some running on both hosts")
            before = H.workflow_status(owner.address, wf)
            owner.kill()
            t_kill = time.monotonic()
            print(f"killed the owner with {before.summary['done']} done")
            time.sleep(0.5)
            c.restart(owner, same_address=True)
            print(f"restarted after {time.monotonic() - t_kill:.2f}s")

            st = H.wait_workflow(owner.address, wf, timeout=45)
            self.assertEqual(st.state, "done", st.summary)
            rerun = []
            for tid, t in st.tasks.items():
                self.assertEqual(t["state"], "done", (tid, t))
                self.assertIn(t["attempts"], ("1", "2"), (tid, t))
                if t["attempts"] == "2":
                    rerun.append(tid)
            print(f"run again after the restart: {rerun}")
            # Those that were done before the kill were not run again.
            for tid, t in before.tasks.items():
                if t["state"] == "done":
                    self.assertEqual(st.tasks[tid]["attempts"], "1", tid)

            out = os.path.join(c.tmp, "out")
            r = c.cli("fetch", wf, out, "--node", owner.address)
            self.assertEqual(r.code, 0, r.stderr)
            with open(os.path.join(out, "all.txt")) as f:
                self.assertEqual(sorted(int(x) for x in f.read().split()), list(range(N)))

            res = watch.wait(timeout=30)
            self.assertEqual(res.code, 0, f"submit --watch across the restart:\n{res.stderr}")
            self.assertIn("done", res.stderr.splitlines()[-1])


if __name__ == "__main__":
    H.main()
