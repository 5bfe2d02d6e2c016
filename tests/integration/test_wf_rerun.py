#!/usr/bin/env python3
"""wf_rerun: `fvce retry` runs a failed or cancelled workflow again from where it stopped.

Three tasks on 2 nodes: `make` writes a.txt (an intermediate file), `keep` writes k.txt
(a declared result), and `use` reads both and fails on its first attempt. The workflow
fails; its work directories are cleaned. `fvce retry WF` at the other node says 2 tasks run
again: `use`, and `make`, whose a.txt went with the cleaned directories; `keep` does not run
again (its result is in the owner's store). The workflow ends done; b.txt holds what the
second run of `make` wrote and k.txt's text. A second retry, and a retry of a running
workflow, are refused (409) and change nothing; a cancelled workflow retried runs to done.
"""

import os
import time
import unittest

import fvce_harness as H

WORKFLOW = """<?xml version="1.0" encoding="UTF-8"?>
<workflow xmlns="urn:fvce:1" name="rerun">
  <task id="make" cmd="sh">
    <arg>-c</arg><arg>echo "made on attempt $FVCE_ATTEMPT" > a.txt</arg>
    <out file="a.txt"/>
  </task>
  <task id="keep" cmd="sh">
    <arg>-c</arg><arg>echo "kept on attempt $FVCE_ATTEMPT" > k.txt</arg>
    <out file="k.txt" result="true"/>
  </task>
  <task id="use" cmd="sh">
    <arg>-c</arg>
    <arg>[ "$FVCE_ATTEMPT" -ge 2 ] || { echo "not yet" >&amp;2; exit 3; }; cat a.txt k.txt > b.txt</arg>
    <in file="a.txt"/><in file="k.txt"/>
    <out file="b.txt" result="true"/>
  </task>
</workflow>
"""

SLEEPER = """<workflow xmlns="urn:fvce:1" name="sleeper">
  <task id="nap" cmd="sleep" args="{seconds}"/>
</workflow>
"""


class Rerun(unittest.TestCase):
    def test_retry_from_where_it_stopped(self):
        with H.Cluster(H.fvce_path(), "fvce-wf-rerun") as c:
            n1, n2 = H.start_federation(c, slots=(2, 2))
            path = H.write_file(c.tmp, "rerun.xml", WORKFLOW)
            r = H.submit(c, n1, path, "--watch", timeout=60)
            self.assertEqual(r.code, 1, f"{r.stdout}\n{r.stderr}")
            wf = r.stdout.strip()
            st = H.workflow_status(n1.address, wf)
            self.assertEqual(st.state, "failed", st.summary)
            self.assertEqual(st.tasks["use"]["state"], "failed")
            self.assertEqual(st.tasks["make"]["attempts"], "1")

            # Its end is recorded and cleaned up in a moment; then the retry goes through.
            def retried():
                r = c.cli("retry", wf, "--node", n2.address)
                if r.code != 0 and "recording its end" in r.stderr:
                    return None
                return r

            r = H.wait_until(retried, 10, "the retry to be accepted", interval=0.1)
            self.assertEqual(r.code, 0, f"{r.stdout}\n{r.stderr}")
            self.assertIn("2 tasks run again", r.stdout)

            st = H.wait_workflow(n1.address, wf, timeout=30)
            self.assertEqual(st.state, "done", st.summary)
            self.assertEqual(st.tasks["make"]["attempts"], "2", st.tasks["make"])
            self.assertEqual(st.tasks["keep"]["attempts"], "1", st.tasks["keep"])
            self.assertEqual(st.tasks["use"]["attempts"], "2", st.tasks["use"])
            out = os.path.join(c.tmp, "results")
            r = c.cli("fetch", wf, out, "--node", n2.address)
            self.assertEqual(r.code, 0, r.stderr)
            with open(os.path.join(out, "b.txt")) as f:
                self.assertEqual(f.read(), "made on attempt 2\nkept on attempt 1\n")
            with open(os.path.join(out, "k.txt")) as f:
                self.assertEqual(f.read(), "kept on attempt 1\n")

            # Done: nothing to retry, and nothing changes.
            r = c.cli("retry", wf, "--node", n1.address)
            self.assertEqual(r.code, 1, r.stdout)
            self.assertIn("is done", r.stderr)
            rr = H.post(n2.address, "/submit/retry?workflow=" + wf, b"", auth="admin")
            self.assertEqual(rr.status, 409, rr.text)
            self.assertEqual(H.workflow_status(n1.address, wf).state, "done")

            # Running: refused; cancelled: runs again to the end.
            sleeper = H.write_file(c.tmp, "sleeper.xml", SLEEPER.format(seconds=3))
            r = H.submit(c, n2, sleeper, timeout=20)
            self.assertEqual(r.code, 0, r.stderr)
            wf2 = r.stdout.strip()
            rr = H.post(n1.address, "/submit/retry?workflow=" + wf2, b"", auth="admin")
            self.assertEqual(rr.status, 409, rr.text)
            self.assertIn("still running", rr.text)
            r = c.cli("cancel", wf2, "--node", n1.address)
            self.assertEqual(r.code, 0, r.stderr)
            self.assertEqual(H.wait_workflow(n2.address, wf2, timeout=10).state, "cancelled")
            r = H.wait_until(lambda: (lambda r: None if r.code and "recording" in r.stderr else r)(
                c.cli("retry", wf2, "--node", n1.address)), 10, "the retry", interval=0.1)
            self.assertEqual(r.code, 0, r.stderr)
            self.assertIn("1 task runs again", r.stdout)
            t0 = time.monotonic()
            st = H.wait_workflow(n2.address, wf2, timeout=30)
            self.assertEqual(st.state, "done", st.summary)
            self.assertGreater(time.monotonic() - t0, 2.0, "the task ran again in full")
            self.assertEqual(st.tasks["nap"]["attempts"], "2", st.tasks["nap"])


if __name__ == "__main__":
    H.main()
