#!/usr/bin/env python3
"""wf_orphans: no task outlives its node, and none starts once the node is stopping.

A node that owns a workflow of 20 tasks, each a shell running two `sleep 60` (it runs them
itself: a one-node federation; every process of a task carries a marker in its environment) gets a signal to its whole process group right after the submit, as a shell's
^C or a service manager's stop would send it: SIGTERM five times, then SIGKILL five times,
with the signal landing at different moments of the start-up of the tasks. Afterwards no
process carrying the marker remains on the machine — not the tasks, not their children —
and after a SIGTERM none appeared once the node had begun to stop.
"""

import os
import signal
import time
import unittest
import uuid

import fvce_harness as H

WORKFLOW = """<workflow xmlns="urn:fvce:1" name="orphans">
  <array id="t" range="0..19">
    <task id="t" cmd="sh">
      <arg>-c</arg>
      <arg>sleep 60 &amp; sleep 60; wait</arg>
      <env name="ORPHAN_MARKER" value="{marker}"/>
    </task>
  </array>
</workflow>
"""


def task_pids(marker):
    """Live processes (not zombies: their environment is empty) carrying the marker."""
    needle = f"ORPHAN_MARKER={marker}".encode()
    out = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/environ", "rb") as f:
                if needle in f.read().split(b"\0"):
                    out.append(int(d))
        except OSError:
            continue
    return out


class Orphans(unittest.TestCase):
    def run_one(self, c, sig, delay, round_no):
        marker = f"fvce-orphan-{uuid.uuid4().hex[:12]}"
        deploy = c.write_deploy(register={}, services=H.execute_services(4),
                                name=f"deploy-{round_no}.xml")
        node = c.start(f"n{round_no}", deploy, new_session=True)
        path = H.write_file(c.tmp, f"wf{round_no}.xml", WORKFLOW.format(marker=marker))
        r = H.submit(c, node, path, timeout=30)
        self.assertEqual(r.code, 0, r.stderr)
        time.sleep(delay)
        os.killpg(node.pid, sig)
        node.wait_exit(timeout=20)
        stopped_at = time.monotonic()
        # Whatever was running ends: the tasks and what they started.
        H.wait_until(lambda: not task_pids(marker), 10,
                     f"every process of the tasks to end after {signal.Signals(sig).name}")
        # ... and nothing starts afterwards.
        while time.monotonic() - stopped_at < 1.0:
            self.assertEqual(task_pids(marker), [], "a task started after the node stopped")
            time.sleep(0.1)

    def test_no_task_survives_its_node(self):
        with H.Cluster(H.fvce_path(), "fvce-wf-orphans") as c:
            round_no = 0
            for sig in (signal.SIGTERM, signal.SIGKILL):
                for delay in (0.0, 0.05, 0.15, 0.3, 0.6):
                    round_no += 1
                    with self.subTest(signal=signal.Signals(sig).name, delay=delay):
                        self.run_one(c, sig, delay, round_no)


if __name__ == "__main__":
    H.main()
