"""The man pages cannot drift from the program: every option and every
configuration key `inferd --help` prints is documented (with its default),
every documented one exists, every metric family the source writes is in
inferd(8), the documented exit status of a bad option is the real one, and
mandoc finds nothing to warn about; and README's source layout names
every file of src/.  Prints TAP."""

import os
import re
import subprocess

from harness import run

BIN = os.environ.get("INFERD_BIN", "src/inferd")
SRCDIR = os.environ.get("INFERD_SRCDIR", ".")
BUILDDIR = os.environ.get("INFERD_BUILDDIR", ".")
PAGES = {"inferd.8": os.path.join(BUILDDIR, "doc", "inferd.8"),
         "inferd.conf.5": os.path.join(BUILDDIR, "doc", "inferd.conf.5")}


def render(page):
    """The page as a reader sees it: plain text, no overstrike."""
    out = subprocess.run(["mandoc", "-T", "ascii", PAGES[page]], check=True,
                         capture_output=True, text=True).stdout
    return re.sub(r".\x08", "", out)


def section(text, name):
    """The text of one section of a rendered page."""
    m = re.search(r"^%s\n(.*?)(?=^[A-Z][A-Z ]+\n|\Z)" % re.escape(name),
                  text, re.M | re.S)
    assert m, "no section %s" % name
    return m.group(1)


def help_text():
    return subprocess.run([BIN, "--help"], check=True, capture_output=True,
                          text=True).stdout


def help_options():
    """[(short or None, long)] of --help."""
    opts = []
    for line in help_text().split("\n\n")[1].splitlines():
        m = re.match(r"\s+(?:(-\w), )?(--[\w-]+)", line)
        if m:
            opts.append((m.group(1), m.group(2)))
    assert len(opts) >= 5, help_text()
    return opts


def help_keys():
    """{key: default} of --help."""
    text = help_text().split("Keys and defaults:\n", 1)[1]
    keys = dict(re.findall(r"^  (\w+)\s.*\(default (.*)\)$", text, re.M))
    assert len(keys) >= 10, text
    return keys


def test_options_documented():
    body = section(render("inferd.8"), "DESCRIPTION")
    for short, long in help_options():
        for flag in filter(None, (short, long)):
            assert re.search(r"(^|[\s\[,])%s\b" % re.escape(flag), body), \
                "inferd(8) does not document %s" % flag
    synopsis = section(render("inferd.8"), "SYNOPSIS")
    for short, long in help_options():
        flag = short or long
        letter = flag[1:] if short else flag
        assert letter in synopsis.replace("[-hVt]", "-h -V -t"), \
            "%s not in inferd(8)'s SYNOPSIS" % flag


def test_documented_options_exist():
    src = open(os.path.join(SRCDIR, "doc", "inferd.8.in")).read()
    documented = set(re.findall(r"^\.It Fl (\\?-?[\w-]+)", src, re.M))
    known = {f for pair in help_options() for f in pair if f}
    for flag in documented:
        flag = "-" + flag.replace("\\-", "-")
        assert flag in known, "inferd(8) documents %s, --help does not" % flag


def test_keys_documented():
    text = section(render("inferd.conf.5"), "KEYS")
    for key, default in help_keys().items():
        m = re.search(r"^ {5}%s = .*?(?=^ {5}\w+ = |\Z)" % key, text,
                      re.M | re.S)
        assert m, "inferd.conf(5) does not document the key %s" % key
        entry = " ".join(m.group(0).split())
        assert "The default is %s" % default in entry, \
            "inferd.conf(5): %s: default %r not stated in: %s" % (
                key, default, entry)


def test_documented_keys_exist():
    src = open(os.path.join(SRCDIR, "doc", "inferd.conf.5.in")).read()
    keys = help_keys()
    for key in re.findall(r"^\.It Ic (\w+)", src, re.M):
        assert key in keys, "inferd.conf(5) documents %s, --help does not" \
            % key


def test_metrics_documented():
    text = section(render("inferd.8"), "METRICS")
    # Every family is declared once, in expo.h's EXPO_FAMILIES table.
    with open(os.path.join(SRCDIR, "include", "inferd", "expo.h")) as f:
        names = set(re.findall(r'^\tX\(\w+, "([a-z_:]+)"', f.read(), re.M))
    assert "prediction_latency_seconds" in names and len(names) >= 8, names
    for name in names:
        assert re.search(r"^ {5}%s\b" % name, text, re.M), \
            "inferd(8) METRICS does not list %s" % name


def test_signals_and_exit_status():
    text = render("inferd.8")
    signals = section(text, "SIGNALS")
    for sig in ("SIGTERM", "SIGINT", "SIGHUP", "SIGCHLD"):
        assert sig in signals, "inferd(8) SIGNALS lacks %s" % sig
    status = section(text, "EXIT STATUS")
    rc = subprocess.run([BIN, "--no-such-option"], capture_output=True).returncode
    m = re.search(r"^ {5}%d\s+(.*?)(?=^ {5}\d+\s|\Z)" % rc, status,
                  re.M | re.S)
    assert m and "option" in m.group(1), \
        "inferd --no-such-option exits %d; inferd(8) EXIT STATUS says:\n%s" \
        % (rc, status)


def test_mandoc_lint():
    for page, path in sorted(PAGES.items()):
        r = subprocess.run(["mandoc", "-T", "lint", "-W", "warning", path],
                           capture_output=True, text=True)
        assert r.returncode == 0 and not r.stdout + r.stderr, \
            r.stdout + r.stderr


def test_source_layout():
    """README's source layout names every file of src/, and no other."""
    text = open(os.path.join(SRCDIR, "README.md")).read()
    layout = text[text.index("### Source layout"):]
    layout = layout[:layout.index("| `tests/`")]      # the rows of src/
    named = set(re.findall(r"`(src/[a-z_/]+\.c)`", layout))
    top = os.path.join(SRCDIR, "src")
    real = {os.path.relpath(os.path.join(d, f), SRCDIR)
            for d, _, files in os.walk(top) for f in files
            if f.endswith(".c") and not f.endswith(".pb-c.c")}
    assert named == real, ("missing from README", sorted(real - named),
                           "not in src/", sorted(named - real))


if __name__ == "__main__":
    run([test_options_documented, test_documented_options_exist,
          test_keys_documented, test_documented_keys_exist,
          test_metrics_documented, test_signals_and_exit_status,
          test_mandoc_lint, test_source_layout])
