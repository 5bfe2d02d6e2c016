#!/usr/bin/env python3
"""A control group per task against none, in the same run: the workflow benchmark
(bench_workflow.run_fvce: a fresh loopback federation of --nodes `fvce node` processes, one
workflow of --tasks empty tasks submitted with `fvce submit --watch`, timed from its start to
its exit) with the execute service's cgroups="required" and cgroups="off", alternating which
goes first, run by run. What it costs to make, limit, join and remove a group per task.

Needs a host where the node may make control groups (root, or a delegated cgroup v2 group).

Usage: bench_cgroups.py --fvce build/fvce [--runs 5] [--tasks 2000] [--nodes 3]
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench_workflow as W  # noqa: E402


def main() -> int:
    args = W.ab_args(__doc__)
    results = W.ab_runs(args, ("off", "required"), lambda mode: setattr(W, "CGROUPS", mode))
    rates = {m: [r["rate"] for r in results[m]] for m in results}
    print()
    print(f"{args.tasks} empty tasks, {args.nodes} nodes, {args.runs} runs, "
          f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f}")
    W.ab_report(rates, "off", "required", lambda k: f"cgroups={k:8s}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
