#!/usr/bin/env python3
"""Waiting for room: the submitting node's CPU while every host of the federation is full
and tasks wait for a slot.

Each run starts a fresh loopback federation of 2 `fvce node` processes, n1 and n2, with the
harness's deploy file and default params everywhere (no execute params: slots = auto = the
cores, 2 on a 2-core machine; the default membership params; the default schedule,
random-adaptive; info statgrab without calibration; log level info), state and work roots
under --work-base (/dev/shm). Then, for each variant in turn — cores="1", then cores="2"
(A B, A B, … over the runs):

  1. submit to n1 (`fvce submit`) one workflow: an `<array>` of --tasks (40) tasks
     `sleep --task-seconds` (3) with cores="C". With 2 × 2 slots, 4 (C=1) or 2 (C=2) of
     them run and the rest are ready, waiting for room;
  2. wait --settle (1 s);
  3. read GET /metrics of n1 and n2, then utime+stime of each node's PID
     (/proc/PID/stat; the node process only, not its launcher or tasks), wait --window
     (10 s), read the CPU times, then /metrics again;
  4. `fvce cancel WF --node n1` (the harness's cli), wait until the workflow says
     cancelled and neither node's executor has a task running, wait 1 s more.

Reported, per variant (median, min–max over the runs):
  - CPU of n1 and of n2 over the window, in % of one core: Δ(utime+stime) / window;
  - placement attempts: Δ fvce_submit_placements_total of n1 over the window (all series
    summed; "n/a" when the node does not export it), and per task placed in the window
    (Δ fvce_schedule_latency_seconds_count of n1: tasks a host accepted);
  - HTTP requests n1 and n2 served in the window: Δ fvce_http_requests_total, every
    route, method and code summed (GET /metrics excluded), also per second; the routes
    are listed for the last run;
  - the workflow's running/ready tasks at the start and end of the window (from n1's
    GET /submit/status?tasks=none, read outside the window), as a check that every host
    was full.
Target: under 2 % of one core, in both variants.

Usage:
  bench_wait.py --fvce build/fvce [--runs 3] [--tasks 40] [--task-seconds 3] [--settle 1]
                [--window 10] [--work-base /dev/shm]
                [--doc docs/PERFORMANCE.md | --no-doc] [--json out.json]
                [--from-json earlier.json]
"""

from __future__ import annotations

import argparse
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import benchlib as B  # noqa: E402

H = B.H
SECTION = "## Waiting for room (submitting node's CPU while every host is full)"
TARGET_CPU_PCT = 2.0
VARIANTS = (1, 2)
PLACEMENTS = "fvce_submit_placements_total"


def workflow(n: int, secs: str, cores: int, name: str) -> str:
    return (f'<workflow xmlns="urn:fvce:1" name="{name}">\n'
            f'  <array id="t" range="0..{n - 1}">\n'
            f'    <task id="t" cmd="sleep" args="{secs}" cores="{cores}"/>\n'
            f'  </array>\n'
            f'</workflow>\n')


def summary(node, wf: str) -> dict:
    return H.workflow_status(node.address, wf, tasks="none").summary


def executing(node) -> float:
    return node.metrics().get(("fvce_execute_running", ()), 0.0)


def measure(c, nodes, cores: int, args, run: int) -> dict:
    n1 = nodes[0]
    path = H.write_file(c.tmp, f"wait-c{cores}.xml",
                        workflow(args.tasks, args.task_seconds, cores, f"wait{args.tasks}c{cores}"))
    r = H.submit(c, n1, path, timeout=60)
    if r.code != 0:
        raise RuntimeError(f"fvce submit failed ({r.code}): {r.stderr}")
    wf = r.stdout.strip()
    time.sleep(args.settle)
    s0 = summary(n1, wf)
    m0 = {x.name: x.metrics() for x in nodes}
    c0 = {x.name: B.cpu_seconds(x.pid) for x in nodes}
    t0 = time.monotonic()
    time.sleep(args.window)
    c1 = {x.name: B.cpu_seconds(x.pid) for x in nodes}
    t1 = time.monotonic()
    m1 = {x.name: x.metrics() for x in nodes}
    s1 = summary(n1, wf)
    window = t1 - t0
    out = {"cores": cores, "run": run, "workflow": wf, "window_s": window,
           "load_before": args._load, "cpu_pct": {}, "requests": {}, "requests_by_route": {},
           "running_start": int(s0.get("running", 0)), "ready_start": int(s0.get("ready", 0)),
           "running_end": int(s1.get("running", 0)), "ready_end": int(s1.get("ready", 0)),
           "done_end": int(s1.get("done", 0)), "state_end": s1.get("state"),
           "executing_start": {x.name: m0[x.name].get(("fvce_execute_running", ()))
                               for x in nodes},
           "executing_end": {x.name: m1[x.name].get(("fvce_execute_running", ()))
                             for x in nodes}}
    for x in nodes:
        out["cpu_pct"][x.name] = (c1[x.name] - c0[x.name]) / window * 100.0
        out["requests"][x.name] = B.http_requests(m1[x.name]) - B.http_requests(m0[x.name])
        r0, r1 = B.requests_by_route(m0[x.name]), B.requests_by_route(m1[x.name])
        out["requests_by_route"][x.name] = {k: r1[k] - r0.get(k, 0) for k in r1
                                            if k != "/metrics" and r1[k] - r0.get(k, 0) > 0}
    p0, p1 = B.counter(m0[n1.name], PLACEMENTS), B.counter(m1[n1.name], PLACEMENTS)
    out["placements"] = p1 - p0 if p0 is not None and p1 is not None else None
    out["placements_series"] = {str(dict(k[1])): v - m0[n1.name].get(k, 0)
                                for k, v in m1[n1.name].items() if k[0] == PLACEMENTS}
    lat = ("fvce_schedule_latency_seconds_count", ())
    out["placed"] = m1[n1.name].get(lat, 0) - m0[n1.name].get(lat, 0)
    out["placements_per_placed"] = (out["placements"] / out["placed"]
                                    if out["placements"] is not None and out["placed"] else None)
    # cancel, and wait until nothing of it runs any more
    rc = c.cli("cancel", wf, "--node", n1.address, timeout=30)
    if rc.code != 0:
        raise RuntimeError(f"fvce cancel failed ({rc.code}): {rc.stderr}")
    H.wait_until(lambda: summary(n1, wf)["state"] != "running", 30, f"{wf} to end")
    H.wait_until(lambda: all(executing(x) == 0 for x in nodes), 30,
                 "the executors to have no task running")
    out["state_after_cancel"] = summary(n1, wf)["state"]
    time.sleep(1.0)
    return out


def describe(r: dict) -> str:
    p = r["placements"]
    return (f"cores={r['cores']}: cpu n1 {r['cpu_pct']['n1']:.2f} % n2 {r['cpu_pct']['n2']:.2f} %"
            f" of a core over {r['window_s']:.2f} s; requests n1 {r['requests']['n1']:.0f} "
            f"n2 {r['requests']['n2']:.0f}; placements {'n/a' if p is None else f'{p:.0f}'}, "
            f"placed {r['placed']:.0f}; running/ready {r['running_start']}/{r['ready_start']}"
            f" → {r['running_end']}/{r['ready_end']}; routes n1 {r['requests_by_route']['n1']}")


def report(res: dict) -> str:
    mc = res["machine"]
    runs = res["results"]
    by = {c: [r for r in runs if r["cores"] == c] for c in VARIANTS}
    w = res["window"]
    lines = [
        f"Measured {mc['date']} on {mc['nproc']} cores ({mc['cpu']}, {mc['mem_gib']:.0f} GiB "
        f"RAM, Linux {mc['kernel']}, Python {mc['python']}); load average before the runs "
        f"{mc['load']}, before each run {', '.join(res.get('load_per_run', []))} (from the "
        f"second run on, that includes this benchmark's own load; the machine is shared). "
        f"fvce ({res.get('fvce_path', 'fvce')}): 2 nodes n1, n2 on "
        f"127.0.0.1, default params (slots auto = cores = {mc['nproc']} each, default "
        f"membership, random-adaptive), log level info, state and work roots under "
        f"{res['work_base']}. One workflow at a time, submitted to n1: an `<array>` of "
        f"{res['tasks']} tasks `sleep {res['task_seconds']}` with cores=\"1\" or "
        f"cores=\"2\"; {res['settle']:g} s after the submit, CPU (utime+stime of "
        f"/proc/PID/stat, the node process alone) and /metrics counters over a "
        f"{w:g} s window; then `fvce cancel`. {res['runs']} run(s), each a fresh federation "
        f"running cores=1 then cores=2; median (min–max) over the runs.",
        "", "```", res["command"], "```", ""]
    rows = [["", *[f'cores="{c}"' for c in VARIANTS], "target"]]

    def col(c, f, spec=".2f"):
        return B.fmt_stats(B.stats([f(r) for r in by[c]]), spec)

    rows.append(["n1 (submitting) CPU, % of one core",
                 *[col(c, lambda r: r["cpu_pct"]["n1"]) for c in VARIANTS],
                 f"< {TARGET_CPU_PCT:g} %"])
    rows.append(["n2 CPU, % of one core", *[col(c, lambda r: r["cpu_pct"]["n2"])
                                            for c in VARIANTS], ""])
    has_p = any(r["placements"] is not None for r in runs)
    rows.append([f"n1 placement attempts in the window (`{PLACEMENTS}`)",
                 *[col(c, lambda r: r["placements"], ".0f") if has_p else "n/a"
                   for c in VARIANTS], ""])
    rows.append(["tasks placed in the window (Δ schedule latency _count)",
                 *[col(c, lambda r: r["placed"], ".0f") for c in VARIANTS], ""])
    rows.append(["placement attempts per task placed",
                 *[col(c, lambda r: r["placements_per_placed"], ".1f") if has_p else "n/a"
                   for c in VARIANTS], ""])
    rows.append(["HTTP requests served by n1 in the window",
                 *[col(c, lambda r: r["requests"]["n1"], ".0f") for c in VARIANTS], ""])
    rows.append(["HTTP requests served by n2 in the window",
                 *[col(c, lambda r: r["requests"]["n2"], ".0f") for c in VARIANTS], ""])
    rows.append(["requests/s, n1 / n2",
                 *[f"{B.stats([r['requests']['n1'] / r['window_s'] for r in by[c]])['median']:.1f}"
                   f" / {B.stats([r['requests']['n2'] / r['window_s'] for r in by[c]])['median']:.1f}"
                   for c in VARIANTS], ""])
    rows.append(["tasks running / ready at the window's start",
                 *[" · ".join(f"{r['running_start']}/{r['ready_start']}" for r in by[c])
                   for c in VARIANTS], ""])
    rows.append(["tasks running / ready at its end",
                 *[" · ".join(f"{r['running_end']}/{r['ready_end']}" for r in by[c])
                   for c in VARIANTS], ""])
    lines += B.md_table(rows)
    lines.append("")
    lines.append("Run by run:")
    lines.append("")
    rows = [["run", "cores", "load before", "n1 CPU %", "n2 CPU %", "placements", "placed",
             "n1 requests", "n2 requests"]]
    for r in runs:
        rows.append([str(r["run"]), str(r["cores"]), r.get("load_before", ""),
                     f"{r['cpu_pct']['n1']:.2f}", f"{r['cpu_pct']['n2']:.2f}",
                     "n/a" if r["placements"] is None else f"{r['placements']:.0f}",
                     f"{r['placed']:.0f}", f"{r['requests']['n1']:.0f}",
                     f"{r['requests']['n2']:.0f}"])
    lines += B.md_table(rows)
    lines.append("")
    last = {c: by[c][-1] for c in VARIANTS if by[c]}
    routes = sorted({k for r in last.values() for n in ("n1", "n2")
                     for k in r["requests_by_route"][n]})
    if routes:
        lines.append(f"Requests served in the window, by route (the last run, {w:g} s):")
        lines.append("")
        rows = [["route", *[f"{n}, cores={c}" for c in last for n in ("n1", "n2")]]]
        for k in routes:
            rows.append([k, *[f"{last[c]['requests_by_route'][n].get(k, 0):.0f}"
                              for c in last for n in ("n1", "n2")]])
        lines += B.md_table(rows)
        lines.append("")
    verdict = []
    for c in VARIANTS:
        s1 = B.stats([r["cpu_pct"]["n1"] for r in by[c]])
        s2 = B.stats([r["cpu_pct"]["n2"] for r in by[c]])
        verdict.append(f"cores={c}: n1 {s1['median']:.2f} % "
                       f"({'met' if s1['median'] < TARGET_CPU_PCT else 'MISSED'}), "
                       f"n2 {s2['median']:.2f} %")
    lines.append(f"Target: the submitting node under {TARGET_CPU_PCT:g} % of one core while "
                 f"every host is full, in both variants (medians) — " + "; ".join(verdict) + ".")
    lines.append("")
    if res.get("analysis"):
        lines.append(res["analysis"])
        lines.append("")
    return "\n".join(lines)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--fvce", default=os.environ.get("FVCE", os.path.join(B.REPO, "build",
                                                                          "fvce")))
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--tasks", type=int, default=40)
    ap.add_argument("--task-seconds", default="3", help="each task runs `sleep THIS`")
    ap.add_argument("--settle", type=float, default=1.0, help="seconds from the submit to "
                    "the window")
    ap.add_argument("--window", type=float, default=10.0, help="seconds measured")
    B.add_common_args(ap)
    args = ap.parse_args()
    work_base = B.use_work_base(args)
    res = B.earlier_results(args)
    if res is None:
        fvce = os.path.abspath(args.fvce)
        res = {"machine": B.machine(), "runs": args.runs, "tasks": args.tasks,
               "task_seconds": args.task_seconds, "settle": args.settle,
               "window": args.window, "work_base": work_base,
               "fvce_path": args.fvce, "command": B.command_line("bench_wait.py"),
               "load_per_run": [], "results": []}
        for run in range(1, args.runs + 1):
            args._load = B.loadavg()
            res["load_per_run"].append(args._load)
            with H.Cluster(fvce, "fvce-bench-wait", log_level="info") as c:
                nodes = H.start_federation(c, slots=[None, None], names=["n1", "n2"],
                                           register={})
                time.sleep(1.0)  # let the info services settle after start-up
                for cores in VARIANTS:
                    r = measure(c, nodes, cores, args, run)
                    res["results"].append(r)
                    B.log(f"run {run}/{args.runs}: {describe(r)}")
        res["load_after"] = B.loadavg()
    return B.finish(args, res, report, SECTION, measured=not args.from_json)


if __name__ == "__main__":
    sys.exit(main())
