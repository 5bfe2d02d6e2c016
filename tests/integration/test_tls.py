#!/usr/bin/env python3
"""tls: members are their certificates (docs/SECURITY.md, "Members").

A federation of two nodes over mutual TLS, its CA made with `fvce ca init` and each node's
bundle with `fvce ca issue`. Checked:

- the nodes federate and a user signs in with the CA's certificate (`fvce login --ca`);
- a peer with no certificate is a nobody: members' routes answer 401;
- certificates the test makes itself — expired, from another CA — are refused at the
  handshake, and the node logs why;
- one with a valid certificate for another name cannot join as a member it is not (403);
- a node whose certificate is for another name, or not valid with its CA, refuses to start;
  so does a node configured plain on a non-loopback address (test_deploy_errors);
- connections are pooled: a workflow of 50 tasks costs a handful of handshakes per pair of
  nodes, not one per request.
"""

import os
import ssl
import subprocess
import unittest

import fvce_harness as H

ARRAY = """<workflow xmlns="urn:fvce:1" name="many">
  <array id="a" range="0..49"><task id="t" cmd="true"/></array>
</workflow>
"""


class Tls(unittest.TestCase):
    def test_members_are_their_certificates(self):
        with H.Cluster(H.fvce_path(), "fvce-tls", transport="tls") as c:
            n1, n2 = H.start_federation(c, slots=(2, 2), names=["t1", "t2"])
            ca = os.path.join(c.ca_dir, "ca.crt")
            # A user signs in, checking the node against the CA.
            creds = os.path.join(c.tmp, "user-credentials")
            env = {"FVCE_CREDENTIALS": creds}
            r = c.cli("user", "add", "ursula", "--password-stdin", "--node", n1.address,
                      input="ursula-password\n")
            self.assertEqual(r.code, 0, r.stderr)
            H.wait_until(lambda: c.login(n2, "ursula", "ursula-password").status == 200, 5,
                         "ursula known at t2")
            r = c.cli("login", "--user", "ursula", "--password-stdin", "--node", n2.address,
                      "--ca", ca, env=env, input="ursula-password\n")
            self.assertEqual(r.code, 0, r.stderr)
            r = c.cli("hosts", "--node", n1.address, env=env)
            self.assertEqual(r.code, 0, r.stderr)
            self.assertIn("2 members", r.stdout)
            # Without the CA the client refuses to talk (it cannot check the node).
            r = c.cli("hosts", "--node", n1.address, "--ca", os.path.join(c.tmp, "nope.crt"),
                      env=env)
            self.assertEqual(r.code, 1)
            self.assertIn("nope.crt", r.stderr)

            # No certificate: members' routes are closed.
            r = H.post(n1.address, "/register/updates", "<updates xmlns='urn:fvce:1'/>",
                       auth=None)
            self.assertEqual(r.status, 401, r.text)

            # Expired, and another CA's: refused at the handshake, and logged with the reason.
            expired = os.path.join(c.pki, "expired")
            os.makedirs(expired)
            r = c.cli("ca", "init", os.path.join(c.pki, "other"))
            self.assertEqual(r.code, 0, r.stderr)
            other = os.path.join(c.pki, "other-t3")
            r = c.cli("ca", "issue", "t3", "--ca", os.path.join(c.pki, "other"), "--out", other)
            self.assertEqual(r.code, 0, r.stderr)
            # An expired certificate signed by the federation's own CA (openssl ca can date
            # it in the past).
            key, csr = os.path.join(expired, "node.key"), os.path.join(expired, "node.csr")
            subprocess.run(["openssl", "req", "-new", "-newkey", "ec", "-pkeyopt",
                            "ec_paramgen_curve:P-256", "-nodes", "-subj", "/CN=t3",
                            "-keyout", key, "-out", csr], check=True, capture_output=True)
            with open(os.path.join(expired, "index.txt"), "w"):
                pass
            with open(os.path.join(expired, "ca.cnf"), "w") as f:
                f.write(f"[ca]\ndefault_ca = d\n[d]\ndatabase = {expired}/index.txt\n"
                        f"new_certs_dir = {expired}\ncertificate = {ca}\n"
                        f"private_key = {c.ca_dir}/ca.key\ndefault_md = sha256\n"
                        f"rand_serial = yes\npolicy = p\n[p]\ncommonName = supplied\n")
            subprocess.run(["openssl", "ca", "-batch", "-notext", "-config",
                            os.path.join(expired, "ca.cnf"), "-in", csr,
                            "-out", os.path.join(expired, "node.crt"),
                            "-startdate", "20200101000000Z", "-enddate", "20200201000000Z"],
                           check=True, capture_output=True)
            for name, bundle in (("another CA", other), ("expired", expired)):
                with self.subTest(certificate=name):
                    cert = (os.path.join(bundle, "node.crt"), os.path.join(bundle, "node.key"))
                    with self.assertRaises((ssl.SSLError, ConnectionError, OSError)):
                        r = H.get(n1.address, "/register/members", cert=cert)
                        # TLS 1.3: the refusal may come with the first read.
                        raise ConnectionError(f"answered {r.status}")
            H.wait_until(lambda: "TLS handshake from" in n1.stderr_text(), 5, "the refusal logged")
            self.assertIn("certificate refused", n1.stderr_text())

            # A valid certificate, but for another name: cannot join as another member.
            t3 = c.issue("t3")
            host = ("<host cores='64' cpu-model='x' cpu-mhz='1' memory='1' disk='1' os='x' "
                    "arch='x' speed='1' slots='64' info-impl='declared' started='1' version='x'/>")
            join = ("<join xmlns='urn:fvce:1' federation='test'><member id='%s' name='t2' "
                    "address='127.0.0.1:9' incarnation='1' state='alive'>%s</member></join>" %
                    ("11111111-1111-4111-8111-111111111111", host))
            r = H.post(n1.address, "/register/join", join,
                       cert=(os.path.join(t3, "node.crt"), os.path.join(t3, "node.key")))
            self.assertEqual(r.status, 403, r.text)
            self.assertIn("may not join as 't2'", r.text)
            self.assertEqual(n1.alive_names(), {"t1", "t2"})

            # A node whose certificate is another node's, or another CA's, does not start.
            deploy = c.write_deploy()
            for bundle, why in ((c.issue("t2"), "is for 't2'"), (other, "not valid with CA")):
                if bundle == other:
                    # other's bundle carries its own CA: point it at this federation's.
                    mixed = os.path.join(c.pki, "mixed")
                    os.makedirs(mixed, exist_ok=True)
                    for f in ("node.crt", "node.key", "federation.key"):
                        with open(os.path.join(other, f), "rb") as src, \
                                open(os.path.join(mixed, f), "wb") as dst:
                            dst.write(src.read())
                    with open(ca, "rb") as src, open(os.path.join(mixed, "ca.crt"), "wb") as dst:
                        dst.write(src.read())
                    bundle = mixed
                with self.subTest(bundle=why):
                    p = subprocess.run([c.fvce, "node", "--deploy", deploy, "--name", "t3",
                                        "--listen", "127.0.0.1:0",
                                        "--state-dir", os.path.join(c.tmp, "t3-" + why[:6]),
                                        "--security", bundle],
                                       capture_output=True, text=True, timeout=20)
                    self.assertEqual(p.returncode, 1, p.stderr)
                    self.assertIn(why, p.stderr)

            # Pooled connections: 50 tasks, a few handshakes.
            before = {n.name: self.handshakes(n) for n in (n1, n2)}
            wf = H.write_file(c.tmp, "many.xml", ARRAY)
            r = H.submit(c, n1, wf, "--watch", timeout=60)
            self.assertEqual(r.code, 0, r.stderr)
            st = H.workflow_status(n1.address, r.stdout.split()[0])
            self.assertEqual(st.state, "done")
            after = {n.name: self.handshakes(n) for n in (n1, n2)}
            grown = {k: after[k] - before[k] for k in after}
            print(f"TLS handshakes (server side) during a 50-task workflow: {grown}")
            # The CLI's own connections and a handful between the two nodes; never one per
            # request (the workflow makes several hundred).
            self.assertLess(sum(grown.values()), 40, grown)

    @staticmethod
    def handshakes(node) -> float:
        m = node.metrics()
        return sum(v for (name, labels), v in m.items()
                   if name == "fvce_tls_handshakes_total" and ("side", "server") in labels
                   and ("result", "ok") in labels)


if __name__ == "__main__":
    H.main()
