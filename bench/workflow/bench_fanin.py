#!/usr/bin/env python3
"""Fan-in DAG: --tasks (200) short tasks `sleep --task-seconds` (0.05) and one task after all
of them, through fvce beside Dask distributed and xargs, interleaved run by run.

Each run does, in this order (fvce, Dask, xargs; then the next run):

  fvce   a fresh loopback federation of --nodes (3) `fvce node` processes, each with
         `slots` = --slots (2, passed explicitly), the default membership params and the
         default schedule (random-adaptive), log level info, state and work roots under
         --work-base (/dev/shm); after 0.5 s of settling, `fvce submit` to the first node
         of ONE workflow:
             <array id="t" range="0..N-1"> <task id="t" cmd="sleep" args="0.05"/> </array>
             <task id="fan" cmd="sleep" args="0.05"> <after task="t[*]"/> </task>
         makespan = the wall time of `fvce submit --watch`, which exits once the workflow
         has ended (it follows it with long-polling status calls, so it learns the end at
         once; the `before` build's --watch polls every 200 ms instead). Also reported:
         the start of `fvce submit` → the node's record of the submission (wall clocks of
         one machine), the server's own submitted → finished (the
         status summary's timestamps, ms), and the submitting node's scheduling latency
         (fvce_schedule_latency_seconds p50/p99). Federation start-up is not timed.
  Dask   a distributed LocalCluster(n_workers=--dask-workers (2),
         threads_per_worker=--dask-threads (3)) — processes, no dashboard — started
         afresh for each run and closed after it (start-up, until every worker has
         connected, is NOT timed); then N tasks client.submit(f, i, pure=False) each
         running subprocess.run(["sleep", "0.05"]), and one fan-in task submitted with
         the list of those N futures as its argument (so it depends on all of them) that
         runs subprocess.run(["sleep", "0.05"]) too; makespan = from the first submit to
         the fan-in's result.
  xargs  `xargs -P<slots total> -n1 sleep` fed N lines "0.05" on stdin, then one
         `sleep 0.05` (the fan-in) after it has exited; makespan = the wall time of both.

Ideal = total task time / slots = (N × 0.05 + 0.05) / (nodes × slots) = 1.675 s with the
defaults (every tool gets 6 slots; the sharper bound with whole waves, ceil(200/6) × 0.05 +
0.05 = 1.75 s, is also printed). Efficiency = ideal / makespan. Reported per tool:
makespan and efficiency, median, min and max over --runs (5), and fvce/Dask efficiency
computed pair by pair (run i's fvce over run i's Dask).

With --before PATH, a second fvce build (an earlier commit) runs first in every run (tool
"before"), so that before and after are measured on the same machine in the same run.

Usage:
  bench_fanin.py --fvce build/fvce [--runs 5] [--tasks 200] [--task-seconds 0.05]
                 [--nodes 3] [--slots 2] [--dask-workers 2] [--dask-threads 3]
                 [--tools fvce,dask,xargs] [--before OLD/fvce] [--work-base /dev/shm]
                 [--doc docs/PERFORMANCE.md | --no-doc] [--json out.json]
                 [--from-json earlier.json]
"""

from __future__ import annotations

import argparse
import math
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import benchlib as B  # noqa: E402

H = B.H
SECTION = "## Fan-in DAG (200 × sleep 0.05, then one task after all)"
TARGET_EFFICIENCY = 0.9
TOOLS = ("before", "fvce", "dask", "xargs")


def workflow(n: int, secs: str, name: str) -> str:
    return (f'<workflow xmlns="urn:fvce:1" name="{name}">\n'
            f'  <array id="t" range="0..{n - 1}">\n'
            f'    <task id="t" cmd="sleep" args="{secs}"/>\n'
            f'  </array>\n'
            f'  <task id="fan" cmd="sleep" args="{secs}">\n'
            f'    <after task="t[*]"/>\n'
            f'  </task>\n'
            f'</workflow>\n')


def dask_sleep(i, secs):  # a Dask task: one process `sleep SECS`
    subprocess.run(["sleep", secs], check=True)
    return i


def dask_fanin(results, secs):  # the fan-in: after every dask_sleep, one more sleep
    subprocess.run(["sleep", secs], check=True)
    return len(results)


def run_fvce(fvce: str, args, tool: str = "fvce") -> dict:
    with H.Cluster(fvce, "fvce-bench-fanin", log_level="info") as c:
        fed = H.start_federation(c, slots=[args.slots] * args.nodes, register={})
        sub = fed[0]
        path = H.write_file(c.tmp, "fanin.xml",
                            workflow(args.tasks, args.task_seconds, f"fanin{args.tasks}"))
        time.sleep(0.5)  # let the info services settle after start-up
        # What a user types to run a workflow and learn its end: `fvce submit --watch`
        # exits when the workflow has ended (0 when it is done).
        wall0 = time.time()
        t0 = time.monotonic()
        r = H.submit(c, sub, path, "--watch", timeout=600)
        t1 = time.monotonic()
        wf = r.stdout.strip()
        if r.code != 0 or not wf:
            raise RuntimeError(f"fvce submit --watch failed ({r.code}): {r.stderr}")
        st = H.wait_workflow(sub.address, wf, timeout=60, interval=0.02)
        if st.state != "done":
            raise RuntimeError(f"workflow {wf} ended {st.state}: {st.summary}")
        m = sub.metrics()
        fan = st.tasks.get("fan", {})
        others = [t for k, t in st.tasks.items() if k != "fan"]
        per_host: dict = {}
        for t in st.tasks.values():
            per_host[t.get("host")] = per_host.get(t.get("host"), 0) + 1
        last_end = max(int(t["finished"]) for t in others if "finished" in t)
        out = {"tool": tool, "workflow": wf, "makespan_s": t1 - t0,
               # from the start of `fvce submit` to the node's record of the submission
               "submit_cli_s": int(st.summary["submitted"]) / 1000 - wall0,
               "server_s": (int(st.summary["finished"]) - int(st.summary["submitted"])) / 1000,
               "first_start_to_last_end_s": (max(int(t["finished"]) for t in st.tasks.values())
                                             - min(int(t["started"]) for t in st.tasks.values()
                                                   if "started" in t)) / 1000,
               "array_end_to_fan_start_s": ((int(fan["started"]) - last_end) / 1000
                                            if "started" in fan else None),
               "per_host": per_host,
               "p50": m.get(("fvce_schedule_latency_seconds", (("quantile", "0.5"),))),
               "p99": m.get(("fvce_schedule_latency_seconds", (("quantile", "0.99"),))),
               "attempts": sorted({int(t["attempts"]) for t in st.tasks.values()})}
        return out


def run_dask(args) -> dict:
    with B.DaskCluster(args.dask_workers, args.dask_threads, processes=True) as d:
        secs = args.task_seconds
        t0 = time.monotonic()
        futures = [d.client.submit(dask_sleep, i, secs, pure=False) for i in range(args.tasks)]
        fan = d.client.submit(dask_fanin, futures, secs, pure=False)
        got = fan.result()
        dt = time.monotonic() - t0
        if got != args.tasks:
            raise RuntimeError(f"Dask's fan-in saw {got} results of {args.tasks}")
        return {"tool": "dask", "makespan_s": dt, "cluster_start_s": d.start_s}


def run_xargs(args) -> dict:
    jobs = args.nodes * args.slots
    cmd = ["xargs", f"-P{jobs}", "-n1", "sleep"]
    t0 = time.monotonic()
    p = subprocess.run(cmd, input=(f"{args.task_seconds}\n" * args.tasks).encode(),
                       capture_output=True)
    if p.returncode != 0:
        raise RuntimeError(f"xargs failed: {p.stderr.decode()[:300]}")
    subprocess.run(["sleep", args.task_seconds], check=True)
    dt = time.monotonic() - t0
    return {"tool": "xargs", "cmd": " ".join(cmd) + f" < {args.tasks} × {args.task_seconds}; "
            f"sleep {args.task_seconds}", "makespan_s": dt}


def label(t: str, res: dict) -> str:
    return {"fvce": f"fvce ({res['nodes']} nodes × {res['slots']} slots)",
            "before": f"fvce before ({res.get('before_commit') or res.get('before_path')})",
            "dask": f"Dask ({res['dask_workers']} procs × {res['dask_threads']} threads)",
            "xargs": f"xargs -P{res['nodes'] * res['slots']}"}[t]


def report(res: dict) -> str:
    mc = res["machine"]
    R = res["results"]
    tools = [t for t in TOOLS if R.get(t)]
    ideal = res["ideal_s"]
    mk = {t: [r["makespan_s"] for r in R[t]] for t in tools}
    eff = {t: [ideal / x for x in mk[t]] for t in tools}
    lines = [
        f"Measured {mc['date']} on {mc['nproc']} cores ({mc['cpu']}, {mc['mem_gib']:.0f} GiB "
        f"RAM, Linux {mc['kernel']}, Python {mc['python']}, Dask distributed "
        f"{res.get('dask_version', '?')}); load average before the runs {mc['load']}, before "
        f"each run {', '.join(res.get('load_per_run', []))} (from the second run on, that "
        f"includes this benchmark's own load; the machine is shared). "
        f"{res['runs']} run(s); each runs every tool once, back to back, in the order "
        f"{', '.join(tools)}. The DAG: {res['tasks']} tasks `sleep {res['task_seconds']}` "
        f"(an `<array>`) and one task `sleep {res['task_seconds']}` after all of them "
        f"(`<after task=\"t[*]\"/>`). fvce ({res.get('fvce_path', 'fvce')}"
        f"{'; before: ' + res['before_path'] if res.get('before_path') else ''}): "
        f"{res['nodes']} nodes on 127.0.0.1 with slots = {res['slots']} each, "
        f"random-adaptive, default membership, log level info, state and work roots under "
        f"{res['work_base']}, submitted to the first node; makespan: "
        f"the wall time of `fvce submit --watch`, which exits once the workflow has ended "
        f"(it long-polls the status; the before build's --watch polls every 200 ms). Dask: "
        f"LocalCluster(n_workers={res['dask_workers']}, threads_per_worker="
        f"{res['dask_threads']}) started for each run (not timed), the same DAG as "
        f"subprocesses, from the first submit to the fan-in's result. xargs: "
        f"`xargs -P{res['nodes'] * res['slots']}` of the {res['tasks']} sleeps, then the "
        f"fan-in sleep. Ideal = ({res['tasks']} × {res['task_seconds']} + "
        f"{res['task_seconds']}) s / {res['nodes'] * res['slots']} slots = {ideal:.3f} s "
        f"(with whole waves, {res['ideal_waves_s']:.3f} s); efficiency = ideal / makespan.",
        "", "```", res["command"], "```", ""]
    rows = [["", *[label(t, res) for t in tools], "target"]]
    for key in ("median", "min", "max"):
        rows.append([f"makespan (s), {key}", *[f"{B.stats(mk[t])[key]:.3f}" for t in tools],
                     ""])
    for key in ("median", "min", "max"):
        rows.append([f"efficiency, {key}", *[f"{B.stats(eff[t])[key]:.3f}" for t in tools],
                     f"≥ {TARGET_EFFICIENCY}" if key == "median" else ""])
    if "fvce" in tools:
        rows.append(["fvce / tool efficiency, pair by pair: median",
                     *["" if t == "fvce" else
                       f"{B.stats(B.pair_ratios(eff['fvce'], eff[t]))['median']:.2f}"
                       for t in tools], "> 1 vs Dask"])
        rows.append(["fvce / tool efficiency, pair by pair: min – max",
                     *["" if t == "fvce" else
                       "{min:.2f} – {max:.2f}".format(**B.stats(B.pair_ratios(eff["fvce"],
                                                                             eff[t])))
                       for t in tools], ""])
    lines += B.md_table(rows)
    lines.append("")
    fvces = [t for t in ("before", "fvce") if t in tools]
    if fvces:
        def st(t, key, spec=".3f", scale=1.0):
            return B.fmt_stats(B.stats([r[key] * scale if r.get(key) is not None else None
                                        for r in R[t]]), spec)

        lines.append("fvce, median (min–max) over the runs:")
        lines.append("")
        rows = [["", *[label(t, res) for t in fvces]]]
        for name, key, spec, scale in (
                ("`fvce submit --watch`: start → exit (s)", "makespan_s", ".3f", 1.0),
                ("server: submitted → finished (s)", "server_s", ".3f", 1.0),
                ("first task start → last task end (s)", "first_start_to_last_end_s", ".3f", 1.0),
                ("last array task's end → fan-in's start (s)", "array_end_to_fan_start_s", ".3f",
                 1.0),
                ("start of `fvce submit` → submission recorded (s)", "submit_cli_s", ".3f", 1.0),
                ("scheduling latency p50 (ms)", "p50", ".3f", 1000.0),
                ("scheduling latency p99 (ms)", "p99", ".3f", 1000.0)):
            rows.append([name, *[st(t, key, spec, scale) for t in fvces]])
        rows.append(["efficiency on the server's time (ideal / submitted → finished)",
                     *[B.fmt_stats(B.stats([ideal / r["server_s"] for r in R[t]
                                            if r["server_s"]]), ".3f") for t in fvces]])
        rows.append(["tasks per host (run 1)",
                     *["/".join(str(R[t][0]["per_host"].get(f"w{i + 1}", 0))
                                for i in range(res["nodes"])) for t in fvces]])
        lines += B.md_table(rows)
        lines.append("")
    lines.append("Run by run (makespan, s):")
    lines.append("")
    head = ["run", "load before", *[label(t, res) for t in tools]]
    if "fvce" in tools and "dask" in tools:
        head.append("fvce / Dask efficiency")
    rows = [head]
    for i in range(max(len(R[t]) for t in tools)):
        row = [str(i + 1), (res.get("load_per_run") or [""] * (i + 1))[i]]
        row += [f"{R[t][i]['makespan_s']:.3f}" if i < len(R[t]) else "" for t in tools]
        if "fvce" in tools and "dask" in tools:
            row.append(f"{eff['fvce'][i] / eff['dask'][i]:.2f}"
                       if i < len(eff["fvce"]) and i < len(eff["dask"]) else "")
        rows.append(row)
    lines += B.md_table(rows)
    lines.append("")
    if "fvce" in tools:
        e = B.stats(eff["fvce"])
        v = [f"fvce efficiency {e['median']:.3f} "
             f"({'met' if e['median'] >= TARGET_EFFICIENCY else 'MISSED'} ≥ {TARGET_EFFICIENCY})"]
        if "dask" in tools:
            pr = B.stats(B.pair_ratios(eff["fvce"], eff["dask"]))
            v.append(f"fvce / Dask {pr['median']:.2f} pair by pair, min {pr['min']:.2f}, max "
                     f"{pr['max']:.2f} ({'ahead' if pr['median'] > 1 else 'NOT ahead'})")
        if "before" in tools:
            v.append(f"before: efficiency {B.stats(eff['before'])['median']:.3f}")
        lines.append("Target: fvce efficiency ≥ 0.9 and ahead of Dask — " + "; ".join(v) + ".")
        lines.append("")
    if res.get("analysis"):
        lines.append(res["analysis"])
        lines.append("")
    return "\n".join(lines)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--fvce", default=os.environ.get("FVCE", os.path.join(B.REPO, "build",
                                                                          "fvce")))
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--tasks", type=int, default=200, help="tasks before the fan-in")
    ap.add_argument("--task-seconds", default="0.05", help="each task runs `sleep THIS`")
    ap.add_argument("--nodes", type=int, default=3)
    ap.add_argument("--slots", type=int, default=2, help="execute slots per node")
    ap.add_argument("--dask-workers", type=int, default=2)
    ap.add_argument("--dask-threads", type=int, default=3)
    B.add_common_args(ap, tools="fvce,dask,xargs")
    args = ap.parse_args()
    work_base = B.use_work_base(args)
    res = B.earlier_results(args)
    if res is None:
        tools = B.parse_tools(ap, args, TOOLS)
        d = float(args.task_seconds)
        slots = args.nodes * args.slots
        fvce = os.path.abspath(args.fvce)
        res = {"machine": B.machine(), "runs": args.runs, "tasks": args.tasks,
               "task_seconds": args.task_seconds, "nodes": args.nodes, "slots": args.slots,
               "dask_workers": args.dask_workers, "dask_threads": args.dask_threads,
               "ideal_s": (args.tasks * d + d) / slots,
               "ideal_waves_s": math.ceil(args.tasks / slots) * d + d,
               "work_base": work_base, "fvce_path": args.fvce,
               "before_path": args.before,
               "before_commit": B.build_commit(args.before) if args.before else None,
               "dask_version": B.dask_version() if "dask" in tools else None,
               "command": B.command_line("bench_fanin.py"), "tools": tools,
               "load_per_run": [], "results": {t: [] for t in tools}}
        if args.dask_workers * args.dask_threads != slots and "dask" in tools:
            B.log(f"note: Dask has {args.dask_workers * args.dask_threads} threads, fvce "
                  f"{slots} slots")
        run_of = {"fvce": lambda: run_fvce(fvce, args),
                  "before": lambda: run_fvce(os.path.abspath(args.before), args, "before"),
                  "dask": lambda: run_dask(args),
                  "xargs": lambda: run_xargs(args)}
        for run in range(args.runs):
            res["load_per_run"].append(B.loadavg())
            for t in tools:
                r = run_of[t]()
                r["load_before"] = res["load_per_run"][-1]
                res["results"][t].append(r)
                extra = ""
                if t in ("fvce", "before"):
                    gap = r["array_end_to_fan_start_s"]
                    extra = (f", server {r['server_s']:.3f} s, array end → fan start "
                             f"{'n/a' if gap is None else f'{gap:.3f} s'}, "
                             f"per host {r['per_host']}")
                elif t == "dask":
                    extra = f" (cluster start {r['cluster_start_s']:.2f} s, not timed)"
                B.log(f"run {run + 1}/{args.runs}: {t}: makespan {r['makespan_s']:.3f} s, "
                      f"efficiency {res['ideal_s'] / r['makespan_s']:.3f}{extra}")
        res["load_after"] = B.loadavg()
    return B.finish(args, res, report, SECTION, measured=not args.from_json)


if __name__ == "__main__":
    sys.exit(main())
