#!/usr/bin/env python3
"""browser: the web user port as a person uses it, in Debian's Chromium and Firefox.

Starts a real federation of three nodes (tests/integration/fvce_harness.py), adds two users
(alice and bob), lets bob submit a workflow of his own, puts a 100,000-line text file and a
SEG-Y shot into alice's files through the JSON API, and runs tests/browser/run.mjs against
the first node: sign in, the hosts and their load charts, the hello application's form (a
bad value, then a submission watched to its end), its DAG, timeline and a task's stdout,
paging through the text file and going to a line, the SEG-Y shot as an image, `echo` in a
terminal, bob's workflow out of alice's sight and hers out of his, Chinese.

Screenshots of every page go to ./browser-artifacts (the ctest working directory);
--copy-images also copies them into docs/images/web-*.png.

--browser firefox runs the same scenarios in Debian's Firefox ESR (default: Chromium).

Exits 77 (skipped) when node, the browser or playwright-core (web/node_modules) is missing.
"""

import argparse
import http.client
import json
import math
import os
import secrets
import shutil
import struct
import subprocess
import sys
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "integration"))
import fvce_harness as H  # noqa: E402

SKIP = 77
BROWSERS = {"chromium": (os.environ.get("FVCE_CHROMIUM", "/usr/bin/chromium"), "chromium"),
            "firefox": (os.environ.get("FVCE_FIREFOX", "/usr/bin/firefox-esr"), "firefox-esr")}
BOBS = """<?xml version="1.0" encoding="UTF-8"?>
<workflow xmlns="urn:fvce:1" name="bobs-own">
  <task id="only" cmd="true"/>
</workflow>
"""
LINES = 100_000
TRACES, SAMPLES = 96, 750

OPTIONS = {"artifacts": os.path.abspath("browser-artifacts"), "copy_images": False, "only": "",
           "browser": "chromium"}


def missing_tools() -> str:
    node = shutil.which("node") or shutil.which("nodejs")
    if not node:
        return "node is not installed (Debian: apt-get install nodejs npm)"
    path, package = BROWSERS[OPTIONS["browser"]]
    if not os.access(path, os.X_OK):
        return f"{OPTIONS['browser']} is not installed at {path} (Debian: apt-get install {package})"
    if not os.path.isdir(os.path.join(H.REPO, "web", "node_modules", "playwright-core")):
        return "playwright-core is not installed (build the fvce_web target, or npm ci in web/)"
    if OPTIONS["browser"] == "firefox":
        # playwright-core drives Firefox over WebDriver BiDi, which needs a recent Firefox ESR
        # (Debian 12's bookworm-security has one; bookworm's main archive alone has 140, which
        # lacks network.addDataCollector).
        p = subprocess.run([node, os.path.join(HERE, "run.mjs"), "--probe", "--browser", "firefox"],
                           capture_output=True, text=True, timeout=120)
        if p.returncode == SKIP:
            return f"Firefox at {path} cannot be driven by playwright-core: {p.stdout.strip()}"
    return ""


def segy_shot(traces: int, samples: int, interval_us: int = 4000) -> bytes:
    """A small SEG-Y rev 1 file (IEEE floats, big-endian): a synthetic shot gather, the
    direct arrival and two reflections as Ricker wavelets on hyperbolae."""
    text = "".join(f"C{i + 1:2d} fvce browser test shot".ljust(80) for i in range(40)).encode("ascii")
    binary = bytearray(400)
    struct.pack_into(">h", binary, 16, interval_us)
    struct.pack_into(">h", binary, 20, samples)
    struct.pack_into(">h", binary, 24, 5)  # IEEE float
    struct.pack_into(">h", binary, 300, 0x0100)  # revision 1
    struct.pack_into(">h", binary, 302, 1)  # fixed trace length
    dt = interval_us / 1e6
    out = bytearray(text + bytes(binary))
    for tr in range(traces):
        header = bytearray(240)
        offset = (tr - traces // 2) * 25
        struct.pack_into(">i", header, 0, tr + 1)
        struct.pack_into(">i", header, 8, 1)
        struct.pack_into(">i", header, 12, tr + 1)
        struct.pack_into(">i", header, 36, offset)
        struct.pack_into(">h", header, 114, samples)
        struct.pack_into(">h", header, 116, interval_us)
        values = []
        for i in range(samples):
            t = i * dt
            v = 0.0
            for t0, vel, amp in ((0.0, 1500.0, 1.0), (0.8, 2000.0, 0.6), (1.7, 2600.0, -0.4)):
                arrival = math.sqrt(t0 * t0 + (offset / vel) ** 2)
                a = (math.pi * 25.0 * (t - arrival)) ** 2
                v += amp * (1 - 2 * a) * math.exp(-a)
            values.append(v)
        out += header + struct.pack(f">{samples}f", *values)
    return bytes(out)


class WebSession:
    """Signed in at a node's JSON API as a browser is: the session cookie and the CSRF token."""

    def __init__(self, address: str, user: str, password: str):
        self.address = address
        r = self.request("POST", "/api/login", json.dumps({"user": user, "password": password}).encode(),
                         {"Content-Type": "application/json"})
        if r.status != 200:
            raise AssertionError(f"POST /api/login as {user}: HTTP {r.status}: {r.text[:300]}")
        cookie = r.headers.get("set-cookie", "")
        self.cookie = cookie.split(";", 1)[0]
        self.csrf = json.loads(r.body)["csrf"]

    def request(self, method: str, target: str, body: bytes | None = None, headers: dict | None = None):
        host, port = self.address.rsplit(":", 1)
        conn = http.client.HTTPConnection(host, int(port), timeout=30)
        try:
            h = dict(headers or {})
            if getattr(self, "cookie", None):
                h["Cookie"] = self.cookie
                h["X-CSRF-Token"] = self.csrf
            conn.request(method, target, body=body, headers=h)
            r = conn.getresponse()
            return H.Reply(r.status, {k.lower(): v for k, v in r.getheaders()}, r.read())
        finally:
            conn.close()

    def upload(self, member: str, path: str, data: bytes) -> None:
        from urllib.parse import urlencode

        r = self.request("PUT", "/api/files/upload?" + urlencode({"member": member, "path": path}), data,
                         {"Content-Type": "application/octet-stream"})
        if r.status not in (200, 201, 204):
            raise AssertionError(f"PUT /api/files/upload {member}:{path}: HTTP {r.status}: {r.text[:300]}")


def apps_dir() -> str:
    """The application descriptions the repository ships (the hello application among them)."""
    for d in ("apps", os.path.join("examples", "apps")):
        path = os.path.join(H.REPO, d)
        if os.path.isdir(path):
            return path
    return ""


class Browser(unittest.TestCase):
    def setUp(self):
        # Run as root, a node gives a user's tasks and shells to a mapped local account, never
        # root: alice gets one of her own with a login shell (as a site makes for its users).
        self.account = None
        self.execute = {}
        if H.AS_ROOT:
            self.account = "fvceweb" + secrets.token_hex(3)
            subprocess.run(["useradd", "--system", "--no-create-home", "--home-dir", "/nonexistent",
                            "--shell", "/bin/sh", self.account], check=True, capture_output=True)
            self.execute = {"accounts": f"alice={self.account},*=nobody"}

    def tearDown(self):
        if self.account:
            subprocess.run(["userdel", self.account], capture_output=True)

    def test_browser(self):
        with H.Cluster(H.fvce_path(), "fvce-browser") as c:
            userport = {}
            if apps_dir():
                userport["apps"] = apps_dir()
            services = {"userport": ("web", userport)} if userport else None
            nodes = []
            for name, slots in (("w1", 1), ("w2", 2), ("w3", 3)):
                svc = H.execute_services(slots, execute=self.execute)
                svc.update(services or {})
                deploy = c.write_deploy(register=H.FAST_REGISTER, services=svc, name=f"deploy-{name}.xml")
                nodes.append(c.start(name, deploy, join=nodes[0] if nodes else None))
            c.wait_converged(nodes, timeout=15)
            a = nodes[0]
            for user in ("alice", "bob"):
                r = c.cli("user", "add", user, "--password-stdin", "--node", a.address,
                          input=f"{user}-password\n")
                self.assertEqual(r.code, 0, r.stderr)
            for n in nodes:
                H.wait_until(lambda: c.login(n, "bob", "bob-password").status == 200, 15,
                             f"the users to reach {n.name}")
            bob = c.token_of(c.login(a, "bob", "bob-password"))
            r = H.post(a.address, "/submit/workflows", BOBS, auth=bob)
            self.assertEqual(r.status, 201, r.text)
            bobs = r.xml().get("id")

            alice = WebSession(a.address, "alice", "alice-password")
            text = "".join(f"line {i}\n" for i in range(1, LINES + 1)).encode()
            alice.upload("w2", "users/alice/lines.txt", text)
            alice.upload("w3", "users/alice/shot.sgy", segy_shot(TRACES, SAMPLES))

            os.makedirs(OPTIONS["artifacts"], exist_ok=True)
            for old in os.listdir(OPTIONS["artifacts"]):  # this run's screenshots only
                if old.endswith(".png"):
                    os.remove(os.path.join(OPTIONS["artifacts"], old))
            node = shutil.which("node") or shutil.which("nodejs")
            cmd = [node, os.path.join(HERE, "run.mjs"),
                   "--base", f"http://{a.address}/",
                   "--user", "alice", "--password", "alice-password",
                   "--other-user", "bob", "--other-password", "bob-password",
                   "--other-workflow", bobs,
                   "--text", f"w2:users/alice/lines.txt:{LINES}",
                   "--segy", f"w3:users/alice/shot.sgy:{TRACES}",
                   "--terminal", "w3",
                   "--app", "hello",
                   "--members", "3",
                   "--browser", OPTIONS["browser"],
                   "--out", OPTIONS["artifacts"]]
            if OPTIONS["only"]:
                cmd += ["--only", OPTIONS["only"]]
            p = subprocess.run(cmd, capture_output=True, text=True, timeout=540)
            print(p.stdout)
            if p.stderr:
                print(p.stderr, file=sys.stderr)
            if OPTIONS["copy_images"]:
                images = os.path.join(H.REPO, "docs", "images")
                for name in sorted(os.listdir(OPTIONS["artifacts"])):
                    if name.endswith(".png") and not name.startswith("failed-"):
                        shutil.copy(os.path.join(OPTIONS["artifacts"], name), os.path.join(images, f"web-{name}"))
                print(f"copied the screenshots into {images}")
            self.assertEqual(p.returncode, 0, "browser scenarios failed (above); screenshots in "
                             + OPTIONS["artifacts"])


if __name__ == "__main__":
    ap = argparse.ArgumentParser(add_help=False)
    ap.add_argument("--artifacts", default=OPTIONS["artifacts"])
    ap.add_argument("--copy-images", action="store_true")
    ap.add_argument("--only", default="")
    ap.add_argument("--browser", choices=sorted(BROWSERS), default="chromium")
    known, rest = ap.parse_known_args()
    OPTIONS.update(artifacts=os.path.abspath(known.artifacts), copy_images=known.copy_images, only=known.only,
                   browser=known.browser)
    why = missing_tools()
    if why:
        print(f"SKIP browser tests: {why}")
        sys.exit(SKIP)
    sys.argv = [sys.argv[0], *rest]
    H.main()
