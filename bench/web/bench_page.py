#!/usr/bin/env python3
"""The workflow page's time to draw a large workflow: starts a 3-node loopback federation,
submits an array of N empty tasks (default 100,000) as a user, waits for it to end, then runs
bench_page.mjs (headless Chromium) on its page and prints the table. Not a test: it takes a
few minutes (the tasks run) and measures the machine.

    python3 bench/web/bench_page.py --fvce build/fvce [--tasks 100000] [--runs 5]
"""

import argparse
import os
import shutil
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(REPO, "tests", "integration"))
import fvce_harness as H  # noqa: E402

WORKFLOW = """<?xml version="1.0" encoding="UTF-8"?>
<workflow xmlns="urn:fvce:1" name="page-bench">
  <array id="shot" range="0..{last}">
    <task id="t" cmd="true"/>
  </array>
</workflow>
"""


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--fvce", default=os.path.join(REPO, "build", "fvce"))
    ap.add_argument("--tasks", type=int, default=100_000)
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args()
    node = shutil.which("node") or shutil.which("nodejs")
    if not node:
        print("node is not installed (Debian: apt-get install nodejs)", file=sys.stderr)
        return 1
    with H.Cluster(args.fvce, "fvce-bench-page", log_level="info") as c:
        nodes = H.start_federation(c, slots=(2, 2, 2))
        a = nodes[0]
        r = c.cli("user", "add", "bench", "--password-stdin", "--node", a.address, input="bench-password\n")
        if r.code != 0:
            print(r.stderr, file=sys.stderr)
            return 1
        token = c.token_of(c.login(a, "bench", "bench-password"))
        r = H.post(a.address, "/submit/workflows", WORKFLOW.format(last=args.tasks - 1), auth=token, timeout=120)
        if r.status != 201:
            print(f"submit: HTTP {r.status}: {r.text[:500]}", file=sys.stderr)
            return 1
        wf = r.xml().get("id")
        print(f"submitted {wf} ({args.tasks} tasks); waiting for it to end", file=sys.stderr)
        H.wait_until(lambda: H.workflow_status(a.address, wf, tasks="none", auth=token).state != "running",
                     max(120, args.tasks / 100), f"{wf} to end", interval=1.0)
        p = subprocess.run([node, os.path.join(HERE, "bench_page.mjs"), "--base", f"http://{a.address}/",
                            "--user", "bench", "--password", "bench-password", "--workflow", wf,
                            "--runs", str(args.runs)])
        return p.returncode


if __name__ == "__main__":
    sys.exit(main())
