"""What the fault tests share: the harness, a run log every account can write, and the
workflow they run (an array of tasks that each sleep 1 s and write p{i}.txt, and a join)."""

import hashlib
import os
import shutil
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                                "integration"))
import fvce_harness as H  # noqa: E402,F401


class RunLogs:
    """A directory of run logs outside every work directory. Tasks may run as another
    account (as root: nobody), so the directory and its logs are open to all."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="fvce-runlog-")
        os.chmod(self.dir, 0o777)

    def new(self, name: str) -> str:
        path = os.path.join(self.dir, name)
        open(path, "w").close()
        os.chmod(path, 0o666)
        return path

    def close(self):
        shutil.rmtree(self.dir, ignore_errors=True)


def read_runs(log: str) -> list:
    """The log's lines as (task, attempt, work directory)."""
    with open(log) as f:
        return [tuple(x.strip() for x in line.split(" ", 2)) for line in f if line.strip()]


def by_task(log: str) -> dict:
    """task id → the work directories it finished a run in."""
    out: dict = {}
    for task, _attempt, where in read_runs(log):
        out.setdefault(task, []).append(where)
    return out


def on(node, where: str) -> bool:
    """Whether a work directory is on that node (the harness keeps nodes/NAME/)."""
    return f"/nodes/{node.name}/" in where


def parts_workflow(name: str, n: int, log: str, join_logs: bool = True, sleep: float = 1,
                   retries: int | None = None, cores: int = 1) -> str:
    """n tasks part[i] (sleep; write p{i}.txt) and a join that concatenates them in order
    into all.txt (the result); each run appends "TASK ATTEMPT WORKDIR" to log. retries: the
    tasks' retries attribute (0: a failure of a task's own fails the workflow). cores: what
    each part needs (only hosts with that many slots run it)."""
    record = f'echo "$FVCE_TASK $FVCE_ATTEMPT $PWD" >> {log}'
    join_record = f"; {record}" if join_logs else ""
    tries = f' retries="{retries}"' if retries is not None else ""
    need = f' cores="{cores}"' if cores != 1 else ""
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<workflow xmlns="urn:fvce:1" name="{name}">
  <array id="p" range="0..{n - 1}">
    <task id="part" cmd="sh"{tries}{need}>
      <arg>-c</arg>
      <arg>sleep {sleep:g}; echo "part {{i}}" > p{{i}}.txt; {record}</arg>
      <out file="p{{i}}.txt"/>
    </task>
  </array>
  <task id="join" cmd="sh"{tries}>
    <arg>-c</arg>
    <arg>for i in $(seq 0 {n - 1}); do cat p$i.txt; done > all.txt{join_record}</arg>
    <in array="p" file="p{{i}}.txt"/>
    <out file="all.txt" result="true"/>
  </task>
</workflow>
"""


def expected_join(n: int) -> bytes:
    """What join writes when every part ran right."""
    return "".join(f"part {i}\n" for i in range(n)).encode()


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def fetched(test, c, node, wf: str, name: str, into: str | None = None) -> bytes:
    """The bytes of result `name` of workflow wf, brought back with `fvce fetch` at node."""
    out = os.path.join(c.tmp, into or f"fetched-{wf}")
    r = c.cli("fetch", wf, out, "--node", node.address, timeout=60)
    test.assertEqual(r.code, 0, r.stderr)
    with open(os.path.join(out, name), "rb") as f:
        return f.read()
