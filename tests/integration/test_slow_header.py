#!/usr/bin/env python3
"""slow_header: a client that sends HALF A REQUEST HEADER and stalls is cut off after
read-timeout, like one that stalls in the body, and not only after the (longer) idle-timeout:
otherwise a slowloris client would hold a connection far longer than deploy.xml promises, and
max-connections of them would lock everybody else out with 503s. The test sets
read-timeout=1s and idle-timeout=6s.
"""

import socket
import time
import unittest

import fvce_harness as H

READ_TIMEOUT = 1.0
IDLE_TIMEOUT = 6.0


class SlowHeader(unittest.TestCase):
    def test_half_a_header_is_cut_off_after_read_timeout(self):
        with H.Cluster(H.fvce_path(), "fvce-slow-header") as c:
            deploy = c.write_deploy(http={"read-timeout": "1s", "idle-timeout": "6s"})
            a = c.start("a", deploy)
            host, port = a.address.rsplit(":", 1)
            with socket.create_connection((host, int(port)), timeout=IDLE_TIMEOUT + 5) as s:
                s.sendall(b"POST /register/join HTTP/1.1\r\nHost: x\r\nContent-Le")
                t0 = time.monotonic()
                try:
                    s.recv(4096)
                except OSError:
                    pass
                seconds = time.monotonic() - t0
            print(f"half a header: cut off after {seconds:.2f}s "
                  f"(read-timeout {READ_TIMEOUT}s, idle-timeout {IDLE_TIMEOUT}s)")
            self.assertLessEqual(seconds, READ_TIMEOUT + 1.5,
                                 "a started request header is bounded by idle-timeout, "
                                 "not read-timeout (node/http/server.cpp, Server::serve)")


if __name__ == "__main__":
    H.main()
