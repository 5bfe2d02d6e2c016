#!/usr/bin/env python3
"""TLS on against off, in the same run: the workflow benchmark (bench_workflow.run_fvce: a
fresh loopback federation of --nodes `fvce node` processes, one workflow of --tasks empty
tasks submitted with `fvce submit --watch`, timed from its start to its exit) once over the
plain transport (members sign every request with the federation secret) and once over mutual
TLS with the federation's CA, alternating which goes first, run by run.

Reported: tasks/s of each (median, min, max), the TLS/plain ratio pair by pair, and the TLS
handshakes the nodes made as clients (fvce_tls_handshakes_total{side="client"}: each is one
connection a node opened to a peer), full ones and resumed ones (fvce_tls_resumed_total: an
abbreviated handshake on a further connection to a peer whose session the node holds), since
start and during the workflow alone, beside the number of peer pairs and directions
(nodes × (nodes − 1)): pooled connections keep the full handshakes at one per pair and
direction, however many requests the workflow makes (requests are listed too).

Usage: bench_tls.py --fvce build/fvce [--runs 5] [--tasks 2000] [--nodes 3]
"""

import argparse
import os
import statistics
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench_workflow as W  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--fvce", default=os.environ.get("FVCE", os.path.join(W.REPO, "build",
                                                                          "fvce")))
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--tasks", type=int, default=2000)
    ap.add_argument("--nodes", type=int, default=3)
    args = ap.parse_args()
    rates = {"plain": [], "tls": []}
    shakes = []
    requests = []
    for i in range(args.runs):
        order = ("plain", "tls") if i % 2 == 0 else ("tls", "plain")
        for transport in order:
            os.environ["FVCE_TEST_TRANSPORT"] = transport
            res = W.run_fvce(args.fvce, args.tasks, "random-adaptive", args.nodes)
            rates[transport].append(res["rate"])
            if transport == "tls":
                shakes.append(res["tls_handshakes"])
                requests.append(sum(res["requests"].values()))
            print(f"run {i + 1} {transport:5s}: {res['rate']:7.1f} tasks/s "
                  f"(submit → done {res['submit_to_done_s']:.2f} s)", flush=True)
    ratio = [t / p for p, t in zip(rates["plain"], rates["tls"])]
    pairs = args.nodes * (args.nodes - 1)
    print()
    print(f"{args.tasks} empty tasks, {args.nodes} nodes, {args.runs} runs")
    for k in ("plain", "tls"):
        v = rates[k]
        print(f"  {k:5s} tasks/s  median {statistics.median(v):7.1f}  min {min(v):7.1f}  "
              f"max {max(v):7.1f}")
    print(f"  TLS/plain pair by pair: median {statistics.median(ratio):.3f}  min {min(ratio):.3f}"
          f"  max {max(ratio):.3f}  (fewer tasks/s with TLS: "
          f"{(1 - statistics.median(ratio)) * 100:.1f} %)")
    for i, hs in enumerate(shakes):
        def full(part):
            d = hs[part]
            return int(d.get("result=ok/side=client", 0) - d.get("resumed/side=client", 0))

        def resumed(part):
            return int(hs[part].get("resumed/side=client", 0))

        print(f"  run {i + 1} node-to-node handshakes (client side): since start {full('total')} "
              f"full + {resumed('total')} resumed, during the workflow {full('workflow')} full + "
              f"{resumed('workflow')} resumed; peer pairs × directions {pairs}; requests to the "
              f"submitting node {requests[i]}")
        print(f"        all counters: {hs}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
