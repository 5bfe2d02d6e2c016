#!/usr/bin/env python3
"""hardening: one client cannot take a node down, and what the browser sees is guarded.

Two nodes; the users alice and bob. Checked:

- a 700 KB body of 100,000 nested elements is refused (400) at its first element out of
  place, and a 7 MB attribute (under the body limit) as longer than 131072; after
  twenty of them the node's memory is back near where it was, and it still serves;
- 300 idle connections from one client address (and 300 more from another) do not keep
  anyone out: `fvce hosts` answers, the members still talk, idle connections over the
  client's share are closed (counted in fvce_http_connections_evicted_total); a signed-in
  user's 30 idle connections (from a third address) are cut to their share of 16;
- a user sending faster than <http rate> gets 429 with Retry-After and the code
  "rate-limited", while another user and the members are served; so does a client that
  proves no one; the budget refills;
- every answer — 200, 401, 404, 405, a streamed route's error — carries the security headers;
- a workflow naming a file outside its directory is refused at submit, and nothing is
  created.
"""

import http.client
import os
import socket
import time
import unittest

import fvce_harness as H

RATE, BURST = 50, 100
HTTP = {"max-connections": "200", "max-connections-per-client": "16", "rate": str(RATE),
        "burst": str(BURST)}
SECURITY_HEADERS = {
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "no-referrer",
}


def rss_mib(pid: int) -> float:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


class Hardening(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.c = H.Cluster(H.fvce_path(), "fvce-hardening")
        cls.c.__enter__()
        try:
            nodes = []
            for name in ("h1", "h2"):
                deploy = cls.c.write_deploy(register=H.FAST_REGISTER, http=HTTP,
                                            services=H.execute_services(1),
                                            name=f"deploy-{name}.xml")
                nodes.append(cls.c.start(name, deploy, join=nodes[0] if nodes else None))
            cls.c.wait_converged(nodes, timeout=10)
            cls.n1, cls.n2 = nodes
            tokens = {}
            for user in ("alice", "bob"):
                r = cls.c.cli("user", "add", user, "--password-stdin", "--node", cls.n1.address,
                              input=f"{user}-password\n")
                assert r.code == 0, r.stderr
                tokens[user] = cls.c.token_of(cls.c.login(cls.n1, user, f"{user}-password"))
            cls.alice, cls.bob = tokens["alice"], tokens["bob"]
        except BaseException as e:
            cls.c.__exit__(type(e), e, None)
            raise

    @classmethod
    def tearDownClass(cls):
        cls.c.__exit__(None, None, None)

    def serves(self):
        for n in (self.n1, self.n2):
            self.assertEqual(H.get(n.address, "/register/members").status, 200)
        self.assertEqual({m.state for m in self.n1.members()}, {"alive"})

    def burst(self, token, n, address=None):
        """n GETs of the workflow list on one connection; the replies' statuses."""
        conn = H.connection(address or self.n1.address, 5.0, auth=token)
        out = []
        try:
            for _ in range(n):
                conn.request("GET", "/submit/workflows",
                             headers=H.auth_headers(token, "GET", "/submit/workflows", None))
                r = conn.getresponse()
                body = r.read()
                out.append((r.status, r.getheader("Retry-After"), body))
        finally:
            conn.close()
        return out

    def test_deep_and_bloated_bodies_cost_little_and_are_given_back(self):
        deep = ('<workflow xmlns="urn:fvce:1" name="deep">\n' + "<t>" * 100_000 +
                "</t>" * 100_000 + "</workflow>")
        t0 = time.monotonic()
        r = H.post(self.n1.address, "/submit/workflows", deep, auth=self.alice, timeout=10)
        took = time.monotonic() - t0
        self.assertEqual(r.status, 400, r.text)
        self.assertIn('line="2" column="4"', r.text)  # the first element out of place
        print(f"{len(deep) / 1e3:.0f} KB nested 100,000 deep: refused in {took * 1e3:.1f} ms")

        pid = self.n1.pid
        before = rss_mib(pid)
        bloated = ('<workflow xmlns="urn:fvce:1" name="big"><task id="t" cmd="' +
                   "x" * (7 << 20) + '"/></workflow>')
        t0 = time.monotonic()
        for _ in range(20):
            r = H.post(self.n1.address, "/submit/workflows", bloated, auth=self.alice, timeout=20)
            self.assertEqual(r.status, 400, r.text[:300])
            self.assertIn("131072", r.text)  # the schema's bound or the parser's
            self.assertLess(len(r.body), 2000, "the refusal repeats the value")
        per = (time.monotonic() - t0) / 20
        time.sleep(1.5)
        # A request after the burst: the node trims what the big bodies left behind.
        small = '<workflow xmlns="urn:fvce:1" name="s"><task id="t" cmd="' + "y" * (2 << 20) + '"/></workflow>'
        H.post(self.n1.address, "/submit/workflows", small, auth=self.alice, timeout=20)
        time.sleep(0.5)
        after = rss_mib(pid)
        print(f"20 bodies with a 7 MB attribute: {per * 1e3:.0f} ms each; node RSS "
              f"{before:.0f} MiB before, {after:.0f} MiB after")
        # Under AddressSanitizer its allocator keeps freed memory in quarantine: no bound.
        if not os.environ.get("FVCE_SANITIZED"):
            self.assertLess(after, before + 64, "the memory of refused bodies was not given back")
        self.assertEqual(H.workflow_list(self.n1.address), [])
        self.serves()

    def test_idle_connections_of_one_client_do_not_keep_others_out(self):
        host, port = self.n1.address.rsplit(":", 1)
        held = []
        try:
            for source in ("127.0.0.2", "127.0.0.1"):
                for _ in range(300):
                    s = socket.socket()
                    s.bind((source, 0))
                    s.connect((host, int(port)))
                    held.append(s)
            time.sleep(0.5)
            r = self.c.cli("hosts", "--node", self.n1.address, timeout=15)
            self.assertEqual(r.code, 0, r.stderr)
            self.assertIn("h2", r.stdout)
            self.assertLess(r.seconds, 5.0)
            r = H.get(self.n1.address, "/submit/workflows", auth=self.bob)
            self.assertEqual(r.status, 200, r.text)
            self.serves()
            m = self.n1.metrics()
            evicted = sum(v for (name, _), v in m.items()
                          if name == "fvce_http_connections_evicted_total")
            refused = sum(v for (name, _), v in m.items()
                          if name == "fvce_http_connections_refused_total")
            open_now = sum(v for (name, _), v in m.items() if name == "fvce_http_open_connections")
            print(f"600 idle connections from two addresses: {evicted:.0f} closed as over their "
                  f"client's share, {refused:.0f} refused, {open_now:.0f} open")
            self.assertGreater(evicted, 0)
            self.assertLess(open_now, 200)
        finally:
            for s in held:
                s.close()
        self.serves()

    def evicted(self):
        return sum(v for (name, _), v in self.n1.metrics().items()
                   if name == "fvce_http_connections_evicted_total")

    def test_a_signed_in_user_holds_at_most_a_share_of_connections(self):
        time.sleep(BURST / RATE + 0.5)
        before = self.evicted()
        conns = []
        try:
            # 30 keep-alive connections from 127.0.0.3, each proving alice, then idle: they
            # count for alice, who may hold 16.
            for _ in range(30):
                conn = http.client.HTTPConnection(*self.n1.address.rsplit(":", 1), timeout=5,
                                                  source_address=("127.0.0.3", 0))
                conn.request("GET", "/submit/workflows",
                             headers=H.auth_headers(self.alice, "GET", "/submit/workflows", None))
                r = conn.getresponse()
                r.read()
                self.assertEqual(r.status, 200)
                conns.append(conn)
            time.sleep(0.3)
            evicted = self.evicted() - before
            print(f"30 idle connections of alice: {evicted:.0f} of her longest-idle closed")
            self.assertGreaterEqual(evicted, 30 - 16)
            self.assertEqual(H.get(self.n1.address, "/submit/workflows", auth=self.bob).status,
                             200)
        finally:
            for c in conns:
                c.close()

    def test_requests_over_the_rate_get_429_and_others_are_served(self):
        time.sleep(BURST / RATE + 0.5)  # a full budget for everyone
        replies = self.burst(self.alice, BURST + 3 * RATE)
        limited = [r for r in replies if r[0] == 429]
        served = [r for r in replies if r[0] == 200]
        print(f"{len(replies)} requests by alice at once: {len(served)} served, "
              f"{len(limited)} answered 429")
        self.assertGreater(len(limited), 0)
        self.assertGreaterEqual(len(served), BURST)
        status, retry, body = limited[0]
        self.assertEqual(retry, "1")
        self.assertIn(b'code="rate-limited"', body)
        self.assertIn(b"user 'alice'", body)
        # bob has a budget of his own, and members are not limited.
        self.assertEqual(H.get(self.n1.address, "/submit/workflows", auth=self.bob).status, 200)
        for _ in range(BURST + RATE):
            self.assertEqual(H.get(self.n1.address, "/register/members").status, 200)
        # A client that proves no one is limited by its address.
        anonymous = self.burst(None, BURST + 3 * RATE)
        self.assertIn(429, {r[0] for r in anonymous})
        self.assertEqual(anonymous[0][0], 401)
        # The budget refills.
        time.sleep(1.0)
        self.assertEqual(self.burst(self.alice, 1)[0][0], 200)
        self.serves()

    def test_every_answer_carries_the_security_headers(self):
        a = self.n1.address
        answers = {
            "200": H.get(a, "/submit/workflows", auth=self.bob),
            "401": H.get(a, "/submit/workflows", auth=None),
            "404": H.get(a, "/no/such/route", auth=self.bob),
            "405": H.request(a, "DELETE", "/register/members", auth=self.bob),
            "stream 403": H.get(a, "/file/content?path=etc/passwd", auth=self.bob),
        }
        for what, r in answers.items():
            with self.subTest(answer=what):
                for k, v in SECURITY_HEADERS.items():
                    self.assertEqual(r.headers.get(k), v, f"{what}: {r.headers}")
                self.assertIn("frame-ancestors 'none'", r.headers.get("content-security-policy", ""))
                self.assertEqual(r.headers.get("cache-control"), "no-store")
        self.assertEqual(answers["stream 403"].status, 403)

    def test_a_name_outside_the_task_directory_is_refused_at_submit(self):
        before = H.workflow_list(self.n1.address)
        for name in ("../../etc/passwd", "/etc/passwd", "a/../../b"):
            wf = (f'<workflow xmlns="urn:fvce:1" name="esc"><task id="t" cmd="true">'
                  f'<out file="{name}"/></task></workflow>')
            r = H.post(self.n1.address, "/submit/workflows", wf, auth=self.alice)
            self.assertEqual(r.status, 400, r.text)
            self.assertIn('code="invalid-argument"', r.text)
        self.assertEqual(H.workflow_list(self.n1.address), before)


if __name__ == "__main__":
    H.main()
