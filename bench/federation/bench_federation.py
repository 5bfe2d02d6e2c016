#!/usr/bin/env python3
"""Federation benchmark: membership of N real `fvce node` processes on this machine.

For each N (default 10, 25, 50) and each run (default 3), with the DEFAULT deploy file
(deploy/deploy.xml: its register and info params; only --listen 127.0.0.1:0, --state-dir
and --name are given on the command line):

  bootstrap  N-1 nodes are started one after the other (each once the previous listens),
             each joining through a random earlier member; the time until all N-1 list
             all N-1 as alive is reported as "bootstrap" (it includes the staggering).
  (a) join   the N-th node joins through a random member of that converged federation:
             time until EVERY member lists all N as alive, measured from its spawn (this
             includes process start-up and the info service's 100 ms start-up
             calibration; the headline figure) and from the moment its address file
             appeared (a lower bound: the node writes the file just before its I/O loop
             runs the join, and the harness sees the file within ~20 ms).
  (c) steady after a few quiet seconds, every node's /metrics is scraped twice ~10 s apart:
             requests served per node per second (fvce_http_requests_total summed over
             routes, the benchmark's own /metrics scrapes excluded), also per route, and
             CPU per node (utime+stime from /proc/PID/stat).
  (d) memory at the same time: VmRSS and RssAnon (/proc/PID/status) and Pss
             (/proc/PID/smaps_rollup) of every node: median and max.
  (b) kill   one random node gets SIGKILL: time until every survivor has dropped it from
             GET /register/members.

Every member is polled over a kept-alive connection by a small thread pool, as fast as it
answers; a node's time is when its first answer showing the condition arrived.

Usage:
  bench_federation.py --fvce build/fvce [--sizes 10,25,50] [--runs 3] [--steady 10]
                      [--doc docs/PERFORMANCE.md | --no-doc] [--json out.json]
"""

from __future__ import annotations

import argparse
import concurrent.futures as cf
import datetime
import http.client
import json
import os
import platform
import random
import re
import shlex
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(REPO, "tests", "integration"))
import fvce_harness as H  # noqa: E402

TARGETS = {
    "converge": 3.0,  # 50 nodes converge in < 3 s
    "drop": 5.0,  # a killed node is dropped everywhere in < 5 s
    "ratio": 1.5,  # requests per node grow < 1.5x from 10 to 50 nodes
    "rss_mb": 20.0,  # idle RSS < 20 MB
}
CLK_TCK = os.sysconf("SC_CLK_TCK")


# --------------------------------------------------------------------------------------
# Polling many nodes quickly.


class Poller:
    """Kept-alive HTTP connections to every node, used from a thread pool."""

    def __init__(self, workers: int = 8):
        self.pool = cf.ThreadPoolExecutor(max_workers=workers)
        self.conns: dict[str, http.client.HTTPConnection] = {}

    def close(self):
        self.pool.shutdown(wait=True)
        for c in self.conns.values():
            c.close()

    def _get(self, address: str, path: str) -> bytes:
        for attempt in range(2):
            conn = self.conns.get(address)
            if conn is None:
                host, port = address.rsplit(":", 1)
                conn = self.conns[address] = http.client.HTTPConnection(host, int(port),
                                                                         timeout=5)
            try:
                # Signed as a member of the run's federation (docs/SECURITY.md).
                conn.request("GET", path, headers=H.auth_headers("member", "GET", path, None))
                r = conn.getresponse()
                body = r.read()
                if r.status != 200:
                    raise RuntimeError(f"{address}{path}: HTTP {r.status}")
                return body
            except (OSError, http.client.HTTPException):
                conn.close()
                self.conns.pop(address, None)
                if attempt == 1:
                    raise
        raise AssertionError("unreachable")

    def until_each(self, nodes, path: str, done, timeout: float) -> dict[str, float]:
        """Polls path on every node until done(body) holds for each; returns, per node name,
        the monotonic time of its first answer for which done() held (missing: timed out)."""
        pending = {n.name: n for n in nodes}
        first: dict[str, float] = {}
        deadline = time.monotonic() + timeout

        def one(node):
            try:
                body = self._get(node.address, path)
            except Exception:
                return node.name, None
            return node.name, (time.monotonic() if done(body) else None)

        while pending and time.monotonic() < deadline:
            for name, t in self.pool.map(one, list(pending.values())):
                if t is not None:
                    first[name] = t
                    pending.pop(name, None)
            time.sleep(0.005)
        return first

    def get_all(self, nodes, path: str) -> dict[str, tuple[float, bytes]]:
        def one(node):
            body = self._get(node.address, path)
            return node.name, (time.monotonic(), body)

        return dict(self.pool.map(one, nodes))


# --------------------------------------------------------------------------------------
# /proc readings.


def proc_memory(pid: int) -> dict[str, float]:
    out = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            k, _, v = line.partition(":")
            if k in ("VmRSS", "RssAnon", "RssFile", "Threads"):
                out[k] = float(v.split()[0]) / (1024 if k != "Threads" else 1)  # kB → MiB
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            for line in f:
                if line.startswith("Pss:"):
                    out["Pss"] = float(line.split()[1]) / 1024
    except OSError:
        pass
    return out


def proc_cpu_seconds(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK  # utime, stime


def served_by_route(metrics_text: str) -> dict[str, float]:
    out: dict[str, float] = {}
    for (name, labels), v in H.parse_metrics(metrics_text).items():
        if name != "fvce_http_requests_total":
            continue
        route = dict(labels).get("route", "?")
        out[route] = out.get(route, 0.0) + v
    return out


# --------------------------------------------------------------------------------------
# One run.


def count_alive(body: bytes) -> int:
    return body.count(b'state="alive"')


def signed_deploy(path: str, secret_file: str) -> str:
    """The deploy file as given, with the run's federation secret (plain transport on loopback:
    requests signed, docs/SECURITY.md) and, run as root, the account tasks would run as."""
    with open(path) as f:
        text = f.read()
    first = text.index("  <service")
    text = (text[:first] + f'  <security transport="plain" secret="{secret_file}"/>\n' +
            text[first:])
    if H.AS_ROOT and 'name="execute"' not in re.sub(r"<!--.*?-->", "", text, flags=re.S):
        text = text.replace("</deploy>", '  <service name="execute" impl="process"><param '
                            f'name="accounts" value="{H.ROOT_ACCOUNTS}"/></service>\n</deploy>')
    return text


def run_once(fvce: str, deploy: str, n: int, steady: float, rng: random.Random,
             log) -> dict:
    res: dict = {"n": n}
    with H.Cluster(fvce, f"fvce-bench-{n}", log_level="info") as c:
        deploy = c.write_deploy(raw=signed_deploy(deploy, c.secret_file), name="deploy.xml")
        poller = Poller(workers=8)
        try:
            nodes = []
            t_boot = time.monotonic()
            for i in range(1, n):
                join = rng.choice(nodes) if nodes else None
                nodes.append(c.start(f"b{i:02d}", deploy, join=join, ready_timeout=30))
            everyone = lambda k: (lambda body: count_alive(body) == k)  # noqa: E731
            first = poller.until_each(nodes, "/register/members", everyone(n - 1), 60)
            if len(first) < n - 1:
                raise RuntimeError(f"bootstrap of {n - 1} nodes did not converge in 60 s")
            res["bootstrap"] = max(first.values()) - t_boot
            log(f"  N={n}: {n - 1} nodes up and converged {res['bootstrap']:.1f}s after the "
                "first spawn")
            time.sleep(2.0)  # let the joins' news and syncs die down

            # (a) the last join.
            t_spawn = time.monotonic()
            last = c.start(f"b{n:02d}", deploy, join=rng.choice(nodes), ready_timeout=30)
            t_ready = time.monotonic()
            nodes.append(last)
            first = poller.until_each(nodes, "/register/members", everyone(n), 30)
            if len(first) < n:
                res["converge_missing"] = n - len(first)
                res["converge"] = float("inf")
            else:
                res["converge"] = max(first.values()) - t_ready
                res["converge_spawn"] = max(first.values()) - t_spawn
                res["startup"] = t_ready - t_spawn
            log(f"  N={n}: last join converged {res['converge']:.3f}s after it listened "
                f"({res.get('converge_spawn', float('inf')):.3f}s after spawn)")

            # (c) steady state, (d) memory.
            time.sleep(3.0)
            m1 = poller.get_all(nodes, "/metrics")
            cpu1 = {nd.name: proc_cpu_seconds(nd.pid) for nd in nodes}
            w1 = time.monotonic()
            time.sleep(steady)
            m2 = poller.get_all(nodes, "/metrics")
            cpu2 = {nd.name: proc_cpu_seconds(nd.pid) for nd in nodes}
            w2 = time.monotonic()
            per_node, per_route = [], {}
            for nd in nodes:
                (t1, b1), (t2, b2) = m1[nd.name], m2[nd.name]
                r1, r2 = served_by_route(b1.decode()), served_by_route(b2.decode())
                total = 0.0
                for route in set(r2) | set(r1):
                    if route == "/metrics":
                        continue  # the benchmark's own scrapes
                    rate = (r2.get(route, 0) - r1.get(route, 0)) / (t2 - t1)
                    per_route[route] = per_route.get(route, 0.0) + rate / n
                    total += rate
                per_node.append(total)
            res["rps_node_mean"] = statistics.mean(per_node)
            res["rps_node_max"] = max(per_node)
            res["rps_routes"] = {k: v for k, v in sorted(per_route.items()) if v > 0}
            cpu = [(cpu2[k] - cpu1[k]) / (w2 - w1) * 100 for k in cpu1]
            res["cpu_pct_node_mean"] = statistics.mean(cpu)
            res["cpu_pct_total"] = sum(cpu)
            mem = [proc_memory(nd.pid) for nd in nodes]
            for key in ("VmRSS", "RssAnon", "RssFile", "Pss"):
                vals = [m[key] for m in mem if key in m]
                res[key] = {"median": statistics.median(vals), "max": max(vals)}
            res["threads"] = statistics.median(m.get("Threads", 0) for m in mem)
            log(f"  N={n}: {res['rps_node_mean']:.2f} req/s/node "
                f"({', '.join(f'{k} {v:.2f}' for k, v in res['rps_routes'].items())}); "
                f"CPU {res['cpu_pct_node_mean']:.2f}%/node; VmRSS median "
                f"{res['VmRSS']['median']:.1f} MiB, max {res['VmRSS']['max']:.1f}; RssAnon "
                f"{res['RssAnon']['median']:.1f}; Pss {res['Pss']['median']:.1f}")

            # (b) kill -9 one node.
            victim = rng.choice(nodes)
            victim_id = victim.node_id().encode()
            survivors = [nd for nd in nodes if nd is not victim]
            victim.kill()
            t_kill = time.monotonic()
            first = poller.until_each(survivors, "/register/members",
                                      lambda body: victim_id not in body, 30)
            if len(first) < len(survivors):
                res["drop_missing"] = len(survivors) - len(first)
                res["drop"] = float("inf")
            else:
                res["drop"] = max(first.values()) - t_kill
                res["drop_first"] = min(first.values()) - t_kill
            log(f"  N={n}: killed node dropped by the first survivor after "
                f"{res.get('drop_first', float('inf')):.2f}s, by all after {res['drop']:.2f}s")
        finally:
            poller.close()
    return res


# --------------------------------------------------------------------------------------
# Report.


def machine() -> dict:
    cpu = "?"
    try:
        with open("/proc/cpuinfo") as f:
            m = re.search(r"^model name\s*:\s*(.*)$", f.read(), re.M)
            cpu = m.group(1) if m else cpu
    except OSError:
        pass
    mem = ""
    try:
        with open("/proc/meminfo") as f:
            kb = int(f.readline().split()[1])
            mem = f"{kb / 1024 / 1024:.0f} GiB"
    except OSError:
        pass
    return {"nproc": os.cpu_count(), "cpu": cpu, "memory": mem,
            "kernel": platform.release(), "python": platform.python_version(),
            "loadavg": open("/proc/loadavg").read().split()[:3]}


def med_max(vals, fmt="{:.2f}"):
    vals = [v for v in vals if v is not None]
    if not vals:
        return "-"
    if any(v == float("inf") for v in vals):
        finite = [v for v in vals if v != float("inf")]
        return (fmt.format(statistics.median(finite)) if finite else "∞") + " / ∞ (timeout)"
    return f"{fmt.format(statistics.median(vals))} / {fmt.format(max(vals))}"


def render(results: dict[int, list[dict]], info: dict, command: str, runs: int) -> str:
    sizes = sorted(results)
    L = []
    L.append(f"Measured {info['date']} on {info['machine']['nproc']} cores "
             f"({info['machine']['cpu']}, {info['machine']['memory']} RAM, Linux "
             f"{info['machine']['kernel']}, Python {info['machine']['python']}); load average "
             f"before the runs {' '.join(info['machine']['loadavg'])} (the machine is shared). "
             f"{info['version']}, deploy/deploy.xml as shipped (probe-interval 1s, "
             "probes-per-round 3, probe-timeout 500ms, suspect-after 1, remove-after 3, "
             "suspect-timeout 4s, sync-interval 10s; info statgrab, sample-interval 5s), "
             f"{runs} run(s) per size, every node on 127.0.0.1.")
    L.append("")
    L.append("```")
    L.append(command)
    L.append("```")
    L.append("")
    L.append("Median / max over the runs (memory: over every node of every run).")
    L.append("")
    head = ["", *[f"N={n}" for n in sizes], "target"]
    rows = [
        ["(a) last join: spawn → every member lists N (s)",
         *[med_max([r.get("converge_spawn", r["converge"]) for r in results[n]], "{:.3f}")
           for n in sizes],
         f"< {TARGETS['converge']:.0f} s at N=50"],
        ["(a) same, from its address file (s)",
         *[med_max([r["converge"] for r in results[n]], "{:.3f}") for n in sizes], ""],
        ["bootstrap: N-1 staggered joins → converged (s)",
         *[med_max([r["bootstrap"] for r in results[n]], "{:.1f}") for n in sizes], ""],
        ["(b) kill -9 → dropped by every survivor (s)",
         *[med_max([r["drop"] for r in results[n]]) for n in sizes],
         f"< {TARGETS['drop']:.0f} s"],
        ["(b) kill -9 → dropped by the first survivor (s)",
         *[med_max([r.get("drop_first") for r in results[n]]) for n in sizes], ""],
        ["(c) requests served per node per second",
         *[med_max([r["rps_node_mean"] for r in results[n]]) for n in sizes],
         f"N=50/N=10 < {TARGETS['ratio']}"],
        ["(c) CPU per node, steady (% of one core)",
         *[med_max([r["cpu_pct_node_mean"] for r in results[n]]) for n in sizes], ""],
    ]
    for key, label in (("VmRSS", "VmRSS"), ("RssAnon", "RssAnon"), ("RssFile", "RssFile"),
                       ("Pss", "PSS")):
        row = [f"(d) idle {label} per node (MiB)"]
        for n in sizes:
            meds = [r[key]["median"] for r in results[n]]
            maxs = [r[key]["max"] for r in results[n]]
            row.append(f"{statistics.median(meds):.1f} / {max(maxs):.1f}")
        row.append(f"< {TARGETS['rss_mb']:.0f} MB (= 19.07 MiB)" if key == "VmRSS" else "")
        rows.append(row)
    L += table([head, *rows])
    L.append("")
    routes = sorted({k for n in sizes for r in results[n] for k in r["rps_routes"]})
    L.append("Requests served per node per second, by route (median over the runs):")
    L.append("")
    rr = [["route", *[f"N={n}" for n in sizes]]]
    for route in routes:
        rr.append([route, *[f"{statistics.median(r['rps_routes'].get(route, 0) for r in results[n]):.3f}"
                            for n in sizes]])
    L += table(rr)
    L.append("")
    big = max(sizes)
    worst = lambda key: max(r[key] for n in sizes for r in results[n])  # noqa: E731
    verdicts = []
    conv = max(r.get("converge_spawn", r["converge"]) for r in results[big])
    verdicts.append(f"- converge at N={big}: max {conv:.3f} s — "
                    f"{'met' if conv < TARGETS['converge'] else 'MISSED'} (< {TARGETS['converge']:.0f} s)")
    drop = worst("drop")
    verdicts.append(f"- killed node dropped everywhere: max {drop:.2f} s over all sizes — "
                    f"{'met' if drop < TARGETS['drop'] else 'MISSED'} (< {TARGETS['drop']:.0f} s)")
    if 10 in results and 50 in results:
        ratio = (statistics.median(r["rps_node_mean"] for r in results[50]) /
                 statistics.median(r["rps_node_mean"] for r in results[10]))
        verdicts.append(f"- requests per node, N=50 / N=10: {ratio:.2f}× — "
                        f"{'met' if ratio < TARGETS['ratio'] else 'MISSED'} (< {TARGETS['ratio']}×)")
    rss = max(r["VmRSS"]["max"] for n in sizes for r in results[n])
    rss_mb = rss * 1.048576
    verdicts.append(f"- idle VmRSS: max {rss:.1f} MiB = {rss_mb:.1f} MB — "
                    f"{'met' if rss_mb < TARGETS['rss_mb'] else 'MISSED'} if MB means 10^6 bytes, "
                    f"{'met' if rss < TARGETS['rss_mb'] else 'MISSED'} if it means MiB (< {TARGETS['rss_mb']:.0f}); "
                    f"PSS max {max(r['Pss']['max'] for n in sizes for r in results[n]):.1f} MiB")
    L.append("Against the targets:")
    L.append("")
    L += verdicts
    L.append("")
    return "\n".join(L)


def table(rows):
    widths = [max(len(str(r[i])) for r in rows) for i in range(len(rows[0]))]
    out = ["| " + " | ".join(str(c).ljust(w) for c, w in zip(rows[0], widths)) + " |",
           "|" + "|".join("-" * (w + 2) for w in widths) + "|"]
    for r in rows[1:]:
        out.append("| " + " | ".join(str(c).ljust(w) for c, w in zip(r, widths)) + " |")
    return out


def write_doc(path: str, body: str) -> None:
    heading = "## Federation (register + info)"
    text = open(path).read() if os.path.exists(path) else "# Performance\n\n"
    section = heading + "\n\n" + body.rstrip() + "\n"
    if heading in text:
        start = text.index(heading)
        m = re.compile(r"^## ", re.M).search(text, start + len(heading))
        end = m.start() if m else len(text)
        text = text[:start] + section + ("\n" + text[end:] if m else "")
    else:
        text = text.rstrip() + "\n\n" + section
    with open(path, "w") as f:
        f.write(text)


# --------------------------------------------------------------------------------------


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--fvce", default=os.path.join(REPO, "build", "fvce"))
    ap.add_argument("--deploy", default=os.path.join(REPO, "deploy", "deploy.xml"))
    ap.add_argument("--sizes", default="10,25,50")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--steady", type=float, default=10.0, help="seconds of the steady window")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--doc", default=os.path.join(REPO, "docs", "PERFORMANCE.md"),
                    help="Markdown file whose Federation section receives the table")
    ap.add_argument("--no-doc", action="store_true", help="print only")
    ap.add_argument("--notes", default="", help="a paragraph to add under the tables")
    ap.add_argument("--json", help="also write the raw results here")
    args = ap.parse_args()

    command = "python3 bench/federation/bench_federation.py " + " ".join(
        shlex.quote(a) for a in sys.argv[1:])
    sizes = [int(s) for s in args.sizes.split(",")]
    rng = random.Random(args.seed)
    version = subprocess.run([args.fvce, "--version"], capture_output=True,
                             text=True).stdout.strip()
    info = {"date": datetime.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z"),
            "machine": machine(), "version": version}
    log = lambda s: print(s, file=sys.stderr, flush=True)  # noqa: E731
    log(f"{version}; {info['machine']}")
    results: dict[int, list[dict]] = {n: [] for n in sizes}
    for run in range(args.runs):
        for n in sizes:
            log(f"run {run + 1}/{args.runs}, N={n}")
            results[n].append(run_once(args.fvce, args.deploy, n, args.steady, rng, log))
            time.sleep(1.0)
    body = render(results, info, command, args.runs)
    if args.notes:
        body += "\n" + args.notes.strip() + "\n"
    print(body)
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"command": command, "info": info, "results": results}, f, indent=1,
                      default=str)
    if not args.no_doc:
        write_doc(args.doc, body)
        log(f"wrote the Federation section of {args.doc}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
