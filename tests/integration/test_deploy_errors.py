#!/usr/bin/env python3
"""deploy_errors: a node given a bad deploy.xml refuses to start: it exits 1 quickly, names
FILE:LINE:COL and says what is wrong (listing the known choices where there are some), and
leaves nothing behind listening."""

import os
import pwd
import re
import subprocess
import time
import unittest

import fvce_harness as H

START_BOUND = 5.0  # seconds for the node to give up

ROOT = '<?xml version="1.0" encoding="UTF-8"?>\n<deploy xmlns="urn:fvce:1" federation="test">'
HEAD0 = ROOT + '\n'
# Every case but the security ones has a valid <security> (the cluster's secret is
# federation.key beside the deploy files): the error is elsewhere.
SECURITY = '  <security transport="plain" secret="federation.key"/>\n'
HEAD = HEAD0 + SECURITY
REGISTER_PARAMS = ["probe-interval", "probes-per-round", "probe-timeout", "suspect-after",
                   "remove-after", "suspect-timeout", "tombstone", "reconnect-for", "sync-interval",
                   "gossip-repeat"]
INFO_OK = '  <service name="info" impl="statgrab"><param name="calibrate" value="false"/></service>\n'
# Run as root, a node needs the local accounts its tasks run as (tasks never run as root).
EXECUTE_OK = ('  <service name="execute" impl="process">'
              f'<param name="accounts" value="{H.ROOT_ACCOUNTS}"/></service>\n')
if H.AS_ROOT:
    INFO_OK += EXECUTE_OK

# name: (deploy text with the faulty element on a line marked "<!--HERE-->", fragments the
# message must contain)
CASES = {
    "unknown register impl": (
        HEAD + INFO_OK + '  <service name="register" impl="gossip"/><!--HERE-->\n</deploy>\n',
        ["unknown impl 'gossip'", "service 'register'", "known: introducer"]),
    "unknown info impl": (
        HEAD + '  <service name="info" impl="psutil"/><!--HERE-->\n</deploy>\n',
        ["unknown impl 'psutil'", "known: declared, statgrab"]),
    "unknown param": (
        HEAD + INFO_OK + '  <service name="register" impl="introducer">\n'
        '    <param name="probe-rate" value="1s"/><!--HERE-->\n  </service>\n</deploy>\n',
        ["unknown parameter 'probe-rate'", "introducer", "known: " + ", ".join(REGISTER_PARAMS)]),
    "bad param value": (
        HEAD + INFO_OK + '  <service name="register" impl="introducer">\n'
        '    <param name="probe-timeout" value="500ms"/>\n'
        '    <param name="probe-interval" value="fast"/><!--HERE-->\n  </service>\n</deploy>\n',
        ["probe-interval", "fast"]),
    "bad integer param": (
        HEAD + INFO_OK + '  <service name="register" impl="introducer">\n'
        '    <param name="probes-per-round" value="0"/><!--HERE-->\n  </service>\n</deploy>\n',
        ["probes-per-round", "outside 1..64"]),
    "missing required param": (
        HEAD + '  <service name="info" impl="declared"><!--HERE-->\n'
        '    <param name="speed" value="100"/>\n    <param name="memory" value="4GiB"/>\n'
        '  </service>\n</deploy>\n',
        ["needs parameter 'cores'"]),
    "remove-after below suspect-after": (
        HEAD + INFO_OK + '  <service name="register" impl="introducer">\n'
        '    <param name="suspect-after" value="5"/>\n'
        '    <param name="remove-after" value="2"/><!--HERE-->\n  </service>\n</deploy>\n',
        ["remove-after must be at least suspect-after"]),
    "bad http limit": (
        HEAD0 + '  <http read-timeout="soon"/><!--HERE-->\n' + SECURITY + INFO_OK +
        '</deploy>\n',
        ["read-timeout"]),
    "no security": (
        ROOT + '<!--HERE-->\n' + INFO_OK + '</deploy>\n',
        ["there is no <security> element", "fvce ca init"]),
    "plain transport off loopback": (
        HEAD0 + '  <node advertise="192.0.2.1:7700"/>\n'
        '  <security transport="plain" secret="federation.key"/><!--HERE-->\n' + INFO_OK +
        '</deploy>\n',
        ['transport="plain" is allowed only on loopback', "192.0.2.1:7700"]),
    "missing federation secret": (
        HEAD0 + '  <security transport="plain" secret="nosuch.key"/><!--HERE-->\n' + INFO_OK +
        '</deploy>\n',
        ["nosuch.key", "cannot be read"]),
    "xsd-invalid service name": (
        HEAD + INFO_OK + '  <service name="nosuch" impl="x"/><!--HERE-->\n</deploy>\n',
        ["nosuch"]),
    "xsd-invalid unknown element": (
        HEAD0 + '  <nodes threads="2"/><!--HERE-->\n' + SECURITY + INFO_OK + '</deploy>\n',
        ["nodes"]),
    "service given twice": (
        HEAD + INFO_OK + '  <service name="info" impl="declared"/><!--HERE-->\n</deploy>\n', []),
    "work root /": (
        HEAD + INFO_OK + '  <service name="file" impl="local">\n'
        '    <param name="work-root" value="/"/><!--HERE-->\n  </service>\n</deploy>\n',
        ["work-root", "work root / ", "is a system directory"]),
    "work root inside /usr": (
        HEAD + INFO_OK + '  <service name="file" impl="local">\n'
        '    <param name="work-root" value="/usr/share/../share/fvce"/><!--HERE-->\n'
        '  </service>\n</deploy>\n',
        ["/usr/share/fvce", "lies inside the system directory /usr"]),
    "bad cgroups value": (
        HEAD + INFO_OK.replace(EXECUTE_OK, "") + '  <service name="execute" impl="process">\n'
        '    <param name="cgroups" value="sometimes"/><!--HERE-->\n'
        + (f'    <param name="accounts" value="{H.ROOT_ACCOUNTS}"/>\n' if H.AS_ROOT else "") +
        '  </service>\n</deploy>\n',
        ["parameter 'cgroups'", "'sometimes' is not auto, required or off"]),
    "malformed xml": (
        HEAD + INFO_OK + '  <service name="register" impl="introducer"\n'
        '</deploy><!--HERE-->\n', []),
}
if H.AS_ROOT:
    INFO_ONLY = INFO_OK.replace(EXECUTE_OK, "")
    CASES["run as root with no accounts"] = (
        HEAD + INFO_ONLY + '  <service name="execute" impl="process"/><!--HERE-->\n</deploy>\n',
        ["parameter 'accounts'", "tasks never run as root", "*=*"])
    CASES["run as root, an account that is root"] = (
        HEAD + INFO_ONLY + '  <service name="execute" impl="process">\n'
        '    <param name="accounts" value="alice=nobody,*=root"/><!--HERE-->\n'
        '  </service>\n</deploy>\n',
        ["'*' maps to local account 'root'", "tasks never run as root"])
    CASES["run as root, an account that does not exist"] = (
        HEAD + INFO_ONLY + '  <service name="execute" impl="process">\n'
        '    <param name="accounts" value="alice=no-such-account-here"/><!--HERE-->\n'
        '  </service>\n</deploy>\n',
        ["'no-such-account-here', which does not exist"])


# A home directory that is no system directory (Debian's base accounts have several, e.g.
# /var/cache/man): a work root there is refused as that user's home.
SYSTEM = {"/", "/root", "/home", "/var", "/tmp", "/nonexistent", "/bin", "/usr/sbin", "/dev",
          "/run", "/var/run", "/var/lib", "/usr", "/srv", "/opt", "/sbin", "/proc", "/sys"}
HOMES = [p for p in pwd.getpwall()
         if p.pw_dir.startswith("/") and os.path.normpath(p.pw_dir) not in SYSTEM and
         not any(os.path.normpath(p.pw_dir).startswith(t + "/")
                 for t in ("/bin", "/usr", "/etc", "/dev", "/proc", "/sys", "/sbin", "/boot",
                           "/lib"))]
if HOMES:
    CASES["work root a home directory"] = (
        HEAD + INFO_OK + '  <service name="file" impl="local">\n'
        f'    <param name="work-root" value="{HOMES[0].pw_dir}"/><!--HERE-->\n'
        '  </service>\n</deploy>\n',
        [f"is the home directory of user '{HOMES[0].pw_name}'"])


class DeployErrors(unittest.TestCase):
    def start_bad(self, c, key, text):
        path = c.write_deploy(raw=text, name=re.sub(r"\W+", "-", key) + ".xml")
        line = next(i for i, l in enumerate(text.splitlines(), start=1) if "<!--HERE-->" in l)
        state = os.path.join(c.tmp, "state-" + re.sub(r"\W+", "-", key))
        t0 = time.monotonic()
        p = subprocess.run([c.fvce, "node", "--deploy", path, "--listen", "127.0.0.1:0",
                            "--state-dir", state, "--name", "bad"],
                           capture_output=True, timeout=START_BOUND + 10, text=True,
                           preexec_fn=H._pdeathsig)
        return path, line, state, p, time.monotonic() - t0

    def test_refuses_to_start(self):
        with H.Cluster(H.fvce_path(), "fvce-deploy-errors") as c:
            for key, (text, fragments) in CASES.items():
                with self.subTest(case=key):
                    path, line, state, p, seconds = self.start_bad(c, key, text)
                    self.assertEqual(p.returncode, 1, f"{key}: stderr: {p.stderr}")
                    self.assertLess(seconds, START_BOUND)
                    m = re.search(re.escape(path) + r":(\d+):(\d+): (.*)", p.stderr)
                    self.assertIsNotNone(m, f"{key}: no {path}:LINE:COL in: {p.stderr}")
                    self.assertEqual(int(m.group(1)), line, f"{key}: {p.stderr}")
                    self.assertGreater(int(m.group(2)), 0)
                    for f in fragments:
                        self.assertIn(f, m.group(3), f"{key}: {p.stderr}")
                    self.assertNotIn("listening on", p.stdout)
                    # Nothing left behind listening: no address was ever published.
                    self.assertFalse(os.path.exists(os.path.join(state, "address")), key)

            # A deploy file that does not exist is a usage error (exit 2).
            p = subprocess.run([c.fvce, "node", "--deploy", os.path.join(c.tmp, "nope.xml")],
                               capture_output=True, text=True, timeout=10)
            self.assertEqual(p.returncode, 2, p.stderr)
            self.assertIn("nope.xml", p.stderr)


if __name__ == "__main__":
    H.main()
