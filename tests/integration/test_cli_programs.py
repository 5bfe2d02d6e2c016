#!/usr/bin/env python3
"""cli_programs: `fvce` is the command line; `fvce node` runs the node program beside it.

- `fvce` needs none of the node's libraries (Xerces-C, SQLite, libstatgrab): the dynamic
  section of the binary names none of them, so a command does not pay for loading them.
- `fvce node --help` is the node's own help (its options, under the name `fvce node`);
  `fvce --help` lists `node` among the commands.
- `fvce node` where fvce-node is missing exits 1 with a message naming the program it
  looked for; `fvce node` with a bad option exits 2 (a usage error), as every command does.
- `fvce node` keeps the process: the pid the user started is the node's (signals reach it).
"""

import os
import shutil
import subprocess
import tempfile
import unittest

import fvce_harness as H


def needed_libraries(path: str) -> list[str]:
    out = subprocess.run(["readelf", "-d", path], capture_output=True, text=True, check=True)
    return [line.split("[", 1)[1].split("]", 1)[0]
            for line in out.stdout.splitlines() if "(NEEDED)" in line]


class CliPrograms(unittest.TestCase):
    def run_fvce(self, *args: str, fvce: str | None = None, timeout: float = 10):
        return subprocess.run([fvce or H.fvce_path(), *args], capture_output=True, text=True,
                              timeout=timeout)

    def test_the_command_line_loads_no_node_library(self):
        libs = needed_libraries(H.fvce_path())
        print("fvce needs:", " ".join(libs))
        for lib in libs:
            for node_only in ("xerces", "sqlite", "statgrab"):
                self.assertNotIn(node_only, lib, f"fvce links {lib}")
        node_libs = needed_libraries(os.path.join(os.path.dirname(H.fvce_path()), "fvce-node"))
        self.assertTrue(any("xerces" in lib for lib in node_libs), node_libs)

    def test_node_help_and_usage(self):
        r = self.run_fvce("--help")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertRegex(r.stdout, r"\bnode\b.*run a node")
        r = self.run_fvce("node", "--help")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("fvce node", r.stdout)
        for option in ("--deploy", "--listen", "--state-dir", "--join"):
            self.assertIn(option, r.stdout)
        r = self.run_fvce("node", "--deploy", os.path.join(H.REPO, "deploy", "deploy.xml"),
                          "--no-such-option")
        self.assertEqual(r.returncode, 2, r.stdout + r.stderr)
        self.assertIn("--no-such-option", r.stderr + r.stdout)
        # --join takes several addresses; each must be HOST:PORT.
        r = self.run_fvce("node", "--deploy", os.path.join(H.REPO, "deploy", "deploy.xml"),
                          "--join", "127.0.0.1:7701,nowhere")
        self.assertEqual(r.returncode, 2, r.stdout + r.stderr)
        self.assertIn("'nowhere' is not HOST:PORT", r.stderr + r.stdout)

    def test_node_program_missing(self):
        with tempfile.TemporaryDirectory() as d:
            alone = os.path.join(d, "fvce")
            shutil.copy(H.fvce_path(), alone)
            r = self.run_fvce("node", "--deploy", "deploy.xml", fvce=alone)
            self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
            self.assertIn(os.path.join(d, "fvce-node"), r.stderr)
            self.assertIn("cannot run the node program", r.stderr)

    def test_the_node_keeps_the_process(self):
        with H.Cluster(H.fvce_path(), "fvce-cli-programs") as c:
            (n,) = H.start_federation(c, slots=(1,))
            with open(f"/proc/{n.proc.pid}/cmdline", "rb") as f:
                argv = f.read().split(b"\0")
            self.assertEqual(argv[0], b"fvce-node", argv)
            self.assertIn(b"--state-dir", argv)
            n.proc.terminate()
            self.assertEqual(n.proc.wait(timeout=20), 0, "the node left gracefully on SIGTERM")


if __name__ == "__main__":
    H.main()
