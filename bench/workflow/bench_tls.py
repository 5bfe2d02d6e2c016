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

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench_workflow as W  # noqa: E402


def main() -> int:
    args = W.ab_args(__doc__)
    results = W.ab_runs(args, ("plain", "tls"),
                        lambda mode: os.environ.__setitem__("FVCE_TEST_TRANSPORT", mode))
    rates = {m: [r["rate"] for r in results[m]] for m in results}
    shakes = [r["tls_handshakes"] for r in results["tls"]]
    requests = [sum(r["requests"].values()) for r in results["tls"]]
    pairs = args.nodes * (args.nodes - 1)
    print()
    print(f"{args.tasks} empty tasks, {args.nodes} nodes, {args.runs} runs")
    W.ab_report(rates, "plain", "tls", lambda k: f"{k:5s}")
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
