#!/usr/bin/env python3
"""terminal: a shell on a member of the federation over a WebSocket (docs/web.md, "Terminal";
docs/SECURITY.md, "The terminal").

Two nodes, a and b (plain transport). alice signs in at a with a session cookie and opens a
terminal on b through a (the relay): what she types runs on b, as her mapped account (run as
root: a temporary local account; otherwise the node's own), in b's work root users/alice
(hers, 0700); the shell's exit closes the WebSocket with the reason, and both nodes log the
session. Refused: no cookie or a forged one (401), another site's Origin (403), a cookie
without an Origin (403); run as root, a user mapped to an account without a login shell
gets the WebSocket closed with the reason, and no shell. A terminal without input is closed
after terminal-idle; signing out closes the session's terminals.

Needs python3-websocket (scripts/setup.sh).
"""

import getpass
import os
import pwd
import secrets
import shutil
import struct
import subprocess
import time
import unittest

import fvce_harness as H

try:
    import websocket  # python3-websocket
except ImportError:  # pragma: no cover
    websocket = None

IDLE = 4  # seconds: the terminal-idle of this federation


def close_of(frame) -> tuple[int, str]:
    data = frame.data or b""
    if len(data) < 2:
        return 1005, ""
    return struct.unpack("!H", data[:2])[0], data[2:].decode("utf-8", "replace")


class Terminal:
    """One WebSocket terminal: what the shell wrote, and how it was closed."""

    def __init__(self, node, member="", cookie=None, origin=None, token=None, cols=100,
                 rows=30):
        url = f"ws://{node.address}/api/terminal?cols={cols}&rows={rows}"
        if member:
            url += f"&member={member}"
        header = [f"Authorization: Bearer {token}"] if token else []
        kw = {"header": header, "timeout": 10}
        if cookie:
            kw["cookie"] = f"fvce_session={cookie}"
        if origin is None:
            kw["origin"] = f"http://{node.address}"
        elif origin == "":
            kw["suppress_origin"] = True
        else:
            kw["origin"] = origin
        self.ws = websocket.create_connection(url, **kw)
        self.out = b""
        self.closed = None  # (code, reason) once closed

    def type(self, text: str) -> None:
        self.ws.send_binary(text.encode())

    def resize(self, cols: int, rows: int) -> None:
        self.ws.send(f'{{"resize":[{cols},{rows}]}}')

    def read_until(self, want: str, timeout: float = 10.0) -> bool:
        """Reads until the output holds want (True), or the terminal closes or the time is
        up (False)."""
        deadline = time.monotonic() + timeout
        while want.encode() not in self.out and self.closed is None:
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            self.ws.settimeout(left)
            try:
                op, frame = self.ws.recv_data_frame(control_frame=True)
            except websocket.WebSocketTimeoutException:
                return False
            except websocket.WebSocketConnectionClosedException:
                self.closed = (1006, "")
                break
            if op == websocket.ABNF.OPCODE_CLOSE:
                self.closed = close_of(frame)
            elif op == websocket.ABNF.OPCODE_BINARY:
                self.out += frame.data if hasattr(frame, "data") else frame
            elif op == websocket.ABNF.OPCODE_TEXT:
                pass
        return want.encode() in self.out

    def wait_closed(self, timeout: float) -> tuple[int, str] | None:
        self.read_until("\0never\0", timeout)
        return self.closed

    def text(self) -> str:
        return self.out.decode("utf-8", "replace")

    def close(self) -> None:
        try:
            self.ws.close()
        except Exception:
            pass


def handshake_status(node, **kw) -> int:
    try:
        Terminal(node, **kw).close()
        return 101
    except websocket.WebSocketBadStatusException as e:
        return e.status_code


@unittest.skipIf(websocket is None, "python3-websocket is not installed (scripts/setup.sh)")
class TerminalTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.account = None
        execute = {}
        if H.AS_ROOT:
            # An account of its own with a login shell, as a site makes one for its users.
            cls.account = "fvceterm" + secrets.token_hex(3)
            subprocess.run(["useradd", "--system", "--no-create-home", "--home-dir",
                            "/nonexistent", "--shell", "/bin/sh", cls.account], check=True,
                           capture_output=True)
            execute = {"accounts": f"alice={cls.account},*=nobody"}
        cls.expected_account = cls.account or getpass.getuser()
        cls.c = H.Cluster(H.fvce_path(), "fvce-terminal")
        cls.c.__enter__()
        services = {"userport": ("web", {"terminal-idle": f"{IDLE}s"})}
        if execute:
            services["execute"] = ("process", execute)
        deploy = cls.c.write_deploy(register=H.FAST_REGISTER, services=services)
        cls.a = cls.c.start("a", deploy)
        cls.b = cls.c.start("b", deploy, join=cls.a)
        cls.c.wait_converged([cls.a, cls.b])
        for user in ("alice", "bob"):
            r = cls.c.cli("user", "add", user, "--password-stdin", "--node", cls.a.address,
                          input=f"{user}-password\n")
            assert r.code == 0, r.stderr
        # b checks the sign-in of the terminals relayed to it: the accounts must be there.
        token = cls.c.token_of(cls.c.login(cls.a, "alice", "alice-password"))
        H.wait_until(lambda: H.get(cls.b.address, "/auth/whoami", auth=token).status == 200, 10,
                     "alice's sign-in to work at b")

    @classmethod
    def tearDownClass(cls):
        cls.c.__exit__(None, None, None)
        if cls.account:
            subprocess.run(["userdel", cls.account], capture_output=True)

    def sign_in(self, user="alice", node=None):
        """A browser's sign-in: the session cookie and the CSRF token."""
        node = node or self.a
        body = f'<login xmlns="{H.NS}" user="{user}" password="{user}-password"/>'
        r = H.post(node.address, "/auth/login?session=true", body, auth=None)
        self.assertEqual(r.status, 200, r.text)
        cookie = r.headers["set-cookie"].split(";", 1)[0]
        name, _, value = cookie.partition("=")
        self.assertEqual(name, "fvce_session")
        return value, r.xml().get("csrf")

    def test_relayed_shell_runs_as_the_account_in_the_users_directory(self):
        cookie, _ = self.sign_in()
        t = Terminal(self.a, member="b", cookie=cookie)
        try:
            t.type("echo h''i; id -un; echo uid=$(id -u) dir=$(pwd) size=$(stty size)\n")
            self.assertTrue(t.read_until("size=30 100"), t.text())
            # (What is typed is echoed: "h''i" is not "hi".)
            self.assertIn("hi\r\n", t.text())
            self.assertIn(f"{self.expected_account}\r\n", t.text())
            self.assertNotIn("uid=0 ", t.text())
            home = os.path.join(self.b.state_dir, "work", "users", "alice")
            self.assertIn(f"dir={home} ", t.text())
            st = os.stat(home)
            self.assertEqual(st.st_mode & 0o777, 0o700)
            self.assertEqual(st.st_uid, pwd.getpwnam(self.expected_account).pw_uid)
            t.resize(120, 40)
            t.type("echo size=$(stty size)\n")
            self.assertTrue(t.read_until("size=40 120"), t.text())
            t.type("exit 7\n")
            code, reason = t.wait_closed(10)
            self.assertEqual(code, 1000)
            self.assertIn("the shell exited (exit status 7)", reason)
        finally:
            t.close()
        # The audit lines: at the member that ran it, and at the node that relayed it.
        H.wait_until(lambda: "terminal #" in self.b.stderr_text() and
                     " closed: user 'alice' on member 'b'" in self.b.stderr_text(), 5,
                     "b's audit line")
        line = next(x for x in self.b.stderr_text().splitlines()
                    if " closed: user 'alice' on member 'b'" in x)
        self.assertIn(f"as account '{self.expected_account}'", line)
        self.assertIn("via member 'a'", line)
        self.assertIn("from 127.0.0.1:", line)
        self.assertRegex(line, r"started \S+Z, ended \S+Z, [\d.]+ s; \d+ bytes in, \d+ bytes out")
        self.assertIn("opened: user 'alice' on member 'b'", self.b.stderr_text())
        H.wait_until(lambda: "relay closed: user 'alice' on member 'b'" in self.a.stderr_text(),
                     5, "a's audit line")

    def test_a_shell_on_the_node_reached(self):
        cookie, _ = self.sign_in()
        t = Terminal(self.a, cookie=cookie)
        try:
            t.type("echo here-$((1+2)) $(pwd)\n")
            home = os.path.join(self.a.state_dir, "work", "users", "alice")
            self.assertTrue(t.read_until(f"here-3 {home}"), t.text())
        finally:
            t.close()

    def test_refused_before_the_upgrade(self):
        cookie, _ = self.sign_in()
        self.assertEqual(handshake_status(self.a, member="b"), 401)
        self.assertEqual(handshake_status(self.a, member="b", cookie=cookie[:-4] + "AAAA"), 401)
        self.assertEqual(handshake_status(self.a, member="b", cookie="fvce1.forged.cookie"), 401)
        # Another site's page may not use the user's cookie for a shell.
        self.assertEqual(handshake_status(self.a, member="b", cookie=cookie,
                                          origin="http://evil.example"), 403)
        self.assertEqual(handshake_status(self.a, cookie=cookie,
                                          origin=f"http://{self.b.address}"), 403)
        self.assertEqual(handshake_status(self.a, cookie=cookie, origin=""), 403)
        # Not a WebSocket: 400; the members' route is for members.
        r = H.get(self.a.address, "/api/terminal", auth=None,
                  headers={"Cookie": f"fvce_session={cookie}"})
        self.assertEqual(r.status, 400, r.text)
        r = H.get(self.b.address, "/userport/terminal?user=alice", auth=None,
                  headers={"Cookie": f"fvce_session={cookie}"})
        self.assertEqual(r.status, 403, r.text)
        # A member that relays must carry the user's own sign-in.
        r = H.get(self.b.address, "/userport/terminal?user=alice", auth="member",
                  headers={"Upgrade": "websocket", "Connection": "Upgrade",
                           "Sec-WebSocket-Version": "13",
                           "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ=="})
        self.assertEqual(r.status, 403, r.text)

    def test_an_unknown_member_closes_with_the_reason(self):
        cookie, _ = self.sign_in()
        t = Terminal(self.a, member="nowhere", cookie=cookie)
        try:
            code, reason = t.wait_closed(5)
            self.assertEqual(code, 1008)
            self.assertIn("no member named 'nowhere'", reason)
        finally:
            t.close()

    @unittest.skipUnless(H.AS_ROOT, "the account map applies when the node runs as root")
    def test_an_account_without_a_login_shell_gets_no_shell(self):
        cookie, _ = self.sign_in("bob")
        t = Terminal(self.a, member="b", cookie=cookie)
        try:
            code, reason = t.wait_closed(5)
            self.assertEqual(code, 1008, reason)
            self.assertIn("no login shell", reason)
            self.assertEqual(t.out, b"")
        finally:
            t.close()

    def test_idle_terminal_is_closed(self):
        cookie, _ = self.sign_in()
        t = Terminal(self.a, member="b", cookie=cookie)
        try:
            t0 = time.monotonic()
            code, reason = t.wait_closed(IDLE + 8)
            self.assertIn("without input", reason or "")
            self.assertGreaterEqual(time.monotonic() - t0, IDLE - 0.5)
            self.assertEqual(code, 1000)
        finally:
            t.close()

    def test_signing_out_closes_the_sessions_terminals(self):
        cookie, csrf = self.sign_in()
        other, _ = self.sign_in()
        t = Terminal(self.a, member="b", cookie=cookie)
        u = Terminal(self.a, cookie=other)
        try:
            t.type("echo before-$((2*3))\n")
            self.assertTrue(t.read_until("before-6"), t.text())
            r = H.post(self.a.address, "/auth/logout", b"", auth=None,
                       headers={"Cookie": f"fvce_session={cookie}", "X-CSRF-Token": csrf})
            self.assertEqual(r.status, 204, r.text)
            t0 = time.monotonic()
            code, reason = t.wait_closed(IDLE - 1)
            self.assertIn("signed out", reason or "", t.text())
            print(f"closed {time.monotonic() - t0:.1f} s after the sign-out")
            # The other sign-in's terminal stays.
            u.type("echo still-$((3*3))\n")
            self.assertTrue(u.read_until("still-9"), u.text())
            self.assertIsNone(u.closed)
        finally:
            t.close()
            u.close()


if __name__ == "__main__":
    H.main()
