#!/usr/bin/env python3
"""apps: published applications of the web user port, on 3 nodes, without any restart.

- an admin publishes an application at n1 (POST /api/apps); it is offered at n3;
- a new version published at n3 replaces it at n1;
- withdrawn at n2 (DELETE /api/apps), it is gone at every node;
- the bundled hello and marmousi are offered everywhere;
- a user submits hello with POST /api/apps/submit at n2: the workflow is the user's, runs,
  and its results hold the submitted values;
- a bad value gets 400 naming the field, and creates no workflow;
- a user may not publish.
"""

import json
import os
import time
import unittest

import fvce_harness as H

APP = """<?xml version="1.0"?>
<application xmlns="urn:fvce:1" name="echo" kind="program" version="{version}">
  <title>{title}</title>
  <param name="word" type="text" default="hi" pattern="[a-z]+"/>
  <program cmd="sh" args="-c 'echo $0 > out.txt' {{{{word}}}}">
    <out file="out.txt" result="true"/>
  </program>
</application>
"""


def api(node, method, path, body=None, auth="admin"):
    headers = {"Content-Type": "application/json"} if isinstance(body, dict) else {}
    data = json.dumps(body) if isinstance(body, dict) else body
    r = H.request(node.address, method, path, body=data, auth=auth, headers=headers, timeout=10)
    return r, (json.loads(r.body) if r.body and r.headers.get("content-type", "").startswith(
        "application/json") else None)


def app_names(node, auth="admin"):
    r, doc = api(node, "GET", "/api/apps", auth=auth)
    assert r.status == 200, r.text
    return {a["name"]: a for a in doc["apps"]}


def next_event(reply, name: str, timeout: float):
    """The data of the next event called name on an open /api/events stream, or None."""
    deadline = time.monotonic() + timeout
    event = None
    while time.monotonic() < deadline:
        line = reply.fp.readline().decode().rstrip("\n")
        if line.startswith("event: "):
            event = line[7:]
        elif line.startswith("data: ") and event == name:
            return json.loads(line[6:])
    return None


class Apps(unittest.TestCase):
    def test_publish_withdraw_submit(self):
        with H.Cluster(H.fvce_path(), "fvce-apps") as c:
            n1, n2, n3 = H.start_federation(c, slots=(2, 2, 2), names=["n1", "n2", "n3"])

            # Bundled applications, offered at every member.
            for n in (n1, n2, n3):
                names = app_names(n)
                self.assertIn("hello", names)
                self.assertIn("marmousi", names)
            shots = next(p for p in app_names(n1)["marmousi"]["params"] if p["name"] == "shots")
            self.assertEqual((shots["type"], shots["min"], shots["max"]), ("integer", 1, 240))

            # Published at n1, offered at n3 without a restart; a page open at n3 is told
            # (an `apps` event on its stream).
            events = H.connection(n3.address, 20, auth="admin")
            events.request("GET", "/api/events",
                           headers=H.auth_headers("admin", "GET", "/api/events", None))
            stream = events.getresponse()
            self.assertEqual(stream.status, 200)
            self.assertIsNotNone(next_event(stream, "hello", 5), "the stream did not start")
            r, doc = api(n1, "POST", "/api/apps", APP.format(version="1", title="Echo"))
            self.assertEqual(r.status, 201, r.text)
            self.assertEqual(doc["name"], "echo")
            H.wait_until(lambda: "echo" in app_names(n3), 15, "echo to be offered at n3")
            told = next_event(stream, "apps", 15)
            events.close()
            self.assertIsNotNone(told, "no apps event at n3 after the publication at n1")
            self.assertIn("echo", [a["name"] for a in told["apps"]])
            pids = {n.name: n.pid for n in (n1, n2, n3)}

            # A new version, published at n3, replaces it at n1.
            r, _ = api(n3, "POST", "/api/apps", APP.format(version="2", title="Echo 2"))
            self.assertEqual(r.status, 201, r.text)
            H.wait_until(lambda: app_names(n1).get("echo", {}).get("title") == "Echo 2", 15,
                         "version 2 at n1")

            # A description with an error is refused with its line; nothing changes.
            r, doc = api(n1, "POST", "/api/apps",
                         APP.format(version="3", title="Bad").replace('type="text"',
                                                                       'type="colour"'))
            self.assertEqual(r.status, 400, r.text)
            self.assertRegex(doc["error"]["message"], r"^4:\d+: ")
            self.assertEqual(app_names(n1)["echo"]["title"], "Echo 2")

            # Withdrawn at n2: gone everywhere.
            r, _ = api(n2, "DELETE", "/api/apps?name=echo")
            self.assertEqual(r.status, 204, r.text)
            for n in (n1, n2, n3):
                H.wait_until(lambda n=n: "echo" not in app_names(n), 15,
                             f"echo to be withdrawn at {n.name}")
            r, doc = api(n2, "DELETE", "/api/apps?name=echo")
            self.assertEqual(r.status, 404, r.text)
            self.assertEqual(pids, {n.name: n.pid for n in (n1, n2, n3)}, "a node restarted")

            # A user: may submit, may not publish.
            r = c.cli("user", "add", "ann", "--password-stdin", "--node", n1.address,
                      input="ann-password\n")
            self.assertEqual(r.code, 0, r.stderr)
            H.wait_until(lambda: c.login(n2, "ann", "ann-password").status == 200, 15,
                         "ann to be known at n2")
            ann = c.token_of(c.login(n2, "ann", "ann-password"))
            r, _ = api(n2, "POST", "/api/apps", APP.format(version="9", title="Mine"), auth=ann)
            self.assertEqual(r.status, 403, r.text)

            def workflows():
                return sorted(w["id"] for w in H.workflow_list(n2.address))

            before = workflows()
            # Bad values: 400, the fields named, no workflow.
            r, doc = api(n2, "POST", "/api/apps/submit",
                         {"app": "hello", "values": {"lines": 0, "greeting": "x", "tone": 1}},
                         auth=ann)
            self.assertEqual(r.status, 400, r.text)
            self.assertEqual(doc["error"]["code"], "invalid-argument")
            fields = {e["field"]: e["message"] for e in doc["errors"]}
            self.assertEqual(fields["lines"], "must be at least 1")
            self.assertIn("tone", fields)
            self.assertIn(doc["error"]["field"], fields)
            r, doc = api(n2, "POST", "/api/apps/submit", {"app": "nosuch", "values": {}},
                         auth=ann)
            self.assertEqual(r.status, 404, r.text)
            self.assertEqual(workflows(), before)

            # Good values: the workflow runs, owned by ann, with her values.
            r, doc = api(n2, "POST", "/api/apps/submit",
                         {"app": "hello", "values": {"lines": 3, "greeting": "hi there",
                                                     "mark": "?"}}, auth=ann)
            self.assertEqual(r.status, 200, r.text)
            wf = doc["id"]
            self.assertEqual(doc["name"], "hello")
            self.assertEqual(doc["tasks"], 7)
            status = H.wait_workflow(n2.address, wf, 90)
            self.assertEqual(status.state, "done", status.tasks)
            self.assertEqual(status.summary.get("owner"), "ann")
            out = os.path.join(c.tmp, "out")
            r = c.cli("fetch", wf, out, "--node", n2.address)
            self.assertEqual(r.code, 0, r.stderr)
            with open(os.path.join(out, "shout.txt")) as f:
                self.assertEqual(f.read(), "".join(f"HI THERE? ({i})\n" for i in range(3)))
            self.assertEqual(workflows(), sorted(before + [wf]))


if __name__ == "__main__":
    H.main()
