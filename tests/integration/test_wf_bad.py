#!/usr/bin/env python3
"""wf_bad: bad workflows and bad requests are refused, clearly, and change nothing.

With the CLI (`fvce submit` exits 1 with a message naming the task and the problem, and
`fvce workflows --all` stays empty):
- a dependency cycle; an unknown dependency (<after task="nosuch"/>); a file that no task
  writes and no <file> provides; a document the schema refuses (FILE:LINE:COL);
- an XSD-invalid document with a file to upload (src=): refused as FILE:LINE:COL before
  anything is uploaded (the node's store stays as it was);
- a task needing more cores than any host offers is accepted, but that task fails with
  "no live member can run it" (and the workflow fails, exit 1 with --watch).

Over raw HTTP:
- POST /submit/workflows with malformed XML → 400 naming line and column; a cycle posted
  directly → 400 naming the task; with check=true: a cycle → 400, a good document → 204
  and nothing submitted, check=maybe → 400;
- GET /file/content?path=../etc/passwd, path=/etc/passwd, and path=link/passwd where link
  is a symlink in the node's work root pointing at /etc → 403;
- GET /submit/status?workflow=nosuch → 404; with tasks=some → 400 naming the value.
"""

import hashlib
import os
import re
import unittest
import urllib.parse

import fvce_harness as H

HEAD = '<?xml version="1.0" encoding="UTF-8"?>\n<workflow xmlns="urn:fvce:1" name="{name}">\n'
TAIL = "</workflow>\n"

CYCLE = HEAD.format(name="cycle") + """  <task id="a" cmd="true"><after task="c"/></task>
  <task id="b" cmd="true"><after task="a"/></task>
  <task id="c" cmd="true"><after task="b"/></task>
  <task id="free" cmd="true"/>
""" + TAIL

UNKNOWN_DEP = HEAD.format(name="unknown") + """  <task id="first" cmd="true"/>
  <task id="second" cmd="true"><after task="nosuch"/></task>
""" + TAIL

NO_PRODUCER = HEAD.format(name="noproducer") + """  <task id="reader" cmd="cat" args="ghost.txt">
    <in file="ghost.txt"/>
  </task>
""" + TAIL

# Line 4, the <task> element: an attribute the schema does not know.
XSD_INVALID = HEAD.format(name="invalid") + """  <task id="ok" cmd="true"/>
  <task id="bad" cmd="true" colour="blue"/>
""" + TAIL

# Line 6: the <task> element has an attribute the schema does not know; data.txt is to upload.
INVALID_WITH_UPLOAD = HEAD.format(name="invalidupload") + """  <file name="data.txt" src="data.txt"/>
  <task id="ok" cmd="cat" args="data.txt"><in file="data.txt"/></task>

  <task id="bad" cmd="true" colour="blue"/>
""" + TAIL

GOOD = HEAD.format(name="good") + """  <task id="a" cmd="true"/>
""" + TAIL

TOO_WIDE = HEAD.format(name="toowide") + """  <task id="small" cmd="true"/>
  <task id="huge" cmd="true" cores="64"/>
""" + TAIL


class Bad(unittest.TestCase):
    def refused(self, c, node, name, text, *needles):
        path = H.write_file(c.tmp, name + ".xml", text)
        r = H.submit(c, node, path, timeout=20)
        self.assertEqual(r.code, 1, f"{name}: {r.stdout}\n{r.stderr}")
        self.assertEqual(r.stdout.strip(), "", f"{name}: no id printed")
        for n in needles:
            self.assertRegex(r.stderr, n, f"{name}")
        print(f"{name}: {r.stderr.strip()}")
        return r.stderr

    def test_bad_workflows_and_requests(self):
        with H.Cluster(H.fvce_path(), "fvce-wf-bad") as c:
            nodes = H.start_federation(c, slots=(1, 2, 3))
            a = nodes[0]

            self.refused(c, a, "cycle", CYCLE, r"task '[abc]'", r"cycle",
                         r"[abc] → [abc] → [abc] → [abc]")
            self.refused(c, a, "unknown", UNKNOWN_DEP, r"task 'second'", r"nosuch")
            self.refused(c, a, "noproducer", NO_PRODUCER, r"task 'reader'", r"ghost\.txt")
            err = self.refused(c, a, "invalid", XSD_INVALID, r"invalid\.xml:4:\d+", r"colour")
            self.assertNotIn("Traceback", err)
            data = b"a file that must not be uploaded\n"
            H.write_file(c.tmp, "data.txt", data.decode())
            self.refused(c, a, "invalidupload", INVALID_WITH_UPLOAD,
                         r"invalidupload\.xml:6:\d+", r"colour")
            r = H.get(a.address, "/file/content?path=store/" + hashlib.sha256(data).hexdigest())
            self.assertEqual(r.status, 404, "nothing is uploaded for a refused document")

            r = c.cli("workflows", "--all", "--node", a.address)
            self.assertEqual(r.code, 0, r.stderr)
            self.assertEqual(H.table_rows(r.stdout)[1:], [], "nothing was created:\n" + r.stdout)
            self.assertEqual(H.workflow_list(a.address), [])

            # Straight to the node (no client-side check): the node refuses them itself.
            r = H.post(a.address, "/submit/workflows", CYCLE, auth="admin")
            self.assertEqual(r.status, 400, r.text)
            self.assertRegex(r.text, r"task '[abc]'.*cycle")
            r = H.post(a.address, "/submit/workflows", XSD_INVALID, auth="admin")
            self.assertEqual(r.status, 400, r.text)
            self.assertRegex(r.text, r"\b4:\d+", r.text)
            r = H.post(a.address, "/submit/workflows?check=true", CYCLE, auth="admin")
            self.assertEqual(r.status, 400, r.text)
            self.assertRegex(r.text, r"task '[abc]'.*cycle")
            r = H.post(a.address, "/submit/workflows?check=true", GOOD, auth="admin")
            self.assertEqual(r.status, 204, r.text)
            r = H.post(a.address, "/submit/workflows?check=maybe", GOOD, auth="admin")
            self.assertEqual(r.status, 400, r.text)
            self.assertIn("check='maybe'", r.text)
            malformed = HEAD.format(name="broken") + '  <task id="a" cmd="true">\n' + TAIL
            r = H.post(a.address, "/submit/workflows", malformed, auth="admin")
            self.assertEqual(r.status, 400, r.text)
            self.assertRegex(r.text, r"line \d+|:\d+:\d+|\b\d+:\d+\b", r.text)
            print(f"malformed XML: HTTP {r.status} {r.text.strip()}")
            self.assertEqual(H.workflow_list(a.address), [])

            # Accepted, but the 64-core task can run nowhere: it fails, the other runs.
            path = H.write_file(c.tmp, "toowide.xml", TOO_WIDE)
            r = H.submit(c, a, path, "--watch", timeout=60)
            self.assertEqual(r.code, 1, f"{r.stdout}\n{r.stderr}")
            wf = r.stdout.strip()
            self.assertIn("no live member can run it", r.stderr)
            st = H.workflow_status(a.address, wf)
            self.assertEqual(st.state, "failed")
            self.assertEqual(st.tasks["huge"]["state"], "failed")
            self.assertIn("no live member can run it", st.tasks["huge"].get("message", ""))
            self.assertEqual(st.tasks["small"]["state"], "done")

            # The file service keeps paths inside the work root.
            def content(p):
                return H.get(a.address, "/file/content?path=" + urllib.parse.quote(p, safe=""))

            for p in ("../etc/passwd", "/etc/passwd", "store/../../etc/passwd"):
                r = content(p)
                self.assertEqual(r.status, 403, f"{p}: {r.status} {r.text[:200]}")
            work_root = os.path.join(a.state_dir, "work")
            self.assertTrue(os.path.isdir(work_root), work_root)
            os.symlink("/etc", os.path.join(work_root, "link"))
            r = content("link/passwd")
            self.assertEqual(r.status, 403, f"symlink escape: {r.status} {r.text[:200]}")
            self.assertNotIn("root:", r.text)
            os.symlink("store", os.path.join(work_root, "inside"))  # inside the root: fine
            r = H.get(a.address, "/file/list?path=inside")
            self.assertEqual(r.status, 200, r.text[:200])

            r = H.get(a.address, "/submit/status?workflow=nosuch")
            self.assertEqual(r.status, 404, r.text)
            r = H.get(a.address, "/submit/status?workflow=nosuch&tasks=some")
            self.assertEqual(r.status, 400, r.text)
            self.assertIn("tasks='some'", r.text)
            r = c.cli("status", "nosuch", "--node", a.address)
            self.assertEqual(r.code, 1)
            self.assertIn("nosuch", r.stderr)


if __name__ == "__main__":
    H.main()
