#!/usr/bin/env python3
"""What moving running work costs (docs/RELIABILITY.md, "## Moving work: cost"):

- migration of a running Marmousi shot (a 5 m grid at 15 Hz, one thread): the size of
  its checkpoint, the time from `fvce migrate` to the host giving it back (checkpoint
  written and copied to the submitter), and to the shot running on the target again;
- a drain of a host running 4 such shots: the time `fvce drain` takes (all four
  checkpointed, copied and given back) and until all four run on the other host.

Three loopback nodes: n1 submits (1 slot, declared with too little memory for a shot, so no
shot runs there), n2 and n3 with 4 slots. Not a test (a few minutes):
    python3 bench/fault/bench_move.py --fvce build/fvce [--runs 3] [--write]
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(REPO, "tests", "integration"))
sys.path.insert(0, os.path.join(REPO, "tests", "fault"))
sys.path.insert(0, os.path.join(REPO, "bench", "workflow"))
import fvce_harness as H  # noqa: E402
import marmousi_shot  # noqa: E402
import benchlib  # noqa: E402


def shots_workflow(tmp: str, name: str, n: int) -> str:
    """n shots on the 5 m grid, 1 core and 2 GiB each, with checkpoints."""
    one = open(marmousi_shot.write(tmp, name)).read()
    one = one.replace('cores="1"', 'cores="1" memory="2GiB"')
    head, task = one.split('  <task id="model"', 1)
    task = '  <task id="model"' + task.split("</workflow>")[0]
    task = (task.replace("--shot 0", "--shot {i}").replace("ck.bin", "ck{i}.bin")
            .replace("raw.bin", "raw{i}.bin"))
    body = head + f'  <array id="s" range="0..{n - 1}">\n' + task + "  </array>\n</workflow>\n"
    path = os.path.join(tmp, f"{name}.xml")
    with open(path, "w") as f:
        f.write(body)
    return path


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--fvce", required=True)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--write", action="store_true")
    args = ap.parse_args()
    given_back, resumed, sizes = [], [], []
    drains = []
    with H.Cluster(os.path.abspath(args.fvce), "fvce-bench-move") as c:
        small = c.write_deploy(register=H.FAST_REGISTER,
                               info=("declared", {"cores": "1", "speed": "1000",
                                                  "memory": "1GiB"}),
                               services=H.execute_services(1), name="deploy-n1.xml")
        big = c.write_deploy(register=H.FAST_REGISTER, services=H.execute_services(4),
                             name="deploy-big.xml")
        n1 = c.start("n1", small)
        n2 = c.start("n2", big, join=n1)
        c.wait_converged([n1, n2])

        def state_of(wf, task):
            a = H.workflow_status(n1.address, wf).tasks.get(task, {})
            return a.get("state"), a.get("host")

        # Drain: n2 runs 4 shots; n3 joins; fvce drain n2.
        path = shots_workflow(c.tmp, "drain", 4)
        r = H.submit(c, n1, path, timeout=60)
        wf = r.stdout.strip()
        H.wait_until(lambda: all(state_of(wf, f"model[{i}]")[0] == "running"
                                 for i in range(4)), 180, "4 shots running on n2")
        time.sleep(4)
        n3 = c.start("n3", big, join=n1)
        c.wait_converged([n1, n2, n3])
        t0 = time.monotonic()
        r = c.cli("drain", "n2", "--node", n1.address, timeout=400)
        benchlib.log(r.stdout.strip() + r.stderr.strip())
        m = re.search(r"drained in ([0-9.]+) s: (\d+) task\(s\) given back .*?, (\d+) with", r.stdout)
        H.wait_until(lambda: all(state_of(wf, f"model[{i}]") == ("running", "n3")
                                 for i in range(4)), 300, "the 4 shots running on n3")
        all_running = time.monotonic() - t0
        drains.append((float(m.group(1)) if m else float("nan"), int(m.group(3)) if m else 0,
                       all_running))
        H.wait_workflow(n1.address, wf, timeout=600)
        n2.terminate()
        c.restart(n2, same_address=True)  # a restart ends the drain
        c.wait_converged([n1, n2, n3])

        # Migration of one running shot, back and forth.
        for k in range(args.runs):
            path = marmousi_shot.write(c.tmp, f"move-{k}")
            r = H.submit(c, n1, path, timeout=60)
            wf = r.stdout.strip()
            H.wait_until(lambda: state_of(wf, "model")[0] == "running", 120, "the shot to run")
            time.sleep(5)
            _, host = state_of(wf, "model")
            target = "n3" if host == "n2" else "n2"
            r = c.cli("migrate", wf, "model", "--to", target, "--node", n1.address, timeout=400)
            benchlib.log(r.stdout.strip())
            g = re.search(r"given back by its host after ([0-9.]+) s", r.stdout)
            s = re.search(r"runs on \S+ ([0-9.]+) s after the request", r.stdout)
            if g and s:
                given_back.append(float(g.group(1)))
                resumed.append(float(s.group(1)))
            z = re.findall(r"resumes from its checkpoint, ([0-9.]+ [KMG]?i?B)", n1.stderr_text())
            if z:
                sizes.append(z[-1])
            H.wait_workflow(n1.address, wf, timeout=600)
    med = lambda xs: statistics.median(xs) if xs else float("nan")  # noqa: E731
    rows = [
        ["checkpoint of one shot (5 m grid, 15 Hz)", sizes[-1] if sizes else "n/a"],
        [f"migrate → given back (checkpoint written, copied), median of {len(given_back)}",
         f"{med(given_back):.2f} s"],
        [f"migrate → running on the target, median of {len(resumed)}", f"{med(resumed):.2f} s"],
        ["drain of a host running 4 shots (4 checkpointed and given back)",
         f"{drains[0][0]:.2f} s ({drains[0][1]} with a checkpoint)" if drains else "n/a"],
        ["drain → all 4 running on the other host", f"{drains[0][2]:.2f} s" if drains else "n/a"],
    ]
    table = "\n".join(benchlib.md_table([["", "measured"], *rows]))
    print(table)
    if args.write:
        m = benchlib.machine()
        body = (f"`python3 bench/fault/bench_move.py --fvce build/fvce --runs {args.runs}`, "
                f"{m['date']}, {m['nproc']} cores ({m['cpu']}): three loopback nodes; the shot "
                "is on a 5 m grid at 15 Hz (one thread, about 10 s), checkpointed when it is "
                "asked to move.\n\n" + table)
        benchlib.write_section(os.path.join(REPO, "docs", "RELIABILITY.md"),
                               "## Moving work: cost", body)
    return 0


if __name__ == "__main__":
    sys.exit(main())
