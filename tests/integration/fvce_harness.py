"""A small harness for integration tests of fvce: real `fvce node` processes on loopback.

Everything here uses only the Python standard library (Debian's /usr/bin/python3).

Typical use, inside a unittest.TestCase::

    with Cluster(fvce_path) as c:
        deploy = c.write_deploy(register={"probe-interval": "200ms"})
        a = c.start("a", deploy=deploy)
        b = c.start("b", deploy=deploy, join=a)
        c.wait_until(lambda: c.alive_names(a) == {"a", "b"}, 5, "a sees a and b")

What it guarantees:

* No fixed ports: every node listens on 127.0.0.1:0 and the harness reads the address the
  node writes to STATE_DIR/address once it listens.
* Each node has its own state directory and its own stdout/stderr log files under the
  cluster's temporary directory. The directory is removed when the `with` block ends
  normally and KEPT when it ends with an exception (a failed assertion), and its path and
  the tail of every node's log are printed to stderr. Set FVCE_KEEP_TMP=1 to always keep it.
* Processes are always cleaned up: Cluster.__exit__ kills what is left, an atexit hook
  kills whatever any cluster started, SIGTERM to the test runs the same cleanup, and on
  Linux every node gets PR_SET_PDEATHSIG so it dies with the test process even when the
  test is killed with SIGKILL (e.g. by a ctest TIMEOUT).
* Waiting is done by polling a predicate (wait_until); fixed sleeps are never used as
  assertions.

Parsing: documents are in the namespace urn:fvce:1; `q("member")` makes the qualified tag.
"""

from __future__ import annotations

import argparse
import atexit
import base64
import dataclasses
import hashlib
import hmac
import http.client
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import xml.etree.ElementTree as ET

NS = "urn:fvce:1"
HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))


def q(tag: str) -> str:
    """The qualified name of an fvce element: q('member') == '{urn:fvce:1}member'."""
    return "{%s}%s" % (NS, tag)


# --------------------------------------------------------------------------------------
# Process bookkeeping shared by every cluster of this interpreter.

_LIVE_PROCS: set[subprocess.Popen] = set()

# Run as root, a node runs tasks only as mapped local accounts (never as root): the harness
# maps every user to "nobody" unless a test gives the execute service its own "accounts", and
# makes what the tasks need reachable by that account: the cluster's directory (0711) and the
# programs (installed with `cmake --install` outside the build tree when that lies in a
# directory others cannot enter, such as /root).
AS_ROOT = os.geteuid() == 0
ROOT_ACCOUNTS = "*=nobody"
_INSTALLED: dict[str, str] = {}


def _reachable_by_others(path: str) -> bool:
    at = "/"
    for part in os.path.abspath(path).split("/"):
        at = os.path.join(at, part)
        if not os.stat(at).st_mode & 0o001:
            return False
    return True


def runnable_fvce(fvce: str) -> str:
    """fvce itself, or — run as root, with fvce's directory closed to other accounts — a copy
    installed by `cmake --install` into a temporary prefix (once per process)."""
    build = os.path.dirname(fvce)
    if not AS_ROOT or _reachable_by_others(build):
        return fvce
    if build not in _INSTALLED:
        prefix = tempfile.mkdtemp(prefix="fvce-it-prefix-")
        os.chmod(prefix, 0o755)
        atexit.register(shutil.rmtree, prefix, True)
        if os.path.exists(os.path.join(build, "cmake_install.cmake")):
            subprocess.run(["cmake", "--install", build, "--prefix", prefix], check=True,
                           capture_output=True)
        else:  # not a CMake build tree: copy the programs beside fvce
            os.makedirs(os.path.join(prefix, "bin"))
            for name in os.listdir(build):
                src = os.path.join(build, name)
                if os.path.isfile(src) and os.access(src, os.X_OK):
                    shutil.copy2(src, os.path.join(prefix, "bin", name))
        _INSTALLED[build] = os.path.join(prefix, "bin", os.path.basename(fvce))
    return _INSTALLED[build]


def _kill_all_live() -> None:
    for p in list(_LIVE_PROCS):
        if p.poll() is None:
            try:
                p.kill()
            except OSError:
                pass
    for p in list(_LIVE_PROCS):
        try:
            p.wait(timeout=5)
        except Exception:
            pass
        _LIVE_PROCS.discard(p)


atexit.register(_kill_all_live)


def _on_sigterm(signum, frame):  # a ctest timeout or a user's kill: clean up, then exit
    _kill_all_live()
    raise SystemExit(128 + signum)


try:  # installed on import (from the main thread); a test may install its own
    signal.signal(signal.SIGTERM, _on_sigterm)
except ValueError:  # imported from another thread
    pass


def _pdeathsig():
    """preexec_fn: the child gets SIGKILL when the test process dies (Linux only)."""
    try:
        import ctypes

        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        PR_SET_PDEATHSIG = 1
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    except Exception:
        pass


# --------------------------------------------------------------------------------------
# Waiting.


class WaitTimeout(AssertionError):
    """wait_until gave up; an AssertionError so unittest reports it as a failure."""


class Fatal(AssertionError):
    """Raised by a wait_until predicate when waiting longer cannot help (a node exited)."""


def wait_until(predicate, timeout: float, what: str = "condition", interval: float = 0.05):
    """Polls predicate() until it returns a truthy value; returns that value.

    Exceptions raised by the predicate count as "not yet" (a node may be starting or
    stopping); the last one is quoted in the failure message. Raises WaitTimeout after
    `timeout` seconds. A Fatal raised by the predicate ends the wait at once.
    """
    deadline = time.monotonic() + timeout
    last_exc = None
    last_value = None
    while True:
        try:
            last_value = predicate()
            if last_value:
                return last_value
        except Fatal:
            raise
        except Exception as e:  # noqa: BLE001 - any failure is "not yet"
            last_exc = e
        if time.monotonic() >= deadline:
            extra = f"; last error: {last_exc!r}" if last_exc else f"; last value: {last_value!r}"
            raise WaitTimeout(f"timed out after {timeout:.1f}s waiting for {what}{extra}")
        time.sleep(interval)


# --------------------------------------------------------------------------------------
# HTTP.


@dataclasses.dataclass
class Reply:
    status: int
    headers: dict
    body: bytes

    def xml(self) -> ET.Element:
        return ET.fromstring(self.body)

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")


# Credentials. Every node of a test federation shares the cluster's federation secret; the
# harness proves membership with it (as a node does over the plain transport) or acts as the
# cluster's admin user. auth= on the request helpers picks: "member" (the default: a member
# named "harness"), "admin", a token string (a user), or None (no credentials at all).

_SECRET: bytes | None = None       # the current cluster's federation secret (raw bytes)
_TLS: dict | None = None           # over TLS: {"ca": path, "member": (cert, key)}
_ADMIN_TOKEN: str | None = None    # its admin's token, once the first node is up
STREAMED = {("GET", "/file/content"), ("PUT", "/file/content"), ("PUT", "/file/store"),
            ("GET", "/userport/terminal")}


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def member_headers(method: str, target: str, body: bytes | None, secret: bytes | None = None,
                   member: str = "harness", date_ms: int | None = None,
                   nonce: str | None = None) -> dict:
    """The headers that prove membership of the federation whose secret is given (default:
    the current cluster's) for one request (node/auth/peer_auth.h)."""
    key = hmac.new(secret or _SECRET, b"fvce/peers", hashlib.sha256).digest()
    date = str(date_ms if date_ms is not None else int(time.time() * 1000))
    nonce = nonce or secrets.token_hex(12)
    path = target.split("?", 1)[0]
    digest = "streamed" if (method, path) in STREAMED else hashlib.sha256(body or b"").hexdigest()
    msg = "\n".join([method, target, member, date, nonce, digest]).encode()
    sig = _b64url(hmac.new(key, msg, hashlib.sha256).digest())
    return {"X-Fvce-Member": member, "X-Fvce-Date": date, "X-Fvce-Nonce": nonce,
            "X-Fvce-Signature": sig}


def auth_headers(auth, method: str, target: str, body: bytes | None) -> dict:
    if auth is None:
        return {}
    if auth == "member":
        return member_headers(method, target, body) if _SECRET and _TLS is None else {}
    if auth == "admin":
        return {"Authorization": f"Bearer {_ADMIN_TOKEN}"} if _ADMIN_TOKEN else {}
    return {"Authorization": f"Bearer {auth}"}


def tls_context(cert: tuple | None = None, ca: str | None = None):
    """A client context that checks the node against the cluster's CA (or ca) and presents
    cert=(certificate, key) when given."""
    import ssl

    ctx = ssl.create_default_context(cafile=ca or _TLS["ca"])
    ctx.check_hostname = False  # a node is known by its certificate's name, checked by fvce
    if cert:
        ctx.load_cert_chain(*cert)
    return ctx


# --------------------------------------------------------------------------------------
# Network namespaces: a node started with netns= runs inside one (`ip netns exec`), where
# the test process cannot reach it; requests to its address are made from inside that
# namespace (a socket opened by a thread that entered it), and so are CLI commands given
# its address with --node.

_NETNS_OF: dict[str, str] = {}  # address → the namespace of the node listening there
CLONE_NEWNET = 0x40000000


def netns_of(address: str | None) -> str | None:
    """The network namespace of the node at address (None: the test's own)."""
    return _NETNS_OF.get(address or "")


def _connect_in_netns(netns: str, address: tuple, timeout, source_address=None) -> socket.socket:
    """socket.create_connection from inside network namespace netns. setns() changes only
    the calling thread's namespace, and a socket stays in the namespace it was made in, so a
    short-lived thread makes it and the caller uses it."""
    import ctypes

    out: dict = {}

    def run():
        try:
            libc = ctypes.CDLL("libc.so.6", use_errno=True)
            fd = os.open(f"/run/netns/{netns}", os.O_RDONLY)
            try:
                if libc.setns(fd, CLONE_NEWNET) != 0:
                    err = ctypes.get_errno()
                    raise OSError(err, f"setns({netns}): {os.strerror(err)}")
            finally:
                os.close(fd)
            out["sock"] = socket.create_connection(address, timeout, source_address)
        except BaseException as e:  # noqa: BLE001 - handed to the caller
            out["error"] = e

    t = threading.Thread(target=run, name=f"netns-{netns}")
    t.start()
    t.join()
    if "error" in out:
        raise out["error"]
    return out["sock"]


def connection(address: str, timeout: float, auth="member", cert=None):
    host, port = address.rsplit(":", 1)
    if _TLS is None:
        conn = http.client.HTTPConnection(host.strip("[]"), int(port), timeout=timeout)
    else:
        # Over TLS a member is its certificate; users connect without one.
        if cert is None and auth == "member":
            cert = _TLS["member"]
        conn = http.client.HTTPSConnection(host.strip("[]"), int(port), timeout=timeout,
                                           context=tls_context(cert or None))
    netns = netns_of(address)
    if netns:
        conn._create_connection = (
            lambda addr, t, src=None: _connect_in_netns(netns, addr, t, src))
    return conn


def request(address: str, method: str, path: str, body: bytes | str | None = None,
            timeout: float = 5.0, headers: dict | None = None, auth="member",
            cert=None) -> Reply:
    """One HTTP request to HOST:PORT; returns status, headers and body whatever the status.
    Over TLS, cert=(certificate, key) presents that certificate instead of the harness's."""
    conn = connection(address, timeout, auth, cert)
    try:
        if isinstance(body, str):
            body = body.encode()
        h = {"Content-Type": "application/xml"} if body is not None else {}
        h.update(auth_headers(auth, method, path, body))
        h.update(headers or {})
        conn.request(method, path, body=body, headers=h)
        r = conn.getresponse()
        data = r.read()
        return Reply(r.status, {k.lower(): v for k, v in r.getheaders()}, data)
    finally:
        conn.close()


def get(address: str, path: str, **kw) -> Reply:
    return request(address, "GET", path, **kw)


def post(address: str, path: str, body: bytes | str | None = b"", **kw) -> Reply:
    return request(address, "POST", path, body=body, **kw)


def get_xml(address: str, path: str, timeout: float = 5.0, auth="member") -> ET.Element:
    """GET an XML document; raises unless the status is 200."""
    r = get(address, path, timeout=timeout, auth=auth)
    if r.status != 200:
        raise RuntimeError(f"GET {path} on {address}: HTTP {r.status}: {r.text[:300]}")
    return r.xml()


@dataclasses.dataclass(frozen=True)
class Member:
    id: str
    name: str
    address: str
    incarnation: int
    state: str
    host: dict


def parse_members(root: ET.Element) -> list[Member]:
    assert root.tag == q("members"), f"expected <members>, got {root.tag}"
    out = []
    for m in root.findall(q("member")):
        h = m.find(q("host"))
        out.append(Member(m.get("id"), m.get("name"), m.get("address"),
                          int(m.get("incarnation")), m.get("state"),
                          dict(h.attrib) if h is not None else {}))
    return out


def parse_metrics(text: str) -> dict[tuple[str, tuple], float]:
    """Prometheus text → {(metric, ((label, value), ...)): value}."""
    out = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        name_labels, _, value = line.rpartition(" ")
        if "{" in name_labels:
            name, _, rest = name_labels.partition("{")
            labels = []
            for part in _split_labels(rest.rstrip("}")):
                k, _, v = part.partition("=")
                labels.append((k, v.strip('"')))
            key = (name, tuple(sorted(labels)))
        else:
            key = (name_labels, ())
        try:
            out[key] = float(value)
        except ValueError:
            pass
    return out


def _split_labels(s: str):
    part, quoted = "", False
    for ch in s:
        if ch == '"':
            quoted = not quoted
        if ch == "," and not quoted:
            yield part
            part = ""
        else:
            part += ch
    if part:
        yield part


def free_dead_address() -> str:
    """A loopback address nobody listens on (a port the OS just handed out and took back)."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return f"127.0.0.1:{port}"


# --------------------------------------------------------------------------------------
# Nodes and clusters.


@dataclasses.dataclass
class CliResult:
    code: int
    stdout: str
    stderr: str
    seconds: float


class Node:
    """One `fvce node` process (or its stopped remains: the state dir survives restarts)."""

    def __init__(self, cluster: "Cluster", name: str):
        self.cluster = cluster
        self.name = name
        self.state_dir = os.path.join(cluster.tmp, "nodes", name)
        self.proc: subprocess.Popen | None = None
        self.address: str | None = None
        self.deploy: str | None = None
        self.join: str | None = None
        self.extra_args: list[str] = []
        self.listen = "127.0.0.1:0"  # what --listen gets (restart(same_address=True) changes it)
        self.netns: str | None = None  # the network namespace it runs in (None: the test's)
        self.new_session = False  # its own session and process group (os.killpg(node.pid, ...))
        self.starts = 0
        self.log_paths: list[str] = []
        self.has_accounts = False  # it knows the cluster's admin (see Cluster._sign_in)

    # -- reading the node --

    @property
    def pid(self) -> int:
        return self.proc.pid

    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def node_id(self) -> str:
        with open(os.path.join(self.state_dir, "node-id")) as f:
            return f.read().strip()

    def members(self, all: bool = False, timeout: float = 3.0) -> list[Member]:
        path = "/register/members?all=true" if all else "/register/members"
        return parse_members(get_xml(self.address, path, timeout=timeout))

    def view(self, all: bool = False) -> dict[str, Member]:
        """This node's member list by name."""
        return {m.name: m for m in self.members(all=all)}

    def alive_names(self) -> set[str]:
        return {m.name for m in self.members() if m.state == "alive"}

    def metrics(self) -> dict:
        r = get(self.address, "/metrics")
        if r.status != 200:
            raise RuntimeError(f"/metrics: HTTP {r.status}")
        return parse_metrics(r.text)

    def stderr_text(self) -> str:
        return "".join(_read(p) for p in self.log_paths if p.endswith(".err"))

    # -- controlling the node --

    def signal(self, sig: int) -> None:
        self.proc.send_signal(sig)

    def kill(self) -> None:
        """kill -9, and reap."""
        self.proc.kill()
        self.proc.wait(timeout=10)

    def terminate(self, timeout: float = 10.0) -> int:
        """SIGTERM (graceful leave) and wait for the exit code."""
        self.proc.terminate()
        return self.proc.wait(timeout=timeout)

    def wait_exit(self, timeout: float) -> int:
        return self.proc.wait(timeout=timeout)

    def __repr__(self):
        return f"Node({self.name}, {self.address}, pid={self.proc.pid if self.proc else None})"


def _join_arg(join) -> str | None:
    """What --join gets: a Node's address, HOST:PORT, or a list of either joined by commas."""
    if join is None:
        return None
    if isinstance(join, (list, tuple)):
        return ",".join(j.address if isinstance(j, Node) else j for j in join)
    return join.address if isinstance(join, Node) else join


class Cluster:
    """A temporary directory, the deploy files written into it and the nodes started from it.

    Use as a context manager; see the module docstring.
    """

    def __init__(self, fvce: str, label: str = "fvce-it", federation: str = "test",
                 log_level: str = "debug", transport: str | None = None):
        self.fvce = os.path.abspath(fvce)
        self.log_level = log_level
        if not os.access(self.fvce, os.X_OK):
            raise FileNotFoundError(f"fvce binary not found or not executable: {self.fvce}")
        self.fvce = runnable_fvce(self.fvce)
        self.tmp = tempfile.mkdtemp(prefix=label + "-")
        if AS_ROOT:
            os.chmod(self.tmp, 0o711)  # tasks run as a mapped account pass through it
        self.federation = federation
        self.nodes: dict[str, Node] = {}
        self._deploys = 0
        # The federation's secret, and its first admin (made in the first node's state dir
        # before it starts; the accounts then spread to every member).
        # Over TLS (transport="tls", or FVCE_TEST_TRANSPORT=tls) the cluster has a CA and each
        # node a bundle from `fvce ca issue`; the harness is a member named "harness".
        global _SECRET, _ADMIN_TOKEN, _TLS
        self.transport = transport or os.environ.get("FVCE_TEST_TRANSPORT", "plain")
        self.pki = os.path.join(self.tmp, "pki")
        _TLS = None
        if self.transport == "tls":
            self.ca_dir = os.path.join(self.pki, "ca")
            subprocess.run([self.fvce, "ca", "init", self.ca_dir, "--federation", federation],
                           check=True, capture_output=True)
            self.secret_file = os.path.join(self.ca_dir, "federation.key")
            harness = self.issue("harness")
            _TLS = {"ca": os.path.join(self.ca_dir, "ca.crt"),
                    "member": (os.path.join(harness, "node.crt"),
                               os.path.join(harness, "node.key"))}
            with open(self.secret_file) as f:
                self.secret = bytes.fromhex(f.read().strip())
        else:
            self.secret = secrets.token_bytes(32)
            self.secret_file = os.path.join(self.tmp, "federation.key")
            with open(os.open(self.secret_file, os.O_WRONLY | os.O_CREAT, 0o600), "w") as f:
                f.write(self.secret.hex() + "\n")
        _SECRET, _ADMIN_TOKEN = self.secret, None
        self.admin_password = "admin-" + secrets.token_hex(8)
        self.admin_token: str | None = None
        self.credentials = os.path.join(self.tmp, "credentials")

    def issue(self, name: str, *extra: str) -> str:
        """`fvce ca issue NAME` into TMP/pki/NAME (TLS clusters); returns the bundle's path."""
        out = os.path.join(self.pki, name)
        if not os.path.exists(os.path.join(out, "node.crt")):
            subprocess.run([self.fvce, "ca", "issue", name, "--ca", self.ca_dir, "--out", out,
                            "--host", "127.0.0.1", *extra], check=True, capture_output=True)
        return out

    # -- context management --

    def __enter__(self) -> "Cluster":
        return self

    def __exit__(self, exc_type, exc, tb):
        self.stop_all()
        keep = exc_type is not None or os.environ.get("FVCE_KEEP_TMP") == "1"
        if exc_type is not None and exc_type is not KeyboardInterrupt:
            self.dump_logs()
        if keep:
            print(f"[harness] kept {self.tmp}", file=sys.stderr)
        else:
            shutil.rmtree(self.tmp, ignore_errors=True)
        return False

    def dump_logs(self, tail: int = 40) -> None:
        for node in self.nodes.values():
            for p in node.log_paths:
                lines = _read(p).splitlines()[-tail:]
                print(f"----- {p} (last {len(lines)} lines) -----", file=sys.stderr)
                for line in lines:
                    print("  " + line, file=sys.stderr)

    def stop_all(self) -> None:
        """SIGKILL every node still running (the tests that want graceful stops do them)."""
        for node in self.nodes.values():
            if node.running():
                try:
                    node.proc.kill()
                except OSError:
                    pass
        for node in self.nodes.values():
            if node.proc is not None:
                try:
                    node.proc.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    pass
                _LIVE_PROCS.discard(node.proc)

    # -- deploy files --

    def write_deploy(self, register: dict | None = None, info: tuple | None = None,
                     http: dict | None = None, federation: str | None = None,
                     name: str | None = None, raw: str | None = None,
                     services: dict | None = None) -> str:
        """Writes a deploy.xml and returns its path.

        register: params of the register service ("introducer"), e.g. {"probe-interval": "200ms"}.
        info: (impl, params) of the info service; default ("statgrab", {"calibrate": "false"}),
              which starts fast. Use ("declared", {"cores": "4", "speed": "100", "memory": "8GiB"})
              to give a node a known capacity.
        http: attributes of <http>, e.g. {"max-body": "4KiB", "read-timeout": "1s"}.
        raw: the whole file's text instead (for deploy error tests).
        services: more services, {name: (impl, params)}, e.g.
              {"execute": ("process", {"slots": "3"}), "schedule": ("round-robin", {})}.
        """
        self._deploys += 1
        path = os.path.join(self.tmp, name or f"deploy-{self._deploys}.xml")
        if raw is None:
            # Over TLS each node gets its bundle on the command line (--security).
            raw = deploy_text(register=register, info=info, http=http,
                              federation=federation or self.federation, services=services,
                              secret=self.secret_file if self.transport != "tls" else None)
        with open(path, "w") as f:
            f.write(raw)
        return path

    # -- nodes --

    def start(self, name: str, deploy: str, join: "Node | str | list | None" = None,
              wait: bool = True, extra_args: list[str] | None = None,
              ready_timeout: float = 15.0, new_session: bool = False,
              listen: str | None = None, netns: str | None = None) -> Node:
        """Starts node `name` (its state dir is TMP/nodes/NAME) listening on 127.0.0.1:0.

        join: a Node, "HOST:PORT", or a list of them (given as one --join A,B,...) to join
        through. wait: return once it listens (its address file exists and it answers GET
        /register/members). new_session: the node leads a process group of its own, as a
        daemon started from a shell or a service manager would (a signal can then go to its
        whole group: os.killpg(node.pid, sig)). listen: HOST:PORT instead of 127.0.0.1:0.
        netns: run it in that network namespace (`ip netns exec NETNS fvce node ...`); the
        harness then reaches it from inside the namespace (see netns_of). The namespace and
        its links are the test's to make (as root).
        """
        node = self.nodes.get(name) or Node(self, name)
        self.nodes[name] = node
        node.new_session = new_session
        if listen is not None:
            node.listen = listen
        node.netns = netns
        node.deploy = deploy
        node.join = _join_arg(join)
        node.extra_args = list(extra_args or [])
        self._spawn(node)
        if wait:
            self.wait_ready(node, ready_timeout)
        return node

    def restart(self, node: Node, join: "Node | str | list | None" = None, wait: bool = True,
                ready_timeout: float = 15.0, same_address: bool = False,
                new_address: bool = False) -> Node:
        """Starts a stopped node again with the same name, deploy file and state dir.

        The node's previous --join is NOT reused: pass join explicitly (None = rejoin by
        the members remembered in the state dir; a list is given as one --join A,B,...).
        same_address: listen on the address it had (as a restarted daemon would).
        new_address: listen on a fresh port of the same host, and check (once it listens)
        that its address changed — as a host that came back with another address. Without
        either, it listens on what it last listened on (127.0.0.1:0 unless told otherwise).
        """
        if node.running():
            raise RuntimeError(f"{node.name} is still running")
        if same_address and new_address:
            raise ValueError("same_address and new_address exclude each other")
        node.join = _join_arg(join)
        old = node.address
        if same_address and node.address:
            node.listen = node.address
        if new_address:
            node.listen = (old or node.listen).rsplit(":", 1)[0] + ":0"
        self._spawn(node)
        if wait:
            self.wait_ready(node, ready_timeout)
            if new_address and node.address == old:
                raise RuntimeError(f"{node.name} came back at its old address {old}")
        return node

    def _spawn(self, node: Node) -> None:
        os.makedirs(node.state_dir, exist_ok=True)
        if node.starts == 0 and not node.join:
            # A node that starts a federation of its own holds its first admin (the same
            # name and password in every such federation of the cluster, so one token works
            # at all of them, as at a federation they merge into).
            p = subprocess.run([self.fvce, "user", "add", "admin", "--role", "admin",
                                "--password-stdin", "--state-dir", node.state_dir],
                               input=(self.admin_password + "\n").encode(), capture_output=True,
                               timeout=30)
            if p.returncode != 0:
                raise RuntimeError(f"adding the admin failed: {p.stderr.decode()}")
            node.has_accounts = True
        addr_file = os.path.join(node.state_dir, "address")
        if os.path.exists(addr_file):  # a previous run's: must not be mistaken for this one's
            os.remove(addr_file)
        node.starts += 1
        base = os.path.join(self.tmp, "logs", f"{node.name}.{node.starts}")
        os.makedirs(os.path.dirname(base), exist_ok=True)
        out, err = base + ".out", base + ".err"
        node.log_paths += [out, err]
        args = [self.fvce, "node", "--deploy", node.deploy, "--listen", node.listen,
                "--state-dir", node.state_dir, "--name", node.name, "--log-level", self.log_level]
        if node.join:
            args += ["--join", node.join]
        if self.transport == "tls" and "--security" not in node.extra_args:
            args += ["--security", self.issue(node.name)]
        args += node.extra_args
        if node.netns:
            args = ["ip", "netns", "exec", node.netns, *args]
        with open(out, "wb") as fo, open(err, "wb") as fe:
            node.proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=fo, stderr=fe,
                                         preexec_fn=_pdeathsig,
                                         start_new_session=node.new_session)
        _LIVE_PROCS.add(node.proc)
        node.address = None

    def wait_ready(self, node: Node, timeout: float = 15.0) -> None:
        addr_file = os.path.join(node.state_dir, "address")

        def ready():
            if node.proc.poll() is not None:
                raise Fatal(f"{node.name} exited with {node.proc.returncode} while "
                                     f"starting:\n{node.stderr_text()[-2000:]}")
            if not os.path.exists(addr_file):
                return False
            address = _read(addr_file).strip()
            if not address:
                return False
            node.address = address
            if node.netns:
                _NETNS_OF[address] = node.netns
            else:
                _NETNS_OF.pop(address, None)
            r = get(address, "/register/members", timeout=1.0)
            return r.status == 200

        wait_until(ready, timeout, f"{node.name} to listen", interval=0.02)
        self._sign_in(node, timeout)

    def login(self, node: Node, user: str, password: str) -> Reply:
        body = f'<login xmlns="{NS}" user="{user}" password="{password}"/>'
        return post(node.address, "/auth/login", body, auth=None)

    def token_of(self, reply: Reply) -> str:
        return reply.xml().get("value")

    def _sign_in(self, node: Node, timeout: float) -> None:
        """The admin signs in once the first node is up; at every node started later, waits
        until the admin's token works there (the accounts reached it)."""
        global _ADMIN_TOKEN
        if self.admin_token is None:
            r = self.login(node, "admin", self.admin_password)
            if r.status != 200:
                return  # a node whose state dir has no admin (e.g. a deploy error test)
            self.admin_token = _ADMIN_TOKEN = self.token_of(r)
            node.has_accounts = True
            with open(os.open(self.credentials, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600),
                      "w") as f:
                ca = _TLS["ca"] if _TLS else ""
                f.write(f"node={node.address}\nuser=admin\ntoken={self.admin_token}\nca={ca}\n")
            return
        via = next((n for n in self.nodes.values()
                    if n.address and n.address in (node.join or "").split(",")), None)
        if node.starts == 1 and not node.has_accounts:
            # A federation of its own, or joined to one without the admin: it learns the
            # accounts only when the federations merge.
            node.has_accounts = bool(via and via.has_accounts)
            if not node.has_accounts:
                return
        self.wait_accounts(node, timeout)

    def wait_accounts(self, node: Node, timeout: float = 15.0) -> None:
        """Waits until the admin's token works at node (the accounts reached it)."""
        wait_until(lambda: get(node.address, "/auth/whoami", auth="admin").status == 200,
                   timeout, f"the accounts to reach {node.name}", interval=0.05)
        node.has_accounts = True

    def running_nodes(self) -> list[Node]:
        return [n for n in self.nodes.values() if n.running()]

    # -- views over the cluster --

    def views(self, nodes: list[Node] | None = None, all: bool = False) -> dict[str, dict]:
        """{node name: {member name: Member}} for each given (default: running) node."""
        return {n.name: n.view(all=all) for n in (nodes or self.running_nodes())}

    def converged(self, nodes: list[Node] | None = None, names: set[str] | None = None) -> bool:
        """True when every given node lists exactly `names` (default: their names), all alive."""
        nodes = nodes or self.running_nodes()
        names = names if names is not None else {n.name for n in nodes}
        for n in nodes:
            members = n.members()
            if {m.name for m in members} != names or any(m.state != "alive" for m in members):
                return False
        return True

    def wait_converged(self, nodes: list[Node] | None = None, timeout: float = 10.0,
                       names: set[str] | None = None) -> float:
        """Waits until converged(); returns the seconds it took."""
        t0 = time.monotonic()
        nodes = nodes or self.running_nodes()
        wait_until(lambda: self.converged(nodes, names), timeout,
                   f"{[n.name for n in nodes]} to list {sorted(names or [n.name for n in nodes])}"
                   " all alive", interval=0.05)
        return time.monotonic() - t0

    # -- the command line --

    def _command(self, args: tuple, netns: str | None) -> list[str]:
        """fvce ARGS, inside netns — by default the namespace of the node --node names."""
        if netns is None and "--node" in args[:-1]:
            netns = netns_of(args[args.index("--node") + 1])
        return ["ip", "netns", "exec", netns, self.fvce, *args] if netns else [self.fvce, *args]

    def cli_background(self, *args: str, netns: str | None = None) -> BackgroundCli:
        """Starts `fvce ARGS...` without waiting; its output goes to files in the cluster dir.
        netns: as for cli()."""
        e = dict(os.environ)
        e.pop("FVCE_NODE", None)
        e["FVCE_CREDENTIALS"] = self.credentials
        self._bg = getattr(self, "_bg", 0) + 1
        base = os.path.join(self.tmp, "logs", f"cli.{self._bg}")
        os.makedirs(os.path.dirname(base), exist_ok=True)
        with open(base + ".out", "wb") as fo, open(base + ".err", "wb") as fe:
            p = subprocess.Popen(self._command(args, netns), stdin=subprocess.DEVNULL, stdout=fo,
                                 stderr=fe, env=e, preexec_fn=_pdeathsig)
        _LIVE_PROCS.add(p)
        return BackgroundCli(p, base + ".out", base + ".err")

    def cli(self, *args: str, timeout: float = 20.0, env: dict | None = None,
            input: str | None = None, netns: str | None = None) -> CliResult:
        """Runs `fvce ARGS...` (input: its standard input); returns exit code, stdout, stderr
        and how long it took. It runs in network namespace netns — by default in that of the
        node `--node ADDRESS` names, if that node runs in one."""
        e = dict(os.environ)
        e.pop("FVCE_NODE", None)
        e["FVCE_CREDENTIALS"] = self.credentials
        e.update(env or {})
        t0 = time.monotonic()
        p = subprocess.run(self._command(args, netns), capture_output=True, timeout=timeout, env=e,
                           **({"input": input.encode()} if input is not None
                              else {"stdin": subprocess.DEVNULL}))
        return CliResult(p.returncode, p.stdout.decode("utf-8", "replace"),
                         p.stderr.decode("utf-8", "replace"), time.monotonic() - t0)


class BackgroundCli:
    """A CLI command left running (e.g. `fvce submit --watch`); see Cluster.cli_background."""

    def __init__(self, proc: subprocess.Popen, out: str, err: str):
        self.proc, self._out, self._err = proc, out, err
        self.t0 = time.monotonic()

    def wait(self, timeout: float) -> CliResult:
        code = self.proc.wait(timeout=timeout)
        _LIVE_PROCS.discard(self.proc)
        return CliResult(code, _read(self._out), _read(self._err), time.monotonic() - self.t0)

    def stdout(self) -> str:
        return _read(self._out)

    def stderr(self) -> str:
        return _read(self._err)


def deploy_text(register: dict | None = None, info: tuple | None = None,
                http: dict | None = None, federation: str = "test",
                services: dict | None = None, secret: str | None = None) -> str:
    """The text of a deploy.xml (see Cluster.write_deploy)."""
    impl, params = info or ("statgrab", {"calibrate": "false"})
    lines = ['<?xml version="1.0" encoding="UTF-8"?>',
             f'<deploy xmlns="{NS}" federation="{federation}">',
             '  <node threads="2"/>']
    if http:
        attrs = " ".join(f'{k}="{v}"' for k, v in http.items())
        lines.append(f"  <http {attrs}/>")
    if secret:
        lines.append(f'  <security transport="plain" secret="{secret}" accounts-sync="1s"/>')
    if AS_ROOT:
        services = dict(services or {})
        impl_, params_ = services.get("execute", ("process", {}))
        if impl_ == "process" and "accounts" not in (params_ or {}):
            services["execute"] = (impl_, {**(params_ or {}), "accounts": ROOT_ACCOUNTS})
    lines.append('  <service name="register" impl="introducer">')
    for k, v in (register or {}).items():
        lines.append(f'    <param name="{k}" value="{v}"/>')
    lines.append("  </service>")
    lines.append(f'  <service name="info" impl="{impl}">')
    for k, v in params.items():
        lines.append(f'    <param name="{k}" value="{v}"/>')
    lines.append("  </service>")
    for sname, (simpl, sparams) in (services or {}).items():
        lines.append(f'  <service name="{sname}" impl="{simpl}">')
        for k, v in (sparams or {}).items():
            lines.append(f'    <param name="{k}" value="{v}"/>')
        lines.append("  </service>")
    lines.append("</deploy>")
    return "\n".join(lines) + "\n"


# Register params that make membership react in a fraction of a second; for tests that are
# not about the defaults.
FAST_REGISTER = {
    "probe-interval": "200ms",
    "probe-timeout": "200ms",
    "suspect-after": "1",
    "remove-after": "3",
    "suspect-timeout": "1s",
    "sync-interval": "2s",
}


def table_rows(text: str) -> list[list[str]]:
    """Splits the CLI's human table (columns separated by 2+ spaces) into cells."""
    import re

    return [re.split(r"\s{2,}", line.strip()) for line in text.splitlines() if line.strip()]


def _read(path: str) -> str:
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            return f.read()
    except OSError:
        return ""


# --------------------------------------------------------------------------------------
# Entry point for the test scripts.

FVCE: str = ""


def main(skip_exit_code: int | None = None) -> None:
    """Parses --fvce PATH (default: $FVCE or build/fvce), then runs unittest on __main__.
    skip_exit_code: exit with it when every test was skipped and none failed (ctest's
    SKIP_RETURN_CODE then reports the test as skipped, not passed)."""
    global FVCE
    ap = argparse.ArgumentParser(add_help=False)
    ap.add_argument("--fvce", default=os.environ.get("FVCE", os.path.join(REPO, "build", "fvce")))
    args, rest = ap.parse_known_args()
    FVCE = os.path.abspath(args.fvce)
    prog = unittest.main(module="__main__", argv=[sys.argv[0], *rest], verbosity=2, exit=False)
    r = prog.result
    if not r.wasSuccessful():
        sys.exit(1)
    if skip_exit_code is not None and r.testsRun and len(r.skipped) == r.testsRun:
        sys.exit(skip_exit_code)
    sys.exit(0)


def fvce_path() -> str:
    return FVCE


# --------------------------------------------------------------------------------------
# Workflows (submit, schedule, execute, file).


def execute_services(slots: int | str | None = None, schedule: tuple | None = None,
                     submit: dict | None = None, execute: dict | None = None) -> dict:
    """The `services` argument of write_deploy for a workflow node.

    slots: the execute service's slot count (None: its default, the cores).
    schedule: (impl, params) of the schedule service (None: the default random-adaptive).
    submit: params of the submit service (impl dag). execute: more execute params.
    """
    services = {}
    params = dict(execute or {})
    if slots is not None:
        params["slots"] = str(slots)
    if params:
        services["execute"] = ("process", params)
    if schedule is not None:
        services["schedule"] = schedule
    if submit:
        services["submit"] = ("dag", submit)
    return services


def start_federation(c: "Cluster", slots=(1, 2, 3), names=None, register: dict | None = None,
                     schedule: tuple | None = None, submit: dict | None = None,
                     execute: dict | None = None, converge_timeout: float = 10.0) -> list:
    """Starts len(slots) nodes (names w1, w2, ... unless given), the i-th with slots[i] task
    slots, all joined through the first; waits until they all list each other alive.
    Returns the nodes, the first being the one to submit to."""
    names = names or [f"w{i + 1}" for i in range(len(slots))]
    nodes = []
    for name, n in zip(names, slots):
        deploy = c.write_deploy(register=register if register is not None else FAST_REGISTER,
                                services=execute_services(n, schedule, submit, execute),
                                name=f"deploy-{name}.xml")
        nodes.append(c.start(name, deploy, join=nodes[0] if nodes else None))
    c.wait_converged(nodes, timeout=converge_timeout)
    return nodes


def write_file(directory: str, name: str, text: str | bytes) -> str:
    """Writes DIR/NAME (parents created); returns its path."""
    path = os.path.join(directory, name)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(text.encode() if isinstance(text, str) else text)
    return path


@dataclasses.dataclass
class WorkflowStatus:
    summary: dict   # the <summary> attributes (strings)
    tasks: dict     # task id → its <task> attributes (strings), in document order

    @property
    def state(self) -> str:
        return self.summary["state"]

    def hosts(self) -> set:
        return {t.get("host") for t in self.tasks.values() if t.get("host")}


def workflow_status(address: str, workflow: str, timeout: float = 10.0,
                    tasks: str = "all", auth="member") -> WorkflowStatus:
    """GET /submit/status?workflow=ID&tasks=all|failed|none, parsed."""
    root = get_xml(address, f"/submit/status?workflow={workflow}&tasks={tasks}", timeout=timeout,
                   auth=auth)
    summary = dict(root.find(q("summary")).attrib)
    tasks = {t.get("id"): dict(t.attrib) for t in root.findall(q("task"))}
    return WorkflowStatus(summary, tasks)


def workflow_list(address: str, owner: str | None = None) -> list[dict]:
    """GET /submit/workflows[?owner=]: the summaries (attribute dicts)."""
    path = "/submit/workflows" + (f"?owner={owner}" if owner else "")
    return [dict(w.attrib) for w in get_xml(address, path).findall(q("workflow"))]


def wait_workflow(address: str, workflow: str, timeout: float,
                  interval: float = 0.1) -> WorkflowStatus:
    """Polls the summary until the workflow is no longer running; returns its whole status
    (tasks included) from then."""

    def ended():
        return workflow_status(address, workflow, tasks="none").state != "running"

    wait_until(ended, timeout, f"workflow {workflow} to end", interval=interval)
    return workflow_status(address, workflow)


def submit(c: "Cluster", node: "Node", path: str, *extra: str, timeout: float = 60.0) -> CliResult:
    """`fvce submit PATH --node ADDRESS [EXTRA...]`."""
    return c.cli("submit", path, "--node", node.address, *extra, timeout=timeout)


def pids_with_arg(marker: str, program: str | None = None) -> list[int]:
    """Processes of this machine whose command line contains `marker` as one argument
    (and, with program, whose argv[0] has that base name: the task itself, not a wrapper
    the executor may put around it)."""
    out = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/cmdline", "rb") as f:
                args = f.read().split(b"\0")
        except OSError:
            continue
        if marker.encode() in args:
            if program is not None and os.path.basename(args[0].decode(errors="replace")) != program:
                continue
            out.append(int(d))
    return out
