#!/usr/bin/env python3
"""wf_files: files cross hosts intact, and a wrong checksum is refused up front.

Three nodes with declared capacities, so that where each task runs is forced:
  sub  1 core,  1 GiB  — the submitting node: runs neither task
  big  3 cores, 1 GiB  — the only host for task A (cores="3")
  fat  2 cores, 16 GiB — the only host for task B (memory="4GiB")
The input (4 MiB of random bytes) goes sub → big; A gzips it and hashes it; its output
goes big → fat; B unzips it and hashes the copy; the results go back to sub and are
fetched with `fvce fetch`. The fetched files' SHA-256 are compared with ones computed here.

Then an input whose declared sha256 does not match the file: `fvce submit` exits 1 with
a mismatch message, and no workflow is created.
"""

import gzip
import hashlib
import os
import unittest

import fvce_harness as H

SIZE = 4 * 1024 * 1024

WORKFLOW = """<?xml version="1.0" encoding="UTF-8"?>
<workflow xmlns="urn:fvce:1" name="files">
  <file name="input.bin" src="input.bin"/>
  <task id="pack" cmd="sh" cores="3">
    <arg>-c</arg>
    <arg>gzip -1 -c input.bin > packed.gz &amp;&amp; sha256sum input.bin > input.sha</arg>
    <in file="input.bin"/>
    <out file="packed.gz" result="true"/>
    <out file="input.sha" result="true"/>
  </task>
  <task id="unpack" cmd="sh" memory="4GiB">
    <arg>-c</arg>
    <arg>gunzip -c packed.gz > copy.bin &amp;&amp; sha256sum copy.bin > copy.sha</arg>
    <in file="packed.gz"/>
    <out file="copy.bin" result="true"/>
    <out file="copy.sha" result="true"/>
  </task>
</workflow>
"""


def sha256(path: str) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


class Files(unittest.TestCase):
    def test_files_cross_hosts_intact(self):
        with H.Cluster(H.fvce_path(), "fvce-wf-files") as c:
            specs = [("sub", "1", "1GiB"), ("big", "3", "1GiB"), ("fat", "2", "16GiB")]
            nodes = []
            for name, cores, mem in specs:
                deploy = c.write_deploy(register=H.FAST_REGISTER,
                                        info=("declared", {"cores": cores, "speed": "1000",
                                                           "memory": mem}),
                                        name=f"deploy-{name}.xml")
                nodes.append(c.start(name, deploy, join=nodes[0] if nodes else None))
            c.wait_converged(nodes, timeout=10)
            sub = nodes[0]

            data = os.urandom(SIZE)
            src = H.write_file(c.tmp, "wf/input.bin", data)
            want = hashlib.sha256(data).hexdigest()
            path = H.write_file(c.tmp, "wf/files.xml", WORKFLOW)
            r = H.submit(c, sub, path, "--watch", timeout=90)
            self.assertEqual(r.code, 0, f"{r.stdout}\n{r.stderr}")
            wf = r.stdout.strip()

            st = H.workflow_status(sub.address, wf)
            self.assertEqual(st.state, "done")
            self.assertEqual(st.tasks["pack"]["host"], "big", st.tasks)
            self.assertEqual(st.tasks["unpack"]["host"], "fat", st.tasks)

            out = os.path.join(c.tmp, "out")
            r = c.cli("fetch", wf, out, "--node", sub.address)
            self.assertEqual(r.code, 0, r.stderr)
            self.assertEqual(len([l for l in r.stdout.splitlines() if l.endswith(" ok")]), 4,
                             r.stdout)
            self.assertEqual(sha256(os.path.join(out, "copy.bin")), want)
            with open(os.path.join(out, "copy.bin"), "rb") as f:
                self.assertEqual(f.read(), data)
            with gzip.open(os.path.join(out, "packed.gz"), "rb") as f:
                self.assertEqual(f.read(), data)
            # What the tasks computed on their hosts agrees with what was computed here.
            for name in ("input.sha", "copy.sha"):
                with open(os.path.join(out, name)) as f:
                    self.assertEqual(f.read().split()[0], want, name)
            # The fetched files are what `fvce fetch` said they were.
            for line in r.stdout.splitlines():
                fpath, _, rest = line.partition("  ")
                self.assertEqual(sha256(fpath), rest.split("sha256 ")[1].split()[0], line)
            # The input arrived in the submitting node's store under its hash.
            self.assertTrue(os.path.exists(os.path.join(sub.state_dir, "work", "store", want)))

            # A declared sha256 that does not match the file: refused before anything runs.
            wrong = "0" * 64
            bad = WORKFLOW.replace('src="input.bin"/>', f'src="input.bin" sha256="{wrong}"/>')
            path = H.write_file(c.tmp, "wf/bad.xml", bad)
            before = H.workflow_list(sub.address)
            r = H.submit(c, sub, path, timeout=30)
            self.assertEqual(r.code, 1, f"{r.stdout}\n{r.stderr}")
            self.assertEqual(r.stdout.strip(), "")
            self.assertIn("input.bin", r.stderr)
            self.assertIn(want, r.stderr)
            self.assertIn(wrong, r.stderr)
            print(f"mismatch: {r.stderr.strip()}")
            self.assertEqual(H.workflow_list(sub.address), before)
            r = c.cli("workflows", "--all", "--node", sub.address)
            self.assertEqual(len(H.table_rows(r.stdout)[1:]), 1, r.stdout)


if __name__ == "__main__":
    H.main()
