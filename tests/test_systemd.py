"""The systemd side: the unit file verifies, and the notify protocol."""

import os
import shutil
import signal
import socket
import subprocess
import tempfile

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


def test_notify_protocol():
    tmp = tempfile.mkdtemp()
    path = os.path.join(tmp, "notify")
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(path)
    sock.settimeout(10)
    try:
        d = Inferd(workers=1, env={"NOTIFY_SOCKET": path,
                                   "WATCHDOG_USEC": "200000"}).start()
        try:
            def expect(state):
                seen = []
                while True:
                    msg = sock.recv(4096).decode()
                    seen.append(msg)
                    if msg == state:
                        return
                    assert len(seen) < 50, seen
            expect("READY=1")
            expect("WATCHDOG=1")
            d.proc.send_signal(signal.SIGHUP)
            expect("RELOADING=1")
            expect("READY=1")
            rc = d.stop()
            assert rc == 0
            expect("STOPPING=1")
        finally:
            d.kill()
    finally:
        sock.close()
        shutil.rmtree(tmp)


if __name__ == "__main__":
    run([test_unit_verifies, test_notify_protocol])
