#!/usr/bin/env python3
"""wf_hostloss: a workflow survives the loss of a host that runs some of its tasks.

Three nodes (1, 2 and 3 slots); 18 tasks of about 2 s each are submitted to the first.
While the third node (not the submitter) runs some of them it is killed with SIGKILL. The
workflow still completes: every task done, those that were on the dead host run again
elsewhere (shown on a surviving host), and the gathered result holds every index once.
"""

import os
import time
import unittest

import fvce_harness as H

N = 18


def workflow() -> str:
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<workflow xmlns="urn:fvce:1" name="hostloss">
  <array id="part" range="0..{N - 1}">
    <task id="nap" cmd="sh">
      <arg>-c</arg>
      <arg>sleep 2; echo {{i}} > nap{{i}}.txt</arg>
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


class HostLoss(unittest.TestCase):
    def test_tasks_of_a_dead_host_run_elsewhere(self):
        with H.Cluster(H.fvce_path(), "fvce-wf-hostloss") as c:
            nodes = H.start_federation(c, slots=(1, 2, 3))
            sub, victim = nodes[0], nodes[2]
            path = H.write_file(c.tmp, "hostloss.xml", workflow())
            r = H.submit(c, sub, path, timeout=20)
            self.assertEqual(r.code, 0, r.stderr)
            wf = r.stdout.strip()

            def victim_busy():
                st = H.workflow_status(sub.address, wf)
                on_victim = [tid for tid, t in st.tasks.items()
                             if t["state"] == "running" and t.get("host") == victim.name]
                return on_victim if len(on_victim) >= 2 else None

            on_victim = H.wait_until(victim_busy, 30, f"tasks running on {victim.name}")
            victim.kill()
            t_kill = time.monotonic()
            print(f"killed {victim.name} while it ran {on_victim}")

            st = H.wait_workflow(sub.address, wf, timeout=60)
            print(f"workflow {st.state} {time.monotonic() - t_kill:.1f}s after the kill")
            self.assertEqual(st.state, "done", st.summary)
            survivors = {n.name for n in nodes if n is not victim}
            for tid, t in st.tasks.items():
                self.assertEqual(t["state"], "done", (tid, t))
            for tid in on_victim:
                self.assertIn(st.tasks[tid]["host"], survivors, (tid, st.tasks[tid]))
            self.assertEqual(int(st.summary["done"]), N + 1)

            out = os.path.join(c.tmp, "out")
            r = c.cli("fetch", wf, out, "--node", sub.address)
            self.assertEqual(r.code, 0, r.stderr)
            with open(os.path.join(out, "all.txt")) as f:
                self.assertEqual(sorted(int(x) for x in f.read().split()), list(range(N)))


if __name__ == "__main__":
    H.main()
