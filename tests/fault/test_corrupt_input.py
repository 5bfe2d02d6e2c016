#!/usr/bin/env python3
"""fault.corrupt_input: a file damaged where it is kept is caught by its checksum; the
transfer is tried again, no task starts on it, and, the copy being damaged for good, its
maker runs again.

Three nodes. `make` writes data.bin (1 MB), `slow` sleeps 5 s, and `use` (retries="0")
reads data.bin once both are done and writes its SHA-256 — the result. While `slow` runs,
the test flips a byte of data.bin where `make` left it (on its host's disk, as bit rot or a
bad disk would). `use` must not run on the damaged bytes: every try of the transfer fails
its checksum, nothing is kept, `make` runs again without counting against anybody's
retries, and the workflow ends done with the SHA-256 of the undamaged file.
"""

import glob
import os
import unittest

from faultlib import H, RunLogs, by_task, fetched, sha256

SIZE = 1_000_000


def workflow(log: str) -> str:
    record = f'echo "$FVCE_TASK $FVCE_ATTEMPT $PWD" >> {log}'
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<workflow xmlns="urn:fvce:1" name="corrupt-input">
  <task id="make" cmd="sh" retries="0">
    <arg>-c</arg>
    <arg>head -c {SIZE} /dev/zero | tr '\\0' y > data.bin; {record}</arg>
    <out file="data.bin"/>
  </task>
  <task id="slow" cmd="sh" retries="0">
    <arg>-c</arg>
    <arg>sleep 5; echo slept > slept.txt</arg>
    <out file="slept.txt"/>
  </task>
  <task id="use" cmd="sh" retries="0">
    <arg>-c</arg>
    <arg>sha256sum data.bin | cut -d' ' -f1 > sum.txt; {record}</arg>
    <in file="data.bin"/>
    <in file="slept.txt"/>
    <out file="sum.txt" result="true"/>
  </task>
</workflow>
"""


class CorruptInput(unittest.TestCase):
    def setUp(self):
        self.logs = RunLogs()

    def tearDown(self):
        self.logs.close()

    def test_a_damaged_copy_is_never_used_and_is_made_again(self):
        log = self.logs.new("runs.log")
        with H.Cluster(H.fvce_path(), "fvce-fault-corrupt-input") as c:
            n1, _n2, _n3 = H.start_federation(c, slots=(2, 2, 2), names=["n1", "n2", "n3"])
            path = H.write_file(c.tmp, "wf.xml", workflow(log))
            r = H.submit(c, n1, path, timeout=20)
            self.assertEqual(r.code, 0, r.stderr)
            wf = r.stdout.strip()

            H.wait_until(lambda: H.workflow_status(n1.address, wf).tasks["make"]["state"]
                         == "done", 30, "make to be done")
            made = glob.glob(os.path.join(c.tmp, "nodes", "*", "**", wf, "make", "a1",
                                          "data.bin"), recursive=True)
            self.assertEqual(len(made), 1, made)
            st = H.workflow_status(n1.address, wf)
            self.assertNotEqual(st.tasks["use"]["state"], "staging", "too late to damage it")
            with open(made[0], "r+b") as f:  # same size, one byte different
                f.seek(SIZE // 2)
                f.write(b"z")
            print(f"damaged {made[0]}")

            st = H.wait_workflow(n1.address, wf, timeout=90)
            self.assertEqual(st.state, "done", (st.summary, n1.stderr_text()[-3000:]))
            got = fetched(self, c, n1, wf, "sum.txt").decode().strip()
            self.assertEqual(got, sha256(b"y" * SIZE),
                             "use ran on the damaged bytes")

            ran = by_task(log)
            self.assertEqual(len(ran["make"]), 2, ran)  # made again: the copy was damaged
            self.assertEqual(len(ran["use"]), 1, ran)   # and used once, whole
            said = [x for x in n1.stderr_text().splitlines() if "is damaged" in x]
            print("\n".join(said[:3]))
            self.assertTrue(said, "the submitter's log does not say the copy was damaged")
            self.assertIn("checksum mismatch", said[0])


if __name__ == "__main__":
    H.main()
