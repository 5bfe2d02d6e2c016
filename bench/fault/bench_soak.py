#!/usr/bin/env python3
"""The soak run of docs/RELIABILITY.md: five loopback nodes run workflows back to back for a
while (30 minutes by default) while a chaos loop kills (`kill -9`) a random node that is not
the submitter every 20-60 s and starts it again a few seconds later, and every few minutes
kills and restarts the submitter itself. Default settings (membership, executor, submitter),
as a user would run them.

The workflows alternate: `parts` (24 tasks of `sleep 1` writing a part file, and a join;
every task appends to a run log outside its work directory) and the Marmousi `small` preset
(14 tasks; its results are compared by SHA-256 with a fault-free run made first). Printed at
the end, and with --write put into docs/RELIABILITY.md ("## Soak run"):

- workflows completed, and failed or not done when the run ended;
- tasks re-run (the submitter's log: tasks placed again because their host was lost or
  restarted, gave them up, or their outputs went with a host);
- tasks lost (of every workflow submitted, tasks that never finished: target 0);
- outputs mismatched (results whose SHA-256 differs from the fault-free run's: target 0);
- duplicated results counted (a part in a join's result more than once or missing, which
  would show a result counted twice: target 0);
- from a kill to its tasks running elsewhere: median and p95 (target: median under 10 s).

Not a test (it takes half an hour and needs the machine to itself):
    python3 bench/fault/bench_soak.py --fvce build/fvce [--minutes 30] [--write]
"""

from __future__ import annotations

import argparse
import hashlib
import os
import random
import re
import statistics
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(REPO, "tests", "integration"))
sys.path.insert(0, os.path.join(REPO, "tests", "fault"))
sys.path.insert(0, os.path.join(REPO, "bench", "workflow"))
import fvce_harness as H  # noqa: E402
from faultlib import RunLogs, expected_join, parts_workflow  # noqa: E402
import benchlib  # noqa: E402

MARMOUSI = os.path.join(REPO, "examples", "marmousi", "workflow-small.xml")
PARTS = 24


def log(msg: str) -> None:
    benchlib.log(msg)


def sha_dir(path: str) -> dict:
    out = {}
    for name in sorted(os.listdir(path)):
        with open(os.path.join(path, name), "rb") as f:
            out[name] = hashlib.sha256(f.read()).hexdigest()
    return out


class Soak:
    def __init__(self, c: H.Cluster, nodes: list, seconds: float, seed: int):
        self.c = c
        self.nodes = nodes
        self.submitter = nodes[0]
        self.seconds = seconds
        self.rng = random.Random(seed)
        self.logs = RunLogs()
        self.lock = threading.Lock()
        self.workflows: list = []  # (id, kind, run log or None)
        self.active: list = []     # ids still running
        self.kills = 0
        self.submitter_kills = 0
        self.recoveries: list = []  # seconds from a kill to its tasks running elsewhere
        self.stop = threading.Event()
        self.reference = None

    # -- the submitting node as the client sees it --

    def cli(self, *args, timeout=60):
        for _ in range(60):  # the submitter may be down for a moment
            if self.submitter.running() and self.submitter.address:
                r = self.c.cli(*args, "--node", self.submitter.address, timeout=timeout)
                if r.code == 0 or "connect" not in (r.stderr or "").lower():
                    return r
            time.sleep(1)
        return self.c.cli(*args, "--node", self.submitter.address, timeout=timeout)

    def status(self, wf):
        try:
            return H.workflow_status(self.submitter.address, wf)
        except Exception:
            return None

    # -- the workload --

    def submit_one(self, n: int):
        if n % 2 == 0:
            run_log = self.logs.new(f"parts-{n}.log")
            path = H.write_file(self.c.tmp, f"parts-{n}.xml",
                                parts_workflow(f"soak-parts-{n}", PARTS, run_log))
            kind = "parts"
        else:
            path, run_log, kind = MARMOUSI, None, "marmousi"
        r = self.cli("submit", path, timeout=120)
        if r.code != 0:
            log(f"submitting {kind} failed: {r.stderr.strip()}")
            return None
        wf = r.stdout.strip().splitlines()[0]
        with self.lock:
            self.workflows.append((wf, kind, run_log))
            self.active.append(wf)
        return wf

    def workload(self):
        n = 0
        while not self.stop.is_set():
            wf = self.submit_one(n)
            n += 1
            if not wf:
                time.sleep(2)
                continue
            t0 = time.monotonic()
            st = None
            while not self.stop.is_set() and time.monotonic() - t0 < 600:
                st = self.status(wf)
                if st and st.state != "running":
                    break
                time.sleep(0.5)
            with self.lock:
                if wf in self.active and st and st.state != "running":
                    self.active.remove(wf)

    # -- the chaos --

    def running_on(self, victim) -> dict:
        """(workflow, task) → its attempts, for every task staging or running on victim."""
        out = {}
        with self.lock:
            active = list(self.active)
        for wf in active:
            st = self.status(wf)
            if not st:
                continue
            for t, a in st.tasks.items():
                if a.get("host") == victim.name and a.get("state") in ("staging", "running"):
                    out[(wf, t)] = a.get("attempts")
        return out

    def elsewhere(self, victim, held: dict) -> bool:
        """Whether every task victim held runs (or ran) elsewhere now."""
        for (wf, t) in held:
            st = self.status(wf)
            a = st.tasks.get(t) if st else None
            if not a or a.get("host") == victim.name or a.get("state") not in (
                    "staging", "running", "done"):
                return False
        return True

    def chaos(self, t_end: float):
        """On the main thread (a node started from another thread would die with it: the
        harness gives nodes their parent's death signal): kills, restarts a few seconds
        later, and the watches of the killed nodes' tasks, until t_end."""
        events = 0
        next_kill = time.monotonic() + self.rng.uniform(20, 60)
        restarts: list = []  # (when, node)
        watches: list = []   # (victim, held, t0)
        while time.monotonic() < t_end or restarts:
            now = time.monotonic()
            for when, node in [x for x in restarts if x[0] <= now]:
                restarts.remove((when, node))
                self.c.restart(node, same_address=True)
            for w in list(watches):
                victim, held, t0 = w
                if self.elsewhere(victim, held):
                    watches.remove(w)
                    self.recoveries.append(now - t0)
                    log(f"chaos: {victim.name}'s tasks run elsewhere after {now - t0:.1f} s")
                elif now - t0 > 120:
                    watches.remove(w)
                    log(f"chaos: {victim.name}'s tasks did not run elsewhere within 120 s")
            if now >= next_kill and now < t_end:
                events += 1
                next_kill = now + self.rng.uniform(20, 60)
                if events % 6 == 0:
                    log("chaos: killing the submitter n1")
                    self.submitter.kill()
                    self.submitter_kills += 1
                    restarts.append((now + 3, self.submitter))
                else:
                    up = [n for n in self.nodes[1:] if n.running() and
                          all(n is not r[1] for r in restarts)]
                    if up:
                        victim = self.rng.choice(up)
                        held = self.running_on(victim)
                        t0 = time.monotonic()
                        victim.kill()
                        self.kills += 1
                        log(f"chaos: killed {victim.name} holding {len(held)} task(s)")
                        restarts.append((t0 + self.rng.uniform(3, 10), victim))
                        if held:
                            watches.append((victim, held, t0))
            time.sleep(0.2)

    # -- the run --

    def run(self) -> dict:
        # The fault-free reference of the Marmousi results.
        r = self.cli("submit", MARMOUSI, "--watch", timeout=600)
        if r.code != 0:
            raise RuntimeError(f"the reference run failed: {r.stderr}")
        ref = r.stdout.strip().splitlines()[0]
        out = os.path.join(self.c.tmp, "reference")
        self.cli("fetch", ref, out, timeout=120)
        self.reference = sha_dir(out)
        log(f"reference Marmousi run {ref}: {len(self.reference)} results")

        t_end = time.monotonic() + self.seconds
        worker = threading.Thread(target=self.workload, daemon=True)
        worker.start()
        self.chaos(t_end)
        self.stop.set()
        worker.join(timeout=300)
        for n in self.nodes:  # everyone back for the last workflows
            if not n.running():
                self.c.restart(n, same_address=True)
        return self.tally()

    def tally(self) -> dict:
        done = failed = unfinished = lost = mismatched = duplicated = 0
        for wf, kind, run_log in self.workflows:
            try:
                st = H.wait_workflow(self.submitter.address, wf, timeout=600)
            except Exception:
                st = None
            if not st or st.state != "done":
                unfinished += 1 if not st or st.state == "running" else 0
                failed += 1 if st and st.state != "running" else 0
                if st:
                    lost += sum(1 for a in st.tasks.values() if a.get("state") != "done")
                continue
            done += 1
            out = os.path.join(self.c.tmp, "out", wf)
            r = self.cli("fetch", wf, out, timeout=120)
            if r.code != 0:
                mismatched += 1
                continue
            got = sha_dir(out)
            if kind == "marmousi":
                mismatched += sum(1 for k, v in self.reference.items() if got.get(k) != v)
            else:
                with open(os.path.join(out, "all.txt")) as f:
                    lines = f.read().splitlines()
                want = expected_join(PARTS).decode().splitlines()
                if lines != want:
                    mismatched += 1
                    duplicated += sum(1 for x in set(lines) if lines.count(x) > 1)
        text = self.submitter.stderr_text()
        reruns = len(re.findall(r"running it again|runs again \(|given up by|placed again", text))
        rec = sorted(self.recoveries)
        p95 = rec[min(len(rec) - 1, int(round(0.95 * (len(rec) - 1))))] if rec else float("nan")
        return {
            "workflows": len(self.workflows), "done": done, "failed": failed,
            "unfinished": unfinished, "reruns": reruns, "lost": lost,
            "mismatched": mismatched, "duplicated": duplicated, "kills": self.kills,
            "submitter_kills": self.submitter_kills, "recoveries": len(rec),
            "median": statistics.median(rec) if rec else float("nan"), "p95": p95,
        }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--fvce", required=True)
    ap.add_argument("--minutes", type=float, default=30.0)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--write", action="store_true",
                    help="put the table into docs/RELIABILITY.md")
    args = ap.parse_args()
    with H.Cluster(os.path.abspath(args.fvce), "fvce-soak") as c:
        nodes = H.start_federation(c, slots=(2, 2, 2, 2, 2),
                                   names=["n1", "n2", "n3", "n4", "n5"], register={})
        soak = Soak(c, nodes, args.minutes * 60, args.seed)
        try:
            res = soak.run()
        finally:
            soak.logs.close()
    rows = [
        ["workflows submitted", str(res["workflows"])],
        ["completed (done)", str(res["done"])],
        ["failed / not done at the end", f"{res['failed']} / {res['unfinished']}"],
        ["kills of other nodes / of the submitter",
         f"{res['kills']} / {res['submitter_kills']}"],
        ["tasks re-run", str(res["reruns"])],
        ["tasks lost (target 0)", str(res["lost"])],
        ["outputs mismatched (target 0)", str(res["mismatched"])],
        ["duplicated results counted (target 0)", str(res["duplicated"])],
        [f"kill → its tasks running elsewhere, median / p95 ({res['recoveries']} kills)",
         f"{res['median']:.1f} s / {res['p95']:.1f} s"],
    ]
    table = "\n".join(benchlib.md_table([["", "value"], *rows]))
    print(table)
    if args.write:
        m = benchlib.machine()
        body = (f"`python3 bench/fault/bench_soak.py --fvce build/fvce --minutes "
                f"{args.minutes:g} --seed {args.seed}`, {m['date']}, {m['nproc']} cores "
                f"({m['cpu']}), {m['mem_gib']:.0f} GiB: five loopback nodes with 2 slots each and default "
                "settings, `parts` (24 tasks and a join) and Marmousi `small` (14 tasks) "
                "alternating; a node other than the submitter killed every 20-60 s and "
                "started again 3-10 s later, the submitter killed and restarted every sixth "
                "time.\n\n" + table)
        benchlib.write_section(os.path.join(REPO, "docs", "RELIABILITY.md"), "## Soak run", body)
    return 0 if res["lost"] == 0 and res["mismatched"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
