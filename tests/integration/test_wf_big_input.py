#!/usr/bin/env python3
"""wf_big_input: an input of several hundred MB goes through, checked by SHA-256 end to end,
with the nodes' memory bounded.

`fvce submit` of a workflow whose input is a 300 MB file (uploads are streamed: the node's
<http max-body> of 8 MiB is for requests it reads into memory). Its one task needs 2 cores,
which only the second node has, so the input is also streamed from the first node's store to
the second. The task copies it and writes its sha256sum; both are results, brought back to
the first node's store and fetched by `fvce fetch`. Both files match the original's SHA-256,
and neither node's peak resident memory (VmHWM) went past 200 MiB (in the normal build:
under the sanitizers their allocator's own holdings dominate that figure, and the input is
40 MB there).
"""

import hashlib
import os
import unittest

import fvce_harness as H

# Under the sanitizers (slow byte loops, and the memory bound is not checked there) 40 MB:
# still far past max-body, so it walks the same streamed paths.
SIZE = (40 if os.environ.get("FVCE_SANITIZED") else 300) * 1000 * 1000

WORKFLOW = """<workflow xmlns="urn:fvce:1" name="big">
  <file name="big.bin" src="big.bin"/>
  <task id="copy" cmd="sh" cores="2">
    <arg>-c</arg>
    <arg>cp big.bin copy.bin &amp;&amp; sha256sum big.bin > sum.txt</arg>
    <in file="big.bin"/>
    <out file="copy.bin" result="true"/>
    <out file="sum.txt" result="true"/>
  </task>
</workflow>
"""


def vm_hwm(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    return 0


class BigInput(unittest.TestCase):
    def test_a_large_input(self):
        with H.Cluster(H.fvce_path(), "fvce-wf-big") as c:
            n1, n2 = H.start_federation(c, slots=(1, 2), names=["n1", "n2"])
            block = os.urandom(1 << 20)
            digest = hashlib.sha256()
            path = os.path.join(c.tmp, "big.bin")
            with open(path, "wb") as f:
                written = 0
                i = 0
                while written < SIZE:
                    piece = (i.to_bytes(8, "little") + block)[: min(len(block), SIZE - written)]
                    f.write(piece)
                    digest.update(piece)
                    written += len(piece)
                    i += 1
            want = digest.hexdigest()
            wf_path = H.write_file(c.tmp, "big.xml", WORKFLOW)

            r = H.submit(c, n1, wf_path, "--watch", timeout=240)
            self.assertEqual(r.code, 0, f"{r.stdout}\n{r.stderr}")
            wf = r.stdout.strip().splitlines()[0]
            st = H.workflow_status(n1.address, wf)
            self.assertEqual(st.tasks["copy"]["host"], "n2", st.tasks)

            out = os.path.join(c.tmp, "out")
            r = c.cli("fetch", wf, out, "--node", n1.address, timeout=240)
            self.assertEqual(r.code, 0, r.stderr)
            with open(os.path.join(out, "sum.txt")) as f:
                self.assertEqual(f.read().split()[0], want)
            got = hashlib.sha256()
            with open(os.path.join(out, "copy.bin"), "rb") as f:
                for chunk in iter(lambda: f.read(1 << 20), b""):
                    got.update(chunk)
            self.assertEqual(got.hexdigest(), want)
            self.assertEqual(os.path.getsize(os.path.join(out, "copy.bin")), SIZE)

            for n in (n1, n2):
                print(f"{n.name}: peak resident memory {vm_hwm(n.pid) >> 20} MiB", flush=True)
            if os.environ.get("FVCE_SANITIZED"):
                # The sanitizers' allocator keeps freed memory (its quarantine) and shadows
                # every byte the node touched, so its peak says little about the node's own
                # buffers: the bound is checked by this test in the normal build.
                print("memory bound not checked under the sanitizers", flush=True)
                return
            for n in (n1, n2):
                self.assertLess(vm_hwm(n.pid), 200 << 20,
                                f"{n.name} held {vm_hwm(n.pid) >> 20} MiB at its peak")


if __name__ == "__main__":
    H.main()
