#!/bin/sh
# Checks of contrib/ that need no Docker engine and no cluster:
# docker-compose accepts the compose file; the compose Prometheus
# configuration passes promtool with the real rules beside it; the
# Kubernetes PrometheusRule is the one generated from etc/prometheus/rules
# and its rules pass promtool; the manifests agree with each other.
# (The wrk scripts are exercised against a live inferd by
# tests/integration/test_grafana.py and tests/test_e2e_alert.py.)

set -eu

srcdir=${INFERD_SRCDIR:-.}
python=${TEST_PYTHON:-/usr/bin/python3}
failed=0
n=0
tmp=$(mktemp -d "${TMPDIR:-/tmp}/inferd-contrib.XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM

# run DESCRIPTION COMMAND...: run one check as a TAP case: "ok N - ..."
# or "not ok N - ..." followed by the command's output as diagnostics.
# The plan (1..N) comes last, so a script that dies half-way has none.
run() {
	desc=$1
	shift
	n=$((n + 1))
	if out=$("$@" 2>&1); then
		echo "ok $n - $desc"
	else
		echo "not ok $n - $desc"
		echo "$out" | sed 's/^/# /'
		failed=1
	fi
}

for tool in docker-compose promtool; do
	if ! command -v "$tool" >/dev/null 2>&1; then
		echo "Bail out! $tool not found (Debian packages docker-compose, prometheus)"
		exit 1
	fi
done

# docker-compose only reads the files: no engine is contacted.
run "docker-compose config contrib/docker/docker-compose.yml" \
    docker-compose -f "$srcdir/contrib/docker/docker-compose.yml" config -q

# Lay the compose mounts out as the Prometheus container sees them.
mkdir -p "$tmp/prometheus"
cp "$srcdir/contrib/docker/prometheus.yml" "$tmp/prometheus/prometheus.yml"
cp -R "$srcdir/etc/prometheus/rules" "$tmp/prometheus/rules"
run "promtool check config contrib/docker/prometheus.yml (with the rules)" \
    promtool check config "$tmp/prometheus/prometheus.yml"

run "contrib/k8s/prometheusrule.yml is generated from etc/prometheus/rules" \
    "$python" "$srcdir/contrib/k8s/gen-prometheusrule.py" --check

run "contrib/k8s manifests agree; PrometheusRule rules extracted" "$python" - \
    "$srcdir" "$tmp/k8s-rules.yml" <<'PY'
import ast, glob, os, sys, yaml
src, out = sys.argv[1], sys.argv[2]
docs = {}
for path in sorted(glob.glob(os.path.join(src, "contrib/k8s/*.yml"))):
    for d in yaml.safe_load_all(open(path)):
        if d:
            docs[d["kind"]] = d
for kind in ("Deployment", "Service", "ServiceMonitor", "PrometheusRule"):
    assert kind in docs, "no %s in contrib/k8s" % kind
dep, svc, sm = docs["Deployment"], docs["Service"], docs["ServiceMonitor"]
pod_labels = dep["spec"]["template"]["metadata"]["labels"]
for k, v in dep["spec"]["selector"]["matchLabels"].items():
    assert pod_labels.get(k) == v, "Deployment selector does not match its pods"
for k, v in svc["spec"]["selector"].items():
    assert pod_labels.get(k) == v, "Service selector does not match the pods"
for k, v in sm["spec"]["selector"]["matchLabels"].items():
    assert svc["metadata"]["labels"].get(k) == v, "ServiceMonitor does not select the Service"
svc_ports = {p["name"] for p in svc["spec"]["ports"]}
for ep in sm["spec"]["endpoints"]:
    assert ep["port"] in svc_ports, "ServiceMonitor port %s not in Service" % ep["port"]
# The operator names the job after the Service; the rules select job="inferd".
assert svc["metadata"]["name"] == "inferd", "Service must be named inferd"
ports = {p["name"] for c in dep["spec"]["template"]["spec"]["containers"]
         for p in c["ports"]}
for p in svc["spec"]["ports"]:
    assert p["targetPort"] in ports, "Service targetPort %s not in the pod" % p["targetPort"]
yaml.safe_dump({"groups": docs["PrometheusRule"]["spec"]["groups"]}, open(out, "w"))
ast.parse(open(os.path.join(src, "contrib/docker/webhook-logger.py")).read())
PY
run "promtool check rules (PrometheusRule spec)" \
    promtool check rules "$tmp/k8s-rules.yml"

run "contrib/docker/Dockerfile: multi-stage bookworm, ./configure && make install" \
    "$python" - "$srcdir/contrib/docker/Dockerfile" <<'PY'
import re, sys
text = open(sys.argv[1]).read()
froms = re.findall(r"^FROM\s+(\S+)", text, re.M)
assert len(froms) >= 2, "not multi-stage: %r" % froms
assert all(f.startswith("debian:bookworm") for f in froms), froms
for step in ("./configure", "make install", "COPY --from="):
    assert step in text, "no %s" % step
PY

run "contrib/docker/Dockerfile installs .ci/packages-build and .ci/packages-runtime" \
    "$python" - "$srcdir" <<'PY'
import re, sys
src = sys.argv[1]
text = open(src + "/contrib/docker/Dockerfile").read()
stages = re.split(r"^FROM\s", text, flags=re.M)[1:]
assert len(stages) == 2, "two stages expected, got %d" % len(stages)
build, runtime = stages
for stage, lst in ((build, "packages-build"), (runtime, "packages-runtime")):
    assert "COPY .ci/%s " % lst in stage, "stage does not copy .ci/%s" % lst
    assert re.search(r"apt-get install[^\n]*\$\(cat /tmp/%s\)" % lst, stage), \
        "stage does not install $(cat /tmp/%s)" % lst
    # Nothing installed besides the list: the list is the whole truth.
    for m in re.finditer(r"apt-get install([^\n]*)", stage):
        extra = [w for w in m.group(1).split() if not w.startswith(("-", "$("))
                 and not w.startswith("/tmp/") and w not in (")", "\\", "&&")]
        extra = [w for w in extra if not w.endswith(")")]
        assert not extra, "packages outside .ci/%s: %r" % (lst, extra)
PY

# Every shared library the dynamic linker finds for inferd must come from a
# package of .ci/packages-runtime (what the image's runtime stage has).
# A sanitizer build (CI's second pass) links libasan and libubsan: it is
# not what the image ships, and says nothing of the runtime list.
if ldd "${INFERD_BIN:-src/inferd}" 2>/dev/null | grep -q 'lib\(a\|ub\)san'; then
	n=$((n + 1))
	echo "ok $n - every library ldd finds for inferd is in" \
	    ".ci/packages-runtime # SKIP sanitizer build"
else
run "every library ldd finds for inferd is in .ci/packages-runtime" \
    "$python" - "$srcdir" "${INFERD_BIN:-src/inferd}" <<'PY'
import os, re, subprocess, sys
src, binary = sys.argv[1], sys.argv[2]
runtime = set(open(src + "/.ci/packages-runtime").read().split())
out = subprocess.run(["ldd", binary], capture_output=True, text=True,
                     check=True).stdout
paths = re.findall(r"(/\S+) \(0x", out)
assert len(paths) >= 5, out
missing = {}
for path in paths:
    pkg = None
    for p in (path, "/usr" + path, os.path.realpath(path)):
        r = subprocess.run(["dpkg", "-S", p], capture_output=True, text=True)
        if r.returncode == 0:
            pkg = r.stdout.split(":")[0]
            break
    assert pkg, "no package owns %s" % path
    if pkg not in runtime:
        missing[path] = pkg
assert not missing, "not in .ci/packages-runtime: %r" % missing
print("# %d libraries, all from .ci/packages-runtime" % len(paths))
PY
fi

# Grafana provisions the alert rules' folder by title (folder: inferd) and
# creates it first, with a random UID; a dashboard provider that names a
# folderUid then makes Grafana 10.4.3 and later try to create a second
# folder of the same title and stop provisioning dashboards. So the
# dashboards go to the folder by title only.
run "grafana: no dashboard folderUid beside an alert rule folder by title" \
    "$python" - "$srcdir" <<'PY'
import glob, sys, yaml
src = sys.argv[1]
folders = set()
for path in glob.glob(src + "/grafana/provisioning/alerting/*.yml"):
    for g in (yaml.safe_load(open(path)) or {}).get("groups", []):
        folders.add(g["folder"])
for path in glob.glob(src + "/grafana/provisioning/dashboards/*.yml"):
    for prov in yaml.safe_load(open(path))["providers"]:
        assert "folderUid" not in prov, \
            "%s: folderUid %r: Grafana >= 10.4.3 cannot honour it" % (
                path, prov["folderUid"])
        assert prov.get("folder") in folders, \
            "%s: folder %r is not the alert rules' %r" % (
                path, prov.get("folder"), folders)
PY

echo "1..$n"
exit $failed
