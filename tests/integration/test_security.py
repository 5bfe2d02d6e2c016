#!/usr/bin/env python3
"""security: only the federation and its users get in (docs/SECURITY.md).

Two nodes (plain transport, signed by the federation secret), the cluster's admin, and two
users, alice and bob, made with `fvce user add`. Checked:

- every route of every service (read from the sources, so a new route is covered at once):
  no credentials → 401 (but login), a user on a members' or admins' route → 403, and the
  node's state is unchanged and it still serves;
- another user's workflow: status, logs, results and cancel → 403 (an X-Fvce-User header
  changes nothing), and bob's list does not show it;
- what probing a default node found: a hand-made task sent to the executor, a workflow with
  no credentials, deleting a result from the store, a leave, a forged join, forged reports,
  news forcing an incarnation to wrap, a probe to an attacker's address — all refused, and
  nothing happened;
- a token issued at one node works at the other; a removed user, a password change and a
  logout stop it working at the other node within the stated bound (the time is printed);
- `fvce login` stores the token with mode 0600 and every command sends it;
- run as root (TasksAsUsers): each user's tasks run as the local account mapped to them, never
  as root, on whichever member they land; bob's task cannot read alice's work files; an
  unmapped user's workflow fails with the reason.
"""

import glob
import os
import re
import stat
import time
import unittest

import fvce_harness as H

ROUTE_RE = re.compile(r'router\.(add|add_stream)\(\s*(?:http::)?Verb::(\w+),\s*"([^"]+)",\s*'
                      r'(?:auth::)?Access::(\w+)', re.S)
SOURCES = (glob.glob(os.path.join(H.REPO, "services", "*", "resource.cpp")) +
           [os.path.join(H.REPO, "services", "userport", "terminal.cpp")] +
           [os.path.join(H.REPO, "node", "auth", "service.cpp"),
            os.path.join(H.REPO, "services", "userport", "web.cpp"),
            os.path.join(H.REPO, "node", "node.cpp")])
VERB = {"get": "GET", "post": "POST", "put": "PUT", "delete_": "DELETE"}

WORKFLOW = """<workflow xmlns="urn:fvce:1" name="secret">
  <task id="make" cmd="sh">
    <arg>-c</arg>
    <arg>echo alice-only &gt; out.txt; echo to-stderr 1&gt;&amp;2</arg>
    <out file="out.txt" result="true"/>
  </task>
</workflow>
"""
BOUND = 5.0  # seconds for an account change to reach every live member (docs/SECURITY.md)


# Left out of the table: the event stream never ends (web_api reads it), and the browser's
# sign-out is the same code as /auth/logout, which goes last.
UNTABLED = {"/api/events", "/api/logout"}


def routes():
    out = []
    for path in SOURCES:
        with open(path) as f:
            for kind, verb, route, access in ROUTE_RE.findall(f.read()):
                if route not in UNTABLED:
                    out.append((VERB[verb], route, access))
    return sorted(set(out))


class Security(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.c = H.Cluster(H.fvce_path(), "fvce-security")
        cls.c.__enter__()
        cls.n1, cls.n2 = H.start_federation(cls.c, slots=(1, 1), names=["s1", "s2"])
        for user in ("alice", "bob"):
            r = cls.c.cli("user", "add", user, "--password-stdin", "--node", cls.n1.address,
                          input=f"{user}-password\n")
            assert r.code == 0, r.stderr
        cls.alice = cls.c.token_of(cls.c.login(cls.n1, "alice", "alice-password"))
        cls.bob = cls.c.token_of(cls.c.login(cls.n1, "bob", "bob-password"))
        r = H.post(cls.n1.address, "/submit/workflows", WORKFLOW, auth=cls.alice)
        assert r.status == 201, r.text
        cls.wf = r.xml().get("id")
        H.wait_workflow(cls.n1.address, cls.wf, 30)
        res = H.get_xml(cls.n1.address, f"/submit/results?workflow={cls.wf}", auth=cls.alice)
        cls.result_sha = res.find(H.q("result")).get("sha256")

    @classmethod
    def tearDownClass(cls):
        cls.c.__exit__(None, None, None)

    def state(self):
        """What a refused request must not change: members, workflows, users."""
        members = sorted((m.name, m.state, m.incarnation) for m in self.n1.members())
        wfs = sorted((w["id"], w["state"]) for w in H.workflow_list(self.n1.address))
        users = H.get(self.n1.address, "/auth/users", auth="admin").text
        return members, wfs, users

    def serves(self):
        for n in (self.n1, self.n2):
            self.assertEqual(H.get(n.address, "/register/members", auth=self.bob).status, 200)

    def test_every_route_refuses_who_it_is_not_for(self):
        # Logging out voids the token: it goes last, with a token of its own.
        table = sorted(routes(), key=lambda r: r[1] == "/auth/logout")
        self.assertGreaterEqual(len(table), 35, table)
        bob = self.c.token_of(self.c.login(self.n1, "bob", "bob-password"))
        before = self.state()
        counts = {}
        for method, route, access in table:
            body = b"" if method in ("POST", "PUT") else None
            with self.subTest(route=f"{method} {route}"):
                r = H.request(self.n1.address, method, route, body=body, auth=None)
                if access == "open":
                    self.assertNotIn(r.status, (401, 403), r.text)
                else:
                    self.assertEqual(r.status, 401, r.text)
                    self.assertIn("bearer", r.headers.get("www-authenticate", "").lower())
                r = H.request(self.n1.address, method, route, body=body, auth=bob)
                if access in ("peer", "admin", "member_or_admin"):
                    self.assertEqual(r.status, 403, f"{method} {route}: {r.text}")
                else:
                    self.assertNotIn(r.status, (401, 403), f"{method} {route}: {r.text}")
                # A wrong token is no token.
                r = H.request(self.n1.address, method, route, body=body,
                              auth=bob[:-4] + ("AAAA" if not bob.endswith("AAAA") else "BBBB"))
                if access != "open":
                    self.assertEqual(r.status, 401, r.text)
                counts[access] = counts.get(access, 0) + 1
        print(f"{len(table)} routes checked: {counts}")
        self.assertEqual(self.state(), before)
        self.serves()

    def test_another_users_workflow_is_out_of_reach(self):
        a = self.n1.address
        for n in (self.n1, self.n2):  # at the owner and at another member
            for target in (f"/submit/status?workflow={self.wf}",
                           f"/submit/results?workflow={self.wf}",
                           f"/submit/logs?workflow={self.wf}&task=make"):
                with self.subTest(node=n.name, target=target):
                    r = H.get(n.address, target, auth=self.bob)
                    self.assertEqual(r.status, 403, r.text)
                    r = H.get(n.address, target, auth=self.bob, headers={"X-Fvce-User": "alice"})
                    self.assertEqual(r.status, 403, r.text)
                    self.assertEqual(H.get(n.address, target, auth=self.alice).status, 200)
                    self.assertEqual(H.get(n.address, target, auth="admin").status, 200)
        r = H.post(a, f"/submit/cancel?workflow={self.wf}", b"", auth=self.bob)
        self.assertEqual(r.status, 403, r.text)
        ids = [w.get("id") for w in H.get_xml(self.n2.address, "/submit/workflows",
                                              auth=self.bob).findall(H.q("workflow"))]
        self.assertNotIn(self.wf, ids)
        ids = [w.get("id") for w in H.get_xml(self.n2.address, "/submit/workflows",
                                              auth=self.alice).findall(H.q("workflow"))]
        self.assertIn(self.wf, ids)
        r = H.get(a, "/submit/workflows?owner=alice", auth=self.bob)
        self.assertEqual(r.status, 403, r.text)
        # Results are read from the store by their checksum: a user reads nothing else.
        r = H.get(a, "/file/content?path=store/" + self.result_sha, auth=self.alice)
        self.assertEqual((r.status, r.body), (200, b"alice-only\n"))
        r = H.get(a, "/file/list?path=.", auth=self.alice)
        self.assertEqual(r.status, 403, r.text)

    def test_what_probing_a_default_node_found_is_refused(self):
        a = self.n1.address
        before = self.state()
        marker = os.path.join(self.c.tmp, "pwned")
        assignment = (f"<assignment xmlns='urn:fvce:1' workflow='x-0000' task='t' attempt='1' "
                      f"owner='anonymous' submitter='{a}' cmd='id &gt; {marker}' cores='1'/>")
        for auth, code in ((None, 401), (self.bob, 403)):
            with self.subTest(auth=auth and "bob"):
                r = H.post(a, "/execute/tasks", assignment, auth=auth)
                self.assertEqual(r.status, code, r.text)
                r = H.post(a, "/submit/workflows", WORKFLOW, auth=None)
                self.assertEqual(r.status, 401, r.text)
                r = H.request(a, "DELETE", "/file/content?path=store/" + self.result_sha,
                              auth=auth)
                self.assertEqual(r.status, code, r.text)
                r = H.request(a, "PUT", "/file/content?path=x.txt", body=b"x", auth=auth)
                self.assertEqual(r.status, code, r.text)
                r = H.post(a, "/register/leave", b"", auth=auth)
                self.assertEqual(r.status, code, r.text)
                r = H.post(a, "/register/probe",
                           "<probe xmlns='urn:fvce:1' address='127.0.0.1:9'/>", auth=auth)
                self.assertEqual(r.status, code, r.text)
        r = H.request(a, "PUT", "/file/store?sha256=" + "0" * 64, body=b"x", auth=None)
        self.assertEqual(r.status, 401, r.text)
        time.sleep(0.5)
        self.assertFalse(os.path.exists(marker), "a task ran")
        r = H.get(a, "/file/content?path=store/" + self.result_sha)
        self.assertEqual(r.status, 200, "the result is still in the store")

        # A member signature made with another federation's secret: 401.
        body = ("<join xmlns='urn:fvce:1' federation='test'><member id='%s' name='fake' "
                "address='127.0.0.1:9' incarnation='1' state='alive'>%s</member></join>")
        host = ("<host cores='64' cpu-model='x' cpu-mhz='1' memory='1' disk='1' os='x' arch='x' "
                "speed='1' slots='64' info-impl='declared' started='1' version='x'/>")
        fake = body % ("11111111-1111-4111-8111-111111111111", host)
        other = os.urandom(32)
        h = H.member_headers("POST", "/register/join", fake.encode(), secret=other)
        r = H.post(a, "/register/join", fake, auth=None, headers=h)
        self.assertEqual(r.status, 401, r.text)
        # The federation's own signature, under a name that is not the one joining: 403.
        r = H.post(a, "/register/join", fake)
        self.assertEqual(r.status, 403, r.text)
        self.assertIn("may not join as 'fake'", r.text)
        # A replayed request: refused.
        h = H.member_headers("GET", "/register/members", b"")
        self.assertEqual(H.get(a, "/register/members", auth=None, headers=h).status, 200)
        r = H.get(a, "/register/members", auth=None, headers=h)
        self.assertEqual(r.status, 401, r.text)
        self.assertIn("replay", r.text)

        # Reports about alice's task from a member that did not run it: 403.
        ran_on = H.workflow_status(a, self.wf).tasks["make"]["host"]
        host_id = self.n1.view()[ran_on].id if ran_on in self.n1.view() else ran_on
        reports = (f"<task-reports xmlns='urn:fvce:1'><report workflow='{self.wf}' task='make' "
                   f"attempt='1' host='{host_id}' state='failed' message='forged'/>"
                   "</task-reports>")
        r = H.post(a, "/submit/reports", reports)
        self.assertEqual(r.status, 403, r.text)

        # News that s1 left, or with an incarnation that would wrap its refutation, from a
        # member that is not s1: not believed.
        s1 = self.n1.view()["s1"]
        s2 = self.n1.view()["s2"]
        for state, inc in (("left", s1.incarnation + 1), ("dead", 2 ** 64 - 1)):
            news = (f"<updates xmlns='urn:fvce:1' from='{s2.id}'><member id='{s1.id}' name='s1' "
                    f"address='{s1.address}' incarnation='{inc}' state='{state}'>{host}</member>"
                    "</updates>")
            h = H.member_headers("POST", "/register/updates", news.encode(), member="s2")
            r = H.post(self.n2.address, "/register/updates", news, auth=None, headers=h)
            self.assertIn(r.status, (204, 200), r.text)
        time.sleep(1.0)
        for n in (self.n1, self.n2):
            self.assertEqual(n.view()["s1"].state, "alive", n.name)
            self.assertLess(n.view()["s1"].incarnation, 2 ** 62)
        self.assertEqual(self.state(), before)
        self.serves()

    def test_tokens_work_and_stop_working_federation_wide(self):
        c, n1, n2 = self.c, self.n1, self.n2
        r = c.cli("user", "add", "carol", "--password-stdin", "--node", n1.address,
                  input="carol-password\n")
        self.assertEqual(r.code, 0, r.stderr)
        c.wait_until = H.wait_until
        # A user added at one node signs in at the other; the token works at both.
        H.wait_until(lambda: c.login(n2, "carol", "carol-password").status == 200, BOUND,
                     "carol to be known at s2")
        t1 = c.token_of(c.login(n2, "carol", "carol-password"))
        for n in (n1, n2):
            self.assertEqual(H.get(n.address, "/auth/whoami", auth=t1).status, 200)

        def gone_within(token, node, what):
            t0 = time.monotonic()
            H.wait_until(lambda: H.get(node.address, "/auth/whoami", auth=token).status == 401,
                         BOUND, what, interval=0.01)
            took = time.monotonic() - t0
            print(f"{what}: {took * 1000:.0f} ms")
            return took

        # Logged out at s2: void at s1.
        self.assertEqual(H.post(n2.address, "/auth/logout", b"", auth=t1).status, 204)
        gone_within(t1, n1, "a logout at s2 reaches s1")
        # A password change at s1: the old token is void at s2.
        t2 = c.token_of(c.login(n1, "carol", "carol-password"))
        r = c.cli("user", "passwd", "carol", "--password-stdin", "--node", n1.address,
                  input="carol-password-2\n")
        self.assertEqual(r.code, 0, r.stderr)
        gone_within(t2, n2, "a password change at s1 reaches s2")
        # Removed at s1: void at s2.
        t3 = c.token_of(c.login(n1, "carol", "carol-password-2"))
        self.assertEqual(H.get(n2.address, "/auth/whoami", auth=t3).status, 200)
        r = c.cli("user", "remove", "carol", "--node", n1.address)
        self.assertEqual(r.code, 0, r.stderr)
        gone_within(t3, n2, "a removal at s1 reaches s2")
        r = c.cli("user", "list", "--node", n2.address)
        self.assertEqual(r.code, 0, r.stderr)
        self.assertNotIn("carol", r.stdout)
        self.assertIn("alice", r.stdout)

    def test_login_stores_the_token_privately_and_commands_send_it(self):
        c = self.c
        creds = os.path.join(c.tmp, "bob-credentials")
        env = {"FVCE_CREDENTIALS": creds}
        r = c.cli("hosts", "--node", self.n1.address, env=env)
        self.assertEqual(r.code, 1, r.stdout)
        self.assertIn("fvce login", r.stderr)
        r = c.cli("login", "--user", "bob", "--password-stdin", "--node", self.n1.address,
                  env=env, input="wrong-password\n")
        self.assertEqual(r.code, 1)
        self.assertIn("wrong user name or password", r.stderr)
        r = c.cli("login", "--user", "bob", "--password-stdin", "--node", self.n1.address,
                  env=env, input="bob-password\n")
        self.assertEqual(r.code, 0, r.stderr)
        self.assertEqual(stat.S_IMODE(os.stat(creds).st_mode), 0o600)
        self.assertNotIn("bob-password", open(creds).read())
        r = c.cli("whoami", "--node", self.n2.address, env=env)
        self.assertEqual((r.code, r.stdout.strip()), (0, "bob (user)"), r.stderr)
        r = c.cli("hosts", "--node", self.n2.address, env=env)
        self.assertEqual(r.code, 0, r.stderr)
        r = c.cli("status", self.wf, "--node", self.n2.address, env=env)
        self.assertEqual(r.code, 1)
        self.assertIn("belongs to another user", r.stderr)
        # fvce leave drains the node first: refused there already, and the node stays.
        r = c.cli("leave", "--node", self.n1.address, env=env)
        self.assertEqual(r.code, 1)
        self.assertIn("is for members and admins, not for user 'bob'", r.stderr)
        r = c.cli("leave", "--no-drain", "--node", self.n1.address, env=env)
        self.assertEqual(r.code, 1)
        self.assertIn("admins only", r.stderr)
        r = c.cli("user", "add", "eve", "--password-stdin", "--node", self.n1.address, env=env,
                  input="eve-password\n")
        self.assertEqual(r.code, 1)
        os.chmod(creds, 0o644)
        r = c.cli("hosts", "--node", self.n2.address, env=env)
        self.assertEqual(r.code, 1)
        self.assertIn("readable by other users", r.stderr)
        os.chmod(creds, 0o600)
        r = c.cli("logout", "--node", self.n1.address, env=env)
        self.assertEqual(r.code, 0, r.stderr)
        self.assertFalse(os.path.exists(creds))

    def test_zz_no_secret_in_any_log(self):
        # Last (unittest runs a class's tests in name order): after every login, token and
        # refused request above, the nodes' logs (at debug level) and the command line's
        # output name no password, no token and not the federation secret.
        secrets_ = {"federation secret": self.c.secret.hex(),
                    "admin password": self.c.admin_password,
                    "admin token": self.c.admin_token or "",
                    "alice's token": self.alice, "bob's token": self.bob}
        for password in ("alice-password", "bob-password", "carol-password", "carol-password-2",
                         "wrong-password", "eve-password"):
            secrets_[password] = password
        logs = glob.glob(os.path.join(self.c.tmp, "logs", "*"))
        self.assertGreaterEqual(len(logs), 4)
        text = {p: open(p, errors="replace").read() for p in logs}
        self.assertGreater(sum(len(t) for t in text.values()), 10000, "the logs are empty?")
        for what, value in secrets_.items():
            self.assertTrue(value, what)
            for path, t in text.items():
                self.assertNotIn(value, t, f"{what} in {path}")
                # Nor a usable part of a token (its secret half).
                if "token" in what:
                    self.assertNotIn(value[-20:], t, f"the end of {what} in {path}")


WHOAMI = """<workflow xmlns="urn:fvce:1" name="whoami">
  <array id="w" range="0..{n}">
    <task id="id" cmd="sh">
      <arg>-c</arg>
      <arg>id -u &gt; uid{{i}}.txt; echo secret-of-$(id -un) &gt; secret.txt; sleep {nap}</arg>
      <out file="uid{{i}}.txt" result="true"/>
    </task>
  </array>
</workflow>
"""


class TasksAsUsers(unittest.TestCase):
    """A node run as root runs tasks only as mapped accounts (Debian's daemon and bin stand in
    for alice's and bob's own accounts)."""

    def test_tasks_run_as_the_users_accounts_never_as_root(self):
        if not H.AS_ROOT:
            self.skipTest("needs root: only a node run as root changes the tasks' user")
        import pwd

        accounts = {"alice": pwd.getpwnam("daemon"), "bob": pwd.getpwnam("bin")}
        with H.Cluster(H.fvce_path(), "fvce-tasks-as-users") as c:
            nodes = H.start_federation(c, slots=(3, 3), names=["u1", "u2"],
                                       execute={"accounts": "alice=daemon,bob=bin"})
            a = nodes[0].address
            tokens = {}
            for user in ("alice", "bob", "carol"):
                r = c.cli("user", "add", user, "--password-stdin", "--node", a,
                          input=f"{user}-password\n")
                self.assertEqual(r.code, 0, r.stderr)
                tokens[user] = c.token_of(c.login(nodes[0], user, f"{user}-password"))

            def submit(user, text):
                r = H.post(a, "/submit/workflows", text, auth=tokens[user])
                self.assertEqual(r.status, 201, r.text)
                return r.xml().get("id")

            def run(user, text):
                wf = submit(user, text)
                return wf, H.wait_workflow(a, wf, 60)

            # alice's tasks keep their work files while they run (an attempt's directory
            # goes when it ends): hers alone, on both members.
            wf = submit("alice", WHOAMI.format(n=3, nap=30))
            pattern = os.path.join(c.tmp, "nodes", "*", "work", "work", wf, "*", "a1",
                                   "secret.txt")
            H.wait_until(lambda: len(glob.glob(pattern)) == 4, 20, "alice's 4 tasks to run")
            secrets_ = sorted(glob.glob(pattern))
            self.assertEqual({p.split(os.sep)[-7] for p in secrets_}, {"u1", "u2"})
            for path in secrets_:
                st_ = os.stat(os.path.dirname(os.path.dirname(path)))
                self.assertEqual((st_.st_uid, stat.S_IMODE(st_.st_mode)),
                                 (accounts["alice"].pw_uid, 0o700), path)
                self.assertEqual(os.stat(path).st_uid, accounts["alice"].pw_uid)

            # bob's task, told exactly where alice's secret is, cannot read it.
            steal = ("<workflow xmlns='urn:fvce:1' name='steal'><task id='cat' cmd='sh'>"
                     "<arg>-c</arg><arg>id -u; cat " + " ".join(secrets_) +
                     " 2&gt;&amp;1; ls " + os.path.dirname(os.path.dirname(secrets_[0])) +
                     " 2&gt;&amp;1; true</arg></task></workflow>")
            wf_b, st_b = run("bob", steal)
            self.assertEqual(st_b.state, "done")
            out = H.get(a, f"/submit/logs?workflow={wf_b}&task=cat&stream=stdout",
                        auth=tokens["bob"]).text
            self.assertTrue(out.startswith(f"{accounts['bob'].pw_uid}\n"), out)
            self.assertNotIn("secret-of", out)
            self.assertEqual(out.count("Permission denied"), 5, out)
            r = H.post(a, f"/submit/cancel?workflow={wf}", b"", auth=tokens["alice"])
            self.assertIn(r.status, (200, 202, 204), r.text)

            # Her next workflow's results say which account ran it.
            wf, st = run("alice", WHOAMI.format(n=3, nap=0))
            self.assertEqual(st.state, "done")
            res = H.get_xml(a, f"/submit/results?workflow={wf}", auth=tokens["alice"])
            uids = [H.get(a, "/file/content?path=store/" + r.get("sha256"),
                          auth=tokens["alice"]).body for r in res.findall(H.q("result"))]
            self.assertEqual(uids, [f"{accounts['alice'].pw_uid}\n".encode()] * 4)

            # carol has no account on these nodes: her workflow fails, saying so.
            wf_c, st_c = run("carol", WHOAMI.format(n=0, nap=0))
            self.assertEqual(st_c.state, "failed")
            msg = " ".join(t.get("message", "") for t in st_c.tasks.values())
            self.assertIn("user 'carol' has no local account", msg)


if __name__ == "__main__":
    H.main()
