#!/usr/bin/env python3
"""The Marmousi `medium` preset run through fvce on a 2-node loopback federation beside the
same tasks run one after another by examples/marmousi/run-serial.sh (one OpenMP thread per
shot), in the same run and with the same programs.

Two set-ups:
  --deploy default   the repository's deploy/deploy.xml (slots = the host's 2 cores) and the
                     workflow as make-workflow.sh writes it: every shot declares cores="2"
                     and runs 2 threads, so each node runs one shot at a time.
  --deploy one-slot  1 slot per node and 1 thread per shot, the same programs and arguments
                     as the serial loop.

Prints: serial makespan, fvce makespan (submit → done), their ratio, the parallel
efficiency (serial / (2 × fvce)), and fvce's overhead per task: (2 × makespan − Σ task wall
times) / tasks, the time the two hosts' cores were not running a task, per task.

Usage: bench_medium.py --fvce build/fvce [--preset medium] [--runs 1] [--deploy default]
"""

import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET

NS = {"f": "urn:fvce:1"}
HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
MARMOUSI = os.path.join(ROOT, "examples", "marmousi")

ONE_SLOT_DEPLOY = """<?xml version="1.0"?>
<deploy xmlns="urn:fvce:1" federation="bench">
  <service name="register" impl="introducer"/>
  <service name="info" impl="statgrab"/>
  <service name="execute" impl="process"><param name="slots" value="1"/></service>
</deploy>
"""


def deploy_text(mode, secret):
    """The deploy file of a run: its nodes sign their requests with the run's secret (plain
    transport on loopback, docs/SECURITY.md)."""
    security = f'  <security transport="plain" secret="{secret}"/>\n'
    if mode == "one-slot":
        text = ONE_SLOT_DEPLOY
    else:
        # The default deploy file under another federation name, so that a node running on
        # the same machine is never joined by mistake (--join is explicit anyway).
        with open(os.path.join(ROOT, "deploy", "deploy.xml")) as f:
            text = f.read().replace('federation="lab"', 'federation="bench"')
    if os.geteuid() == 0:
        # Run as root, a node runs tasks only as mapped accounts (docs/SECURITY.md).
        accounts = '<param name="accounts" value="*=nobody"/>'
        if mode == "one-slot":
            text = text.replace('<param name="slots" value="1"/>',
                                '<param name="slots" value="1"/>' + accounts)
        else:
            text = text.replace("</deploy>", '  <service name="execute" impl="process">' +
                                accounts + "</service>\n</deploy>")
    first = text.index("  <service")
    return text[:first] + security + text[first:]


def sign_in(fvce, work, state, address):
    """Adds the run's user to the first node's accounts (before it starts) or signs in."""
    env = dict(os.environ, FVCE_CREDENTIALS=os.path.join(work, "credentials"))
    if address is None:
        subprocess.run([fvce, "user", "add", "bench", "--password-stdin", "--state-dir", state],
                       input=b"bench-password\n", check=True, stdout=subprocess.DEVNULL)
    else:
        subprocess.run([fvce, "login", "--user", "bench", "--password-stdin", "--node", address],
                       input=b"bench-password\n", check=True, stdout=subprocess.DEVNULL, env=env)
    return env


def run_serial(preset, work, bindir):
    out = os.path.join(work, "serial")
    env = dict(os.environ, FVCE_BIN_DIR=bindir)
    # Same threads as the fvce run: one per shot.
    preset_file = os.path.join(MARMOUSI, "presets", preset + ".env")
    t0 = time.monotonic()
    subprocess.run(["bash", "-c",
                    f'set -e; tmp=$(mktemp -d); sed "s/^THREADS=.*/THREADS=1/" {preset_file} > '
                    f'$tmp/{preset}.env; mkdir -p $tmp/presets; mv $tmp/{preset}.env $tmp/presets/; '
                    f'cp -r {MARMOUSI}/data $tmp/; cp {MARMOUSI}/run-serial.sh $tmp/; '
                    f'bash $tmp/run-serial.sh {preset} {out}'],
                   env=env, check=True, stdout=subprocess.DEVNULL)
    return time.monotonic() - t0


def start_node(fvce, work, name, join=None):
    state = os.path.join(work, name)
    os.makedirs(state, exist_ok=True)
    if join is None:
        sign_in(fvce, work, state, None)
    deploy = os.path.join(work, "deploy.xml")
    args = [fvce, "node", "--deploy", deploy, "--listen", "127.0.0.1:0", "--state-dir", state,
            "--name", name, "--log-level", "warn"]
    if join:
        args += ["--join", join]
    log = open(os.path.join(work, name + ".log"), "w")
    p = subprocess.Popen(args, stdout=log, stderr=log)
    addr_file = os.path.join(state, "address")
    for _ in range(200):
        if os.path.exists(addr_file):
            return p, open(addr_file).read().strip()
        time.sleep(0.05)
    raise RuntimeError("node did not start")


def run_fvce(fvce, preset, work, mode):
    secret = os.path.join(work, "federation.key")
    with open(os.open(secret, os.O_WRONLY | os.O_CREAT, 0o600), "w") as f:
        f.write(os.urandom(32).hex() + "\n")
    with open(os.path.join(work, "deploy.xml"), "w") as f:
        f.write(deploy_text(mode, secret))
    wfdir = os.path.join(work, "wf")
    os.makedirs(wfdir)
    shutil.copytree(os.path.join(MARMOUSI, "data"), os.path.join(wfdir, "data"))
    wf = os.path.join(wfdir, "workflow.xml")
    with open(wf, "w") as f:
        env = dict(os.environ)
        env.pop("THREADS", None)
        if mode == "one-slot":
            env["THREADS"] = "1"
        subprocess.run([os.path.join(MARMOUSI, "make-workflow.sh"), preset], stdout=f, check=True,
                       env=env)
    a, addr_a = start_node(fvce, work, "a")
    b, addr_b = start_node(fvce, work, "b", addr_a)
    env = sign_in(fvce, work, None, addr_a)
    try:
        for _ in range(100):
            out = subprocess.run([fvce, "hosts", "--node", addr_a, "--xml"], capture_output=True,
                                 text=True, env=env)
            if out.stdout.count("<host-info") == 2:
                break
            time.sleep(0.05)
        t0 = time.time()
        sub = subprocess.run([fvce, "submit", wf, "--node", addr_a, "--watch"], capture_output=True,
                             text=True, env=env)
        if sub.returncode != 0:
            raise RuntimeError("workflow failed: " + sub.stderr)
        wf_id = sub.stdout.strip().splitlines()[0]
        st = subprocess.run([fvce, "status", wf_id, "--node", addr_a, "--xml"], capture_output=True,
                            text=True, check=True, env=env)
        root = ET.fromstring(st.stdout)
        walls = [int(t.get("wall", "0")) / 1000.0 for t in root.findall("f:task", NS)]
        # From the submit command to the end of the last task, by the tasks' own times (the
        # CLI's --watch only polls the status every 200 ms).
        makespan = max(int(t.get("finished", "0")) for t in root.findall("f:task", NS)) / 1000.0 - t0
        hosts = {t.get("host") for t in root.findall("f:task", NS)}
        return makespan, walls, hosts
    finally:
        for p in (a, b):
            p.terminate()
        for p in (a, b):
            p.wait(timeout=10)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--fvce", required=True)
    ap.add_argument("--preset", default="medium")
    ap.add_argument("--runs", type=int, default=1)
    ap.add_argument("--deploy", choices=["default", "one-slot"], default="default")
    args = ap.parse_args()
    # Run as root, tasks run as "nobody": the programs must be where it can run them.
    sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))
    import fvce_harness as H

    fvce = H.runnable_fvce(os.path.abspath(args.fvce))
    bindir = os.path.dirname(fvce)
    rows = []
    for r in range(args.runs):
        with tempfile.TemporaryDirectory(prefix="fvce-bench-mm-") as work:
            os.chmod(work, 0o711)
            serial = run_serial(args.preset, work, bindir)
            makespan, walls, hosts = run_fvce(fvce, args.preset, work, args.deploy)
            n = len(walls)
            overhead = (2 * makespan - sum(walls)) / n
            rows.append((serial, makespan, serial / makespan, serial / (2 * makespan), overhead, n,
                         len(hosts)))
    load = os.getloadavg()[0]
    shape = ("default deploy.xml, shots of 2 cores and 2 threads" if args.deploy == "default"
             else "1 slot per node, 1 thread per shot")
    print(f"Marmousi preset '{args.preset}' on 2 nodes ({shape}); serial loop 1 thread per "
          f"shot; {os.cpu_count()} cores, load average {load:.2f}")
    print(f"{'run':>3}  {'serial s':>9}  {'fvce s':>8}  {'speed-up':>8}  {'efficiency':>10}  "
          f"{'overhead/task':>13}  tasks  hosts")
    for i, (s, m, sp, eff, ov, n, h) in enumerate(rows):
        print(f"{i + 1:>3}  {s:9.2f}  {m:8.2f}  {sp:7.2f}x  {eff * 100:9.1f}%  {ov * 1000:10.1f} ms  "
              f"{n:>5}  {h:>5}")
    if len(rows) > 1:
        print(f"median speed-up {statistics.median(r[2] for r in rows):.2f}x")


if __name__ == "__main__":
    main()
