#!/usr/bin/env python3
"""wf_wait: tasks that fit nowhere wait for room instead of being placed again in a loop.

Two nodes of 2 slots; one workflow of 40 tasks `sleep 3`, each needing 2 cores, submitted to
the first. The hosts hold 4 of them at once (one running and one waiting on each); the rest
must wait for one of those to end. Over the next 5 seconds the submitting node places the
waiting tasks again only when a task of its own ends (`fvce_submit_placements_total`: at
most one round per task that ended, and a few more), not every few milliseconds, and no
executor is asked for a task it cannot take (no 503 from /execute/tasks). The same with
tasks of 1 core (8 at a time).
"""

import time
import unittest

import fvce_harness as H

WORKFLOW = """<workflow xmlns="urn:fvce:1" name="wait">
  <array id="t" range="0..39">
    <task id="t" cmd="sleep" args="3" cores="{cores}"/>
  </array>
</workflow>
"""


def counter(node, family, **labels):
    total = 0.0
    for (name, lbls), v in node.metrics().items():
        if name == family and all(dict(lbls).get(k) == val for k, val in labels.items()):
            total += v
    return total


class Wait(unittest.TestCase):
    def test_waiting_tasks_are_not_placed_in_a_loop(self):
        with H.Cluster(H.fvce_path(), "fvce-wf-wait") as c:
            nodes = H.start_federation(c, slots=(2, 2), register={})
            n1, n2 = nodes
            for cores in (2, 1):
                with self.subTest(cores=cores):
                    path = H.write_file(c.tmp, f"wait{cores}.xml", WORKFLOW.format(cores=cores))
                    r = H.submit(c, n1, path)
                    self.assertEqual(r.code, 0, r.stderr)
                    wf = r.stdout.strip()
                    try:
                        self.check_window(nodes, wf)
                    finally:  # the next variant needs the hosts free
                        r = c.cli("cancel", wf, "--node", n1.address)
                        self.assertEqual(r.code, 0, r.stderr)
                        H.wait_workflow(n1.address, wf, timeout=30)

    def check_window(self, nodes, wf):
        n1 = nodes[0]
        time.sleep(1.5)  # the first placements are made and accepted
        p0 = counter(n1, "fvce_submit_placements_total")
        st0 = H.workflow_status(n1.address, wf, tasks="none").summary
        done0 = int(st0["done"])
        # A round places every waiting task again: at most this many each.
        waiting0 = int(st0["pending"]) + int(st0["ready"])
        time.sleep(5.0)
        p1 = counter(n1, "fvce_submit_placements_total")
        st = H.workflow_status(n1.address, wf, tasks="none")
        waiting = int(st.summary["pending"]) + int(st.summary["ready"])
        ended = int(st.summary["done"]) - done0
        self.assertGreater(waiting, 10, st.summary)
        rounds = (p1 - p0) / waiting0
        # A round per task that ended (its report is the event), and the few of a
        # backstop that backs off (200 ms doubling to 2 s, armed when a load
        # probe times out on a busy machine): before, about 100 rounds in 5 s.
        self.assertLessEqual(rounds, ended + 8,
                             f"{p1 - p0} placement attempts for {waiting0} waiting "
                             f"tasks in 5 s, while {ended} ended")
        refused = sum(counter(n, "fvce_http_requests_total",
                              route="/execute/tasks", code="503") for n in nodes)
        self.assertEqual(refused, 0, "an executor was offered a task it had no room for")


if __name__ == "__main__":
    H.main()
