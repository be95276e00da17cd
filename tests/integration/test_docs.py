"""The man pages cannot drift from the program: every option and every
configuration key `inferd --help` prints is documented (with its default),
every documented one exists, every metric family the source writes is in
inferd(8), the documented exit status of a bad option is the real one, and
mandoc finds nothing to warn about; README's source layout names every
file of src/; the configuration keys are described in inferd.conf(5)
only; every relative link of README.md and doc/*.md resolves to a file
and a heading; every alert's runbook_url points to a runbook of
doc/runbooks.md.  Prints TAP."""

import glob
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


def guides():
    """README.md and doc/*.md, paths relative to the source tree."""
    return ["README.md"] + sorted(
        os.path.relpath(p, SRCDIR)
        for p in glob.glob(os.path.join(SRCDIR, "doc", "*.md")))


def slug(heading):
    """The anchor GitHub gives a Markdown heading."""
    h = re.sub(r"[`*_]", "", heading.strip().lower())
    h = re.sub(r"[^\w\- ]", "", h)
    return h.replace(" ", "-")


def anchors(path):
    """The anchors of the headings of a Markdown file (outside code)."""
    out, fence = set(), False
    with open(os.path.join(SRCDIR, path)) as f:
        for line in f:
            if line.startswith("```"):
                fence = not fence
            elif not fence and line.startswith("#"):
                out.add(slug(line.lstrip("#")))
    return out


def test_relative_links():
    """Every relative link of README.md and doc/*.md names a file of the
    tree, and its #anchor a heading of that file."""
    checked = 0
    for doc in guides():
        text = open(os.path.join(SRCDIR, doc)).read()
        text = re.sub(r"^```.*?^```", "", text, flags=re.M | re.S)
        for target in re.findall(r"\]\(([^)\s]+)\)", text):
            if re.match(r"[a-z]+:", target):
                continue                    # http:, https:, mailto:
            path, _, anchor = target.partition("#")
            dest = os.path.normpath(os.path.join(os.path.dirname(doc),
                                                 path)) if path else doc
            assert os.path.exists(os.path.join(SRCDIR, dest)), \
                "%s: link %s: no file %s" % (doc, target, dest)
            if anchor:
                assert dest.endswith(".md"), (doc, target)
                assert anchor in anchors(dest), \
                    "%s: link %s: no heading #%s in %s (%s)" % (
                        doc, target, anchor, dest, sorted(anchors(dest)))
            checked += 1
    assert checked >= 20, checked


def test_keys_described_once():
    """The keys are described in inferd.conf(5) (and --help): no guide
    holds a table of them."""
    keys = help_keys()
    for doc in guides():
        with open(os.path.join(SRCDIR, doc)) as f:
            for n, line in enumerate(f, 1):
                m = re.match(r"\|\s*`(\w+)`\s*\|", line)
                assert not (m and m.group(1) in keys), \
                    "%s:%d: describes the key %s; inferd.conf(5) does" % (
                        doc, n, m.group(1))


RUNBOOK_DEFAULT = "file:///usr/local/share/doc/inferd"


def test_runbook_urls():
    """Every alert's runbook_url is BASE/runbooks.md#ANCHOR with a heading
    #ANCHOR in doc/runbooks.md; BASE is Prometheus' external label
    runbook_base, else the installed documentation (the default make
    install rewrites, Makefile.am's RUNBOOK_DEFAULT); Grafana's copy has
    the default itself; promtool's expectations follow."""
    runbooks = anchors(os.path.join("doc", "runbooks.md")) - {"runbooks"}
    assert "inferddown" in runbooks, runbooks
    template = re.escape("{{ or $externalLabels.runbook_base \"%s\" }}"
                         % RUNBOOK_DEFAULT)
    forms = {
        "etc/prometheus/rules/*.yml": "'%s/runbooks\\.md#([\\w-]+)'" % template,
        "contrib/k8s/prometheusrule.yml":
            "'%s/runbooks\\.md#([\\w-]+)'" % template,
        "grafana/provisioning/alerting/*.yml":
            re.escape(RUNBOOK_DEFAULT) + r"/runbooks\.md#([\w-]+)",
        "tests/rules/*_test.yml":
            "(?:%s|https://runbooks\\.example\\.org/inferd)"
            r"/runbooks\.md#([\w-]+)" % re.escape(RUNBOOK_DEFAULT),
    }
    seen = set()
    for pattern, form in forms.items():
        files = glob.glob(os.path.join(SRCDIR, pattern))
        assert files, pattern
        for path in files:
            for n, line in enumerate(open(path), 1):
                m = re.search(r"runbook_url:\s*(.*?)\s*$", line)
                if not m:
                    continue
                u = re.fullmatch(form, m.group(1))
                assert u, "%s:%d: runbook_url %s is not %s" % (
                    path, n, m.group(1), form)
                assert u.group(1) in runbooks, \
                    "%s:%d: no runbook #%s in doc/runbooks.md" % (
                        path, n, u.group(1))
                seen.add(u.group(1))
    assert seen == runbooks, ("runbooks no alert links",
                              sorted(runbooks - seen))
    with open(os.path.join(SRCDIR, "Makefile.am")) as f:
        assert "RUNBOOK_DEFAULT = %s\n" % RUNBOOK_DEFAULT in f.read()


def test_readme_short():
    """README.md is read to the end: about 300 lines, the rest in doc/."""
    with open(os.path.join(SRCDIR, "README.md")) as f:
        n = len(f.readlines())
    assert n <= 330, "README.md has %d lines; move detail to doc/" % n


if __name__ == "__main__":
    run([test_options_documented, test_documented_options_exist,
          test_keys_documented, test_documented_keys_exist,
          test_metrics_documented, test_signals_and_exit_status,
          test_mandoc_lint, test_source_layout, test_relative_links,
          test_keys_described_once, test_runbook_urls, test_readme_short])
