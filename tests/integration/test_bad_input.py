#!/usr/bin/env python3
"""bad_input: what a node does with bad requests and bad clients, and the CLI with bad use.

- malformed XML and schema-invalid documents → 400 <error code="invalid-argument"> naming
  the line and column and the problem; the membership is unchanged afterwards;
- a body over <http max-body> → 413; a header over max-header → 431;
- a garbage request line → 400 (or the connection closed), and the node still serves;
- a client that sends a request header and half its body, then stalls, is cut off after
  read-timeout while other clients are served meanwhile;
- unknown path → 404 <error>, wrong method → 405 <error>;
- CLI usage errors → exit 2; the CLI against a dead address → exit 1 and a message.
"""

import socket
import threading
import time
import unittest

import fvce_harness as H
from fvce_harness import q

READ_TIMEOUT = 1.0
HTTP_LIMITS = {"max-body": "4KiB", "max-header": "2KiB", "read-timeout": "1s",
               "idle-timeout": "30s"}


class BadInput(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.cluster = H.Cluster(H.fvce_path(), "fvce-bad-input")
        try:
            deploy = cls.cluster.write_deploy(register=H.FAST_REGISTER, http=HTTP_LIMITS)
            cls.a = cls.cluster.start("a", deploy)
            cls.b = cls.cluster.start("b", deploy, join=cls.a)
            cls.cluster.wait_converged(timeout=5)
        except BaseException as e:
            cls.cluster.__exit__(type(e), e, None)
            raise
        cls.failed = False

    @classmethod
    def tearDownClass(cls):
        err = AssertionError("a test failed") if cls.failed else None
        cls.cluster.__exit__(type(err) if err else None, err, None)

    def run(self, result=None):
        result = super().run(result)
        if result is not None and not result.wasSuccessful():
            type(self).failed = True  # keep the logs
        return result

    # -- helpers --

    def membership(self):
        """Every node's view: {node: {member id: (name, address, incarnation, state)}}."""
        return {n.name: {m.id: (m.name, m.address, m.incarnation, m.state)
                         for m in n.members(all=True)} for n in (self.a, self.b)}

    def assert_error(self, reply, status, code, *fragments, position=True):
        self.assertEqual(reply.status, status, reply.text)
        self.assertTrue(reply.headers.get("content-type", "").startswith("application/xml"))
        err = reply.xml()
        self.assertEqual(err.tag, q("error"), reply.text)
        self.assertEqual(err.get("code"), code, reply.text)
        if position:
            self.assertIsNotNone(err.get("line"), f"no line in {reply.text}")
            self.assertIsNotNone(err.get("column"), f"no column in {reply.text}")
        for f in fragments:
            self.assertIn(f, err.text or "", reply.text)
        return err

    def raw(self, payload: bytes, wait: float = 5.0) -> bytes:
        """Sends raw bytes on a fresh connection; returns what comes back before close."""
        host, port = self.a.address.rsplit(":", 1)
        with socket.create_connection((host, int(port)), timeout=wait) as s:
            s.sendall(payload)
            out = b""
            try:
                while True:
                    data = s.recv(65536)
                    if not data:
                        break
                    out += data
            except (ConnectionResetError, socket.timeout):
                pass
            return out

    def assert_serves(self):
        r = H.get(self.a.address, "/register/members", timeout=2)
        self.assertEqual(r.status, 200)

    # -- bodies --

    def test_bad_bodies_are_400_with_position_and_change_nothing(self):
        a_id = self.a.node_id()
        before = self.membership()
        cases = [
            # (path, body, (line, column) or None, fragments of the message)
            ("/register/join", "<join xmlns='urn:fvce:1' federation='test'>\n  <member id=",
             (2, 14), ["attribute value expected"]),
            ("/register/join", "<join xmlns='urn:fvce:1' federation='test'>\n</jion>",
             (2, None), []),
            ("/register/ping", "", (1, 1), []),
            ("/register/join", "<nosuch xmlns='urn:fvce:1'/>", (1, None), ["nosuch"]),
            ("/register/join", "<join federation='test'/>", (1, None), ["join"]),  # no namespace
            ("/register/join", "<join xmlns='urn:fvce:1'>\n<member/></join>", (1, None),
             ["missing required attribute 'federation'"]),
            ("/register/ping", f"<ping xmlns='urn:fvce:1' from='not-a-uuid' to='{a_id}'/>",
             (1, None), ["not-a-uuid"]),
            ("/register/updates", "<updates xmlns='urn:fvce:1' from='%s'>\n"
             "  <member id='%s' name='a' address='127.0.0.1:1' incarnation='99' state='dead'/>\n"
             "</updates>" % (a_id, a_id), (2, None), ["host"]),  # a member without <host>
            ("/register/probe", "<probe xmlns='urn:fvce:1' address='no port'/>", (1, None),
             ["no port"]),
            ("/register/join", "<!DOCTYPE join [<!ENTITY x 'y'>]>"
             "<join xmlns='urn:fvce:1' federation='test'/>", (1, 1), ["DOCTYPE"]),
        ]
        for path, body, where, fragments in cases:
            with self.subTest(path=path, body=body[:60]):
                r = H.post(self.a.address, path, body)
                err = self.assert_error(r, 400, "invalid-argument", *fragments)
                line, column = where
                self.assertEqual(int(err.get("line")), line, r.text)
                if column is not None:
                    self.assertEqual(int(err.get("column")), column, r.text)
                # The message starts with the position too (what the CLI prints).
                self.assertTrue((err.text or "").startswith(f"{err.get('line')}:"), r.text)

        # A valid document of the wrong kind: 400 naming both.
        r = H.post(self.a.address, "/register/join",
                   "<probe xmlns='urn:fvce:1' address='127.0.0.1:1'/>")
        self.assert_error(r, 400, "invalid-argument", "<join>", "<probe>", position=False)
        # News that claims to come from a member other than the one that signed it: 403.
        other = "00000000-0000-4000-8000-000000000000"
        r = H.post(self.a.address, "/register/ping",
                   f"<ping xmlns='urn:fvce:1' from='{other}' to='{other}'/>")
        self.assert_error(r, 403, "forbidden", "sent news as", position=False)

        self.assertEqual(self.membership(), before, "a bad request changed the membership")
        self.assert_serves()

    def test_too_large(self):
        before = self.membership()
        body = "<join xmlns='urn:fvce:1' federation='test'>" + " " * 8192 + "</join>"
        r = H.post(self.a.address, "/register/join", body)
        self.assert_error(r, 413, "too-large", "4096", position=False)
        # A header over max-header: 431.
        r = H.get(self.a.address, "/register/members", headers={"X-Big": "x" * 4096})
        self.assertEqual(r.status, 431, r.text)
        self.assertEqual(self.membership(), before)
        self.assert_serves()

    # -- HTTP itself --

    def test_garbage_request_line(self):
        for payload in (b"GARBAGE\r\n\r\n", b"GET / HTTP/9.9\r\n\r\n", b"\x00\xff\x10\r\n\r\n",
                        b"GET /register/members HTTP/1.1\r\nContent-Length: -5\r\n\r\n"):
            with self.subTest(payload=payload):
                out = self.raw(payload)
                if out:  # a refusal, or nothing at all: never a success
                    status = out.split(b"\r\n", 1)[0]
                    self.assertRegex(status, rb"^HTTP/1\.1 400 ", out[:300])
                    self.assertIn(b'code="invalid-argument"', out)
                self.assert_serves()

    def test_slow_client_is_cut_off_while_others_are_served(self):
        host, port = self.a.address.rsplit(":", 1)
        slow = socket.create_connection((host, int(port)), timeout=10)
        closed_after = []

        def stall():
            slow.sendall(b"POST /register/join HTTP/1.1\r\nHost: x\r\nContent-Type: "
                         b"application/xml\r\nContent-Length: 200\r\n\r\n<join xmlns=")
            t0 = time.monotonic()
            try:
                data = slow.recv(4096)  # b"" once the node closes the connection
            except OSError:
                data = b""
            closed_after.append((time.monotonic() - t0, data))

        t = threading.Thread(target=stall)
        t.start()
        # Meanwhile other clients are served promptly.
        latencies = []
        t_end = time.monotonic() + READ_TIMEOUT * 0.8
        while time.monotonic() < t_end:
            t0 = time.monotonic()
            self.assertEqual(H.get(self.a.address, "/register/members", timeout=2).status, 200)
            latencies.append(time.monotonic() - t0)
            time.sleep(0.05)
        self.assertTrue(t.is_alive(), "the slow client was cut off before read-timeout")
        t.join(timeout=READ_TIMEOUT + 5)
        slow.close()
        self.assertFalse(t.is_alive(), "the slow client was never cut off")
        seconds, data = closed_after[0]
        print(f"slow client cut off after {seconds:.2f}s (read-timeout {READ_TIMEOUT}s); "
              f"{len(latencies)} other requests, max latency {max(latencies) * 1000:.1f} ms")
        self.assertGreaterEqual(seconds, READ_TIMEOUT * 0.8)
        self.assertLessEqual(seconds, READ_TIMEOUT + 1.5)
        self.assertLess(max(latencies), 0.5)
        self.assertFalse(data.startswith(b"HTTP/1.1 2"), data)
        self.assert_serves()

    def test_unknown_path_and_wrong_method(self):
        r = H.get(self.a.address, "/no/such/thing")
        self.assert_error(r, 404, "not-found", "/no/such/thing", position=False)
        r = H.get(self.a.address, "/register/join")
        self.assertEqual(r.status, 405, r.text)
        self.assertEqual(r.xml().tag, q("error"))
        self.assertIn("GET", r.xml().text)
        r = H.request(self.a.address, "DELETE", "/register/members")
        self.assertEqual(r.status, 405, r.text)
        r = H.get(self.a.address, "/info/history?since=yesterday")
        self.assert_error(r, 400, "invalid-argument", "since", position=False)
        r = H.get(self.a.address, "/info/host?name=nosuch")
        self.assert_error(r, 404, "not-found", "nosuch", position=False)
        # All of it shows in the metrics, by route and code.
        m = self.a.metrics()
        self.assertGreaterEqual(
            m.get(("fvce_http_requests_total",
                   (("code", "404"), ("method", "GET"), ("route", "(unknown)"))), 0), 1, m)

    # -- the command line --

    def test_cli_usage_errors_exit_2(self):
        c = self.cluster
        for args in (["hosts", "--bogus"], ["probe", "--node", self.a.address], [],
                     ["node"], ["info", "--node", self.a.address, "--timeout", "0"],
                     ["nosuchcommand"]):
            with self.subTest(args=args):
                r = c.cli(*args)
                self.assertEqual(r.code, 2, r.stderr)
                self.assertTrue(r.stderr.strip(), "no message on stderr")
                self.assertEqual(r.stdout, "")

    def test_cli_dead_address_exits_1(self):
        c = self.cluster
        dead = H.free_dead_address()
        for args in (["hosts"], ["hosts", "--all"], ["info"], ["leave"],
                     ["probe", self.a.address]):
            with self.subTest(args=args):
                r = c.cli(*args[:1], "--node", dead, *args[1:], timeout=15)
                self.assertEqual(r.code, 1, r.stderr)
                self.assertIn(dead, r.stderr)
                self.assertEqual(r.stdout, "")
                self.assertLess(r.seconds, 10)
        # $FVCE_NODE is the default --node.
        r = c.cli("hosts", env={"FVCE_NODE": dead})
        self.assertEqual(r.code, 1)
        self.assertIn(dead, r.stderr)
        r = c.cli("hosts", env={"FVCE_NODE": self.a.address})
        self.assertEqual(r.code, 0, r.stderr)


if __name__ == "__main__":
    H.main()
