"""Helpers shared by the interleaved workflow benchmarks of bench/workflow/
(bench_throughput.py, bench_wait.py, bench_fanin.py).

The machine description, the markdown table and the per-node CPU reading are
bench_workflow.py's own (imported from it, so every benchmark of this directory reports the
machine the same way); what is added here: min/median/max summaries, per-pair ratios, the
load average now, replacing one `## ` section of docs/PERFORMANCE.md, and a quiet Dask
LocalCluster.
"""

from __future__ import annotations

import json
import math
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(REPO, "tests", "integration"))
sys.path.insert(0, HERE)
import fvce_harness as H  # noqa: E402,F401  (re-exported)
import bench_workflow as W  # noqa: E402

machine = W.machine
md_table = W.md_table
cpu_seconds = W.cpu_seconds
requests_by_route = W.requests_by_route


def log(msg: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def loadavg() -> str:
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


def stats(xs) -> dict:
    """{'median', 'min', 'max', 'n'} of the finite values of xs (NaN when there is none)."""
    xs = [x for x in xs if x is not None and not (isinstance(x, float) and math.isnan(x))]
    if not xs:
        return {"median": float("nan"), "min": float("nan"), "max": float("nan"), "n": 0}
    return {"median": statistics.median(xs), "min": min(xs), "max": max(xs), "n": len(xs)}


def fmt_stats(s: dict, spec: str = ".2f") -> str:
    """'median (min–max)'; just the value when there is one run."""
    if not s["n"]:
        return "n/a"
    if s["n"] == 1:
        return format(s["median"], spec)
    return f"{format(s['median'], spec)} ({format(s['min'], spec)}–{format(s['max'], spec)})"


def pair_ratios(a: list, b: list) -> list:
    """a[i] / b[i] for the runs that both have (a run's pair: measured back to back)."""
    return [x / y for x, y in zip(a, b) if x is not None and y]


def http_requests(m: dict, skip=("/metrics",)) -> float:
    """The sum of fvce_http_requests_total over every route/method/code (but `skip`)."""
    return sum(v for k, v in requests_by_route(m).items() if k not in skip)


def counter(m: dict, name: str):
    """The sum of every series of metric `name`; None when the node does not export it."""
    vals = [v for (n, _), v in m.items() if n == name]
    return sum(vals) if vals else None


def rss_mib(pid: int) -> float:
    """The resident memory of process pid, in MiB (NaN when it is gone)."""
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float("nan")


def write_section(path: str, heading: str, body: str) -> None:
    """Writes `heading` + body into the markdown file at path: replaces the section that
    starts with that exact heading line (up to the next `## ` heading), or appends it. Other
    sections are left as they are."""
    text = open(path).read() if os.path.exists(path) else "# Performance\n\n"
    section = heading + "\n\n" + body.rstrip() + "\n"
    m0 = re.compile(r"^" + re.escape(heading) + r"[ \t]*$", re.M).search(text)
    if m0:
        m = re.compile(r"^## ", re.M).search(text, m0.end())
        end = m.start() if m else len(text)
        text = text[:m0.start()] + section + ("\n" + text[end:] if m else "")
    else:
        text = text.rstrip() + "\n\n" + section
    with open(path, "w") as f:
        f.write(text)


def command_line(script: str) -> str:
    """The command to show in the report: this script with its arguments as given (--fvce
    PATH included, so a report says which binary was measured)."""
    return " ".join(["python3", f"bench/workflow/{script}", *sys.argv[1:]])


class DaskCluster:
    """A Dask distributed LocalCluster (+ its Client) with no dashboard and quiet logs.

    Start-up (spawning the worker processes and their connecting) is done in __enter__,
    before any timing; close in __exit__."""

    def __init__(self, n_workers: int, threads_per_worker: int, processes: bool = True):
        self.kw = dict(n_workers=n_workers, threads_per_worker=threads_per_worker,
                       processes=processes)
        self.cluster = self.client = None
        self.start_s = None

    def __enter__(self):
        import logging
        from distributed import Client, LocalCluster

        self.tmp = tempfile.mkdtemp(prefix="fvce-bench-dask-")  # workers' local_directory
        t0 = time.monotonic()
        self.cluster = LocalCluster(dashboard_address=None, silence_logs=logging.ERROR,
                                    local_directory=self.tmp, **self.kw)
        self.client = Client(self.cluster)
        self.client.wait_for_workers(self.kw["n_workers"])
        self.start_s = time.monotonic() - t0
        return self

    def __exit__(self, *exc):
        try:
            if self.client is not None:
                self.client.close()
        finally:
            if self.cluster is not None:
                self.cluster.close()
            shutil.rmtree(self.tmp, ignore_errors=True)
        return False


def ensure_dask() -> None:
    """Makes sure `distributed` imports: when this interpreter lacks it (a pyenv or venv
    python3 first in PATH) and Debian's /usr/bin/python3 is another interpreter, runs this
    same script again under /usr/bin/python3 (python3-distributed is a Debian package);
    otherwise exits with a message."""
    try:
        import distributed  # noqa: F401

        return
    except ImportError as e:
        err = e
    deb = "/usr/bin/python3"
    if (os.path.exists(deb) and os.path.realpath(sys.executable) != os.path.realpath(deb)
            and not os.environ.get("FVCE_BENCH_REEXEC")):
        log(f"{sys.executable} has no Dask distributed; running again under {deb}")
        os.environ["FVCE_BENCH_REEXEC"] = "1"
        sys.stdout.flush()
        sys.stderr.flush()
        os.execv(deb, [deb, os.path.abspath(sys.argv[0]), *sys.argv[1:]])
    raise SystemExit(f"Dask distributed is missing ({err}): install Debian's "
                     "python3-distributed, or leave dask out of --tools")


def build_commit(fvce: str) -> str | None:
    """The commit an fvce binary was built from, when known: a file COMMIT beside it (write
    one when you keep an older build, e.g. `git rev-parse HEAD > OLD/COMMIT`), else the
    binary's own `--version`."""
    f = os.path.join(os.path.dirname(os.path.abspath(fvce)), "COMMIT")
    if os.path.exists(f):
        return open(f).read().strip()[:12]
    try:
        return subprocess.run([fvce, "--version"], capture_output=True, text=True,
                              timeout=10).stdout.strip() or None
    except OSError:
        return None


def dask_version() -> str:
    try:
        import distributed

        return distributed.__version__
    except Exception as e:  # noqa: BLE001
        return f"unavailable ({e})"


def add_common_args(ap, tools: str | None = None) -> None:
    """The options every benchmark of this directory takes: --work-base, --doc / --no-doc,
    --json, --analysis-file, --from-json; with `tools` (the default list, comma-separated)
    also --tools and --before."""
    if tools is not None:
        ap.add_argument("--tools", default=tools,
                        help=f"which tools, comma-separated, of {tools}")
        ap.add_argument("--before", help="another fvce binary (an earlier build) run first "
                        "in every run, beside this one")
    ap.add_argument("--work-base", default="/dev/shm" if os.path.isdir("/dev/shm") else None,
                    help="directory under which the nodes' state and work roots go (default "
                         "/dev/shm, a tmpfs; '' for the system's temporary directory)")
    ap.add_argument("--doc", default=os.path.join(REPO, "docs", "PERFORMANCE.md"))
    ap.add_argument("--no-doc", action="store_true")
    ap.add_argument("--json")
    ap.add_argument("--analysis-file", help="Markdown text appended to the section")
    ap.add_argument("--from-json", help="only print (and write) the report of an earlier --json")


def use_work_base(args) -> str:
    """Points temporary files at --work-base; returns where they go."""
    disk_base = tempfile.gettempdir()
    if args.work_base:
        tempfile.tempdir = args.work_base
    return args.work_base or disk_base


def parse_tools(ap, args, known) -> list:
    """The --tools list, checked against `known`, with "before" first when --before is given;
    starts Dask's imports when it is one of them."""
    tools = [t for t in args.tools.split(",") if t]
    for t in tools:
        if t not in known or t == "before":
            ap.error(f"unknown tool {t!r}")
    if args.before:
        tools.insert(0, "before")
    if "dask" in tools:
        ensure_dask()
    return tools


def earlier_results(args):
    """The results of --from-json, or None when the benchmark is to run."""
    if not args.from_json:
        return None
    with open(args.from_json) as f:
        return json.load(f)


def finish(args, res: dict, report, section: str, measured: bool) -> int:
    """Saves --json (for what was just measured), adds --analysis-file, prints the report and
    writes it as `section` of --doc (unless --no-doc)."""
    if measured and args.json:
        with open(args.json, "w") as f:
            json.dump(res, f, indent=1, default=str)
    if args.analysis_file:
        res["analysis"] = open(args.analysis_file).read()
    text = report(res)
    print(text)
    if not args.no_doc:
        write_section(args.doc, section, text)
        log(f"wrote the section {section!r} of {args.doc}")
    return 0
