#!/usr/bin/env python3
"""The user port's task list under load: `wrk` against GET /api/workflow/tasks (a page of 100
tasks of a workflow of 10,000) with a browser's session cookie, asked at the node that owns
the workflow and at another member (one more hop through the peer seam), beside the XML
view (/submit/view) the command line uses. Prints requests/s and latency percentiles, and
the owner's memory with the workflow held.

    python3 bench/web/bench_api.py --fvce build/fvce [--tasks 10000] [--duration 10]
        [--connections 16] [--threads 2] [--write docs/PERFORMANCE.md]

Target (docs/web.md): at least 2,000 requests/s with p99 under 50 ms for a page of 100 of
10,000 tasks. Portal 2.0, a national HPC portal, reported 50–70 requests/s for its job list.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(REPO, "tests", "integration"))
sys.path.insert(0, os.path.join(REPO, "bench", "workflow"))
import fvce_harness as H  # noqa: E402
import benchlib as B  # noqa: E402


def workflow(tasks: int) -> str:
    return f"""<workflow xmlns="urn:fvce:1" name="wide">
  <array id="t" range="0..{tasks - 1}">
    <task id="t" cmd="true"/>
  </array>
</workflow>
"""


WRK_LATENCY = re.compile(r"^\s+(50|75|90|99)(?:\.0+)?%\s+([\d.]+)(us|ms|s)\s*$", re.M)
WRK_RATE = re.compile(r"^Requests/sec:\s+([\d.]+)", re.M)
WRK_ERRORS = re.compile(r"Non-2xx or 3xx responses:\s+(\d+)")


def to_ms(value: str, unit: str) -> float:
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def run_wrk(url: str, headers: dict, duration: int, connections: int, threads: int) -> dict:
    cmd = ["wrk", "-t", str(threads), "-c", str(connections), "-d", f"{duration}s", "--latency"]
    for k, v in headers.items():
        cmd += ["-H", f"{k}: {v}"]
    cmd.append(url)
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    lat = {p: to_ms(v, u) for p, v, u in WRK_LATENCY.findall(out)}
    rate = float(WRK_RATE.search(out).group(1))
    errors = int(WRK_ERRORS.search(out).group(1)) if WRK_ERRORS.search(out) else 0
    return {"rate": rate, "p50": lat.get("50"), "p90": lat.get("90"), "p99": lat.get("99"),
            "errors": errors}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--fvce", required=True)
    ap.add_argument("--tasks", type=int, default=10_000)
    ap.add_argument("--duration", type=int, default=10)
    ap.add_argument("--connections", type=int, default=16)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--write", help="markdown file whose '## Web user port' section to replace")
    args = ap.parse_args()

    with H.Cluster(os.path.abspath(args.fvce), "fvce-bench-web") as c:
        # No per-user request limit: the benchmark is one user asking as fast as it can.
        http = {"rate": "0"}
        nodes = []
        for i, slots in enumerate((2, 2, 2)):
            deploy = c.write_deploy(register=H.FAST_REGISTER, http=http,
                                    services=H.execute_services(slots),
                                    name=f"deploy-b{i + 1}.xml")
            nodes.append(c.start(f"b{i + 1}", deploy, join=nodes[0] if nodes else None))
        c.wait_converged(nodes)
        owner, other = nodes[0], nodes[1]
        r = c.cli("user", "add", "alice", "--password-stdin", "--node", owner.address,
                  input="alice-password\n")
        assert r.code == 0, r.stderr
        H.wait_until(lambda: H.post(other.address, "/auth/login",
                                    f'<login xmlns="{H.NS}" user="alice" '
                                    f'password="alice-password"/>', auth=None).status == 200,
                     15, "alice's account at every member")
        r = H.request(owner.address, "POST", "/api/login",
                      json.dumps({"user": "alice", "password": "alice-password"}),
                      headers={"Content-Type": "application/json"}, auth=None)
        assert r.status == 200, r.text
        cookie = r.headers["set-cookie"].split(";")[0]
        token = c.token_of(c.login(owner, "alice", "alice-password"))
        rss_before = B.rss_mib(owner.pid)
        B.log(f"submitting {args.tasks} tasks")
        t0 = time.time()
        r = H.post(owner.address, "/submit/workflows", workflow(args.tasks), auth=token,
                   timeout=60)
        assert r.status == 201, r.text
        wf = r.xml().get("id")
        H.wait_workflow(owner.address, wf, 600, interval=0.5)
        B.log(f"workflow done in {time.time() - t0:.1f} s")
        rss_held = B.rss_mib(owner.pid)

        page = f"/api/workflow/tasks?id={wf}&offset={args.tasks // 2}&limit=100"
        check = H.request(owner.address, "GET", page, headers={"Cookie": cookie}, auth=None)
        assert check.status == 200, check.text
        assert len(json.loads(check.body)["tasks"]) == 100
        rows = []
        cases = [
            ("JSON task page, at the owner", owner, page, {"Cookie": cookie}),
            ("JSON task page, at another member", other, page, {"Cookie": cookie}),
            ("XML view (fvce CLI), at the owner", owner,
             f"/submit/view?workflow={wf}&offset={args.tasks // 2}&limit=100",
             {"Authorization": f"Bearer {token}"}),
            ("JSON workflow list, at the owner", owner, "/api/workflows?limit=100",
             {"Cookie": cookie}),
        ]
        for label, node, target, headers in cases:
            B.log(f"wrk: {label}")
            res = run_wrk(f"http://{node.address}{target}", headers, args.duration,
                          args.connections, args.threads)
            rows.append([label, f"{res['rate']:,.0f}", f"{res['p50']:.2f}", f"{res['p90']:.2f}",
                         f"{res['p99']:.2f}", str(res["errors"])])
        rss_after = B.rss_mib(owner.pid)

    head = ["request", "requests/s", "p50 ms", "p90 ms", "p99 ms", "non-2xx"]
    table = "\n".join(B.md_table([head] + rows))
    m = B.machine()
    where = (f"{m['nproc']} cores ({m['cpu']}), {m['mem_gib']:.0f} GiB, load {m['load']}, "
             f"{m['date']}")
    text = (f"{where}\n\n`wrk -t{args.threads} -c{args.connections} -d{args.duration}s` "
            f"against a page of 100 tasks (offset {args.tasks // 2}) of a finished workflow of "
            f"{args.tasks:,} tasks on a 3-node loopback federation, with a browser's session "
            f"cookie. Target: ≥ 2,000 requests/s, p99 < 50 ms. For scale: Portal 2.0 reported "
            f"50–70 requests/s for its job list.\n\n{table}\n\n"
            f"Memory of the owning node (RSS): {rss_before:.0f} MiB before the workflow, "
            f"{rss_held:.0f} MiB holding it, {rss_after:.0f} MiB after the load.\n\n"
            f"Rerun: `python3 bench/web/bench_api.py --fvce build/fvce`.\n")
    print(text)
    if args.write:
        B.write_section(args.write, "## Web user port: the task list under load", text)


if __name__ == "__main__":
    main()
