#!/usr/bin/env python3
"""web_api: the user port's JSON API (docs/web.md) on 3 nodes, asked at one node about work
another node owns, as a browser asks it: a session cookie and its CSRF token.

- sign-in sets an HttpOnly cookie and gives the CSRF token; /api/me gives it again; a change
  without the token is refused (403) and changes nothing;
- /api/federation lists the 3 members with their slots and load, totals add up; /api/history
  gives one member's samples as parallel arrays;
- a workflow submitted as JSON at w2 (an array of 30 tasks and a join, plus a task writing a
  100,000-line result) is listed at w1 with the filters (state, name, node, search, time) and
  paging; its tasks page with offset/limit/state/array filters; its graph collapses the array
  into one node with 30 done; its timeline has one bar per task; a task's stdout comes back;
- its result is read by lines (a window near line 99,990 with the total) and downloaded;
- bob sees none of alice's workflows or files;
- the event stream sends the members at once.
"""

import http.client
import json
import os
import time
import unittest

import fvce_harness as H

WORKFLOW = """<workflow xmlns="urn:fvce:1" name="webdemo">
  <array id="p" range="0..29">
    <task id="part" cmd="sh">
      <arg>-c</arg><arg>echo part {i}; echo {i} &gt; p{i}.txt</arg>
      <out file="p{i}.txt"/>
    </task>
  </array>
  <task id="join" cmd="sh">
    <arg>-c</arg><arg>cat p*.txt | sort -n &gt; all.txt; echo joined</arg>
    <in file="p{i}.txt" array="p"/>
    <out file="all.txt" result="true"/>
  </task>
  <task id="long" cmd="sh">
    <arg>-c</arg><arg>seq 1 100000 | sed 's/^/line /' &gt; long.log</arg>
    <out file="long.log" result="true"/>
  </task>
</workflow>
"""


class Browser:
    """A browser's side of the API: the session cookie and the CSRF token."""

    def __init__(self, address: str):
        self.address = address
        self.cookie = None
        self.csrf = None

    def call(self, method: str, path: str, body=None, csrf=True, headers=None):
        h = {}
        if self.cookie:
            h["Cookie"] = self.cookie
        if csrf and self.csrf and method not in ("GET", "HEAD"):
            h["X-CSRF-Token"] = self.csrf
        if body is not None and not isinstance(body, (bytes, str)):
            body = json.dumps(body)
            h["Content-Type"] = "application/json"
        h.update(headers or {})
        return H.request(self.address, method, path, body=body, headers=h, auth=None,
                         timeout=15)

    def json(self, method: str, path: str, body=None, status=200, **kw):
        r = self.call(method, path, body, **kw)
        if r.status != status:
            raise AssertionError(f"{method} {path}: {r.status} {r.text}")
        return json.loads(r.body) if r.body else None

    def login(self, user: str, password: str):
        r = self.call("POST", "/api/login", {"user": user, "password": password})
        assert r.status == 200, r.text
        cookie = r.headers["set-cookie"]
        assert "HttpOnly" in cookie, cookie
        self.cookie = cookie.split(";")[0]
        answer = json.loads(r.body)
        self.csrf = answer["csrf"]
        return answer


class WebApi(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.c = H.Cluster(H.fvce_path(), "fvce-web-api")
        cls.c.__enter__()
        cls.nodes = H.start_federation(cls.c, slots=(1, 2, 2))
        cls.w1, cls.w2, cls.w3 = cls.nodes
        for user in ("alice", "bob"):
            r = cls.c.cli("user", "add", user, "--password-stdin", "--node", cls.w1.address,
                          input=f"{user}-password\n")
            assert r.code == 0, r.stderr
        for n in cls.nodes:
            H.wait_until(lambda n=n: H.post(n.address, "/auth/login",
                                            f'<login xmlns="{H.NS}" user="bob" '
                                            f'password="bob-password"/>', auth=None).status == 200,
                         10, f"bob's account at {n.name}")
        cls.alice = Browser(cls.w2.address)
        cls.alice.login("alice", "alice-password")
        cls.before = time.time() * 1000
        out = cls.alice.json("POST", "/api/workflows",
                             {"format": "fvce", "document": WORKFLOW},
                             status=201)
        cls.wf = out["id"]
        assert out["tasks"] == 32, out
        H.wait_workflow(cls.w2.address, cls.wf, 60)
        # The same user, at another node.
        cls.at_w1 = Browser(cls.w1.address)
        cls.at_w1.login("alice", "alice-password")
        cls.bob = Browser(cls.w1.address)
        cls.bob.login("bob", "bob-password")

    @classmethod
    def tearDownClass(cls):
        cls.c.__exit__(None, None, None)

    def test_session(self):
        me = self.at_w1.json("GET", "/api/me")
        self.assertEqual(me["user"], "alice")
        self.assertEqual(me["role"], "user")
        self.assertEqual(me["csrf"], self.at_w1.csrf)
        self.assertEqual(me["node"]["name"], "w1")
        # No cookie: 401 in JSON.
        r = H.request(self.w1.address, "GET", "/api/me", auth=None)
        self.assertEqual(r.status, 401)
        self.assertIn("error", json.loads(r.body))
        # A change without the CSRF token is refused and changes nothing.
        before = self.at_w1.json("GET", "/api/workflows")["total"]
        r = self.at_w1.call("POST", "/api/workflows",
                            {"format": "fvce", "document": WORKFLOW}, csrf=False)
        self.assertEqual(r.status, 403, r.text)
        self.assertIn("X-CSRF-Token", r.text)
        self.assertEqual(self.at_w1.json("GET", "/api/workflows")["total"], before)

    def test_federation(self):
        f = self.at_w1.json("GET", "/api/federation")
        names = sorted(m["name"] for m in f["members"])
        self.assertEqual(names, ["w1", "w2", "w3"])
        by = {m["name"]: m for m in f["members"]}
        self.assertEqual([by[n]["slots"] for n in ("w1", "w2", "w3")], [1, 2, 2])
        for m in f["members"]:
            self.assertEqual(m["state"], "alive")
            self.assertTrue(m["reachable"])
            self.assertGreater(m["cores"], 0)
            self.assertGreater(m["memory"], 0)
            self.assertIsNotNone(m["load1"])
        self.assertEqual(f["totals"]["members"], 3)
        self.assertEqual(f["totals"]["slots"], 5)
        self.assertEqual(f["totals"]["cores"], sum(m["cores"] for m in f["members"]))
        h = self.at_w1.json("GET", "/api/history?member=w3")
        self.assertEqual(h["member"], "w3")
        self.assertGreaterEqual(len(h["t"]), 1)
        for key in ("load1", "cpu", "mem_used", "slots_used"):
            self.assertEqual(len(h[key]), len(h["t"]), key)
        r = self.at_w1.call("GET", "/api/history?member=nosuch")
        self.assertEqual(r.status, 404)
        self.assertIn("nosuch", json.loads(r.body)["error"]["message"])

    def test_workflow_list_filters_and_paging(self):
        b = self.at_w1
        ids = lambda q: [w["id"] for w in b.json("GET", "/api/workflows" + q)["workflows"]]
        self.assertIn(self.wf, ids(""))
        self.assertIn(self.wf, ids("?state=done"))
        self.assertNotIn(self.wf, ids("?state=failed,cancelled"))
        self.assertIn(self.wf, ids("?name=webde"))
        self.assertNotIn(self.wf, ids("?name=other"))
        self.assertIn(self.wf, ids("?node=w2"))
        self.assertNotIn(self.wf, ids("?node=w3"))
        self.assertIn(self.wf, ids(f"?q={self.wf[-6:]}"))
        self.assertIn(self.wf, ids(f"?from={int(self.before) - 1000}"))
        self.assertNotIn(self.wf, ids(f"?to={int(self.before) - 60000}"))
        page = b.json("GET", "/api/workflows?limit=1&offset=0")
        self.assertEqual(len(page["workflows"]), 1)
        self.assertGreaterEqual(page["total"], 1)
        r = b.call("GET", "/api/workflows?state=sleeping")
        self.assertEqual(r.status, 400)
        self.assertIn("sleeping", r.text)
        w = b.json("GET", f"/api/workflow?id={self.wf}")
        self.assertEqual(w["state"], "done")
        self.assertEqual(w["node"], "w2")
        self.assertEqual(w["counts"]["done"], 32)

    def test_tasks_graph_timeline(self):
        b = self.at_w1
        page = b.json("GET", f"/api/workflow/tasks?id={self.wf}&array=part&offset=10&limit=10")
        self.assertEqual(page["total"], 30)
        self.assertEqual(page["offset"], 10)
        self.assertEqual([t["id"] for t in page["tasks"]], [f"part[{i}]" for i in range(10, 20)])
        for t in page["tasks"]:
            self.assertEqual(t["state"], "done")
            self.assertEqual(t["array"], "part")
            self.assertIn(t["host"], ("w1", "w2", "w3"))
            self.assertEqual(t["exit_code"], 0)
            self.assertIsNotNone(t["max_rss"])
        arr = b.json("GET", f"/api/workflow/tasks?id={self.wf}&array=part&limit=1000")
        self.assertEqual(arr["total"], 30)
        none = b.json("GET", f"/api/workflow/tasks?id={self.wf}&state=failed")
        self.assertEqual(none["total"], 0)
        found = b.json("GET", f"/api/workflow/tasks?id={self.wf}&q=join")
        self.assertEqual([t["id"] for t in found["tasks"]], ["join"])

        g = b.json("GET", f"/api/workflow/graph?id={self.wf}")
        nodes = {n["id"]: n for n in g["nodes"]}
        self.assertEqual(set(nodes), {"part", "join", "long"})
        self.assertEqual(nodes["part"]["kind"], "array")
        self.assertEqual((nodes["part"]["first"], nodes["part"]["last"]), (0, 29))
        self.assertEqual(nodes["part"]["counts"]["done"], 30)
        self.assertEqual(nodes["join"]["kind"], "task")
        self.assertEqual(g["edges"], [["part", "join"]])

        t = b.json("GET", f"/api/workflow/timeline?id={self.wf}")
        self.assertEqual(len(t["task"]), 32)
        for key in ("host", "start", "end", "state"):
            self.assertEqual(len(t[key]), 32, key)
        self.assertTrue(set(t["hosts"]) <= {"w1", "w2", "w3"})
        j = t["task"].index("join")
        # The join started after every part ended.
        last_part = max(t["end"][i] for i, name in enumerate(t["task"]) if name.startswith("part["))
        self.assertGreaterEqual(t["start"][j], last_part)
        self.assertTrue(all(e >= s for s, e in zip(t["start"], t["end"])))

        r = b.call("GET", f"/api/workflow/log?id={self.wf}&task=part%5B7%5D")
        self.assertEqual(r.status, 200, r.text)
        self.assertEqual(r.text, "part 7\n")

    def test_results_and_lines(self):
        b = self.at_w1
        res = b.json("GET", f"/api/workflow/results?id={self.wf}")
        names = {r["name"]: r for r in res["results"]}
        self.assertEqual(set(names), {"all.txt", "long.log"})
        path = names["long.log"]["path"]
        win = b.json("GET", f"/api/files/lines?path={path}&first=99990&count=20")
        self.assertEqual(win["total"], 100000)
        self.assertEqual(win["first"], 99990)
        self.assertEqual(win["lines"], [f"line {i}" for i in range(99990, 100001)])
        r = b.call("GET", "/api/files/download?path=" + names["all.txt"]["path"])
        self.assertEqual(r.status, 200, r.text)
        self.assertEqual(r.text.split(), [str(i) for i in range(30)])
        self.assertIn("attachment", r.headers["content-disposition"])
        listing = b.json("GET", f"/api/files?path=results/{self.wf}")
        self.assertEqual({e["name"] for e in listing["entries"]}, {"all.txt", "long.log"})
        top = b.json("GET", "/api/files?member=w3&path=")
        self.assertEqual({e["name"] for e in top["entries"]}, {"users", "work", "results"})

    def test_upload_delete_own_area(self):
        b = self.at_w1
        r = b.call("PUT", "/api/files/upload?member=w3&path=users/alice/in/data.txt",
                   "a\nb\nc\n", headers={"Content-Type": "text/plain"})
        self.assertEqual(r.status, 204, r.text)
        listing = b.json("GET", "/api/files?member=w3&path=users/alice/in")
        self.assertEqual([(e["name"], e["size"]) for e in listing["entries"]], [("data.txt", 6)])
        lines = b.json("GET", "/api/files/lines?member=w3&path=users/alice/in/data.txt")
        self.assertEqual(lines["lines"], ["a", "b", "c"])
        self.assertEqual(lines["total"], 3)
        r = b.call("PUT", "/api/files/upload?member=w3&path=users/bob/x.txt", "x")
        self.assertEqual(r.status, 403)
        self.assertEqual(json.loads(r.body)["error"]["field"], "path")
        r = b.call("DELETE", "/api/files?member=w3&path=users/alice/in/data.txt")
        self.assertEqual(r.status, 204, r.text)
        listing = b.json("GET", "/api/files?member=w3&path=users/alice/in")
        self.assertEqual(listing["entries"], [])

    def test_another_user_sees_nothing(self):
        b = self.bob
        self.assertNotIn(self.wf, [w["id"] for w in b.json("GET", "/api/workflows")["workflows"]])
        for path in (f"/api/workflow?id={self.wf}", f"/api/workflow/tasks?id={self.wf}",
                     f"/api/workflow/graph?id={self.wf}", f"/api/workflow/timeline?id={self.wf}",
                     f"/api/workflow/log?id={self.wf}&task=join",
                     f"/api/files/lines?path=results/{self.wf}/long.log",
                     f"/api/files/download?path=results/{self.wf}/all.txt",
                     "/api/files?member=w3&path=users/alice"):
            r = b.call("GET", path)
            self.assertEqual(r.status, 403, f"{path}: {r.status} {r.text}")
        r = b.call("POST", "/api/workflow/cancel", {"id": self.wf})
        self.assertEqual(r.status, 403)

    def test_event_stream(self):
        host, port = self.w1.address.rsplit(":", 1)
        conn = http.client.HTTPConnection(host, int(port), timeout=10)
        conn.request("GET", "/api/events", headers={"Cookie": self.at_w1.cookie})
        r = conn.getresponse()
        self.assertEqual(r.status, 200)
        self.assertTrue(r.getheader("Content-Type").startswith("text/event-stream"))
        event, data = None, None
        deadline = time.time() + 10
        while time.time() < deadline:
            line = r.fp.readline().decode().rstrip("\n")
            if line.startswith("event: "):
                event = line[7:]
            elif line.startswith("data: ") and event == "members":
                data = json.loads(line[6:])
                break
        conn.close()
        self.assertIsNotNone(data, "no members event")
        self.assertEqual(sorted(m["name"] for m in data["members"]), ["w1", "w2", "w3"])

    def test_pages(self):
        r = H.request(self.w1.address, "GET", "/", auth=None)
        self.assertEqual(r.status, 200)
        self.assertTrue(r.headers["content-type"].startswith("text/html"))
        self.assertIn("default-src 'self'", r.headers["content-security-policy"])
        r = H.request(self.w1.address, "GET", "/assets/../../etc/passwd", auth=None)
        self.assertEqual(r.status, 404)


if __name__ == "__main__":
    H.main()
