#!/usr/bin/env python3
"""fault.disk_full: a host whose work root fills up fails tasks for its own reason; they run
again elsewhere without counting an attempt, and the host takes no new work until it has
room again.

Three nodes: n1 (the submitter, 1 slot), n2 (1 slot) and n3 (4 slots, so the scheduler
likes it) whose work root is a 2 MiB tmpfs the test mounts, with its state directory (and
so the tasks' captured stderr) on the ordinary disk. Eight tasks each write 3 MB and a
small part file, with retries="0": a failure of the task's own would fail the workflow.
n3 cannot hold 3 MB, so every task it takes fails there. The workflow must end done with
the fault-free result; the submitter's log names the host, the work root and how much the
task had written; n3's dynamic info says it takes no new work and why (`fvce hosts`), and
once the workflow is cleaned up and the pause has passed, n3 takes work again.

Needs root (the test mounts a tmpfs); skipped otherwise, saying so.
"""

import os
import subprocess
import tempfile
import unittest

from faultlib import H, RunLogs, by_task, fetched, on

N = 8
BIG = 3_000_000


def workflow(log: str) -> str:
    record = f'echo "$FVCE_TASK $FVCE_ATTEMPT $PWD" >> {log}'
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<workflow xmlns="urn:fvce:1" name="disk-full">
  <array id="w" range="0..{N - 1}">
    <task id="write" cmd="sh" retries="0">
      <arg>-c</arg>
      <arg>head -c {BIG} /dev/zero | tr '\\0' x > big{{i}}.bin &amp;&amp; echo "part {{i}}" > p{{i}}.txt &amp;&amp; {record}</arg>
      <out file="p{{i}}.txt"/>
      <out file="big{{i}}.bin"/>
    </task>
  </array>
  <task id="join" cmd="sh" retries="0">
    <arg>-c</arg>
    <arg>for i in $(seq 0 {N - 1}); do cat p$i.txt; done > all.txt</arg>
    <in array="w" file="p{{i}}.txt"/>
    <out file="all.txt" result="true"/>
  </task>
</workflow>
"""


def can_mount_tmpfs() -> str:
    """'' when this process may mount a tmpfs, else why not."""
    if os.geteuid() != 0:
        return "mounting the small tmpfs this test fills needs root"
    probe = tempfile.mkdtemp(prefix="fvce-tmpfs-probe-")
    try:
        p = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", probe],
                           capture_output=True, text=True)
        if p.returncode != 0:
            return f"mount -t tmpfs is not permitted here: {p.stderr.strip()}"
        subprocess.run(["umount", probe], check=False)
        return ""
    finally:
        os.rmdir(probe)


class DiskFull(unittest.TestCase):
    def setUp(self):
        why = can_mount_tmpfs()
        if why:
            raise unittest.SkipTest(why)
        self.logs = RunLogs()
        self.mnt = tempfile.mkdtemp(prefix="fvce-small-")
        subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m,mode=0755", "tmpfs", self.mnt],
                       check=True)

    def tearDown(self):
        subprocess.run(["umount", "-l", self.mnt], check=False)
        os.rmdir(self.mnt)
        self.logs.close()

    def test_a_full_disk_is_the_hosts_fault_and_the_task_runs_elsewhere(self):
        log = self.logs.new("runs.log")
        with H.Cluster(H.fvce_path(), "fvce-fault-disk-full") as c:
            nodes = []
            for name, slots, extra in (("n1", 1, {}), ("n2", 1, {}),
                                       ("n3", 4, {"file": ("local", {"work-root": self.mnt})})):
                services = H.execute_services(slots, execute={"fault-pause": "3s"})
                services.update(extra)
                deploy = c.write_deploy(register=H.FAST_REGISTER, services=services,
                                        name=f"deploy-{name}.xml")
                nodes.append(c.start(name, deploy, join=nodes[0] if nodes else None))
            c.wait_converged(nodes)
            n1, n2, n3 = nodes

            path = H.write_file(c.tmp, "wf.xml", workflow(log))
            r = H.submit(c, n1, path, timeout=20)
            self.assertEqual(r.code, 0, r.stderr)
            wf = r.stdout.strip()

            # n3 fails what it takes, says it is full, and is left out.
            H.wait_until(lambda: "for the host's own reason (disk)" in n1.stderr_text(), 60,
                         "a task to fail on n3 for its full disk")
            r = c.cli("hosts", "--node", n1.address)
            self.assertEqual(r.code, 0, r.stderr)
            print(r.stdout)
            self.assertIn("n3 takes no new work: its work root", r.stdout)
            self.assertIn(os.path.realpath(self.mnt), r.stdout)

            st = H.wait_workflow(n1.address, wf, timeout=120)
            self.assertEqual(st.state, "done", (st.summary, n1.stderr_text()[-3000:]))
            self.assertEqual(fetched(self, c, n1, wf, "all.txt"),
                             "".join(f"part {i}\n" for i in range(N)).encode())

            # Every task finished once, none on n3 (it could not hold their output).
            ran = by_task(log)
            self.assertEqual(set(ran), {f"write[{i}]" for i in range(N)})
            for task, where in ran.items():
                self.assertEqual(len(where), 1, (task, where))
                self.assertFalse(on(n3, where[0]), (task, where))

            # What the submitter says names the host, its work root and what the task wrote;
            # the task's own stderr (kept off the full disk) says why.
            lines = [x for x in n1.stderr_text().splitlines()
                     if "for the host's own reason (disk)" in x]
            print(f"{len(lines)} attempt(s) failed on n3 for its full disk; the first:\n"
                  f"{lines[0]}")
            first = lines[0]
            self.assertIn("failed on n3", first)
            self.assertIn(os.path.realpath(self.mnt), first)
            self.assertIn("the task had written", first)
            self.assertIn("No space left on device", first)
            self.assertIn("takes no new work", n3.stderr_text())

            # Cleaned up, with the pause over, n3 has room again and takes work.
            def recovered():
                r = c.cli("hosts", "--node", n1.address)
                return r.code == 0 and "n3 takes no new work" not in r.stdout
            H.wait_until(recovered, 30, "n3 to take work again")
            self.assertIn("takes new work again", n3.stderr_text())


if __name__ == "__main__":
    H.main()
