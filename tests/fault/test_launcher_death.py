#!/usr/bin/env python3
"""fault.launcher_death: the process that runs a host's tasks dies; its tasks run again, they
are not failed.

Two nodes, n1 (the submitter, 2 slots) and n2 (2 slots). Six tasks (`sleep 2`, each writing
p{i}.txt, retries="0") and a join. Once n2 runs tasks, its task launcher (fvce-exec, the
node's child that spawns and reaps tasks) is killed with SIGKILL, which takes its tasks with
it. A task's failure would fail the workflow (no retries); instead the tasks n2 was running
run again — it is the host's fault — and the workflow ends done with the fault-free result.
n2 says it takes no new work for the pause, then recovers with a new launcher.
"""

import os
import signal
import unittest

from faultlib import H, RunLogs, by_task, expected_join, fetched, on, parts_workflow

N = 6


def children(pid: int, comm: str) -> list:
    """The pids of pid's children whose command name is comm."""
    out = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        name = stat[stat.index("(") + 1:stat.rindex(")")]
        ppid = int(stat[stat.rindex(")") + 2:].split()[1])
        if ppid == pid and name == comm:
            out.append(int(entry))
    return out


class LauncherDeath(unittest.TestCase):
    def setUp(self):
        self.logs = RunLogs()

    def tearDown(self):
        self.logs.close()

    def test_tasks_of_a_dead_launcher_run_again(self):
        log = self.logs.new("runs.log")
        with H.Cluster(H.fvce_path(), "fvce-fault-launcher-death") as c:
            n1, n2 = H.start_federation(c, slots=(2, 2), names=["n1", "n2"],
                                        execute={"fault-pause": "3s"})
            path = H.write_file(c.tmp, "wf.xml", parts_workflow("launcher-death", N, log,
                                                               join_logs=False, sleep=2, retries=0))
            r = H.submit(c, n1, path, timeout=20)
            self.assertEqual(r.code, 0, r.stderr)
            wf = r.stdout.strip()

            def running_on_n2():
                st = H.workflow_status(n1.address, wf)
                return [t for t, a in st.tasks.items()
                        if a.get("state") == "running" and a.get("host") == "n2"]
            H.wait_until(lambda: running_on_n2(), 30, "a task running on n2")
            victims = running_on_n2()
            launchers = children(n2.pid, "fvce-exec")
            self.assertEqual(len(launchers), 1, "n2 has one task launcher")
            os.kill(launchers[0], signal.SIGKILL)
            print(f"killed n2's launcher {launchers[0]} while it ran {victims}")

            st = H.wait_workflow(n1.address, wf, timeout=90)
            self.assertEqual(st.state, "done", (st.summary, n1.stderr_text()[-3000:]))
            self.assertEqual(fetched(self, c, n1, wf, "all.txt"), expected_join(N))

            # The tasks killed with the launcher ran to their end once, after it.
            ran = by_task(log)
            self.assertEqual(set(ran), {f"part[{i}]" for i in range(N)})
            for task, where in ran.items():
                self.assertEqual(len(where), 1, (task, where))
            for task in victims:
                self.assertGreaterEqual(int(st.tasks[task]["attempts"]), 2, st.tasks[task])

            said = [x for x in n1.stderr_text().splitlines()
                    if "for the host's own reason (launcher)" in x]
            print("\n".join(said))
            self.assertEqual(len(said), len(victims), said)
            self.assertIn("takes no new work", n2.stderr_text())

            # With the pause over n2 takes work again, through a new launcher.
            def recovered():
                r = c.cli("hosts", "--node", n1.address)
                return r.code == 0 and "n2 takes no new work" not in r.stdout
            H.wait_until(recovered, 30, "n2 to take work again")
            # A second workflow runs on it: the new launcher works.
            log2 = self.logs.new("again.log")
            path = H.write_file(c.tmp, "again.xml", parts_workflow("again", N, log2,
                                                                  join_logs=False, retries=0))
            r = H.submit(c, n1, path, "--watch", timeout=90)
            self.assertEqual(r.code, 0, f"{r.stdout}\n{r.stderr}")
            self.assertTrue(any(on(n2, w) for where in by_task(log2).values() for w in where),
                            "nothing of the second workflow ran on n2")
            self.assertEqual(len(children(n2.pid, "fvce-exec")), 1)


if __name__ == "__main__":
    H.main()
