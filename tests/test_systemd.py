"""The systemd side: the unit file verifies, and the notify protocol."""

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time

from harness import BIN, SRCDIR, Inferd, run


def test_unit_verifies():
    tmp = tempfile.mkdtemp()
    try:
        with open(os.path.join(SRCDIR, "contrib", "systemd",
                               "inferd.service.in")) as f:
            unit = f.read()
        unit = unit.replace("@bindir@", os.path.dirname(
            os.path.abspath(BIN))).replace("@sysconfdir@", "/etc")
        path = os.path.join(tmp, "inferd.service")
        with open(path, "w") as f:
            f.write(unit)
        r = subprocess.run(["systemd-analyze", "verify", path],
                           capture_output=True, text=True)
        assert r.returncode == 0 and r.stdout + r.stderr == "", \
            r.stdout + r.stderr
        assert "Type=notify" in unit and "ExecReload=/bin/kill -HUP" in unit
    finally:
        shutil.rmtree(tmp)


class NotifySocket:
    """A $NOTIFY_SOCKET that keeps reading, as systemd does."""

    def __init__(self, path):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(path)
        self.sock.settimeout(0.2)
        self.msgs = []
        self.cond = threading.Condition()
        self.done = False
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self):
        while not self.done:
            try:
                msg = self.sock.recv(4096).decode()
            except socket.timeout:
                continue
            with self.cond:
                self.msgs.append(msg)
                self.cond.notify_all()

    def expect(self, state, after=0, timeout=10):
        """Index of the first state at or after index after."""
        deadline = time.monotonic() + timeout
        with self.cond:
            while True:
                for i in range(after, len(self.msgs)):
                    if self.msgs[i] == state:
                        return i
                left = deadline - time.monotonic()
                assert left > 0, "no %s after #%d in %r" % (
                    state, after, self.msgs)
                self.cond.wait(left)

    def close(self):
        self.done = True
        self.thread.join()
        self.sock.close()


def test_notify_protocol():
    tmp = tempfile.mkdtemp()
    path = os.path.join(tmp, "notify")
    ns = NotifySocket(path)
    try:
        d = Inferd(workers=1, env={"NOTIFY_SOCKET": path,
                                   "WATCHDOG_USEC": "200000"}).start()
        try:
            i = ns.expect("READY=1")
            i = ns.expect("WATCHDOG=1", i)
            d.proc.send_signal(signal.SIGHUP)
            i = ns.expect("RELOADING=1", i)
            i = ns.expect("READY=1", i)
            rc = d.stop()
            assert rc == 0, d.log
            ns.expect("STOPPING=1", i)
        finally:
            d.kill()
    finally:
        ns.close()
        shutil.rmtree(tmp)


def test_notify_never_blocks():
    """A notify socket nobody reads fills up; the master must go on."""
    tmp = tempfile.mkdtemp()
    path = os.path.join(tmp, "notify")
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(path)
    try:
        with Inferd(workers=1, env={"NOTIFY_SOCKET": path,
                                    "WATCHDOG_USEC": "20000"}) as d:
            time.sleep(1)        # about 100 watchdog messages, unread
            st, _, _ = d.request("GET", "/healthz", port=d.metrics_port,
                                 timeout=5)
            assert st == 200
            t0 = time.monotonic()
            assert d.stop(timeout=10) == 0
            assert time.monotonic() - t0 < 5
    finally:
        sock.close()
        shutil.rmtree(tmp)


if __name__ == "__main__":
    run([test_unit_verifies, test_notify_protocol, test_notify_never_blocks])
