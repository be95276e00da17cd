"""The layers of src/ do not leak, and nothing in them forms a circle.

Layers, lowest first: core < os < metrics < model < http < infer < worker
< master < src/main.c.  A file belongs to the layer of its folder; a public
header include/inferd/NAME.h to the layer of its src/*/NAME.c; a private
header (beside its code) to its folder.

- every #include "..." of a file of src/ or include/ names a header of its
  own layer or a lower one;
- no private header is included from another folder (tests and fuzz/ may:
  they test the insides);
- judged from the objects of libinferd.a (nm): no object uses a symbol an
  object of a higher layer defines, and no two objects need each other,
  directly or around a longer circle (include lines can hide a circle that
  goes through a function the caller declares itself, or a dispatcher that
  calls back into its parts).

Prints TAP."""

import glob
import os
import re
import subprocess

from harness import run

SRCDIR = os.environ.get("INFERD_SRCDIR", ".")
BUILDDIR = os.environ.get("INFERD_BUILDDIR", ".")
LAYERS = ["core", "os", "metrics", "model", "http", "infer", "worker",
          "master", "main"]
# Public headers with no .c of their own (inline functions only).
HEADER_ONLY = {"clock": "core", "timeline": "http", "http_parse": "http"}
# Headers the build or the system provides.
EXTERNAL = {"autoconf.h"}
_INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)


def rank(layer):
    return LAYERS.index(layer)


def sources():
    """{path relative to SRCDIR: layer} of every .c and .h of src/."""
    out = {}
    for p in glob.glob(os.path.join(SRCDIR, "src", "**", "*.[ch]"),
                       recursive=True):
        rel = os.path.relpath(p, SRCDIR)
        parts = rel.split(os.sep)
        out[rel] = "main" if len(parts) == 2 else parts[1]
    assert len(out) > 40, out
    return out


def c_layer():
    """{module name: layer} from the .c files of src/."""
    out = {}
    for rel, layer in sources().items():
        if rel.endswith(".c"):
            name = os.path.basename(rel)[:-2]
            assert name not in out, "two files named %s.c" % name
            out[name] = layer
    return out


def header_layer(inc, mods):
    """The layer of an included name, or None for a header outside src/."""
    if inc in EXTERNAL:
        return None
    m = re.match(r"inferd/(\w+)\.h$", inc)
    if m:
        name = m.group(1)
        assert name in mods or name in HEADER_ONLY, \
            "include/%s has no src/*/%s.c and no entry in HEADER_ONLY" \
            % (inc, name)
        return mods.get(name) or HEADER_ONLY[name]
    m = re.match(r"(\w+)/[\w.-]+\.h$", inc)
    assert m and m.group(1) in LAYERS, "include of %r: not a layer" % inc
    assert os.path.exists(os.path.join(SRCDIR, "src", inc)) or \
        inc.endswith(".pb-c.h"), "no src/%s" % inc
    return m.group(1)


def includes(path):
    with open(os.path.join(SRCDIR, path)) as f:
        return _INCLUDE.findall(f.read())


def test_includes_go_down():
    mods = c_layer()
    files = dict(sources())
    for p in glob.glob(os.path.join(SRCDIR, "include", "inferd", "*.h")):
        name = os.path.basename(p)[:-2]
        files[os.path.relpath(p, SRCDIR)] = mods.get(name) or \
            HEADER_ONLY[name]
    bad = []
    for path, layer in sorted(files.items()):
        for inc in includes(path):
            hl = header_layer(inc, mods)
            if hl is not None and rank(hl) > rank(layer):
                bad.append("%s (%s) includes %s (%s)" % (path, layer, inc, hl))
    assert not bad, "includes of a higher layer:\n" + "\n".join(bad)


def test_private_headers_stay_home():
    bad = []
    for path, layer in sorted(sources().items()):
        for inc in includes(path):
            if inc.startswith("inferd/") or inc in EXTERNAL:
                continue
            folder = inc.split("/")[0]
            if folder != layer:
                bad.append("%s includes %s, private to src/%s/"
                           % (path, inc, folder))
    assert not bad, "\n".join(bad)


def test_checker_sees_a_leak():
    """The include rule itself bites: a made-up file of the core layer
    that includes a worker header is reported."""
    mods = c_layer()
    assert rank(header_layer("inferd/routes.h", mods)) > rank("core")
    assert header_layer("model/model_impl.h", mods) == "model"
    assert header_layer("inferd/clock.h", mods) == "core"


def objects():
    """{object: (layer, defined symbols, used symbols)} from libinferd.a."""
    lib = os.path.join(BUILDDIR, "libinferd.a")
    out = subprocess.run(["nm", "-A", lib], check=True, capture_output=True,
                         text=True).stdout
    mods = c_layer()
    objs = {}
    for line in out.splitlines():
        m = re.match(r"[^:]+:([^:]+)\.o:\s*(?:[0-9a-f]+)?\s+(\w)\s+(\S+)$",
                     line)
        if not m:
            continue
        name, kind, sym = m.groups()
        if name not in objs:
            layer = "metrics" if name.endswith(".pb-c") else mods[name]
            objs[name] = (layer, set(), set())
        if kind == "U":
            objs[name][2].add(sym)
        elif kind in "TDRBVWGS":
            objs[name][1].add(sym)
    assert len(objs) > 30, objs.keys()
    return objs


def edges(objs):
    """{object: {objects whose symbols it uses}} and the symbols behind
    each edge."""
    owner = {}
    for name, (_, defs, _) in objs.items():
        for s in defs:
            owner[s] = name
    graph, why = {}, {}
    for name, (_, _, uses) in objs.items():
        graph[name] = set()
        for s in uses:
            o = owner.get(s)
            if o and o != name:
                graph[name].add(o)
                why.setdefault((name, o), []).append(s)
    return graph, why


def circles(graph):
    """The strongly connected components of more than one node (Tarjan)."""
    index, low, stack, on, out = {}, {}, [], set(), []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def test_symbols_go_down():
    objs = objects()
    graph, why = edges(objs)
    bad = []
    for a, bs in sorted(graph.items()):
        for b in sorted(bs):
            if rank(objs[b][0]) > rank(objs[a][0]):
                bad.append("%s.o (%s) uses %s of %s.o (%s)"
                           % (a, objs[a][0], ", ".join(sorted(why[a, b])),
                              b, objs[b][0]))
    assert not bad, "calls up the layers:\n" + "\n".join(bad)


def test_no_circles():
    objs = objects()
    graph, why = edges(objs)
    found = circles(graph)
    lines = []
    for comp in found:
        lines.append("circle: " + " ".join(comp))
        for a in comp:
            for b in sorted(graph[a] & set(comp)):
                lines.append("  %s.o -> %s.o: %s"
                             % (a, b, ", ".join(sorted(why[a, b])[:4])))
    assert not found, "\n".join(lines)


def test_circle_finder_bites():
    g = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert circles(g) == [["a", "b", "c"]]
    assert circles({"a": {"b"}, "b": set()}) == []


if __name__ == "__main__":
    run([test_includes_go_down, test_private_headers_stay_home,
         test_checker_sees_a_leak, test_symbols_go_down, test_no_circles,
         test_circle_finder_bites])
