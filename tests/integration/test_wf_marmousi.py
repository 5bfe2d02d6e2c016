#!/usr/bin/env python3
"""wf_marmousi: the flagship workflow runs like any workflow. Three nodes run
examples/marmousi/workflow-small.xml (resample, 4 shots of model → filter → record, sections);
`fvce fetch` brings back the shot gathers, both sections and the images, and an independent
SEG-Y reader (python3-segyio) finds the survey's geometry in them: 96 traces per shot with
offsets 2575 m … 200 m, 726 samples at 4 ms, one zero-offset trace per shot at the right x.
The programs must be built beside fvce (the Marmousi example is part of the normal build).
"""

import os
import unittest

import fvce_harness as H

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
WORKFLOW = os.path.join(ROOT, "examples", "marmousi", "workflow-small.xml")


class Marmousi(unittest.TestCase):
    def test_small_preset_through_the_federation(self):
        import segyio  # Debian's python3-segyio: an independent reader

        with H.Cluster(H.fvce_path(), "fvce-wf-marmousi") as c:
            nodes = H.start_federation(c, slots=(2, 2, 2))
            first = nodes[0]
            r = c.cli("submit", WORKFLOW, "--node", first.address, "--watch", timeout=240)
            self.assertEqual(r.code, 0, r.stderr)
            wf = r.stdout.strip().splitlines()[0]
            out = os.path.join(c.tmp, "results")
            f = c.cli("fetch", wf, out, "--node", first.address, timeout=60)
            self.assertEqual(f.code, 0, f.stderr)
            names = sorted(os.listdir(out))
            for n in ["zero-offset.sgy", "near-offset.sgy", "zero-offset.png", "near-offset.png",
                      "velocity.png", "shot0.sgy", "shot1.sgy", "shot2.sgy", "shot3.sgy"]:
                self.assertIn(n, names)
            self.assertEqual(f.stdout.count(" ok"), len(names), f.stdout)

            for k in range(4):
                with segyio.open(os.path.join(out, f"shot{k}.sgy"), ignore_geometry=True) as s:
                    self.assertEqual(s.tracecount, 96)
                    self.assertEqual(len(s.samples), 726)
                    self.assertEqual(segyio.tools.dt(s), 4000.0)
                    offsets = [abs(h[segyio.TraceField.offset]) for h in s.header]
                    self.assertEqual((max(offsets), min(offsets)), (2575, 200))
                    scal = s.header[0][segyio.TraceField.SourceGroupScalar]
                    factor = 1.0 / abs(scal) if scal < 0 else (scal or 1)
                    sx = s.header[0][segyio.TraceField.SourceX] * factor
                    self.assertAlmostEqual(sx, 3000 + 1500 * k, delta=1.0)
                    self.assertGreater(float(abs(s.trace.raw[:]).max()), 0.0)
            with segyio.open(os.path.join(out, "zero-offset.sgy"), ignore_geometry=True) as z:
                self.assertEqual(z.tracecount, 4)
                self.assertEqual(len(z.samples), 726)

            status = H.workflow_status(first.address, wf)
            self.assertEqual(status.state, "done")
            self.assertEqual(len(status.tasks), 14)
            self.assertGreater(len(status.hosts()), 1, "the tasks should spread over hosts")


if __name__ == "__main__":
    H.main()
