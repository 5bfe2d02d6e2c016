#!/usr/bin/env python3
"""Throughput, interleaved: N empty tasks through fvce beside xargs, GNU parallel and Dask,
run by run in the same process, so that every tool sees the same machine load.

Each run does, in this order (run 1: fvce, xargs, parallel, Dask; run 2: fvce, xargs, ...):

  fvce      a fresh loopback federation of --nodes (3) `fvce node` processes, each with the
            default execute params (slots = cores, the fvce-exec launcher), the default
            membership params and the default schedule (random-adaptive); after 0.5 s of
            settling, ONE workflow of N tasks `true` (an `<array>`, default N = 2,000) is
            submitted with `fvce submit --watch` to the first node. Timed: from its
            start to its exit, which comes once the workflow is done (it long-polls
            GET /submit/status, as a user following the workflow does): "submit → done".
            tasks/s = N / that. After it, the submitting node's
            GET /metrics gives fvce_schedule_latency_seconds{quantile="0.5"|"0.99"} (ready
            task taken up → a host accepted it) and its _count. Federation start-up is not
            timed. (bench_workflow.run_fvce does the run.)
  xargs     `xargs -P<jobs> -n1 true` fed the N indices on stdin (N processes `true I`),
            wall time of the whole command; jobs = --jobs (default: the cores, 2 here).
  parallel  `parallel --will-cite -j<jobs> true {}`, the same input, wall time.
  Dask      a distributed LocalCluster(n_workers=<jobs>, threads_per_worker=1,
            processes=True), no dashboard, started afresh for each run and closed after it
            (its start-up, until every worker has connected, is NOT timed); then
            client.map of N tasks each doing subprocess.run(["true"]) (pure=False), timed
            from the first submit (the client.map call) to the last result
            (client.gather returned).

With --before PATH, a second fvce build (say, of an earlier commit) runs too, first in every
run (tool "before", the same federation and workflow), so that before and after are measured
on the same machine in the same run.

Reported per tool: tasks/s, median, min and max over the runs; fvce/xargs (and
fvce/parallel, fvce/Dask) computed pair by pair — run i's fvce rate over run i's xargs rate
— and summarised as median, min, max; fvce's scheduling latency p50/p99 and submit → done
(median, min–max). The load average is read before the first run and before each run.

Usage:
  bench_throughput.py --fvce build/fvce [--runs 5] [--tasks 2000] [--nodes 3] [--jobs 2]
                      [--tools fvce,xargs,parallel,dask] [--before OLD/fvce]
                      [--work-base /dev/shm]
                      [--doc docs/PERFORMANCE.md | --no-doc] [--json out.json]
                      [--from-json earlier.json]
The figures of record use --runs 25.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import benchlib as B  # noqa: E402

SECTION = "## Throughput, interleaved (fvce, xargs, parallel, Dask)"
TARGET_VS_XARGS = 0.8
TOOLS = ("before", "fvce", "xargs", "parallel", "dask")


def dask_true(i):  # a Dask task: one process `true`
    subprocess.run(["true"], check=True)
    return i


def run_dask(n: int, workers: int) -> dict:
    with B.DaskCluster(workers, 1, processes=True) as d:
        t0 = time.monotonic()
        futures = d.client.map(dask_true, range(n), pure=False)
        results = d.client.gather(futures)
        dt = time.monotonic() - t0
        if len(results) != n:
            raise RuntimeError(f"Dask returned {len(results)} results of {n}")
        return {"tool": "dask", "s": dt, "rate": n / dt, "cluster_start_s": d.start_s}


def run_one(tool: str, fvce: str, args) -> dict:
    if tool in ("fvce", "before"):
        path = fvce if tool == "fvce" else os.path.abspath(args.before)
        r = B.W.run_fvce(path, args.tasks, "random-adaptive", args.nodes)
        lat = r["latency"]
        return {"tool": tool, "s": r["submit_to_done_s"], "rate": r["rate"],
                "p50": lat.get("0.5"), "p90": lat.get("0.9"), "p99": lat.get("0.99"),
                "latency_count": lat.get("count"),
                "server_submitted_to_finished_s": r["server_submitted_to_finished_s"],
                "first_start_to_last_end_s": r["first_start_to_last_end_s"],
                "submit_cli_s": r["submit_cli_s"], "per_host": r["per_host"],
                "cpu_s": r["cpu_s"], "requests": r["requests"],
                "assign_by_code": r["assign_by_code"], "attempts": r["attempts"]}
    if tool in ("xargs", "parallel"):
        return B.W.run_baseline(tool, args.tasks, args.jobs)
    if tool == "dask":
        return run_dask(args.tasks, args.jobs)
    raise ValueError(tool)


def describe(tool: str, r: dict) -> str:
    s = f"{r['s']:.2f} s, {r['rate']:.0f} tasks/s"
    if tool in ("fvce", "before"):
        p50 = r.get("p50")
        p99 = r.get("p99")
        s += (f", latency p50 {p50 * 1000:.2f} ms p99 {p99 * 1000:.2f} ms"
              if p50 is not None and p99 is not None else ", latency n/a")
        s += f", per host {r['per_host']}"
    if tool == "dask":
        s += f" (cluster start {r['cluster_start_s']:.2f} s, not timed)"
    return s


def label(tool: str, res: dict) -> str:
    j = res["jobs"]
    return {"fvce": f"fvce ({res['nodes']} nodes)",
            "before": f"fvce before ({res.get('before_commit') or res.get('before_path')})",
            "xargs": f"xargs -P{j}",
            "parallel": f"parallel -j{j}",
            "dask": f"Dask ({j} procs × 1 thread)"}[tool]


def report(res: dict) -> str:
    mc, n = res["machine"], res["tasks"]
    tools = [t for t in TOOLS if res["results"].get(t)]
    R = res["results"]
    rate = {t: [r["rate"] for r in R[t]] for t in tools}
    lines = []
    lines.append(
        f"Measured {mc['date']} on {mc['nproc']} cores ({mc['cpu']}, {mc['mem_gib']:.0f} GiB "
        f"RAM, Linux {mc['kernel']}, Python {mc['python']}, Dask distributed "
        f"{res.get('dask_version', '?')}); load average before the runs {mc['load']}, "
        f"before each run {', '.join(res.get('load_per_run', [])) or 'n/a'} (from the "
        f"second run on, that includes this benchmark's own load; the machine is shared: "
        f"other sessions build and test on it). {res['runs']} run(s); each run "
        f"runs every tool once, back to back, in the order {', '.join(tools)}. "
        f"fvce ({res.get('fvce_path', 'fvce')}"
        f"{'; before: ' + res['before_path'] if res.get('before_path') else ''}): "
        f"{res['nodes']} nodes on 127.0.0.1 with "
        f"default execute params (slots = cores, fvce-exec), random-adaptive, log level "
        f"info, state and work roots under {res['work_base']}; one `<array>` of {n} tasks "
        f"`true` submitted to the first node with `fvce submit --watch`, timed from its start to "
        f"its exit once the workflow is done (it long-polls the status). xargs and parallel: wall time of {n} `true`. "
        f"Dask: LocalCluster(n_workers={res['jobs']}, threads_per_worker=1, "
        f"processes=True) started for each run (start-up not timed), {n} tasks "
        f"`subprocess.run([\"true\"])`, timed from the first submit to the last result.")
    lines.append("")
    lines.append("```")
    lines.append(res["command"])
    lines.append("```")
    lines.append("")
    lines.append(f"{n} empty tasks, tasks/s (higher is better) — median, min, max over the "
                 f"runs; ratios computed run by run (each run's fvce over the same run's "
                 f"other tool):")
    lines.append("")
    rows = [["", *[label(t, res) for t in tools]]]
    for key, name in (("median", "tasks/s, median"), ("min", "tasks/s, min"),
                      ("max", "tasks/s, max")):
        rows.append([name, *[f"{B.stats(rate[t])[key]:.0f}" for t in tools]])
    rows.append(["time (s), median (min–max)",
                 *[B.fmt_stats(B.stats([r["s"] for r in R[t]])) for t in tools]])
    if "fvce" in tools:
        rows.append(["fvce / tool, pair by pair: median",
                     *["" if t == "fvce" else
                       f"{B.stats(B.pair_ratios(rate['fvce'], rate[t]))['median']:.2f}"
                       for t in tools]])
        rows.append(["fvce / tool, pair by pair: min – max",
                     *["" if t == "fvce" else
                       "{min:.2f} – {max:.2f}".format(**B.stats(B.pair_ratios(rate['fvce'],
                                                                             rate[t])))
                       for t in tools]])
    lines += B.md_table(rows)
    lines.append("")
    fvces = [t for t in ("before", "fvce") if t in tools]
    if fvces:
        def col(t, key, spec=".2f", scale=1.0):
            return B.fmt_stats(B.stats([r[key] * scale if r.get(key) is not None else None
                                        for r in R[t]]), spec)

        lines.append("fvce, the submitting node (median (min–max) over the runs):")
        lines.append("")
        rows = [["", *[label(t, res) for t in fvces]]]
        for name, key, spec, scale in (
                ("submit → done (s)", "s", ".2f", 1.0),
                ("server: submitted → finished (s)", "server_submitted_to_finished_s", ".2f", 1.0),
                ("first task start → last task end (s)", "first_start_to_last_end_s", ".2f", 1.0),
                ("start of `fvce submit` → submission recorded (s)", "submit_cli_s", ".3f", 1.0),
                ("scheduling latency p50 (ms)", "p50", ".3f", 1000.0),
                ("scheduling latency p99 (ms)", "p99", ".3f", 1000.0),
                ("latency samples (_count)", "latency_count", ".0f", 1.0)):
            rows.append([name, *[col(t, key, spec, scale) for t in fvces]])
        lines += B.md_table(rows)
        lines.append("")
    lines.append("Run by run (tasks/s):")
    lines.append("")
    head = ["run", "load before", *[label(t, res) for t in tools]]
    if "fvce" in tools and "xargs" in tools:
        head.append(f"fvce / xargs -P{res['jobs']}")
    if "before" in tools and "xargs" in tools:
        head.append(f"before / xargs -P{res['jobs']}")
    rows = [head]
    nruns = max(len(R[t]) for t in tools)
    for i in range(nruns):
        row = [str(i + 1), (res.get("load_per_run") or [""] * nruns)[i]]
        for t in tools:
            row.append(f"{R[t][i]['rate']:.0f}" if i < len(R[t]) else "")
        for t in ("fvce", "before"):
            if t in tools and "xargs" in tools:
                row.append(f"{R[t][i]['rate'] / R['xargs'][i]['rate']:.2f}"
                           if i < len(R[t]) and i < len(R["xargs"]) else "")
        rows.append(row)
    lines += B.md_table(rows)
    lines.append("")
    if "fvce" in tools and "xargs" in tools:
        s = B.stats(B.pair_ratios(rate["fvce"], rate["xargs"]))
        ok = s["median"] >= TARGET_VS_XARGS
        lines.append(f"Target: fvce / xargs -P{res['jobs']} ≥ {TARGET_VS_XARGS} — "
                     f"{'met' if ok else 'MISSED'} (median of the {s['n']} pair(s) "
                     f"{s['median']:.2f}, min {s['min']:.2f}, max {s['max']:.2f})"
                     + (" — before: {median:.2f} ({min:.2f} – {max:.2f}).".format(
                         **B.stats(B.pair_ratios(rate["before"], rate["xargs"])))
                        if "before" in tools else "."))
        lines.append("")
    if res.get("analysis"):
        lines.append(res["analysis"])
        lines.append("")
    return "\n".join(lines)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--fvce", default=os.environ.get("FVCE", os.path.join(B.REPO, "build",
                                                                          "fvce")))
    ap.add_argument("--runs", type=int, default=5, help="runs of every tool (default 5; the "
                    "figures of record use 25)")
    ap.add_argument("--tasks", type=int, default=2000)
    ap.add_argument("--nodes", type=int, default=3)
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 1,
                    help="xargs -P, parallel -j and Dask's workers (default: the cores)")
    B.add_common_args(ap, tools="fvce,xargs,parallel,dask")
    args = ap.parse_args()
    work_base = B.use_work_base(args)
    res = B.earlier_results(args)
    if res is None:
        tools = B.parse_tools(ap, args, TOOLS)
        if "parallel" in tools and not shutil.which("parallel"):
            B.log("GNU parallel is missing (scripts/setup.sh installs it)")
            return 2
        fvce = os.path.abspath(args.fvce)
        res = {"machine": B.machine(), "tasks": args.tasks, "runs": args.runs,
               "nodes": args.nodes, "jobs": args.jobs, "work_base": work_base,
               "fvce_path": args.fvce, "before_path": args.before,
               "before_commit": B.build_commit(args.before) if args.before else None,
               "dask_version": B.dask_version(),
               "command": B.command_line("bench_throughput.py"), "tools": tools,
               "load_per_run": [], "results": {t: [] for t in tools}}
        for run in range(args.runs):
            res["load_per_run"].append(B.loadavg())
            for t in tools:
                r = run_one(t, fvce, args)
                r["load_before"] = res["load_per_run"][-1]
                res["results"][t].append(r)
                B.log(f"run {run + 1}/{args.runs}: {t}: {describe(t, r)}")
        res["load_after"] = B.loadavg()
    return B.finish(args, res, report, SECTION, measured=not args.from_json)


if __name__ == "__main__":
    sys.exit(main())
