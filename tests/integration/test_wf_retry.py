#!/usr/bin/env python3
"""wf_retry: a task that fails (exit 3, a message on stderr) with retries="2".

A user notices: it ran 3 times (attempts=3); the workflow failed; `fvce status` shows exit
3 and the stderr text in the message; `fvce logs --stderr` shows it; the task that depends
on it is cancelled ("not run"); an independent sibling still completes; `fvce submit
--watch` exits 1 and names the failed task.
"""

import unittest

import fvce_harness as H

MARK = "flaky-says-no-4711"

WORKFLOW = f"""<?xml version="1.0" encoding="UTF-8"?>
<workflow xmlns="urn:fvce:1" name="retry">
  <task id="flaky" cmd="sh" retries="2">
    <arg>-c</arg>
    <arg>echo "attempt $FVCE_ATTEMPT"; echo "{MARK} on attempt $FVCE_ATTEMPT" >&amp;2; exit 3</arg>
    <out file="never.txt"/>
  </task>
  <task id="dependent" cmd="cat" args="never.txt">
    <in file="never.txt"/>
  </task>
  <task id="after-flaky" cmd="true"><after task="flaky"/></task>
  <task id="sibling" cmd="sh">
    <arg>-c</arg>
    <arg>sleep 0.5; echo sibling ran</arg>
  </task>
</workflow>
"""


class Retry(unittest.TestCase):
    def test_retries_then_fails(self):
        with H.Cluster(H.fvce_path(), "fvce-wf-retry") as c:
            nodes = H.start_federation(c, slots=(1, 2, 3))
            a = nodes[0]
            path = H.write_file(c.tmp, "retry.xml", WORKFLOW)
            r = H.submit(c, a, path, "--watch", timeout=90)
            self.assertEqual(r.code, 1, f"{r.stdout}\n{r.stderr}")
            wf = r.stdout.strip()
            self.assertRegex(r.stderr, r"task flaky failed \(exit 3\): .*" + MARK)

            st = H.workflow_status(a.address, wf)
            self.assertEqual(st.state, "failed", st.summary)
            flaky = st.tasks["flaky"]
            self.assertEqual(flaky["state"], "failed")
            self.assertEqual(flaky["attempts"], "3", flaky)
            self.assertEqual(flaky.get("exit-code"), "3", flaky)
            self.assertIn(MARK, flaky.get("message", ""))
            for dep in ("dependent", "after-flaky"):
                t = st.tasks[dep]
                self.assertEqual(t["state"], "cancelled", t)
                self.assertIn("not run", t.get("message", ""), t)
                self.assertIn("flaky", t.get("message", ""), t)
                self.assertEqual(t["attempts"], "0", t)
            self.assertEqual(st.tasks["sibling"]["state"], "done", st.tasks["sibling"])
            self.assertEqual(st.summary["failed"], "1")
            self.assertEqual(st.summary["cancelled"], "2")
            self.assertEqual(st.summary["done"], "1")
            # Only the failed tasks, or none: the summary stays whole.
            only = H.workflow_status(a.address, wf, tasks="failed")
            self.assertEqual(list(only.tasks), ["flaky"])
            self.assertEqual(only.summary["failed"], "1")
            bare = H.workflow_status(a.address, wf, tasks="none")
            self.assertEqual(bare.tasks, {})
            self.assertEqual(bare.summary["cancelled"], "2")

            # The CLI's table: exit 3 and the message.
            r = c.cli("status", wf, "--node", a.address)
            self.assertEqual(r.code, 0, r.stderr)
            row = [x for x in H.table_rows(r.stdout) if x[0] == "flaky"][0]
            self.assertEqual(row[1], "failed")
            self.assertEqual(row[3], "3")
            self.assertEqual(row[4], "3")
            self.assertIn(MARK, r.stdout)
            self.assertIn("not run", r.stdout)

            # The logs of the last attempt, wherever it ran.
            r = c.cli("logs", wf, "flaky", "--stderr", "--node", a.address)
            self.assertEqual(r.code, 0, r.stderr)
            self.assertIn(f"{MARK} on attempt 3", r.stdout)
            r = c.cli("logs", wf, "flaky", "--node", a.address)
            self.assertEqual(r.code, 0, r.stderr)
            self.assertIn("attempt 3", r.stdout)
            self.assertNotIn(MARK, r.stdout)
            r = c.cli("logs", wf, "sibling", "--node", a.address)
            self.assertEqual(r.code, 0, r.stderr)
            self.assertEqual(r.stdout.strip(), "sibling ran")

            r = c.cli("workflows", "--node", a.address)
            row = [x for x in H.table_rows(r.stdout) if x[0] == wf][0]
            self.assertEqual(row[4], "failed")
            self.assertIn("1 failed", row[5])


if __name__ == "__main__":
    H.main()
