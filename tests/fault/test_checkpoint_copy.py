#!/usr/bin/env python3
"""fault.checkpoint_copy: a task that asks for its checkpoints to be copied to another host
survives its host's death by resuming from the last copy instead of starting over.

Three nodes: n1 (the submitter, 1 slot: the shot needs 2 cores, so it runs on n2 or n3,
which have 2). A Marmousi shot that checkpoints every 500 steps, with copy-every="1s" (the
copies go to the submitter's store). Once its host has copied its third checkpoint (so
the submitter has surely heard of the second), that host is killed (`kill -9`). The shot runs again on the other host from the last copy — its
log says at which step it resumed — and its record equals that of an undisturbed run.
Needs the Marmousi programs beside fvce.
"""

import re
import time
import unittest

import marmousi_shot
from faultlib import H, fetched, sha256


class CheckpointCopy(unittest.TestCase):
    def test_a_shot_resumes_from_its_last_copy_after_its_host_dies(self):
        with H.Cluster(H.fvce_path(), "fvce-fault-checkpoint-copy") as c:
            n1, n2, n3 = H.start_federation(c, slots=(1, 2, 2), names=["n1", "n2", "n3"])
            nodes = {"n2": n2, "n3": n3}

            path = marmousi_shot.write(c.tmp, "copy-reference", every=500, cores=2)
            r = H.submit(c, n1, path, "--watch", timeout=300)
            self.assertEqual(r.code, 0, f"{r.stdout}\n{r.stderr}")
            reference = fetched(self, c, n1, r.stdout.strip().splitlines()[0], "raw.bin", "ref")

            path = marmousi_shot.write(c.tmp, "copy-kill", every=500, copy_every="1s", cores=2)
            r = H.submit(c, n1, path, timeout=30)
            self.assertEqual(r.code, 0, r.stderr)
            wf = r.stdout.strip()

            def copies():
                st = H.workflow_status(n1.address, wf).tasks["model"]
                host = nodes.get(st.get("host", ""))
                if not host or st.get("state") != "running":
                    return None
                n = host.stderr_text().count(f"{wf}/model attempt 1: checkpoint copied to")
                return host if n >= 3 else None
            # Once the third copy is made, the report of the second has surely reached the
            # submitter (it goes at once, a second before): the shot must resume from there
            # or later.
            H.wait_until(copies, 180, "the shot's host to copy its third checkpoint",
                         interval=0.1)
            victim = copies()
            t_kill = time.monotonic()
            victim.kill()
            survivor = n3 if victim is n2 else n2
            print(f"killed {victim.name} after its third checkpoint copy")

            st = H.wait_workflow(n1.address, wf, timeout=300)
            self.assertEqual(st.state, "done", st.summary)
            self.assertEqual(st.tasks["model"]["host"], survivor.name)
            moved = fetched(self, c, n1, wf, "raw.bin", "after")
            self.assertEqual(sha256(moved), sha256(reference),
                             "the resumed shot's record differs from the undisturbed one")
            r = c.cli("logs", wf, "model", "--node", n1.address)
            self.assertEqual(r.code, 0, r.stderr)
            m = re.search(r"resumed from ck.bin at step (\d+)", r.stdout)
            self.assertIsNotNone(m, r.stdout)
            self.assertGreaterEqual(int(m.group(1)), 1000, "it did not resume from the 2nd copy")
            print(f"resumed on {survivor.name} at step {m.group(1)}; "
                  f"done {time.monotonic() - t_kill:.1f} s after the kill")


if __name__ == "__main__":
    H.main()
