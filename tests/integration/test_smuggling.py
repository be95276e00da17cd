#!/usr/bin/env python3
"""Request smuggling through a real reverse proxy: Debian's nginx in front
of inferd with upstream keep-alive (how an inference server is usually
deployed).  Attackers send every framing trick (a HEAD or TRACE or GET
carrying a body that holds a request, two lengths, CL with TE, TE other
than chunked, space before the colon, obs-fold, odd chunk sizes) while
victims, interleaved on the same proxy, ask for predictions of their own
rows.  Every victim must get its own answer: 0 answered with another
request's response, 0 timeouts; and the smuggled request never runs."""

import http.client
import json
import os
import random
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.join(os.environ.get("INFERD_SRCDIR", "."),
                                "tests", "lib"))
from harness import Inferd, note, run  # noqa: E402

NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
SECONDS = float(os.environ.get("SMUGGLING_SECONDS", "8"))
SMUGGLED = b"GET /v2 HTTP/1.1\r\nHost: x\r\n\r\n"

CONF = """
worker_processes 2;
pid nginx.pid;
error_log error.log warn;
events { worker_connections 1024; }
http {
	access_log off;
	client_body_temp_path body;
	proxy_temp_path proxy;
	fastcgi_temp_path fastcgi;
	uwsgi_temp_path uwsgi;
	scgi_temp_path scgi;
	upstream inferd {
		server 127.0.0.1:%(upstream)d;
		keepalive 16;
	}
	server {
		listen 127.0.0.1:%(port)d;
		location / {
			proxy_pass http://inferd;
			proxy_http_version 1.1;
			proxy_set_header Connection "";
			proxy_read_timeout 10s;
		}
	}
}
"""

ATTACKS = [
    b"HEAD /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n" %
    len(SMUGGLED) + SMUGGLED,
    b"TRACE /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n" %
    len(SMUGGLED) + SMUGGLED,
    b"GET /predict HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n" %
    len(SMUGGLED) + SMUGGLED,
    b"HEAD /predict HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
    b"\r\n%x\r\n" % len(SMUGGLED) + SMUGGLED + b"\r\n0\r\n\r\n",
    b"POST /predict HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n"
    b"Content-Length: %d\r\n\r\n" % len(SMUGGLED) + SMUGGLED,
    b"POST /predict HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n"
    b"Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n" % (5 + len(SMUGGLED)) +
    SMUGGLED,
    b"POST /predict HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked"
    b"\r\n\r\n0\r\n\r\n" + SMUGGLED,
    b"POST /predict HTTP/1.1\r\nHost: x\r\nTransfer-Encoding : chunked\r\n"
    b"\r\n0\r\n\r\n" + SMUGGLED,
    b"POST /predict HTTP/1.1\r\nHost: x\r\nX: y\r\n Transfer-Encoding: "
    b"chunked\r\n\r\n0\r\n\r\n" + SMUGGLED,
    b"POST /predict HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
    b"\r\n0x1e\r\n" + SMUGGLED + b"\r\n0\r\n\r\n",
    b"POST /predict HTTP/1.1\r\nHost: x\r\nContent-Length: +%d\r\n\r\n" %
    len(SMUGGLED) + SMUGGLED,
    b"OPTIONS /predict HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n" %
    len(SMUGGLED) + SMUGGLED,
]


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class Nginx:
    def __init__(self, upstream):
        self.dir = tempfile.mkdtemp(prefix="inferd-nginx.")
        os.chmod(self.dir, 0o755)
        self.port = free_port()
        conf = os.path.join(self.dir, "nginx.conf")
        with open(conf, "w") as f:
            f.write(CONF % {"upstream": upstream, "port": self.port})
        self.proc = subprocess.Popen(
            [NGINX, "-p", self.dir + "/", "-c", conf, "-e",
             os.path.join(self.dir, "error.log"), "-g", "daemon off;"],
            stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", self.port)).close()
                break
            except OSError:
                assert time.monotonic() < deadline, "nginx did not start"
                assert self.proc.poll() is None, "nginx exited"
                time.sleep(0.05)

    def close(self):
        self.proc.terminate()
        self.proc.wait(10)
        shutil.rmtree(self.dir, True)


def attacker(port, stop, counts):
    while not stop.is_set():
        data = random.choice(ATTACKS)
        try:
            s = socket.create_connection(("127.0.0.1", port), timeout=3)
            s.sendall(data)
            s.settimeout(0.3)
            try:
                while s.recv(65536):
                    pass
            except OSError:
                pass
            s.close()
            counts["attacks"] += 1
        except OSError:
            pass


def victim(port, rows, stop, counts):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    while not stop.is_set():
        i = random.randrange(len(rows))
        row, want = rows[i]
        try:
            conn.request("POST", "/predict", body=row,
                         headers={"Content-Type": "application/json"})
            resp = conn.getresponse()
            got = resp.read()
        except socket.timeout:
            counts["timeouts"] += 1
            conn.close()
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            continue
        except (OSError, http.client.HTTPException):
            counts["errors"] += 1
            conn.close()
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            continue
        counts["victims"] += 1
        if resp.status != 200 or got != want:
            counts["wrong"] += 1
            counts.setdefault("examples", []).append((resp.status, got[:80]))
    conn.close()


def test_smuggling_through_nginx():
    if not os.path.exists(NGINX):
        raise AssertionError("nginx is not installed (Debian package nginx, "
                             ".ci/packages-test)")
    with Inferd(workers=2) as d:
        # Each victim's row has its own answer, taken straight from inferd.
        rows = []
        rnd = random.Random(7)
        for _ in range(40):
            body = json.dumps({"features": [rnd.uniform(0, 30)
                                            for _ in range(30)]}).encode()
            st, _, want = d.request("POST", "/predict", body=body,
                                    headers={"Content-Type":
                                             "application/json"})
            assert st == 200
            rows.append((body, want))
        assert len({w for _, w in rows}) > 10
        ng = Nginx(d.port)
        try:
            stop = threading.Event()
            counts = {"attacks": 0, "victims": 0, "wrong": 0,
                      "timeouts": 0, "errors": 0}
            threads = [threading.Thread(target=attacker,
                                        args=(ng.port, stop, counts))
                       for _ in range(3)]
            threads += [threading.Thread(target=victim,
                                         args=(ng.port, rows, stop, counts))
                        for _ in range(6)]
            for t in threads:
                t.start()
            time.sleep(SECONDS)
            stop.set()
            for t in threads:
                t.join(15)
            note("through nginx: %(attacks)d attacks, %(victims)d victim "
                 "requests, %(wrong)d answered wrong, %(timeouts)d timeouts, "
                 "%(errors)d errors" % counts)
            assert counts["victims"] > 50, counts
            assert counts["attacks"] > 20, counts
            assert counts["wrong"] == 0, counts
            assert counts["timeouts"] == 0, counts
            assert counts["errors"] == 0, counts
            # The smuggled GET /v2 never ran.
            assert d.count("inferd_http_requests_total", handler="/v2",
                            code="200") == 0
        finally:
            ng.close()


if __name__ == "__main__":
    run([test_smuggling_through_nginx])
