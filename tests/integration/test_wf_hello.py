#!/usr/bin/env python3
"""wf_hello: the shipped example, examples/hello/workflow.xml, on 3 nodes with 1, 2 and 3
task slots. What a user does and sees:

- `fvce submit examples/hello/workflow.xml --watch` prints the id and exits 0;
- `fvce fetch WF DIR` writes shout.txt (the greeting's lines upper-cased) and total.txt
  (their character count) and says "ok" for each;
- `fvce status WF` lists 9 done tasks, each with a host; `fvce workflows` lists it done;
- `fvce logs WF TASK` works (stdout and --stderr);
- the tasks did not all run on one host.
"""

import os
import unittest

import fvce_harness as H

HELLO = os.path.join(H.REPO, "examples", "hello", "workflow.xml")
GREETING = os.path.join(H.REPO, "examples", "hello", "greeting.txt")


class Hello(unittest.TestCase):
    def test_hello_example(self):
        with open(GREETING) as f:
            lines = f.read().splitlines(keepends=True)[:4]
        want_shout = "".join(line.upper() for line in lines)
        want_total = sum(len(line.upper().encode()) for line in lines)

        with H.Cluster(H.fvce_path(), "fvce-wf-hello") as c:
            nodes = H.start_federation(c, slots=(1, 2, 3))
            a = nodes[0]
            hosts_seen = set()
            # The scheduler is randomized: a 9-task workflow may by chance use a single
            # host. Submitting it up to 4 times makes "more than one host" a certainty
            # in practice (each run is checked in full).
            for attempt in range(4):
                r = H.submit(c, a, HELLO, "--watch", timeout=60)
                self.assertEqual(r.code, 0, f"submit --watch: {r.stdout}\n{r.stderr}")
                wf = r.stdout.strip().splitlines()[0]
                self.assertRegex(wf, r"^hello-[0-9a-f]+$")
                self.assertIn("submitted workflow " + wf, r.stderr)
                self.assertIn("done", r.stderr)

                # fetch: both results, checked, "ok" each.
                out_dir = os.path.join(c.tmp, f"out{attempt}")
                r = c.cli("fetch", wf, out_dir, "--node", a.address)
                self.assertEqual(r.code, 0, r.stderr)
                ok_lines = [l for l in r.stdout.splitlines() if l.endswith(" ok")]
                self.assertEqual(len(ok_lines), 2, r.stdout)
                self.assertTrue(any("shout.txt" in l for l in ok_lines), r.stdout)
                self.assertTrue(any("total.txt" in l for l in ok_lines), r.stdout)
                with open(os.path.join(out_dir, "shout.txt")) as f:
                    self.assertEqual(f.read(), want_shout)
                with open(os.path.join(out_dir, "total.txt")) as f:
                    self.assertEqual(int(f.read().strip()), want_total)

                # status: 9 tasks, all done, each with a host of the federation.
                r = c.cli("status", wf, "--node", a.address)
                self.assertEqual(r.code, 0, r.stderr)
                self.assertIn(f"workflow {wf} (hello)", r.stdout)
                self.assertIn(": done, 9/9 done", r.stdout)
                rows = [row for row in H.table_rows(r.stdout) if row and row[0] != "TASK"
                        and not row[0].startswith("workflow ")]
                self.assertEqual(len(rows), 9, r.stdout)
                names = {n.name for n in nodes}
                for row in rows:
                    self.assertEqual(row[1], "done", row)
                    self.assertIn(row[2], names, row)
                    self.assertEqual(row[3], "1", row)  # attempts
                    self.assertEqual(row[4], "0", row)  # exit code
                    hosts_seen.add(row[2])
                self.assertEqual({row[0] for row in rows},
                                 {"gather", *(f"shout[{i}]" for i in range(4)),
                                  *(f"count[{i}]" for i in range(4))})

                # workflows: listed, done, 9/9.
                r = c.cli("workflows", "--node", a.address)
                self.assertEqual(r.code, 0, r.stderr)
                listed = {row[0]: row for row in H.table_rows(r.stdout)[1:]}
                self.assertIn(wf, listed, r.stdout)
                self.assertEqual(listed[wf][1], "hello")
                self.assertEqual(listed[wf][4], "done")
                self.assertEqual(listed[wf][5], "9/9")

                # logs: wherever the task ran (stdout is empty for these tasks, stderr too).
                for task in ("shout[0]", "count[3]", "gather"):
                    r = c.cli("logs", wf, task, "--node", a.address)
                    self.assertEqual(r.code, 0, f"logs {task}: {r.stderr}")
                    r = c.cli("logs", wf, task, "--stderr", "--node", a.address)
                    self.assertEqual(r.code, 0, f"logs --stderr {task}: {r.stderr}")
                r = c.cli("logs", wf, "nosuch", "--node", a.address)
                self.assertEqual(r.code, 1, r.stdout)
                self.assertIn("nosuch", r.stderr)

                if len(hosts_seen) > 1:
                    break
            print(f"hosts used: {sorted(hosts_seen)} after {attempt + 1} submission(s)")
            self.assertGreater(len(hosts_seen), 1, "every task ran on one host")

            # Every submission is listed with --all too, all done.
            r = c.cli("workflows", "--all", "--node", a.address)
            self.assertEqual(r.code, 0, r.stderr)
            rows = H.table_rows(r.stdout)[1:]
            self.assertEqual(len(rows), attempt + 1, r.stdout)
            self.assertTrue(all(row[4] == "done" for row in rows), r.stdout)


if __name__ == "__main__":
    H.main()
