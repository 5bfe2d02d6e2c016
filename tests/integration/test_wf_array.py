#!/usr/bin/env python3
"""wf_array: a 200-task array on 3 nodes (1, 2 and 3 slots): each index writes its index to
out{i}.txt, a gather task concatenates the 200 files into the workflow's result.

A user notices: every index ran exactly once (the gathered file holds 0..199, each once,
and the status says attempts=1 for every task), and the tasks were spread over all three
hosts. `fvce logs` shows what the gather task printed.
"""

import os
import unittest

import fvce_harness as H

N = 200


def workflow() -> str:
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<workflow xmlns="urn:fvce:1" name="array200">
  <array id="part" range="0..{N - 1}">
    <task id="write" cmd="sh">
      <arg>-c</arg>
      <arg>echo {{i}} > out{{i}}.txt</arg>
      <out file="out{{i}}.txt"/>
    </task>
  </array>
  <task id="gather" cmd="sh">
    <arg>-c</arg>
    <arg>i=0; while [ $i -lt {N} ]; do cat out$i.txt; i=$((i + 1)); done > all.txt &amp;&amp; echo gathered $(wc -l &lt; all.txt) lines</arg>
    <in array="part" file="out{{i}}.txt"/>
    <out file="all.txt" result="true"/>
  </task>
</workflow>
"""


class Array(unittest.TestCase):
    def test_every_index_once_on_every_host(self):
        with H.Cluster(H.fvce_path(), "fvce-wf-array") as c:
            nodes = H.start_federation(c, slots=(1, 2, 3))
            a = nodes[0]
            path = H.write_file(c.tmp, "array.xml", workflow())
            r = H.submit(c, a, path, timeout=30)
            self.assertEqual(r.code, 0, r.stderr)
            wf = r.stdout.strip()
            self.assertIn(f"{N + 1} tasks", r.stderr)

            st = H.wait_workflow(a.address, wf, timeout=90)
            self.assertEqual(st.state, "done", st.summary)
            self.assertEqual(int(st.summary["done"]), N + 1)
            self.assertEqual(len(st.tasks), N + 1)
            for tid, t in st.tasks.items():
                self.assertEqual(t["state"], "done", (tid, t))
                self.assertEqual(t["attempts"], "1", (tid, t))
                self.assertEqual(t.get("exit-code"), "0", (tid, t))

            per_host = {}
            for i in range(N):
                h = st.tasks[f"write[{i}]"]["host"]
                per_host[h] = per_host.get(h, 0) + 1
            print(f"tasks per host: {per_host}")
            self.assertEqual(set(per_host), {n.name for n in nodes}, per_host)

            out_dir = os.path.join(c.tmp, "out")
            r = c.cli("fetch", wf, out_dir, "--node", a.address)
            self.assertEqual(r.code, 0, r.stderr)
            self.assertIn(" ok", r.stdout)
            with open(os.path.join(out_dir, "all.txt")) as f:
                values = [int(x) for x in f.read().split()]
            self.assertEqual(sorted(values), list(range(N)), "every index exactly once")

            r = c.cli("logs", wf, "gather", "--node", a.address)
            self.assertEqual(r.code, 0, r.stderr)
            self.assertEqual(r.stdout.strip(), f"gathered {N} lines")

            # The CLI's table agrees with the XML: 201 rows, attempts 1.
            r = c.cli("status", wf, "--node", a.address)
            self.assertEqual(r.code, 0, r.stderr)
            rows = [row for row in H.table_rows(r.stdout)[1:] if row[0] != "TASK"]
            self.assertEqual(len(rows), N + 1, r.stdout[:500])
            self.assertTrue(all(row[1] == "done" and row[3] == "1" for row in rows))


if __name__ == "__main__":
    H.main()
