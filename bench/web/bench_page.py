#!/usr/bin/env python3
"""The workflow page's time to draw a large workflow: starts a 3-node loopback federation,
submits an array of N empty tasks (default 100,000) as a user, waits for it to end, then runs
bench_page.mjs (headless Chromium) on its page and prints the table. Not a test: it takes a
few minutes (the tasks run) and measures the machine.

    python3 bench/web/bench_page.py --fvce build/fvce [--tasks 100000] [--runs 5]
        [--write docs/PERFORMANCE.md]

Target (issue: the web user port): under 2 s from opening the page to the DAG and the Gantt
drawn. Also prints the owning node's memory (RSS) before the workflow, holding it, and its
peak while the pages are drawn (sampled every 50 ms).
"""

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import threading

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(REPO, "tests", "integration"))
sys.path.insert(0, os.path.join(REPO, "bench", "workflow"))
import fvce_harness as H  # noqa: E402
import benchlib as B  # noqa: E402

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
    ap.add_argument("--write", help="markdown file whose page section to replace")
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
        rss_before = B.rss_mib(a.pid)
        r = H.post(a.address, "/submit/workflows", WORKFLOW.format(last=args.tasks - 1), auth=token, timeout=120)
        if r.status != 201:
            print(f"submit: HTTP {r.status}: {r.text[:500]}", file=sys.stderr)
            return 1
        wf = r.xml().get("id")
        print(f"submitted {wf} ({args.tasks} tasks); waiting for it to end", file=sys.stderr)
        H.wait_until(lambda: H.workflow_status(a.address, wf, tasks="none", auth=token).state != "running",
                     max(120, args.tasks / 100), f"{wf} to end", interval=1.0)
        rss_held = B.rss_mib(a.pid)
        peak = [rss_held]
        stop = threading.Event()

        def sample():
            while not stop.wait(0.05):
                peak[0] = max(peak[0], B.rss_mib(a.pid))

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        p = subprocess.run([node, os.path.join(HERE, "bench_page.mjs"), "--base", f"http://{a.address}/",
                            "--user", "bench", "--password", "bench-password", "--workflow", wf,
                            "--runs", str(args.runs), "--json"], capture_output=True, text=True)
        stop.set()
        sampler.join()
        if p.returncode != 0:
            print(p.stdout, p.stderr, file=sys.stderr)
            return p.returncode
        runs = json.loads(p.stdout)["runs"]

    def spread(key: str, fmt: str = ".0f") -> str:
        v = [r[key] for r in runs]
        return f"{format(statistics.median(v), fmt)} ({format(min(v), fmt)}–{format(max(v), fmt)})"

    m = B.machine()
    rows = [["navigation → DAG and Gantt drawn, ms", spread("navigation_ms")],
            ["page start → drawn, ms", spread("page_ms")],
            ["Gantt canvas draw, ms", spread("gantt_draw_ms", ".1f")],
            ["attempts on the Gantt / DAG nodes", f"{runs[0]['attempts']:,} / {runs[0]['dag_nodes']}"]]
    table = "\n".join(B.md_table([["measure", f"median (min–max) of {len(runs)} runs"]] + rows))
    text = (f"{m['nproc']} cores ({m['cpu']}), {m['mem_gib']:.0f} GiB, load {m['load']}, {m['date']}\n\n"
            f"A finished workflow of {args.tasks:,} tasks (one array) on a 3-node loopback federation, "
            f"its page opened {len(runs)} times in headless Chromium (a fresh tab each, signed in). "
            f"Target: under 2 s to the DAG and the Gantt drawn.\n\n{table}\n\n"
            f"Memory of the owning node (RSS): {rss_before:.0f} MiB before the workflow, "
            f"{rss_held:.0f} MiB holding it, {peak[0]:.0f} MiB at most while the pages were drawn.\n\n"
            f"Rerun: `python3 bench/web/bench_page.py --fvce build/fvce`.\n")
    print(text)
    if args.write:
        B.write_section(args.write, f"## Web user port: a {args.tasks:,}-task workflow's page", text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
