"""Run a command under the [Service] settings of a systemd unit that need
no systemd as PID 1:

    python3 tests/lib/unitexec.py UNIT -- COMMAND [ARG...]

systemd applies a unit's sandbox in its own executor, forked from PID 1;
`systemd-run` and `systemd-nspawn` need a running systemd.  Where there is
none (containers, CI), this applies, in the order systemd does:

  LimitNOFILE=, UMask=
  DynamicUser= / User= / Group=     (as root only: a free uid from the
                                     DynamicUser range 61184-65519, or the
                                     named user; supplementary groups cleared)
  CapabilityBoundingSet=, AmbientCapabilities=  (bounding set dropped)
  NoNewPrivileges=
  SystemCallFilter=, SystemCallErrorNumber=, SystemCallArchitectures=native
  RestrictAddressFamilies=, MemoryDenyWriteExecute=, RestrictNamespaces=,
  LockPersonality=, RestrictRealtime=, RestrictSUIDSGID=
                                    (the seccomp filters systemd builds)

and then executes COMMAND.  The syscall groups (@system-service, ...) are
expanded from `systemd-analyze syscall-filter`, systemd's own table.

Not applied: what needs namespaces and mounts set up by systemd's executor
(ProtectSystem=, ProtectHome=, PrivateTmp=, PrivateDevices=, DevicePolicy=,
ProtectKernel*=, ProtectControlGroups=, ProtectProc=, ProcSubset=,
PrivateUsers=, ProtectHostname='s UTS namespace, ProtectClock='s device
policy, RemoveIPC=, KeyringMode=).  Printed on stderr as "not applied: ...".
"""

import ctypes
import errno
import os
import pwd
import resource
import socket
import subprocess
import sys

import seccomp   # Debian: python3-seccomp

PR_CAPBSET_DROP = 24
PR_SET_NO_NEW_PRIVS = 38
DYNAMIC_UIDS = range(61184, 65520)

APPLIED = {
    "LimitNOFILE", "UMask", "DynamicUser", "User", "Group",
    "CapabilityBoundingSet", "AmbientCapabilities", "NoNewPrivileges",
    "SystemCallFilter", "SystemCallErrorNumber", "SystemCallArchitectures",
    "RestrictAddressFamilies", "MemoryDenyWriteExecute", "RestrictNamespaces",
    "LockPersonality", "RestrictRealtime", "RestrictSUIDSGID",
}
# Not sandboxing: what the service is and how it is run.
IGNORED = {
    "Type", "NotifyAccess", "ExecStartPre", "ExecStart", "ExecReload",
    "KillMode", "KillSignal", "TimeoutStopSec", "Restart", "RestartSec",
    "WatchdogSec",
}


def parse_service(path):
    """[(key, value)] of the unit's [Service] section, in order."""
    out, section = [], None
    with open(path) as f:
        for line in f:
            line = line.strip()
            if not line or line[0] in "#;":
                continue
            if line.startswith("["):
                section = line.strip("[]")
            elif section == "Service":
                key, _, value = line.partition("=")
                out.append((key.strip(), value.strip()))
    return out


def syscall_groups():
    """{"@group": [member, ...]} from systemd's own table."""
    text = subprocess.run(["systemd-analyze", "syscall-filter"], check=True,
                          capture_output=True, text=True).stdout
    groups, cur = {}, None
    for line in text.splitlines():
        if line.startswith("@"):
            cur = groups.setdefault(line.strip(), [])
        elif cur is not None and line.strip() and \
                not line.strip().startswith("#"):
            cur.append(line.strip())
    return groups


def expand(names, groups):
    """The set of syscalls named by names (groups expanded)."""
    out = set()
    for n in names:
        if n.startswith("@"):
            out |= expand(groups[n], groups)
        else:
            out.add(n)
    return out


def syscall_filter(settings, groups):
    """The allow list of SystemCallFilter= lines, applied in order."""
    allow = None
    for value in settings:
        deny = value.startswith("~")
        names = expand(value.lstrip("~").split(), groups)
        if allow is None:
            # A first allow list starts from @default, as systemd does.
            allow = set() if deny else expand(["@default"], groups)
            if deny:
                raise SystemExit("unitexec: only allow lists are supported")
        allow = allow - names if deny else allow | names
    return allow


def add(f, action, name, *args):
    """Add a rule; a syscall this architecture lacks is skipped."""
    try:
        f.add_rule(action, name, *args)
    except (RuntimeError, ValueError, OSError):
        pass


def load_filters(kv, groups):
    """Build and load the seccomp filters systemd would, one per setting."""
    err = errno.EPERM
    if kv.get("SystemCallErrorNumber"):
        err = getattr(errno, kv["SystemCallErrorNumber"][-1])
    deny = seccomp.ERRNO(err)
    if kv.get("SystemCallArchitectures", [""])[-1] not in ("", "native"):
        raise SystemExit("unitexec: SystemCallArchitectures=native only")
    filters = []
    if kv.get("RestrictAddressFamilies"):
        fams = sorted(getattr(socket, a) for a in
                      kv["RestrictAddressFamilies"][-1].split())
        f = seccomp.SyscallFilter(seccomp.ALLOW)
        no = seccomp.ERRNO(errno.EAFNOSUPPORT)
        for af in range(0, fams[-1]):
            if af not in fams:
                add(f, no, "socket", seccomp.Arg(0, seccomp.EQ, af))
        add(f, no, "socket", seccomp.Arg(0, seccomp.GT, fams[-1]))
        filters.append(f)
    if _yes(kv, "MemoryDenyWriteExecute"):
        f = seccomp.SyscallFilter(seccomp.ALLOW)
        wx = 0x2 | 0x4          # PROT_WRITE | PROT_EXEC
        add(f, deny, "mmap", seccomp.Arg(2, seccomp.MASKED_EQ, wx, wx))
        add(f, deny, "mprotect", seccomp.Arg(2, seccomp.MASKED_EQ, 4, 4))
        add(f, deny, "pkey_mprotect", seccomp.Arg(2, seccomp.MASKED_EQ, 4, 4))
        add(f, deny, "shmat", seccomp.Arg(2, seccomp.MASKED_EQ,
                                          0o100000, 0o100000))  # SHM_EXEC
        filters.append(f)
    if _yes(kv, "RestrictNamespaces"):
        f = seccomp.SyscallFilter(seccomp.ALLOW)
        add(f, deny, "unshare")
        add(f, deny, "setns")
        for flag in (0x00020000, 0x02000000, 0x04000000, 0x08000000,
                     0x10000000, 0x20000000, 0x40000000, 0x00000080):
            add(f, deny, "clone", seccomp.Arg(0, seccomp.MASKED_EQ,
                                              flag, flag))
        filters.append(f)
    if _yes(kv, "RestrictSUIDSGID"):
        f = seccomp.SyscallFilter(seccomp.ALLOW)
        for bit in (0o4000, 0o2000):    # S_ISUID, S_ISGID
            for name, arg in (("chmod", 1), ("fchmod", 1), ("fchmodat", 2),
                              ("open", 2), ("openat", 3), ("creat", 1)):
                add(f, deny, name, seccomp.Arg(arg, seccomp.MASKED_EQ,
                                               bit, bit))
        filters.append(f)
    if _yes(kv, "LockPersonality"):
        f = seccomp.SyscallFilter(seccomp.ALLOW)
        add(f, deny, "personality", seccomp.Arg(0, seccomp.NE, 0))
        filters.append(f)
    if _yes(kv, "RestrictRealtime"):
        f = seccomp.SyscallFilter(seccomp.ALLOW)
        for policy in (1, 2, 6):      # SCHED_FIFO, SCHED_RR, SCHED_DEADLINE
            add(f, deny, "sched_setscheduler",
                seccomp.Arg(1, seccomp.MASKED_EQ, 0xff, policy))
        filters.append(f)
    if kv.get("SystemCallFilter"):
        # Without SystemCallErrorNumber= systemd kills the process.  Last:
        # the allow list forbids seccomp(2) itself.
        f = seccomp.SyscallFilter(deny if kv.get("SystemCallErrorNumber")
                                  else seccomp.KILL_PROCESS)
        for name in sorted(syscall_filter(kv["SystemCallFilter"], groups)):
            add(f, seccomp.ALLOW, name)
        filters.append(f)
    for f in filters:
        f.load()


def _yes(kv, key):
    return kv.get(key, ["no"])[-1] in ("yes", "true", "1", "on")


def drop_user(kv):
    """As root: become the unit's user with no capabilities."""
    libc = ctypes.CDLL(None, use_errno=True)
    if _yes(kv, "DynamicUser") and not kv.get("User"):
        used = {p.pw_uid for p in pwd.getpwall()}
        uid = next(u for u in DYNAMIC_UIDS[os.getpid() % 1000:]
                   if u not in used)
        gid = uid
    elif kv.get("User"):
        pw = pwd.getpwnam(kv["User"][-1])
        uid, gid = pw.pw_uid, pw.pw_gid
    else:
        return
    os.setgroups([])
    os.setresgid(gid, gid, gid)
    if kv.get("CapabilityBoundingSet", ["x"])[-1] == "":
        with open("/proc/sys/kernel/cap_last_cap") as f:
            last = int(f.read())
        for cap in range(last + 1):
            if libc.prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) == -1:
                raise OSError(ctypes.get_errno(), "PR_CAPBSET_DROP")
    elif kv.get("CapabilityBoundingSet"):
        raise SystemExit("unitexec: only an empty CapabilityBoundingSet=")
    if kv.get("AmbientCapabilities", [""])[-1] != "":
        raise SystemExit("unitexec: AmbientCapabilities= not supported")
    # Leaving uid 0 clears the permitted, effective and ambient sets.
    os.setresuid(uid, uid, uid)


def main(argv):
    if len(argv) < 4 or argv[2] != "--":
        raise SystemExit("usage: unitexec.py UNIT -- COMMAND [ARG...]")
    settings = parse_service(argv[1])
    kv = {}
    for k, v in settings:
        kv.setdefault(k, []).append(v)
    skipped = sorted(set(kv) - APPLIED - IGNORED)
    if skipped:
        print("unitexec: not applied: %s" % " ".join(skipped),
              file=sys.stderr)
    groups = syscall_groups()
    if kv.get("LimitNOFILE"):
        # Raising the hard limit needs CAP_SYS_RESOURCE: stay under it.
        n = int(kv["LimitNOFILE"][-1])
        hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
        if hard != resource.RLIM_INFINITY and hard < n:
            print("unitexec: LimitNOFILE=%d lowered to the hard limit %d"
                  % (n, hard), file=sys.stderr)
            n = hard
        resource.setrlimit(resource.RLIMIT_NOFILE, (n, n))
    if kv.get("UMask"):
        os.umask(int(kv["UMask"][-1], 8))
    if os.getuid() == 0:
        drop_user(kv)
    if _yes(kv, "NoNewPrivileges"):
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == -1:
            raise OSError(ctypes.get_errno(), "PR_SET_NO_NEW_PRIVS")
    load_filters(kv, groups)
    os.execv(argv[3], argv[3:])


if __name__ == "__main__":
    main(sys.argv)
