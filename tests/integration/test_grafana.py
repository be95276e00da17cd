#!/usr/bin/env python3
"""Grafana files, checked without Grafana (it is not packaged for Debian).

Static: the provisioning files parse; every datasource reference in the
dashboard and the alert rule resolves to the provisioned Prometheus uid;
each alert `condition` and expression input names an existing refId; uids
are unique and valid (at most 40 characters of [a-zA-Z0-9-_]); the
dashboard provider, datasource and contact point agree with the compose
file; the Grafana alert is the original one (same PromQL, > 1, for 1m,
interval 1m, execErrState Error).

Live: a real inferd, scraped every second by a real Prometheus that loads
etc/prometheus/rules (evaluated every second), gets wrk load from
contrib/wrk/*.lua; then EVERY PromQL expression of the dashboard (panels
and variables) and of the Grafana alert rule runs through Prometheus' HTTP
API, with Grafana's variables substituted, and must parse and return data
with at least one finite value (or a native histogram with observations).
A query of the native histogram (prediction_latency_seconds without a
suffix) runs on a second Prometheus with native histograms enabled, which
scrapes the protobuf exposition (and, being 2.42, drops classic buckets).
"""

import glob
import json
import math
import os
import re
import subprocess
import tempfile

import yaml

from harness import Inferd, note, run
from promstack import (NativePrometheus, Prometheus, Wrk, prometheus_config,
                       rules_for_test, wait_for, wrk_requests)

SRCDIR = os.environ.get("INFERD_SRCDIR", ".")
GRAFANA = os.path.join(SRCDIR, "grafana")
PROV = os.path.join(GRAFANA, "provisioning")
DASHBOARD = os.path.join(GRAFANA, "dashboard.json")
COMPOSE = os.path.join(SRCDIR, "contrib", "docker", "docker-compose.yml")
ORIGINAL_P95 = ("histogram_quantile(0.95, sum(rate("
                "prediction_latency_seconds_bucket[5m])) by (le))")
# The one matcher that picks the 1 s bucket in either spelling ("1.0" as
# inferd writes it and Prometheus 2 stores it, "1" as Prometheus 3 does).
LE_1S = 'le=~"1(\\\\.0)?"'
UID_RE = re.compile(r"^[a-zA-Z0-9_-]{1,40}$")
EXPR_UID = "__expr__"
BUILTIN_GRAFANA_UID = "-- Grafana --"


def load_dir(sub):
    """[(path, document)] of the YAML files of a provisioning directory."""
    paths = sorted(glob.glob(os.path.join(PROV, sub, "*.yml")) +
                   glob.glob(os.path.join(PROV, sub, "*.yaml")))
    assert paths, "no provisioning files in %s/%s" % (PROV, sub)
    out = []
    for p in paths:
        with open(p) as f:
            doc = yaml.safe_load(f)
        assert doc.get("apiVersion") == 1, "%s: apiVersion must be 1" % p
        out.append((p, doc))
    return out


def datasource():
    """The provisioned Prometheus datasource (there must be exactly one)."""
    ds = [d for _, doc in load_dir("datasources")
          for d in doc.get("datasources", []) if d["type"] == "prometheus"]
    assert len(ds) == 1, "want one Prometheus datasource, got %r" % ds
    return ds[0]


def dashboard():
    with open(DASHBOARD) as f:
        return json.load(f)


def all_panels(dash):
    """Every panel, including those nested in collapsed rows."""
    out = []
    for p in dash["panels"]:
        out.append(p)
        out.extend(p.get("panels", []))
    return out


def variables(dash):
    return {v["name"]: v for v in dash["templating"]["list"]}


def alert_rules():
    """[(group, rule)] of the provisioned Grafana alert rules."""
    return [(g, r) for _, doc in load_dir("alerting")
            for g in doc.get("groups", []) for r in g["rules"]]


def compose():
    with open(COMPOSE) as f:
        return yaml.safe_load(f)


def check_uid(uid, what, seen):
    assert isinstance(uid, str) and UID_RE.match(uid), \
        "%s: invalid uid %r (at most 40 of [a-zA-Z0-9-_])" % (what, uid)
    assert uid not in seen, "%s: uid %r used twice" % (what, uid)
    seen.add(uid)


def resolve_ref(ref, dash, where):
    """The datasource uid a dashboard reference ends up on."""
    uid = datasource()["uid"]
    assert isinstance(ref, dict), \
        "%s: datasource %r is not a {type, uid} reference" % (where, ref)
    if ref.get("uid") in ("${datasource}", "$datasource", "[[datasource]]"):
        var = variables(dash).get("datasource")
        assert var and var["type"] == "datasource" and \
            var["query"] == "prometheus", \
            "%s: no datasource variable of type prometheus" % where
        # Provisioning keeps `current`; UI import falls back to the
        # default datasource: both must be the provisioned one.
        assert var["current"].get("value") == uid, \
            "$datasource defaults to %r, not %r" % (var["current"], uid)
        assert datasource().get("isDefault"), "datasource is not the default"
        assert ref.get("type") == "prometheus", where
        return uid
    if ref.get("uid") == BUILTIN_GRAFANA_UID:
        assert ref.get("type") == "grafana", where
        return ref["uid"]
    assert ref.get("uid") == uid, \
        "%s: datasource uid %r is not the provisioned %r" % \
        (where, ref.get("uid"), uid)
    return uid


# -- static checks -----------------------------------------------------------

def test_datasource_provisioning():
    ds = datasource()
    check_uid(ds["uid"], "datasource", set())
    assert ds["access"] == "proxy", ds
    # Inside compose, Grafana reaches Prometheus by its service name.
    svc = compose()["services"]
    assert "prometheus" in svc, "no prometheus service in %s" % COMPOSE
    assert ds["url"] == "http://prometheus:9090", ds["url"]


def test_dashboard_provider():
    providers = [p for _, doc in load_dir("dashboards")
                 for p in doc["providers"]]
    assert len(providers) == 1, providers
    p = providers[0]
    assert p["type"] == "file", p
    path = p["options"]["path"].rstrip("/")
    # compose must mount grafana/dashboard.json inside the provider's path.
    mounts = compose()["services"]["grafana"]["volumes"]
    targets = [m.split(":")[1] for m in mounts
               if m.split(":")[0].endswith("grafana/dashboard.json")]
    assert targets, "compose does not mount grafana/dashboard.json"
    assert os.path.dirname(targets[0]) == path, (targets, path)
    prov = [m.split(":")[1] for m in mounts
            if m.split(":")[0].endswith("grafana/provisioning")]
    assert prov == ["/etc/grafana/provisioning"], prov


def test_dashboard_structure():
    dash = dashboard()
    # Importable and provisionable: no numeric id, no __inputs to fill in.
    assert dash.get("id") is None, "dashboard id must be null"
    assert "__inputs" not in dash, "__inputs only work with UI import"
    check_uid(dash["uid"], "dashboard", set())
    assert dash["title"]
    vars_ = variables(dash)
    for name in ("datasource", "job", "instance"):
        assert name in vars_, "no $%s variable" % name
    for name in ("job", "instance"):
        resolve_ref(vars_[name]["datasource"], dash, "variable " + name)
    for a in dash["annotations"]["list"]:
        resolve_ref(a["datasource"], dash, "annotation " + a["name"])
    ids = set()
    for p in all_panels(dash):
        assert p["id"] not in ids, "panel id %d used twice" % p["id"]
        ids.add(p["id"])
        g = p["gridPos"]
        assert 0 <= g["x"] and g["x"] + g["w"] <= 24, (p["title"], g)
        if p["type"] == "row":
            continue
        where = "panel %r" % p["title"]
        resolve_ref(p["datasource"], dash, where)
        refids = set()
        assert p["targets"], where + ": no query"
        for t in p["targets"]:
            resolve_ref(t["datasource"], dash, where)
            assert t["refId"] not in refids, where + ": refId twice"
            refids.add(t["refId"])
            assert t["expr"].strip(), where + ": empty expr"


def test_dashboard_content():
    dash = dashboard()
    exprs = [t["expr"] for p in all_panels(dash) for t in p.get("targets", [])]
    text = "\n".join(exprs)
    for phi in ("0.50", "0.95", "0.99"):
        assert "histogram_quantile(%s" % phi in text, "no p%s" % phi
    for needle in ("inferd_http_requests_total", 'code=~"5.."',
                   "inferd_workers_alive", "inferd_worker_restarts_total",
                   "inferd_http_requests_in_flight", "slow_ratio_rate",
                   "$__range", LE_1S, "inferd_model_compute_seconds_bucket",
                   "inferd_request_rows_bucket", "process_cpu_seconds_total",
                   "process_resident_memory_bytes"):
        assert needle in text, "no panel uses %s" % needle
    # Every quantile sums by le first (several instances).
    for e in exprs:
        if "histogram_quantile" in e:
            assert re.search(r"by \(le\)|by \(instance, le\)", e), e
    # The p95 panel draws the SLO as a 1 s threshold line.
    p95 = [p for p in all_panels(dash) if p["type"] == "timeseries" and
           any("histogram_quantile(0.95" in t["expr"] for t in p["targets"])]
    assert p95, "no p95 time series panel"
    fc = p95[0]["fieldConfig"]["defaults"]
    assert fc["unit"] == "s", fc
    assert 1 in [s["value"] for s in fc["thresholds"]["steps"]], fc
    assert fc["custom"]["thresholdsStyle"]["mode"] != "off", fc
    # It shows the exemplars, from the plain p95 query of the buckets.
    ex = [t for t in p95[0]["targets"] if t.get("exemplar") is True]
    assert ex and "prediction_latency_seconds_bucket" in ex[0]["expr"], \
        p95[0]["targets"]
    # Burn rate and error budget panels.
    titles = " ".join(p["title"].lower() for p in all_panels(dash))
    for word in ("burn rate", "error budget", "error ratio", "in-flight",
                 "workers", "restarts", "request rate", "p50", "compute",
                 "rows", "cpu", "memory", "native histogram"):
        assert word in titles, "no panel titled with %r" % word
    # The heatmap draws the native histogram.
    heat = [p for p in all_panels(dash) if p["type"] == "heatmap"]
    assert heat and any(_NATIVE.search(t["expr"]) for p in heat
                        for t in p["targets"]), "no native heatmap"


def bucket_queries():
    """[(where, expr)] of every dashboard or alert query with an le matcher."""
    out = [(w, e) for w, e, _ in queries() if re.search(r"\ble\s*[=!]", e)]
    assert out, "no query selects a bucket by le"
    return out


def test_bucket_spelling():
    """Every query that selects a bucket by `le` does it with LE_1S, and
    gives, with the bucket spelled le="1.0" or le="1", the same result as
    the same query written with le="1.0" on le="1.0" data (promtool)."""
    values = dict(BUILTINS, job="inferd", instance=".*",
                  __rate_interval="5m", __range="5m")
    tests = []
    for where, expr in bucket_queries():
        assert re.findall(r"\ble\s*[=!]~?\s*\"[^\"]*\"", expr) == \
            [LE_1S] * expr.count("le"), "%s: le matcher is not %s:\n  %s" % \
            (where, LE_1S, expr)
        e = substitute(expr, values)
        ref = e.replace("prediction_latency_seconds_bucket",
                        "reference_bucket").replace(LE_1S, 'le="1.0"')
        for spelling in ("1.0", "1"):
            lbl = 'job="inferd",instance="127.0.0.1:9180"'
            tests.append({
                "name": "%s, le=%r" % (where, spelling),
                "interval": "1m",
                "input_series": [
                    {"series": "prediction_latency_seconds_count{%s}" % lbl,
                     "values": "0+100x10"},
                    {"series": 'prediction_latency_seconds_bucket{%s,le="%s"}'
                     % (lbl, spelling), "values": "0+27x10"},
                    {"series": 'reference_bucket{%s,le="1.0"}' % lbl,
                     "values": "0+27x10"}],
                "promql_expr_test": [{
                    "expr": "(%s) - (%s)" % (e, ref), "eval_time": "10m",
                    "exp_samples": [{"labels": "{}", "value": 0}]}]})
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "spelling_test.yml")
        with open(path, "w") as f:
            yaml.safe_dump({"tests": tests}, f, width=1000)
        r = subprocess.run(["promtool", "test", "rules", path],
                           capture_output=True, text=True)
        assert r.returncode == 0, r.stdout + r.stderr
    print("  %d queries x 2 spellings" % (len(tests) // 2))


def test_alert_provisioning():
    docs = load_dir("alerting")
    ds_uid = datasource()["uid"]
    uids = set()
    rules = alert_rules()
    assert len(rules) == 1, "want the one original alert, got %d" % len(rules)
    for g, r in rules:
        where = "alert %r" % r["title"]
        check_uid(r["uid"], where, uids)
        assert g["interval"] == "1m", g["interval"]
        assert g["folder"], where
        assert r["for"] == "1m", r["for"]
        assert r["execErrState"] == "Error", r["execErrState"]
        assert r["noDataState"] in ("NoData", "OK", "Alerting"), \
            r["noDataState"]
        assert r.get("labels", {}).get("severity"), where
        refs = [d["refId"] for d in r["data"]]
        assert len(set(refs)) == len(refs), where + ": refId twice"
        assert r["condition"] in refs, \
            "%s: condition %r names no refId of %r" % (where, r["condition"],
                                                       refs)
        for d in r["data"]:
            m = d["model"]
            assert m.get("refId", d["refId"]) == d["refId"], where
            if d["datasourceUid"] == EXPR_UID:
                assert m["type"] in ("reduce", "threshold", "math",
                                     "resample", "classic_conditions"), m
                if "expression" in m and m["type"] != "math":
                    assert m["expression"] in refs, \
                        "%s: %s reads unknown %r" % (where, d["refId"],
                                                     m["expression"])
            else:
                assert d["datasourceUid"] == ds_uid, \
                    "%s: datasourceUid %r is not the provisioned %r" % \
                    (where, d["datasourceUid"], ds_uid)
                if "datasource" in m:
                    assert m["datasource"]["uid"] == ds_uid, where
                assert d["relativeTimeRange"]["from"] >= 300, \
                    where + ": query range shorter than the 5m window"
        # Equivalent to the original: p95 PromQL, then > 1 on the condition.
        queries = [d["model"]["expr"] for d in r["data"]
                   if d["datasourceUid"] == ds_uid]
        assert queries == [ORIGINAL_P95], queries
        cond = [d["model"] for d in r["data"]
                if d["refId"] == r["condition"]][0]
        assert cond["type"] == "threshold", cond
        ev = cond["conditions"][0]["evaluator"]
        assert ev["type"] == "gt" and ev["params"][0] == 1, ev
        if r.get("dashboardUid"):
            assert r["dashboardUid"] == dashboard()["uid"], where
            ids = [p["id"] for p in all_panels(dashboard())]
            assert r["panelId"] in ids, where + ": panelId not in dashboard"
    # Contact points and the policy that uses them.
    names = set()
    for _, doc in docs:
        for cp in doc.get("contactPoints", []):
            names.add(cp["name"])
            for rcv in cp["receivers"]:
                check_uid(rcv["uid"], "contact point " + cp["name"], uids)
                assert rcv["settings"].get("url"), rcv
                if rcv["type"] == "prometheus-alertmanager":
                    assert rcv["settings"]["url"] == \
                        "http://alertmanager:9093", rcv
                    assert "alertmanager" in compose()["services"]
    assert names, "no contact point"
    policies = [p for _, doc in docs for p in doc.get("policies", [])]
    assert len(policies) == 1, policies
    assert policies[0]["receiver"] in names, policies[0]


# -- live PromQL -------------------------------------------------------------

# Grafana's built-in variables, for a 1 s scrape interval (the datasource's
# timeInterval in production is 15s: $__rate_interval = 4 x scrape).
BUILTINS = {"__rate_interval": "10s", "__interval": "5s",
            "__interval_ms": "5000", "__range": "60s", "__range_s": "60",
            "__range_ms": "60000"}
_VAR = re.compile(r"\$\{(\w+)(?::\w+)?\}|\[\[(\w+)\]\]|\$(\w+)")


def substitute(expr, values):
    """expr with Grafana's $var, ${var}, ${var:fmt} and [[var]] replaced."""
    def rep(m):
        name = m.group(1) or m.group(2) or m.group(3)
        assert name in values, "unknown variable $%s in %s" % (name, expr)
        return values[name]
    out = _VAR.sub(rep, expr)
    assert "$" not in out, out
    return out


def grafana_regex_escape(value):
    """A value as Grafana's Prometheus datasource puts it in a =~ matcher:
    regex metacharacters escaped, the backslash doubled for the PromQL
    string literal."""
    return re.sub(r"[$^*{}\[\]'+?.()|]", lambda m: "\\\\" + m.group(0),
                  value)


def has_data(data):
    """True if a query result holds at least one finite value, or a
    native histogram with at least one observation."""
    res = data["result"]
    hists = [h for r in res for h in
             ([r["histogram"]] if "histogram" in r else []) +
             r.get("histograms", [])]
    if any(float(h[1]["count"]) > 0 for h in hists):
        return True
    if data["resultType"] == "vector":
        vals = [r["value"][1] for r in res if "value" in r]
    elif data["resultType"] == "matrix":
        vals = [v[1] for r in res for v in r.get("values", [])]
    elif data["resultType"] == "scalar":
        vals = [res[1]]
    else:
        return False
    return any(math.isfinite(float(v)) for v in vals)


def queries():
    """[(where, expr, instant)] of every PromQL query to run."""
    dash = dashboard()
    out = []
    for p in all_panels(dash):
        for t in p.get("targets", []):
            out.append(("panel %r %s" % (p["title"], t["refId"]), t["expr"],
                        bool(t.get("instant")) and not t.get("range")))
    ds_uid = datasource()["uid"]
    for _, r in alert_rules():
        for d in r["data"]:
            if d["datasourceUid"] == ds_uid:
                out.append(("alert %r %s" % (r["title"], d["refId"]),
                            d["model"]["expr"],
                            d["model"].get("instant", True)))
    return out


_LABEL_VALUES = re.compile(r"^label_values\((.*),\s*(\w+)\)$")


def variable_query(var):
    """label_values(SELECTOR, LABEL) as (PromQL, LABEL)."""
    q = var["query"]
    q = q["query"] if isinstance(q, dict) else q
    m = _LABEL_VALUES.match(q.strip())
    assert m, "variable %s: unsupported query %r" % (var["name"], q)
    return "count by (%s) (%s)" % (m.group(2), m.group(1)), m.group(2)


def wait_scraped(prom):
    """Wait until Prometheus holds enough samples and recorded rules."""
    def enough():
        n = prom.value("count_over_time(prediction_latency_seconds_count"
                       '{job="inferd"}[1m])')
        rec = prom.query("job:prediction_latency_seconds:slow_ratio_rate3d")
        return n is not None and n >= 12 and rec["result"]
    wait_for("12 scrapes and the recording rules", enough, 60)


# The native histogram: the family's own name, with no _bucket, _count or
# _sum suffix (and not a recording rule's job:...:... name).
_NATIVE = re.compile(r"(?<![\w:])prediction_latency_seconds(?![\w:])")


def test_promql_live():
    # Admission off: wrk saturates the workers on purpose, and a shed 503
    # would count as a failed request here.
    with Inferd(workers=2, options={"max_delay": "5",
                                    "admission": "off"}) as d, \
            Prometheus(prometheus_config(
                ["127.0.0.1:%d" % d.metrics_port]),
                rules=rules_for_test()) as prom, \
            NativePrometheus(prometheus_config(
                ["127.0.0.1:%d" % d.metrics_port], rule_files=())) as native:
        with Wrk(d.port, "predict.lua", connections=2, threads=1) as plain, \
                Wrk(d.port, "post.lua", connections=2, threads=1) as post, \
                Wrk(d.port, "delay.lua", args=["0.3"], connections=4,
                    threads=1) as slow:
            for _ in range(5):
                st, _, _ = d.request("GET", "/predict?delay=nonsense")
                assert st == 400, st
            wait_scraped(prom)

            dash = dashboard()
            vars_ = variables(dash)
            values = dict(BUILTINS)
            # $job and $instance come from their own queries.
            q, label = variable_query(vars_["job"])
            jobs = [r["metric"][label] for r in prom.query(q)["result"]]
            assert jobs == ["inferd"], jobs
            values["job"] = "inferd"
            q, label = variable_query(vars_["instance"])
            q = substitute(q, values)
            insts = [r["metric"][label] for r in prom.query(q)["result"]]
            assert insts == ["127.0.0.1:%d" % d.metrics_port], insts
            # "All" (allValue) and one instance, regex-escaped as Grafana
            # does for a multi-value variable.
            selections = [vars_["instance"].get("allValue", ".*"),
                          grafana_regex_escape(insts[0])]
            checked = 0
            for where, expr, instant in queries():
                p = native if _NATIVE.search(expr) else prom
                for inst in selections:
                    values["instance"] = inst
                    e = substitute(expr, values)
                    data = p.query(e) if instant else \
                        p.query_range(e, 60, 2)
                    assert has_data(data), \
                        "%s: no data for\n  %s\n  -> %r" % (where, e, data)
                    checked += 1
            note("%d PromQL queries returned data" % checked)
        for w, name in ((plain, "predict.lua"), (post, "post.lua"),
                        (slow, "delay.lua")):
            total, bad = wrk_requests(w.output)
            assert total > 0 and bad == 0, \
                "%s: %d requests, %d not 2xx:\n%s" % (name, total, bad,
                                                       w.output)


if __name__ == "__main__":
    run([test_datasource_provisioning, test_dashboard_provider,
         test_dashboard_structure, test_dashboard_content,
         test_bucket_spelling, test_alert_provisioning, test_promql_live])
