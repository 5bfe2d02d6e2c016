#!/usr/bin/env python3
"""fault.introducer_gone: the introducer goes away; the federation keeps working, new nodes
join through any member, and a node whose members all moved finds them through any address
it is given.

1. Four nodes n1..n4, all joined through n1; n1 is killed (`kill -9`). n2..n4 drop it and
   list each other alive; a workflow (8 tasks and a join) submitted at n2 ends done with the
   expected result, each task run once. A new node n5 joins through n3 (not n1): every live
   member lists it alive, and a workflow whose tasks only n5 can hold (3 cores; the others
   have 2 slots) runs them there and ends done with the expected result.
2. Three nodes; n3 is killed; n1 and n2 are restarted one after the other on new ports (each
   rejoins through the other, which it remembers), so every address n3 remembers is dead.
   Restarted without --join, n3 logs an error naming the addresses it tried and says it
   keeps trying — and it does (the log says so again) — while it runs alone. Restarted with
   `--join DEAD,N2` (a dead address first), it rejoins: the three list each other alive,
   and a workflow submitted at n1 runs on all three and ends done with the expected result.
"""

import hashlib
import os
import time
import unittest

from faultlib import H, RunLogs, by_task, expected_join, parts_workflow


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class IntroducerGone(unittest.TestCase):
    def setUp(self):
        self.logs = RunLogs()

    def tearDown(self):
        self.logs.close()

    def run_workflow(self, c, node, name: str, n: int, cores: int = 1):
        """Submits parts_workflow(n) at node and waits for it; returns (status, run log),
        having checked that it ended done with the expected result."""
        log = self.logs.new(f"{name}.log")
        path = H.write_file(c.tmp, f"{name}.xml", parts_workflow(name, n, log, cores=cores))
        t0 = time.monotonic()
        r = H.submit(c, node, path, "--watch", timeout=120)
        self.assertEqual(r.code, 0, f"{r.stdout}\n{r.stderr}")
        wf = r.stdout.strip()
        st = H.workflow_status(node.address, wf)
        print(f"workflow {name} at {node.name}: {st.state} in {time.monotonic() - t0:.1f}s "
              f"on {sorted(st.hosts())}")
        self.assertEqual(st.state, "done", st.summary)
        out = os.path.join(c.tmp, f"out-{name}")
        r = c.cli("fetch", wf, out, "--node", node.address)
        self.assertEqual(r.code, 0, r.stderr)
        with open(os.path.join(out, "all.txt"), "rb") as f:
            self.assertEqual(sha(f.read()), sha(expected_join(n)), "the result is wrong")
        return st, by_task(log)

    def test_members_keep_working_and_new_nodes_join_through_any_member(self):
        with H.Cluster(H.fvce_path(), "fvce-fault-introducer-gone") as c:
            n1, n2, n3, n4 = H.start_federation(c, slots=(2, 2, 2, 2),
                                                names=["n1", "n2", "n3", "n4"])
            for n in (n2, n3, n4):
                self.assertEqual(n.join, n1.address)

            n1.kill()
            took = c.wait_converged([n2, n3, n4], timeout=15)
            print(f"n1 (the introducer) killed; n2..n4 dropped it in {took:.2f}s")

            st, ran = self.run_workflow(c, n2, "after-introducer", 8)
            self.assertLessEqual(st.hosts(), {"n2", "n3", "n4"})
            self.assertEqual(set(ran), {f"part[{i}]" for i in range(8)} | {"join"})
            for task, where in ran.items():
                self.assertEqual(len(where), 1, (task, where))

            # n5 joins through n3. It alone has room for a 3-core task.
            deploy = c.write_deploy(register=H.FAST_REGISTER, services=H.execute_services(4),
                                    info=("declared", {"cores": "4", "speed": "1000",
                                                       "memory": "8GiB"}),
                                    name="deploy-n5.xml")
            t0 = time.monotonic()
            n5 = c.start("n5", deploy, join=n3)
            took = c.wait_converged([n2, n3, n4, n5], timeout=10)
            print(f"n5 joined through n3; all four list it {time.monotonic() - t0:.2f}s after "
                  f"its start ({took:.2f}s after it listened)")
            self.assertIn(f"joined federation 'test' through {n3.address}", n5.stderr_text())

            st, ran = self.run_workflow(c, n2, "on-n5", 4, cores=3)
            for i in range(4):
                self.assertEqual(st.tasks[f"part[{i}]"].get("host"), "n5", st.tasks[f"part[{i}]"])
                self.assertEqual(len(ran[f"part[{i}]"]), 1, ran[f"part[{i}]"])

    def test_a_node_whose_members_all_moved_finds_them_through_any_address_given(self):
        with H.Cluster(H.fvce_path(), "fvce-fault-join-any") as c:
            n1, n2, n3 = H.start_federation(c, slots=(2, 2, 2), names=["n1", "n2", "n3"])
            n3.kill()
            H.wait_until(lambda: c.converged([n1, n2]), 10, "n1 and n2 to drop n3")
            remembered = {n1.address, n2.address}  # what n3 knows

            # n1, then n2, come back at new ports; each rejoins through the other.
            for node, other in ((n1, n2), (n2, n1)):
                node.kill()
                c.restart(node, new_address=True)
                while node.address in remembered:  # a port n3 remembers: not a move
                    node.kill()
                    c.restart(node, new_address=True)
                c.wait_converged([n1, n2], timeout=10)
                # The other remembers the new address before the next one goes down.
                members_file = os.path.join(other.state_dir, "members.xml")
                H.wait_until(lambda: node.address in H._read(members_file), 5,
                             f"{other.name} to remember {node.name}'s new address")
            print(f"n1 and n2 moved: {sorted(remembered)} -> {n1.address}, {n2.address}")

            # n3 without --join: everything it remembers is dead. It says so, and keeps trying.
            t0 = time.monotonic()
            c.restart(n3)

            def error_lines():
                return [line for line in H._read(n3.log_paths[-1]).splitlines()
                        if " error " in line and all(a in line for a in remembered)]

            first = H.wait_until(error_lines, 10, "n3 to log an error naming what it tried")
            print(f"n3 alone, {time.monotonic() - t0:.1f}s after its start: {first[0]}")
            self.assertIn("trying again", first[0])
            self.assertIn("--join", first[0])

            def retried():
                return [line for line in H._read(n3.log_paths[-1]).splitlines()
                        if "still alone" in line and all(a in line for a in remembered)]

            again = H.wait_until(retried, 15, "n3 to log that it tried them again")
            print(f"and then: {again[0]}")
            self.assertEqual(n3.alive_names(), {"n3"})
            self.assertNotIn("n3", n1.view())
            n3.kill()

            # n3 with --join DEAD,N2: the dead address first.
            dead = "127.0.0.2:" + H.free_dead_address().rsplit(":", 1)[1]  # nobody listens there
            t0 = time.monotonic()
            c.restart(n3, join=[dead, n2])
            took = c.wait_converged([n1, n2, n3], timeout=15)
            print(f"n3 restarted with --join {dead},{n2.address}: the three list each other "
                  f"{time.monotonic() - t0:.2f}s after its start ({took:.2f}s after it listened)")
            text = H._read(n3.log_paths[-1])
            self.assertIn(f"joining through {dead} failed", text)
            self.assertIn(f"joined federation 'test' through {n2.address}", text)

            st, ran = self.run_workflow(c, n1, "after-moves", 12)
            self.assertEqual(st.hosts(), {"n1", "n2", "n3"}, "the workflow did not use all three")
            for task, where in ran.items():
                self.assertEqual(len(where), 1, (task, where))


if __name__ == "__main__":
    H.main()
