"""log = syslog: the messages of the master and of its workers reach the
local syslog socket with the configured facility, and nothing after the
start goes to stderr.

The test is the syslog daemon: it binds a datagram socket of its own and
runs inferd in a private mount namespace (unshare -m) whose /dev is a
copy in which /dev/log is that socket (bind mounts).  Needs root.

Prints TAP."""

import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time

from harness import BIN, MODEL, Skip, run, segments_of

# Inside the namespace: a /dev with what inferd needs, and /dev/log.
NAMESPACE = r"""
set -e
T=$1; shift
mkdir -p $T/dev/shm
for n in null zero urandom random; do
    touch $T/dev/$n; mount --bind /dev/$n $T/dev/$n
done
mount --bind /dev/shm $T/dev/shm
touch $T/dev/log; mount --bind $T/log.sock $T/dev/log
mount --rbind $T/dev /dev
exec "$@"
"""
# <PRI>TIMESTAMP inferd[PID]: MESSAGE
_SYSLOG = re.compile(r"^<(\d+)>.*? inferd\[(\d+)\]: (.*)$")
LOCAL3, INFO, WARNING = 19, 6, 4


def metrics(port):
    """The text exposition of the metrics port."""
    import urllib.request
    with urllib.request.urlopen("http://127.0.0.1:%d/metrics" % port,
                                timeout=10) as r:
        return r.read().decode()


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class Syslog:
    """The datagrams inferd sends to /dev/log: [(facility, severity, pid,
    message)]."""

    def __init__(self, path):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(path)
        self.sock.settimeout(0.1)
        self.msgs = []

    def wait(self, pattern, timeout=15):
        deadline = time.monotonic() + timeout
        while True:
            for m in self.msgs:
                if re.search(pattern, m[3]):
                    return m
            if time.monotonic() > deadline:
                raise AssertionError("no syslog message /%s/ in:\n%s" % (
                    pattern, "\n".join(map(str, self.msgs))))
            try:
                data = self.sock.recv(65536).decode()
            except socket.timeout:
                continue
            mm = _SYSLOG.match(data)
            assert mm, "not a syslog datagram: %r" % data
            pri = int(mm.group(1))
            self.msgs.append((pri >> 3, pri & 7, int(mm.group(2)),
                              mm.group(3)))


def test_syslog_master_and_workers():
    if os.getuid() != 0 or not shutil.which("unshare"):
        raise Skip("needs root and unshare(1) for a private /dev/log")
    tmp = tempfile.mkdtemp(prefix="inferd-log.")
    proc = None
    try:
        log = Syslog(os.path.join(tmp, "log.sock"))
        port, mport = free_port(), free_port()
        proc = subprocess.Popen(
            ["unshare", "-m", "sh", "-c", NAMESPACE, "sh", tmp, BIN,
             "--no-config", "--model", MODEL, "-w", "2",
             "-l", "127.0.0.1:%d" % port, "-m", "127.0.0.1:%d" % mport,
             "-o", "log=syslog", "-o", "log_facility=local3",
             "-o", "log_level=debug"],
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT, text=True)
        m = log.wait(r"^ready: 2 workers")
        assert m[0] == LOCAL3 and m[1] == INFO, m
        master = m[2]
        assert master == proc.pid, (m, proc.pid)
        log.wait(r"^http listening on 127\.0\.0\.1:%d$" % port)
        # Both workers serving (their handlers set) before a reload.
        deadline = time.monotonic() + 30
        while not re.search(r"^inferd_workers_alive 2$", metrics(mport),
                            re.M):
            assert time.monotonic() < deadline, log.msgs
            time.sleep(0.05)
        # A reload: its workers start, the old ones drain and say so
        # (debug) from their own pids, over their own connections to
        # /dev/log (the inherited one was closed with the other
        # descriptors at fork).
        os.kill(master, signal.SIGHUP)
        log.wait(r"^reload: model breast_cancer")
        w = log.wait(r"^worker \d+: draining")
        assert w[2] != master and w[0] == LOCAL3, w
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=30)
        assert proc.returncode == 0, (proc.returncode, out)
        log.wait(r"^stopped$")
        # Nothing but the one line before the configuration was read
        # went to stderr.
        lines = [line for line in out.splitlines() if line.strip()]
        assert all("configuration" not in line or "no file" in line
                   for line in lines) and len(lines) <= 1, out
        assert not segments_of(master)
    finally:
        if proc is not None and proc.poll() is None:
            proc.kill()
            proc.wait()
        shutil.rmtree(tmp, True)


if __name__ == "__main__":
    run([test_syslog_master_and_workers])
