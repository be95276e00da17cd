#!/usr/bin/env python3
"""contrib/k8s/ without a cluster: every manifest against its schema, the
autoscaler's pieces agree, and the autoscaler's metric query runs.

- Schemas: the kubernetes-models npm packages (the Kubernetes OpenAPI
  schemas, and the Prometheus Operator's CRDs) validate every object of
  contrib/k8s/*.yml (tests/lib/k8s_validate.js); installed with npm into
  the build tree once.
- The HorizontalPodAutoscaler scales the Deployment on the metric that
  prometheus-adapter's rule names; the PodDisruptionBudget selects the
  Deployment's pods and leaves at least two of the minimum serving; the
  probes are on the master's /healthz.
- The adapter rule's metricsQuery, templated as prometheus-adapter does,
  returns each pod's CPU per worker from a real Prometheus scraping a
  real inferd (with the namespace and pod labels the Operator would add):
  above 0 under load.
"""

import glob
import json
import os
import re
import subprocess
import time

import yaml

from harness import Inferd, note, run
from promstack import Prometheus, Wrk, wait_for

SRCDIR = os.environ.get("INFERD_SRCDIR", ".")
BUILDDIR = os.environ.get("INFERD_BUILDDIR", ".")
NODE_DIR = os.path.join(BUILDDIR, "tests", "k8s-schemas")
PACKAGES = ["kubernetes-models@4.5.1",
            "@kubernetes-models/prometheus-operator@6.0.0"]


def objects():
    out = []
    for path in sorted(glob.glob(os.path.join(SRCDIR, "contrib", "k8s",
                                              "*.yml"))):
        with open(path) as f:
            out += [d for d in yaml.safe_load_all(f) if d]
    return out


def by_kind():
    return {o["kind"]: o for o in objects()}


def npm_packages():
    """The schema packages, installed once into the build tree."""
    mods = os.path.join(NODE_DIR, "node_modules")
    if not os.path.isdir(os.path.join(mods, "kubernetes-models")):
        os.makedirs(NODE_DIR, exist_ok=True)
        r = subprocess.run(["npm", "install", "--prefix", NODE_DIR,
                            "--no-audit", "--no-fund", "--ignore-scripts"]
                           + PACKAGES, capture_output=True, text=True,
                           timeout=600)
        assert r.returncode == 0, r.stdout + r.stderr
    return mods


def validate(objs):
    r = subprocess.run(["node", os.path.join(SRCDIR, "tests", "lib",
                                             "k8s_validate.js"),
                        npm_packages()], input=json.dumps(objs),
                       capture_output=True, text=True, timeout=120)
    return r.returncode, r.stdout + r.stderr


def test_schemas():
    objs = objects()
    kinds = sorted(o["kind"] for o in objs)
    for k in ("ConfigMap", "Deployment", "HorizontalPodAutoscaler",
              "PodDisruptionBudget", "PrometheusRule", "Service",
              "ServiceMonitor"):
        assert k in kinds, "no %s in contrib/k8s: %r" % (k, kinds)
    rc, out = validate(objs)
    assert rc == 0, out
    note(out.strip().replace("\n", "; "))
    # The validator catches what it is for.
    bad = by_kind()["HorizontalPodAutoscaler"]
    bad["spec"]["minReplicas"] = "three"
    rc, out = validate([bad])
    assert rc == 1 and "minReplicas" in out, out


def test_pieces_agree():
    k = by_kind()
    dep, hpa, pdb = (k["Deployment"], k["HorizontalPodAutoscaler"],
                     k["PodDisruptionBudget"])
    rules = yaml.safe_load(k["ConfigMap"]["data"]["config.yaml"])["rules"]
    ref = hpa["spec"]["scaleTargetRef"]
    assert (ref["kind"], ref["name"]) == ("Deployment",
                                          dep["metadata"]["name"]), ref
    names = [r["name"]["as"] for r in rules]
    for m in hpa["spec"]["metrics"]:
        assert m["type"] == "Pods", m
        assert m["pods"]["metric"]["name"] in names, (m, names)
    pods = dep["spec"]["template"]["metadata"]["labels"]
    for key, v in pdb["spec"]["selector"]["matchLabels"].items():
        assert pods.get(key) == v, "PDB does not select the pods"
    left = hpa["spec"]["minReplicas"] - pdb["spec"]["maxUnavailable"]
    assert left >= 2, "only %d pods left during a disruption" % left
    c = dep["spec"]["template"]["spec"]["containers"][0]
    for probe in ("readinessProbe", "livenessProbe"):
        assert c[probe]["httpGet"] == {"path": "/healthz",
                                       "port": "metrics"}, c[probe]
    assert "cpu" in c["resources"]["requests"], c["resources"]
    assert "memory" in c["resources"]["limits"], c["resources"]


def adapter_query(rule, namespace, pods):
    """metricsQuery templated as prometheus-adapter does for a Pods metric
    of pods in namespace."""
    q = rule["metricsQuery"]
    series = re.match(r"(\w+)", rule["seriesQuery"]).group(1)
    matchers = 'namespace="%s",pod=~"%s"' % (namespace, "|".join(pods))
    return (q.replace("<<.Series>>", series)
            .replace("<<.LabelMatchers>>", matchers)
            .replace("<<.GroupBy>>", "pod"))


def test_adapter_query_live():
    rule = yaml.safe_load(by_kind()["ConfigMap"]["data"]["config.yaml"])[
        "rules"][0]
    with Inferd(workers=2) as d:
        labels = {"namespace": "demo", "pod": "inferd-0"}
        cfg = {"global": {"scrape_interval": "1s", "scrape_timeout": "1s",
                          "evaluation_interval": "1s"},
               "scrape_configs": [{
                   "job_name": "inferd",
                   "static_configs": [{
                       "targets": ["127.0.0.1:%d" % d.metrics_port],
                       "labels": labels}]}]}
        with Prometheus(cfg) as prom:
            wait_for("scraped", lambda: prom.value(
                'up{job="inferd"}') == 1, 30)
            series = prom.api("series", **{"match[]": rule["seriesQuery"]})
            assert series and series[0]["pod"] == "inferd-0", series
            q = adapter_query(rule, "demo", ["inferd-0"])
            with Wrk(d.port, "post.lua", connections=4, duration=30):
                def busy():
                    res = prom.query(q)["result"]
                    return [float(r["value"][1]) for r in res
                            if float(r["value"][1]) > 0]
                # (On a machine this shared, how much is not asserted.)
                vals = wait_for("CPU per worker above 0 under load",
                                busy, 40)
            # Two single-threaded workers and a master: at most a little
            # over 1 (the master's own CPU), never 2 per worker.
            assert 0 < vals[0] < 1.5, (q, vals)
            note("%s = %.3f under load" % (q, vals[0]))


if __name__ == "__main__":
    run([test_schemas, test_pieces_agree, test_adapter_query_live])
