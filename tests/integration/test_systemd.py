"""The systemd side: the unit file verifies and is sandboxed, inferd
serves under the unit's sandbox, and the notify protocol."""

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

from harness import BIN, MODEL, SRCDIR, Inferd, mapped_segment, run

BUILDDIR = os.environ.get("INFERD_BUILDDIR", ".")

UNITEXEC = os.path.join(SRCDIR, "tests", "lib", "unitexec.py")
MAX_EXPOSURE = 2.0


def render_unit(tmp, bindir):
    """The unit as make install writes it, with bindir; its path."""
    with open(os.path.join(SRCDIR, "contrib", "systemd",
                           "inferd.service.in")) as f:
        unit = f.read()
    unit = unit.replace("@bindir@", bindir).replace("@sysconfdir@", "/etc")
    path = os.path.join(tmp, "inferd.service")
    with open(path, "w") as f:
        f.write(unit)
    return path


def test_unit_verifies():
    """systemd-analyze verify is silent, man pages included (it runs
    man(1) for every Documentation=man: entry)."""
    tmp = tempfile.mkdtemp()
    try:
        path = render_unit(tmp, os.path.dirname(os.path.abspath(BIN)))
        for page, sect in (("inferd.8", "8"), ("inferd.conf.5", "5")):
            os.makedirs(os.path.join(tmp, "man", "man" + sect), exist_ok=True)
            shutil.copy(os.path.join(BUILDDIR, "doc", page),
                        os.path.join(tmp, "man", "man" + sect, page))
        r = subprocess.run(["systemd-analyze", "verify", path],
                           capture_output=True, text=True,
                           env=dict(os.environ,
                                    MANPATH=os.path.join(tmp, "man")))
        assert r.returncode == 0 and r.stdout + r.stderr == "", \
            r.stdout + r.stderr
        unit = open(path).read()
        for setting in ("Type=notify", "ExecReload=/bin/kill -HUP $MAINPID",
                        "Restart=on-failure", "WatchdogSec=", "DynamicUser=yes",
                        "Documentation=man:inferd(8) man:inferd.conf(5)"):
            assert setting in unit, setting
    finally:
        shutil.rmtree(tmp)


def test_unit_security():
    """systemd-analyze security rates the unit 2.0 or lower."""
    tmp = tempfile.mkdtemp()
    try:
        path = render_unit(tmp, "/usr/local/bin")
        r = subprocess.run(["systemd-analyze", "security", "--offline=true",
                            "--no-pager", path],
                           capture_output=True, text=True)
        out = r.stdout + r.stderr
        m = re.search(r"Overall exposure level for inferd\.service: "
                      r"(\d+\.\d+)", out)
        assert m, out
        print("  exposure %s (at most %.1f)" % (m.group(1), MAX_EXPOSURE))
        assert float(m.group(1)) <= MAX_EXPOSURE, out
    finally:
        shutil.rmtree(tmp)


def _status(pid):
    """{field: value} of /proc/PID/status."""
    with open("/proc/%d/status" % pid) as f:
        return dict(line.rstrip("\n").split(":\t", 1) for line in f
                    if ":\t" in line)


def test_serves_under_unit_sandbox():
    """The real binary under the unit's user, capability bounding set,
    no_new_privs, umask and seccomp filters (tests/lib/unitexec.py: what can
    be applied without systemd as PID 1, where systemd-run cannot work)
    serves /predict and /metrics, and the sandbox is really there."""
    tmp = tempfile.mkdtemp()
    try:
        # An installed layout any user can read, as $(bindir) and
        # $(pkgdatadir) are: the build tree may be private.
        os.chmod(tmp, 0o755)
        os.mkdir(os.path.join(tmp, "bin"))
        os.mkdir(os.path.join(tmp, "share"))
        binary = os.path.join(tmp, "bin", "inferd")
        model = os.path.join(tmp, "share", os.path.basename(MODEL))
        shutil.copy(BIN, binary)
        shutil.copy(MODEL, model)
        os.chmod(model, 0o644)
        unit = render_unit(tmp, os.path.join(tmp, "bin"))
        prefix = [sys.executable, UNITEXEC, unit, "--"]

        # The sandbox refuses what the unit forbids.
        probe = subprocess.run(prefix + [sys.executable, "-c", PROBE],
                               capture_output=True, text=True)
        assert probe.returncode == 0, probe.stdout + probe.stderr
        print("  " + probe.stdout.strip().replace("\n", "\n  "))

        # LeakSanitizer stops the world with ptrace(2), which the filter
        # forbids; the other tests look for leaks.
        env = {"ASAN_OPTIONS": os.environ.get("ASAN_OPTIONS", "") +
               ":detect_leaks=0"}
        d = Inferd(workers=2, model=model, prefix=prefix, env=env)
        d.cmd[len(prefix)] = binary
        with d:
            st, _, body = d.request("GET", "/predict")
            assert st == 200 and b"predictions" in body, (st, body)
            st, _, body = d.request("POST", "/predict",
                                    body={"features": [None] * 30})
            assert st == 200, (st, body)
            text = d.metrics()
            assert re.search(r'^prediction_latency_seconds_count \d',
                             text, re.M), text
            assert d.samples(text)[("prediction_latency_seconds_count",
                                    frozenset())] >= 2
            for pid in [d.proc.pid] + d.worker_pids():
                st = _status(pid)
                assert st["Seccomp"] == "2", st
                assert st["NoNewPrivs"] == "1", st
                if os.getuid() == 0:
                    uid = int(st["Uid"].split()[0])
                    assert 61184 <= uid <= 65519, st["Uid"]
                    assert int(st["CapBnd"], 16) == 0, st["CapBnd"]
                    assert int(st["CapEff"], 16) == 0, st["CapEff"]
            # The segment: mapped, unlinked, mode 0600.
            seg = mapped_segment(d.proc.pid)
            assert seg and seg[0].endswith(" (deleted)"), seg
            assert os.stat(seg[1]).st_mode & 0o777 == 0o600, \
                oct(os.stat(seg[1]).st_mode)
            # The filter lets the workers lower their priority
            # (worker_nice, default 5): setpriority(2) is allowed back.
            deadline = time.monotonic() + 10
            while d.sample("inferd_workers_alive") != 2:
                assert time.monotonic() < deadline, d.log
                time.sleep(0.05)
            for pid in d.worker_pids():
                assert _nice(pid) == min(_nice(d.proc.pid) + 5, 19), pid
            assert "nice(" not in d.log, d.log
    finally:
        shutil.rmtree(tmp)


def _nice(pid):
    with open("/proc/%d/stat" % pid) as f:
        return int(f.read().rsplit(")", 1)[1].split()[16])


# Run under the sandbox: each forbidden thing must fail.
PROBE = r"""
import ctypes, errno, mmap, os, socket
libc = ctypes.CDLL(None, use_errno=True)
def unshare(flags):
    if libc.unshare(flags) == -1:
        raise OSError(ctypes.get_errno(), "unshare")
def refused(what, fn, *args):
    try:
        fn(*args)
    except OSError as e:
        print("refused: %s (%s)" % (what, errno.errorcode[e.errno]))
        return
    raise SystemExit("allowed: " + what)
refused("socket(AF_PACKET)", socket.socket, socket.AF_PACKET, socket.SOCK_RAW)
refused("socket(AF_NETLINK)", socket.socket, socket.AF_NETLINK,
        socket.SOCK_RAW)
refused("setuid(0)", os.setuid, 0)
refused("sched_setaffinity (@resources)", os.sched_setaffinity, 0, {0})
refused("unshare(CLONE_NEWUSER) (RestrictNamespaces)", unshare, 0x10000000)
refused("mmap(PROT_WRITE|PROT_EXEC)", lambda: mmap.mmap(
        -1, 4096, prot=mmap.PROT_WRITE | mmap.PROT_EXEC))
refused("chmod(S_ISUID)", os.chmod, "/dev/null", 0o4666)
socket.socket(socket.AF_INET6, socket.SOCK_STREAM).close()
socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM).close()
print("uid %d, umask %03o" % (os.getuid(), os.umask(0)))
"""


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
    run([test_unit_verifies, test_unit_security,
         test_serves_under_unit_sandbox, test_notify_protocol,
         test_notify_never_blocks])
