#!/usr/bin/env python3
"""restart: a node killed with SIGKILL and restarted with the same state dir and NO --join
rejoins by itself through the members it remembered, keeps its id, comes back with a higher
incarnation (and a new port), and is alive everywhere again — both after the federation
declared it dead and when it comes back before anybody noticed it was gone."""

import time
import unittest

import fvce_harness as H

REJOIN_BOUND = 5.0


class Restart(unittest.TestCase):
    def incarnations(self, nodes, name):
        return {n.name: n.view(all=True)[name].incarnation for n in nodes if n.running()}

    def check_back(self, c, nodes, node, old_id, old_incarnation, old_address):
        def back_everywhere():
            for n in nodes:
                m = n.view().get(node.name)
                if m is None or m.state != "alive" or m.address != node.address:
                    return False
            return True

        t0 = time.monotonic()
        H.wait_until(back_everywhere, REJOIN_BOUND,
                     f"{node.name} to be alive at {node.address} everywhere")
        print(f"{node.name} back everywhere {time.monotonic() - t0:.2f}s after it listened")
        self.assertEqual(node.node_id(), old_id)
        for n in nodes:
            m = n.view()[node.name]
            self.assertEqual(m.id, old_id, f"{n.name}'s view")
            self.assertGreater(m.incarnation, old_incarnation, f"{n.name}'s view")
        # It rejoined by itself: its log says through whom, and it knows every member.
        H.wait_until(lambda: "joined federation 'test' through" in H._read(node.log_paths[-1]),
                     2, f"{node.name}'s log to say it rejoined through a remembered member")
        c.wait_converged(nodes, timeout=3)

    def test_restart_without_join(self):
        with H.Cluster(H.fvce_path(), "fvce-restart") as c:
            deploy = c.write_deploy(register=H.FAST_REGISTER)
            nodes = [c.start("r1", deploy)]
            for name in ("r2", "r3"):
                nodes.append(c.start(name, deploy, join=nodes[-1]))
            c.wait_converged(nodes, timeout=5)
            node, others = nodes[2], nodes[:2]
            old_id = node.node_id()

            # 1. Killed, declared dead everywhere, then restarted.
            before = self.incarnations(nodes, node.name)
            old_inc, old_address = max(before.values()), node.address
            node.kill()
            H.wait_until(lambda: all(o.view(all=True)[node.name].state == "dead" for o in others),
                         5, f"{node.name} to be declared dead")
            c.restart(node)  # no join: the remembered members
            self.check_back(c, nodes, node, old_id, old_inc, old_address)

            # 2. Killed and restarted at once, before anybody noticed.
            old_inc, old_address = max(self.incarnations(nodes, node.name).values()), node.address
            node.kill()
            c.restart(node)
            self.check_back(c, nodes, node, old_id, old_inc, old_address)
            # Nobody was declared dead on the way back this time... except the first life's
            # record, which the new incarnation replaced: every record of it says alive.
            for o in nodes:
                self.assertEqual(o.view(all=True)[node.name].state, "alive")


if __name__ == "__main__":
    H.main()
