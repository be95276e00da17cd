"""Nobody else takes inferd's port or its segment, and inferd takes nobody's.

- A second inferd (or anything) on an address an inferd already listens on
  fails at start with a one-line error and exit 1; the first keeps every
  connection.
- Another user cannot join inferd's SO_REUSEPORT group.
- The shared segment has an unpredictable name, mode 0600, and is unlinked
  once mapped: names squatted in /dev/shm do not stop a start, and nothing
  of inferd is in /dev/shm while it runs.
- A /dev/shm too small for the segment is a one-line error and exit 1, not
  SIGBUS.

Prints TAP."""

import os
import pwd
import shutil
import socket
import subprocess

from harness import (BIN, MODEL, Inferd, Skip, mapped_segment, note, run,
                     segments_of)


def start_fails(args, want, prefix=()):
    """Start inferd with args; it must exit 1 within 20 s with one error
    line containing want, and leave no segment."""
    p = subprocess.Popen(list(prefix) + [BIN, "--no-config", "--model",
                                         MODEL, "-m", "127.0.0.1:0"] +
                         list(args), stdin=subprocess.DEVNULL,
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                         text=True)
    try:
        out, _ = p.communicate(timeout=20)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    assert p.returncode == 1, "exit %d:\n%s" % (p.returncode, out)
    errors = [line for line in out.splitlines() if ": error: " in line]
    assert len(errors) == 1, out
    assert want in errors[0], "%r lacks %r" % (errors[0], want)
    assert not segments_of(p.pid), segments_of(p.pid)
    note(errors[0])
    return errors[0]


def test_second_inferd_refused():
    with Inferd(workers=2) as d:
        for host in ("127.0.0.1", "0.0.0.0"):
            start_fails(["-w", "2", "-l", "%s:%d" % (host, d.port)],
                        "error: http: bind %s:%d: Address already in use"
                        % (host, d.port))
        # One worker too: the probe guards every start, not only groups.
        start_fails(["-w", "1", "-l", "127.0.0.1:%d" % d.port],
                    "Address already in use")
        # The first inferd answers every request: none went elsewhere.
        before = d.sample("inferd_http_requests_total", handler="/predict",
                          code="200")
        for _ in range(16):
            st, _, _ = d.request("GET", "/predict")
            assert st == 200
        after = d.sample("inferd_http_requests_total", handler="/predict",
                         code="200")
        assert after - before == 16, (before, after)


def test_second_inferd_on_its_metrics_port_refused():
    with Inferd(workers=1) as d:
        p = subprocess.run([BIN, "--no-config", "--model", MODEL, "-l",
                            "127.0.0.1:0", "-m", "127.0.0.1:%d"
                            % d.metrics_port], capture_output=True,
                           text=True, timeout=20)
        assert p.returncode == 1, p
        assert "error: metrics: bind 127.0.0.1:%d" % d.metrics_port in \
            p.stderr + p.stdout, p


def test_other_user_cannot_join_reuseport():
    if os.getuid() != 0:
        raise Skip("needs root to run a probe as nobody")
    nobody = pwd.getpwnam("nobody")
    probe = ("import socket, sys\n"
             "s = socket.socket()\n"
             "s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)\n"
             "s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)\n"
             "try:\n"
             "    s.bind(('127.0.0.1', int(sys.argv[1])))\n"
             "    s.listen()\n"
             "except OSError as e:\n"
             "    print('refused', e.errno)\n"
             "else:\n"
             "    print('bound')\n")
    with Inferd(workers=2) as d:
        r = subprocess.run(["python3", "-c", probe, str(d.port)],
                           user=nobody.pw_uid, group=nobody.pw_gid,
                           capture_output=True, text=True, timeout=20)
        assert r.stdout.strip() == "refused 98", r
        # The same probe as root (inferd's user) would join the group:
        # that is what the start-up probe is there for.
        r = subprocess.run(["python3", "-c", probe, str(d.port)],
                           capture_output=True, text=True, timeout=20)
        assert r.stdout.strip() == "bound", r


def test_segment_private_and_unlinked():
    with Inferd(workers=2) as d:
        seg = mapped_segment(d.proc.pid)
        assert seg, "no segment mapped"
        path, mapfile = seg
        assert path.endswith(" (deleted)"), path
        name = path[:-len(" (deleted)")]
        assert not os.path.exists(name), name
        assert not segments_of(d.proc.pid), segments_of(d.proc.pid)
        # /inferd.<pid>.<64 random bits>
        suffix = os.path.basename(name).split(".")
        assert len(suffix) == 3 and len(suffix[2]) == 16, name
        st = os.stat(mapfile)
        assert st.st_mode & 0o777 == 0o600, oct(st.st_mode)
        for pid in d.worker_pids():
            w = mapped_segment(pid)
            assert w and w[0] == path, (pid, w)
            assert os.stat(w[1]).st_ino == st.st_ino
        # Two masters, two names.
        with Inferd(workers=1) as e:
            assert mapped_segment(e.proc.pid)[0] != path


def test_squatted_names_do_not_stop_start():
    """Another user pre-creates the names an inferd of the next pids
    would have had under the old scheme (/dev/shm/inferd.<pid>)."""
    nobody = pwd.getpwnam("nobody") if os.getuid() == 0 else None
    probe = subprocess.Popen(["true"])
    probe.wait()
    made = []
    try:
        for pid in range(probe.pid, probe.pid + 400):
            path = "/dev/shm/inferd.%d" % pid
            if os.path.exists(path):
                continue
            with open(path, "wb") as f:
                f.write(b"\0" * 64)
            if nobody:
                os.chown(path, nobody.pw_uid, nobody.pw_gid)
            made.append(path)
        with Inferd(workers=1) as d:
            st, _, _ = d.request("GET", "/predict")
            assert st == 200
            # (Gone before the harness looks for a segment left behind:
            # one of them has d's pid.)
            for path in made:
                try:
                    os.unlink(path)
                except FileNotFoundError:
                    pass    # a dead pid's: removed as stale at start
            made = []
    finally:
        for path in made:
            try:
                os.unlink(path)
            except FileNotFoundError:
                pass


def test_small_dev_shm_fails_cleanly():
    if os.getuid() != 0 or not shutil.which("unshare"):
        raise Skip("needs root and unshare(1) for a private /dev/shm")
    # A tmpfs of 4 KiB over /dev/shm in a private mount namespace:
    # the segment of two workers needs about 24 KiB.
    line = start_fails(
        ["-w", "2", "-l", "127.0.0.1:0"],
        "error: shared memory: cannot reserve",
        prefix=["unshare", "-m", "sh", "-c",
                'mount -t tmpfs -o size=4k tmpfs /dev/shm && '
                'exec "$0" "$@"'])
    assert "No space left on device" in line, line
    assert "/dev/shm" in line, line


if __name__ == "__main__":
    run([test_second_inferd_refused,
         test_second_inferd_on_its_metrics_port_refused,
         test_other_user_cannot_join_reuseport,
         test_segment_private_and_unlinked,
         test_squatted_names_do_not_stop_start,
         test_small_dev_shm_fails_cleanly])
