#!/bin/sh
# Checks of contrib/ that need no Docker engine and no cluster:
# docker-compose accepts the compose file; the compose Prometheus
# configuration passes promtool with the real rules beside it; the
# Kubernetes PrometheusRule is the one generated from etc/prometheus/rules
# and its rules pass promtool; the manifests agree with each other.
# (The wrk scripts are exercised against a live inferd by
# tests/test_grafana.py and tests/test_e2e_alert.py.)

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

echo "1..$n"
exit $failed
