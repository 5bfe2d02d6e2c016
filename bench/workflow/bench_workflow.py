#!/usr/bin/env python3
"""Workflow benchmark: throughput, scheduling latency and memory of the submit/schedule/
execute path, on a loopback federation of real `fvce node` processes.

  throughput  N empty tasks (`true`, default N=2,000) as ONE array, submitted with
              `fvce submit --watch` to the first node of a 3-node federation (execute
              slots: the default, = cores), timed from the start of `fvce submit --watch`
              to its exit once the workflow is done (it long-polls the status, as a user
              following the workflow does), and from the first task's start to
              the last task's end (the task records of GET /submit/status). Beside it, in
              the same run, the same N commands through `xargs -P<cores>` and GNU
              `parallel -j<cores>` (one `true I` per index). Reported: tasks/s and the
              ratios fvce/xargs and fvce/parallel. Repeated with the schedule impls
              round-robin and local for comparison (--schedulers).
  latency     after the random-adaptive run, GET /metrics of the submitting node:
              fvce_schedule_latency_seconds{quantile="0.5"|"0.9"|"0.99"} (ready → a host
              accepted the task, over the last 20,000 tasks) and its _count.
  memory      a 10,000-task array (--memory-tasks) on a fresh federation: VmRSS and RssAnon
              of the submitting node sampled from /proc/PID/status every 100 ms from before
              the submit until the workflow is done; the max (and the idle value before).
  profile     for the random-adaptive run: CPU seconds (utime+stime) of every node over the
              run, the submitting node's HTTP requests by route, the executor's spawn time,
              so the dominating cost shows.

Usage:
  bench_workflow.py --fvce build/fvce [--tasks 2000] [--memory-tasks 10000] [--runs 1]
                    [--schedulers random-adaptive,round-robin,local]
                    [--doc docs/PERFORMANCE.md | --no-doc] [--json out.json]
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import re
import shlex
import shutil
import statistics
import subprocess
import tempfile
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(REPO, "tests", "integration"))
import fvce_harness as H  # noqa: E402

DISK = "random-adaptive, work root on disk"  # the run with --work-base ''
SECTION = "## Workflows (submit, schedule, execute, file)"
LAUNCHER = "fvce-exec"  # the execute service's launcher param (--launcher)
NICE = None  # the execute service's nice param (--nice); None: its default
CGROUPS = None  # the execute service's cgroups param (--cgroups); None: its default (auto)
TARGETS = {
    "vs_xargs": 0.5,      # fvce ≥ 50% of xargs' rate
    "vs_parallel": 2.0,   # fvce ≥ 2× GNU parallel's rate
    "rss_mb": 100.0,      # submitting node < 100 MB with 10,000 tasks
    "p50_ms": 1.0,        # scheduling latency p50 < 1 ms
    "p99_ms": 10.0,       # p99 < 10 ms
}


def log(msg: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def array_workflow(n: int, name: str) -> str:
    return (f'<workflow xmlns="urn:fvce:1" name="{name}">\n'
            f'  <array id="t" range="0..{n - 1}">\n'
            f'    <task id="t" cmd="true"/>\n'
            f'  </array>\n'
            f'</workflow>\n')


def chain_workflow(n: int, name: str) -> str:
    """n tasks `true`, each after the previous: never more than one ready task, so the
    scheduling latency is the scheduler's own cost, not a wait for a free slot."""
    lines = [f'<workflow xmlns="urn:fvce:1" name="{name}">']
    for i in range(n):
        after = f'<after task="c{i - 1}"/>' if i else ""
        lines.append(f'  <task id="c{i}" cmd="true">{after}</task>')
    lines.append("</workflow>")
    return "\n".join(lines) + "\n"


def cpu_seconds(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def proc_status(pid: int) -> dict:
    out = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            k, _, v = line.partition(":")
            if k in ("VmRSS", "RssAnon", "RssFile", "VmHWM"):
                out[k] = int(v.split()[0]) * 1024
    return out


class Sampler(threading.Thread):
    """Samples /proc/PID/status every `interval` seconds; keeps the max of each field."""

    def __init__(self, pid: int, interval: float = 0.1):
        super().__init__(daemon=True)
        self.pid, self.interval = pid, interval
        self.max: dict = {}
        self.samples = 0
        self._halt = threading.Event()

    def run(self):
        while not self._halt.is_set():
            try:
                for k, v in proc_status(self.pid).items():
                    self.max[k] = max(self.max.get(k, 0), v)
                self.samples += 1
            except OSError:
                pass
            self._halt.wait(self.interval)

    def stop(self):
        self._halt.set()
        self.join()


def start_cluster(c: H.Cluster, schedule: str, nodes: int):
    sched = None if schedule == "random-adaptive" else (schedule, {})
    # register={}: the default membership params (the fast test params suspect a busy
    # node after 200 ms, and a refuted suspicion makes the submitter run its tasks again).
    execute = {}
    if LAUNCHER != "fvce-exec":
        execute["launcher"] = LAUNCHER
    if NICE is not None:
        execute["nice"] = str(NICE)
    if CGROUPS is not None:
        execute["cgroups"] = CGROUPS
    execute = execute or None
    return H.start_federation(c, slots=[None] * nodes, schedule=sched, register={},
                              execute=execute)


def requests_by_route(m: dict) -> dict:
    out = {}
    for (name, labels), v in m.items():
        if name == "fvce_http_requests_total":
            d = dict(labels)
            key = d.get("route") or d.get("path") or str(labels)
            out[key] = out.get(key, 0) + v
    return out


def run_fvce(fvce: str, n: int, schedule: str, nodes: int, memory: bool = False,
             chain: bool = False) -> dict:
    """One workflow of n empty tasks on a fresh federation; returns the figures."""
    with H.Cluster(fvce, "fvce-bench-wf", log_level="info") as c:
        fed = start_cluster(c, schedule, nodes)
        sub = fed[0]
        text = chain_workflow(n, f"chain{n}") if chain else array_workflow(n, f"bench{n}")
        wf_path = H.write_file(c.tmp, "wf.xml", text)
        time.sleep(0.5)  # let the info services settle after start-up
        before = {x.name: cpu_seconds(x.pid) for x in fed}
        m0 = sub.metrics()
        m0_all = {x.name: x.metrics() for x in fed}
        idle = proc_status(sub.pid)
        sampler = Sampler(sub.pid) if memory else None
        if sampler:
            sampler.start()
        # What a user types to run a workflow and learn its end: `fvce submit --watch`
        # exits once the workflow has ended (it long-polls the status).
        wall0 = time.time()
        t0 = time.monotonic()
        r = H.submit(c, sub, wf_path, "--watch", timeout=900)
        t1 = time.monotonic()
        wf = r.stdout.strip()
        if r.code != 0 or not wf:
            raise RuntimeError(f"fvce submit --watch failed ({r.code}): {r.stderr}")
        st = H.workflow_status(sub.address, wf, timeout=60)
        if sampler:
            sampler.stop()
        after = {x.name: cpu_seconds(x.pid) for x in fed}
        m1 = sub.metrics()
        m1_all = {x.name: x.metrics() for x in fed}
        if st.state != "done":
            raise RuntimeError(f"workflow {wf} ended {st.state}: {st.summary}")
        starts = [int(t["started"]) for t in st.tasks.values() if "started" in t]
        ends = [int(t["finished"]) for t in st.tasks.values() if "finished" in t]
        per_host: dict = {}
        for t in st.tasks.values():
            per_host[t.get("host")] = per_host.get(t.get("host"), 0) + 1
        attempts = sorted({int(t["attempts"]) for t in st.tasks.values()})
        out = {
            "schedule": schedule, "tasks": n, "workflow": wf,
            # from the start of `fvce submit` to the node's record of the submission
            "submit_cli_s": int(st.summary["submitted"]) / 1000.0 - wall0,
            "submit_to_done_s": t1 - t0,
            "server_submitted_to_finished_s": (int(st.summary["finished"]) -
                                               int(st.summary["submitted"])) / 1000.0,
            "first_start_to_last_end_s": (max(ends) - min(starts)) / 1000.0,
            "per_host": per_host, "attempts": attempts,
            "cpu_s": {k: after[k] - before[k] for k in after},
            "idle_rss": idle,
        }
        out["rate"] = n / out["submit_to_done_s"]
        out["rate_run"] = n / out["first_start_to_last_end_s"]
        lat = {}
        for q in ("0.5", "0.9", "0.99"):
            lat[q] = m1.get(("fvce_schedule_latency_seconds", (("quantile", q),)))
        lat["count"] = m1.get(("fvce_schedule_latency_seconds_count", ()))
        out["latency"] = lat
        r0, r1 = requests_by_route(m0), requests_by_route(m1)
        out["requests"] = {k: r1[k] - r0.get(k, 0) for k in r1 if r1[k] - r0.get(k, 0) > 0}
        assigns: dict = {}
        for name in m1_all:
            for (metric, labels), v in m1_all[name].items():
                d = dict(labels)
                if metric == "fvce_http_requests_total" and d.get("route") == "/execute/tasks":
                    k = d.get("code", "?")
                    assigns[k] = assigns.get(k, 0) + v - m0_all[name].get((metric, labels), 0)
        out["assign_by_code"] = assigns
        # TLS handshakes (zero over the plain transport): since the nodes started, and during
        # the workflow alone, by side; with pooled connections a peer pair handshakes once per
        # direction, not per request.
        hs = {"total": {}, "workflow": {}}
        for name in m1_all:
            for (metric, labels), v in m1_all[name].items():
                if metric not in ("fvce_tls_handshakes_total", "fvce_tls_resumed_total"):
                    continue
                key = "/".join(f"{k}={val}" for k, val in labels)
                if metric == "fvce_tls_resumed_total":
                    key = "resumed/" + key
                hs["total"][key] = hs["total"].get(key, 0) + v
                hs["workflow"][key] = (hs["workflow"].get(key, 0) + v -
                                       m0_all[name].get((metric, labels), 0))
        out["tls_handshakes"] = hs
        out["spawns"] = (m1.get(("fvce_execute_spawns_total", ()), 0) -
                         m0.get(("fvce_execute_spawns_total", ()), 0))
        out["handovers"] = (m1.get(("fvce_execute_handovers_total", ()), 0) -
                            m0.get(("fvce_execute_handovers_total", ()), 0))
        out["spawn_s"] = (m1.get(("fvce_execute_spawn_seconds_total", ()), 0) -
                          m0.get(("fvce_execute_spawn_seconds_total", ()), 0))
        if sampler:
            out["memory_max"] = sampler.max
            out["memory_samples"] = sampler.samples
        db = os.path.join(sub.state_dir, "submit.db")
        out["submit_db_bytes"] = sum(os.path.getsize(p) for p in (db, db + "-wal")
                                     if os.path.exists(p))
        return out


def ab_args(doc: str):
    """The arguments of an A-against-B benchmark of the workflow (bench_tls.py,
    bench_cgroups.py): --fvce, --runs, --tasks, --nodes."""
    ap = argparse.ArgumentParser(description=doc.split("\n")[0])
    ap.add_argument("--fvce", default=os.environ.get("FVCE", os.path.join(REPO, "build", "fvce")))
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--tasks", type=int, default=2000)
    ap.add_argument("--nodes", type=int, default=3)
    return ap.parse_args()


def ab_runs(args, modes: tuple, apply) -> dict:
    """Runs run_fvce once per mode per run, alternating which mode goes first, with
    apply(mode) called before each; returns {mode: [result, ...]} and prints each rate."""
    out = {m: [] for m in modes}
    for i in range(args.runs):
        for mode in (modes if i % 2 == 0 else tuple(reversed(modes))):
            apply(mode)
            res = run_fvce(args.fvce, args.tasks, "random-adaptive", args.nodes)
            out[mode].append(res)
            print(f"run {i + 1} {mode:9s}: {res['rate']:7.1f} tasks/s "
                  f"(submit → done {res['submit_to_done_s']:.2f} s)", flush=True)
    return out


def ab_report(rates: dict, a: str, b: str, label) -> list:
    """Prints each mode's tasks/s (median, min, max), label(mode) naming it, and the b/a ratio
    run by run; returns the ratios."""
    ratio = [y / x for x, y in zip(rates[a], rates[b])]
    for k in (a, b):
        v = rates[k]
        print(f"  {label(k)} tasks/s  median {statistics.median(v):7.1f}  min {min(v):7.1f}  "
              f"max {max(v):7.1f}")
    print(f"  {label(b).strip()} / {label(a).strip()} pair by pair: median "
          f"{statistics.median(ratio):.3f}  min {min(ratio):.3f}  max {max(ratio):.3f}  "
          f"(fewer tasks/s: {(1 - statistics.median(ratio)) * 100:.1f} %)")
    return ratio


def run_baseline(tool: str, n: int, jobs: int) -> dict:
    seq = "\n".join(str(i) for i in range(n)) + "\n"
    if tool == "xargs":
        cmd = ["xargs", f"-P{jobs}", "-n1", "true"]
    else:
        cmd = ["parallel", "--will-cite", f"-j{jobs}", "true", "{}"]
    t0 = time.monotonic()
    p = subprocess.run(cmd, input=seq.encode(), capture_output=True)
    dt = time.monotonic() - t0
    if p.returncode != 0:
        raise RuntimeError(f"{tool} failed: {p.stderr.decode()[:300]}")
    return {"tool": tool, "cmd": " ".join(cmd), "s": dt, "rate": n / dt}


def machine() -> dict:
    cpu = "?"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    mem = 0
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("MemTotal"):
                mem = int(line.split()[1]) * 1024
    with open("/proc/loadavg") as f:
        load = " ".join(f.read().split()[:3])
    return {"nproc": os.cpu_count(), "cpu": cpu, "mem_gib": mem / 2**30, "load": load,
            "kernel": platform.release(), "python": platform.python_version(),
            "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")}


def md_table(rows: list[list[str]]) -> list[str]:
    n = max(len(r) for r in rows)
    rows = [list(r) + [""] * (n - len(r)) for r in rows]
    widths = [max(len(str(r[i])) for r in rows) for i in range(len(rows[0]))]
    out = ["| " + " | ".join(str(c).ljust(w) for c, w in zip(rows[0], widths)) + " |",
           "|" + "|".join("-" * (w + 2) for w in widths) + "|"]
    for r in rows[1:]:
        out.append("| " + " | ".join(str(c).ljust(w) for c, w in zip(r, widths)) + " |")
    return out


def med(xs):
    return statistics.median(xs) if xs else float("nan")


def report(res: dict) -> str:
    mc, n, runs = res["machine"], res["tasks"], res["runs"]
    fv = res["fvce"]  # schedule → list of runs
    xs, ps = res["xargs"], res["parallel"]
    scheds = list(fv)
    ra = fv.get("random-adaptive") or fv[scheds[0]]
    x_rate, p_rate = med([r["rate"] for r in xs]), med([r["rate"] for r in ps])
    lines = []
    lines.append(
        f"Measured {mc['date']} on {mc['nproc']} cores ({mc['cpu']}, {mc['mem_gib']:.0f} GiB "
        f"RAM, Linux {mc['kernel']}, Python {mc['python']}); load average before the runs "
        f"{mc['load']} (the machine is shared: other sessions build and test on it). "
        f"fvce 0.1.0 (build/fvce, Release), 3 nodes on 127.0.0.1 in one federation, each with "
        f"the default execute params (slots = cores = {mc['nproc']}, tasks at nice "
        f"{res.get('nice') if res.get('nice') is not None else 10}) and log level info; the "
        f"workflow is one `<array>` of {n} tasks `true` submitted to the first node. "
        f"The nodes' state directories and work roots are under {res.get('work_base', '/tmp')}"
        f"{' (tmpfs)' if str(res.get('work_base', '')).startswith('/dev/shm') else ''}; the "
        f"column '{DISK}' has them under {res.get('disk_base', '/tmp')} instead. "
        f"{runs} run(s), median shown.")
    lines.append("")
    lines.append("```")
    lines.append(res["command"])
    lines.append("```")
    lines.append("")
    lines.append(f"Throughput, {n} empty tasks (tasks/s; higher is better):")
    lines.append("")
    xa = res.get("xargs_all") or []
    xa_rate = med([r["rate"] for r in xa])
    nslots = mc["nproc"] * res.get("nodes", 3)
    head = ["", *[f"fvce {s}" for s in scheds], f"xargs -P{mc['nproc']}",
            f"parallel -j{mc['nproc']}", f"xargs -P{nslots}", "target"]
    rows = [head]

    def col(s, key):
        return med([r[key] for r in fv[s]])

    rows.append(["submit → done (s)", *[f"{col(s, 'submit_to_done_s'):.2f}" for s in scheds],
                 f"{med([r['s'] for r in xs]):.2f}", f"{med([r['s'] for r in ps]):.2f}",
                 f"{med([r['s'] for r in xa]):.2f}", ""])
    rows.append(["tasks/s (submit → done)", *[f"{col(s, 'rate'):.0f}" for s in scheds],
                 f"{x_rate:.0f}", f"{p_rate:.0f}", f"{xa_rate:.0f}", ""])
    rows.append(["first start → last end (s)",
                 *[f"{col(s, 'first_start_to_last_end_s'):.2f}" for s in scheds], "", "", "", ""])
    rows.append(["tasks/s (first start → last end)", *[f"{col(s, 'rate_run'):.0f}" for s in scheds],
                 "", "", ""])
    rows.append(["start of `fvce submit` → submission recorded (s)", *[f"{col(s, 'submit_cli_s'):.2f}" for s in scheds],
                 "", "", ""])
    rows.append([f"fvce / xargs -P{mc['nproc']}",
                 *[f"{col(s, 'rate') / x_rate:.2f}" for s in scheds], "", "", "",
                 f"≥ {TARGETS['vs_xargs']}"])
    rows.append([f"fvce / parallel -j{mc['nproc']}",
                 *[f"{col(s, 'rate') / p_rate:.2f}" for s in scheds], "", "", "",
                 f"≥ {TARGETS['vs_parallel']}"])
    rows.append([f"fvce / xargs -P{nslots}",
                 *[f"{col(s, 'rate') / xa_rate:.2f}" for s in scheds], "", "", "", ""])
    rows.append(["tasks per host (w1/w2/w3)",
                 *["/".join(str(fv[s][0]["per_host"].get(h, 0)) for h in ("w1", "w2", "w3"))
                   for s in scheds], "", "", "", ""])
    rows.append(["CPU s of the nodes (w1/w2/w3)",
                 *["/".join(f"{fv[s][0]['cpu_s'].get(h, 0):.1f}" for h in ("w1", "w2", "w3"))
                   for s in scheds], "", "", "", ""])
    lines += md_table(rows)
    lines.append("")

    lat = ra[0]["latency"]
    lines.append("Scheduling latency (`fvce_schedule_latency_seconds` of the submitting node after "
                 "the random-adaptive run): from the dispatcher taking up a ready task for which a "
                 "host has room, to that host accepting it — placement, load probes, recording the "
                 "placement, hand-over. The wait for a free slot is not in it (that is "
                 "`fvce_task_wait_seconds`):")
    lines.append("")
    rows = [["", *[f"run {i + 1}" for i in range(len(ra))], "target"]]
    for q, tgt in (("0.5", f"< {TARGETS['p50_ms']:g} ms"), ("0.9", ""),
                   ("0.99", f"< {TARGETS['p99_ms']:g} ms")):
        rows.append([f"p{float(q) * 100:g} (ms)",
                     *[f"{r['latency'][q] * 1000:.3f}" if r["latency"][q] is not None else "n/a"
                       for r in ra], tgt])
    rows.append(["count", *[f"{r['latency']['count']:.0f}" if r["latency"]["count"] else "n/a"
                            for r in ra], ""])
    lines += md_table(rows)
    lines.append("")
    lines.append(f"fvce runs {res.get('nodes', 3)} nodes × {mc['nproc']} slots = {nslots} task "
                 f"slots on {mc['nproc']} cores, hence the extra `xargs -P{nslots}` column "
                 "(the same concurrency as fvce).")
    lines.append("")
    if res.get("chain"):
        ch = res["chain"]
        lat = ch["latency"]
        lines.append(
            f"In the run above, the {nslots} slots spawn processes flat out on "
            f"{mc['nproc']} cores, so the dispatcher competes with the tasks for CPU. On a "
            f"machine that is not saturated the same path is faster: a "
            f"chain of {ch['tasks']} tasks `true`, each `<after>` the previous (one ready "
            f"task at a time; {ch['submit_to_done_s']:.2f} s submit → done, "
            f"{ch['submit_to_done_s'] / ch['tasks'] * 1000:.1f} ms per task end to end): "
            f"p50 {lat['0.5'] * 1000:.3f} ms, p90 {lat['0.9'] * 1000:.3f} ms, "
            f"p99 {lat['0.99'] * 1000:.3f} ms over {lat['count']:.0f} tasks.")
        lines.append("")

    if res.get("memory"):
        mm = res["memory"]
        mx, idle = mm["memory_max"], mm["idle_rss"]
        lines.append(f"Memory of the submitting node with one {mm['tasks']}-task array "
                     f"(/proc/PID/status every 100 ms, {mm['memory_samples']} samples, "
                     f"{mm['submit_to_done_s']:.1f} s submit → done, "
                     f"{mm['rate']:.0f} tasks/s):")
        lines.append("")
        rows = [["", "idle before", "max while it runs", "target"],
                ["VmRSS (MiB)", f"{idle['VmRSS'] / 2**20:.1f}", f"{mx['VmRSS'] / 2**20:.1f}",
                 "< 100 MB (95.4 MiB)"],
                ["RssAnon (MiB)", f"{idle['RssAnon'] / 2**20:.1f}", f"{mx['RssAnon'] / 2**20:.1f}",
                 ""],
                ["VmHWM (MiB)", f"{idle['VmHWM'] / 2**20:.1f}", f"{mx['VmHWM'] / 2**20:.1f}", ""],
                ["submit.db + WAL after (MiB)", "", f"{mm['submit_db_bytes'] / 2**20:.1f}", ""]]
        lines += md_table(rows)
        lines.append("")

    r = ra[0]
    lines.append(f"Where the time goes (random-adaptive run 1, {n} tasks): HTTP requests the "
                 f"submitting node served, by route; its executor spawned {r['spawns']:.0f} "
                 f"processes when asked ({r['spawn_s']:.2f} s in total from asking its launcher to "
                 f"start a task to the answer) and {r.get('handovers', 0):.0f} handed over to start "
                 f"behind the task before them (docs/execute.md).")
    lines.append("")
    rows = [["route", "requests", "per task"]]
    for k, v in sorted(r["requests"].items(), key=lambda kv: -kv[1]):
        rows.append([k, f"{v:.0f}", f"{v / n:.2f}"])
    lines += md_table(rows)
    lines.append("")
    rows = [["schedule", "POST /execute/tasks accepted (202)", "refused (503)",
             "refused per task"]]
    for s in scheds:
        a = fv[s][0].get("assign_by_code", {})
        rows.append([s, f"{a.get('202', 0):.0f}", f"{a.get('503', 0):.0f}",
                     f"{a.get('503', 0) / n:.1f}"])
    lines.append("Task assignments over the whole federation (every node's "
                 "`fvce_http_requests_total{route=\"/execute/tasks\"}`; tasks the submitting "
                 "node places on itself do not go through HTTP):")
    lines.append("")
    lines += md_table(rows)
    lines.append("")
    if res.get("analysis"):
        lines.append(res["analysis"])
        lines.append("")
    return "\n".join(lines)


def write_doc(path: str, body: str) -> None:
    text = open(path).read() if os.path.exists(path) else "# Performance\n\n"
    section = SECTION + "\n\n" + body.rstrip() + "\n"
    if SECTION in text:
        start = text.index(SECTION)
        m = re.compile(r"^## ", re.M).search(text, start + len(SECTION))
        end = m.start() if m else len(text)
        text = text[:start] + section + ("\n" + text[end:] if m else "")
    else:
        text = text.rstrip() + "\n\n" + section
    with open(path, "w") as f:
        f.write(text)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--fvce", default=os.environ.get("FVCE", os.path.join(REPO, "build", "fvce")))
    ap.add_argument("--tasks", type=int, default=2000)
    ap.add_argument("--memory-tasks", type=int, default=10000, help="0: skip the memory run")
    ap.add_argument("--chain-tasks", type=int, default=300,
                    help="tasks of the unsaturated latency run (a chain); 0: skip it")
    ap.add_argument("--runs", type=int, default=1)
    ap.add_argument("--nodes", type=int, default=3)
    ap.add_argument("--launcher", default="fvce-exec", choices=["fvce-exec", "direct"],
                    help="the execute service's launcher (direct: no fvce-exec, faster for "
                         "empty tasks, max RSS then includes the node's)")
    ap.add_argument("--nice", type=int, help="the execute service's nice param (default: its own)")
    ap.add_argument("--cgroups", choices=["auto", "required", "off"],
                    help="the execute service's cgroups param (default: its own, auto)")
    ap.add_argument("--work-base", default="/dev/shm" if os.path.isdir("/dev/shm") else None,
                    help="directory under which the nodes' state and work roots go (default "
                         "/dev/shm, a tmpfs, as a job scratch; '' for the system's temporary "
                         "directory)")
    ap.add_argument("--disk-runs", type=int, default=1,
                    help="runs of random-adaptive with the work roots in the system's temporary "
                         "directory instead of --work-base (an extra column)")
    ap.add_argument("--schedulers", default="random-adaptive,round-robin,local")
    ap.add_argument("--doc", default=os.path.join(REPO, "docs", "PERFORMANCE.md"))
    ap.add_argument("--no-doc", action="store_true")
    ap.add_argument("--json")
    ap.add_argument("--analysis-file", help="Markdown text appended to the section")
    ap.add_argument("--from-json", help="only print (and write) the report of an earlier --json")
    args = ap.parse_args()
    global LAUNCHER, NICE, CGROUPS
    LAUNCHER = args.launcher
    NICE = args.nice
    CGROUPS = args.cgroups
    disk_base = tempfile.gettempdir()
    if args.work_base:
        tempfile.tempdir = args.work_base
    if args.from_json:
        with open(args.from_json) as f:
            res = json.load(f)
        if args.analysis_file:
            res["analysis"] = open(args.analysis_file).read()
        text = report(res)
        print(text)
        if not args.no_doc:
            write_doc(args.doc, text)
            log(f"wrote the Workflows section of {args.doc}")
        return 0
    fvce = os.path.abspath(args.fvce)
    if not shutil.which("parallel"):
        log("GNU parallel is missing (scripts/setup.sh installs it)")
        return 2
    jobs = os.cpu_count() or 1
    res = {"machine": machine(), "tasks": args.tasks, "runs": args.runs, "nodes": args.nodes,
           "work_base": args.work_base or disk_base, "disk_base": disk_base, "nice": args.nice,
           "command": "python3 bench/workflow/bench_workflow.py --fvce build/fvce" +
           "".join(f" {a}" for a in sys.argv[1:] if not a.startswith("--fvce") and
                   a != fvce and a != args.fvce),
           "fvce": {}, "xargs": [], "parallel": []}
    scheds = [s for s in args.schedulers.split(",") if s]
    for run in range(args.runs):
        for key, tool, j in (("xargs", "xargs", jobs), ("parallel", "parallel", jobs),
                             ("xargs_all", "xargs", jobs * args.nodes)):
            b = run_baseline(tool, args.tasks, j)
            res.setdefault(key, []).append(b)
            log(f"run {run + 1}: {b['cmd']}: {b['s']:.2f} s, {b['rate']:.0f} tasks/s")
        runs_of = [(s, s) for s in scheds]
        if args.work_base and run < args.disk_runs:
            runs_of.append((DISK, "random-adaptive"))
        for key, s in runs_of:
            base = tempfile.tempdir
            if key == DISK:
                tempfile.tempdir = None  # the system's temporary directory
            try:
                r = run_fvce(fvce, args.tasks, s, args.nodes)
            finally:
                tempfile.tempdir = base
            res["fvce"].setdefault(key, []).append(r)
            s = key
            lat = r["latency"]
            log(f"run {run + 1}: fvce {s}: submit→done {r['submit_to_done_s']:.2f} s "
                f"({r['rate']:.0f} tasks/s), first start→last end "
                f"{r['first_start_to_last_end_s']:.2f} s ({r['rate_run']:.0f} tasks/s), "
                f"per host {r['per_host']}, cpu {r['cpu_s']}, latency "
                f"{ {k: v for k, v in lat.items()} }")
    if args.chain_tasks:
        r = run_fvce(fvce, args.chain_tasks, "random-adaptive", args.nodes, chain=True)
        res["chain"] = r
        log(f"chain: {args.chain_tasks} tasks, {r['submit_to_done_s']:.2f} s, "
            f"latency {r['latency']}")
    if args.memory_tasks:
        r = run_fvce(fvce, args.memory_tasks, "random-adaptive", args.nodes, memory=True)
        res["memory"] = r
        log(f"memory: {args.memory_tasks} tasks, max {r['memory_max']}, idle {r['idle_rss']}, "
            f"{r['submit_to_done_s']:.1f} s")
    if args.analysis_file:
        res["analysis"] = open(args.analysis_file).read()
    if args.json:
        with open(args.json, "w") as f:
            json.dump(res, f, indent=1, default=str)
    text = report(res)
    print(text)
    if not args.no_doc:
        write_doc(args.doc, text)
        log(f"wrote the Workflows section of {args.doc}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
