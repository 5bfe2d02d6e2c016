#!/usr/bin/env python3
"""wf_cancel: `fvce cancel` stops a running workflow everywhere.

Six `sleep 30` tasks on 3 nodes with 1, 2 and 3 slots: once all six run (one per slot,
so on every host), `fvce cancel WF` exits 0; within a few seconds no such process is left
on the machine (found by a unique argument in /proc/*/cmdline); the status says cancelled
for the workflow and every task; a second `fvce cancel` exits 1 (conflict).
"""

import random
import time
import unittest

import fvce_harness as H

N = 6
GONE_BOUND = 5.0


class Cancel(unittest.TestCase):
    def test_cancel_kills_everywhere(self):
        # `sleep 30 0.000NNNNNN` sleeps ~30 s; the second operand marks our processes.
        marker = "0.000%06d" % random.randrange(10**6)
        tasks = "\n".join(f'  <task id="s{i}" cmd="sleep" args="30 {marker}"/>' for i in range(N))
        text = (f'<workflow xmlns="urn:fvce:1" name="sleepers">\n{tasks}\n</workflow>\n')
        with H.Cluster(H.fvce_path(), "fvce-wf-cancel") as c:
            # queue=0: a host with no free slot refuses, so each task gets a slot of its own.
            nodes = H.start_federation(c, slots=(1, 2, 3), execute={"queue": "0"})
            a = nodes[0]
            path = H.write_file(c.tmp, "sleepers.xml", text)
            r = H.submit(c, a, path, timeout=20)
            self.assertEqual(r.code, 0, r.stderr)
            wf = r.stdout.strip()

            def all_running():
                st = H.workflow_status(a.address, wf)
                running = [t for t in st.tasks.values() if t["state"] == "running"]
                return (len(running) == N and len(H.pids_with_arg(marker, "sleep")) == N
                        and st.hosts() == {n.name for n in nodes})

            H.wait_until(all_running, 30, f"{N} sleeps running on every host", interval=0.1)

            r = c.cli("cancel", wf, "--node", a.address)
            self.assertEqual(r.code, 0, f"{r.stdout}\n{r.stderr}")
            self.assertIn("cancelled", r.stdout)
            t0 = time.monotonic()
            H.wait_until(lambda: not H.pids_with_arg(marker), GONE_BOUND,
                         "every sleep process to be gone", interval=0.05)
            print(f"processes gone {time.monotonic() - t0:.2f}s after the cancel")

            st = H.wait_workflow(a.address, wf, timeout=10)
            self.assertEqual(st.state, "cancelled", st.summary)
            for tid, t in st.tasks.items():
                self.assertEqual(t["state"], "cancelled", (tid, t))
            r = c.cli("status", wf, "--node", a.address)
            self.assertEqual(r.code, 0, r.stderr)
            self.assertIn(": cancelled,", r.stdout)
            r = c.cli("workflows", "--node", a.address)
            row = [x for x in H.table_rows(r.stdout) if x[0] == wf][0]
            self.assertEqual(row[4], "cancelled")

            r = c.cli("cancel", wf, "--node", a.address)
            self.assertEqual(r.code, 1, f"second cancel: {r.stdout}\n{r.stderr}")
            self.assertTrue(r.stderr.strip(), "a reason is given")
            print(f"second cancel: {r.stderr.strip()}")
            rr = H.post(a.address, "/submit/cancel?workflow=" + wf, b"", auth="admin")
            self.assertEqual(rr.status, 409, rr.text)

            r = c.cli("cancel", "nosuch", "--node", a.address)
            self.assertEqual(r.code, 1)
            # Still nothing came back to life.
            self.assertEqual(H.pids_with_arg(marker), [])


if __name__ == "__main__":
    H.main()
