#!/usr/bin/python3
"""make screenshots: the demo's pages, taken by a real browser.

Runs contrib/demo/demo.py's Demo with the repository's own timings until
Alertmanager has notified the p95 alert, then opens in headless Chromium
(Debian's chromium, chromium-driver and python3-selenium):

  doc/screenshots/targets.png       Prometheus' targets, inferd UP
  doc/screenshots/p95.png           the p95 graph, above 1 s
  doc/screenshots/alerts.png        Prometheus' alerts, the p95 one firing
  doc/screenshots/alertmanager.png  Alertmanager's alert list (its API:
                                    Debian's package has no web UI)

Before it saves a picture it checks, on the page itself, what the picture
is meant to show (the target's state, the alert's state, the graph's
query and value); a page that does not show it fails the run.
tests/integration/test_e2e_alert.py runs the same capture() on the demo
with the tests' timings.

    contrib/demo/screenshots.py [OUTDIR]      (default doc/screenshots)
"""

import os
import shutil
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import demo as demomod  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
# As this machine's probe runs Chromium as root, with no network but
# loopback: no sandbox, no background connections.
CHROMIUM_ARGS = ["--headless=new", "--no-sandbox", "--disable-gpu",
                 "--disable-quic", "--no-first-run",
                 "--disable-background-networking",
                 "--disable-component-update", "--disable-sync",
                 "--disable-dev-shm-usage", "--window-size=1400,900"]


class Browser:
    """Headless Chromium through chromedriver."""

    def __init__(self):
        from selenium import webdriver
        from selenium.webdriver.chrome.options import Options
        from selenium.webdriver.chrome.service import Service
        self.profile = tempfile.mkdtemp(prefix="inferd-chromium.")
        opts = Options()
        opts.binary_location = CHROMIUM
        for a in CHROMIUM_ARGS + ["--user-data-dir=" + self.profile]:
            opts.add_argument(a)
        self.driver = webdriver.Chrome(service=Service(CHROMEDRIVER),
                                       options=opts)
        self.driver.set_page_load_timeout(30)

    def close(self):
        try:
            self.driver.quit()
        finally:
            shutil.rmtree(self.profile, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False

    def open(self, url):
        self.driver.get(url)

    def wait(self, what, fn, timeout=20):
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            try:
                last = fn(self.driver)
                if last:
                    return last
            except Exception as e:      # the page is still rendering
                last = e
            time.sleep(0.25)
        raise AssertionError("page does not show %s (last: %r)" %
                             (what, last))

    def text(self, css):
        from selenium.webdriver.common.by import By
        return "\n".join(e.text for e in
                         self.driver.find_elements(By.CSS_SELECTOR, css))

    def shot(self, path):
        self.driver.save_screenshot(path)


def capture(demo, outdir, alert=demomod.P95):
    """Check and save the four pictures of a demo whose alert fires.
    Returns {picture: what the page showed}."""
    from selenium.webdriver.common.by import By
    os.makedirs(outdir, exist_ok=True)
    urls = dict(demo.urls())
    target = "127.0.0.1:%d" % demo.inferd.metrics_port
    seen = {}
    with Browser() as b:
        # Targets: the inferd row says UP.
        b.open(urls["Prometheus targets"])

        def target_state(d):
            for row in d.find_elements(By.CSS_SELECTOR, "tr"):
                if target in row.text:
                    return row.find_element(By.CSS_SELECTOR,
                                            ".state").text.strip()
            return None
        state = b.wait("inferd's target", target_state)
        assert state == "UP", "inferd's target is %r, not UP" % state
        seen["targets"] = state
        b.shot(os.path.join(outdir, "targets.png"))

        # The p95 graph: its query, and its value (the console tab) > 1 s.
        graph = urls["p95 graph"]
        b.open(graph.replace("g0.tab=0", "g0.tab=1"))

        def console_value(d):
            cells = d.find_elements(By.CSS_SELECTOR,
                                    "#graph_container .console td")
            vals = [c.text for c in cells if c.text.strip()]
            return float(vals[-1]) if vals else None
        value = b.wait("the p95's value", console_value)
        assert value > 1, "p95 %.3f s is not above the 1 s SLO" % value
        b.open(graph)
        expr = b.wait("the p95 query", lambda d: d.find_element(
            By.CSS_SELECTOR, "textarea.expression_input").get_attribute(
                "value"))
        assert expr == demomod.P95_QUERY, expr
        b.wait("the graph drawn", lambda d: d.find_elements(
            By.CSS_SELECTOR, "#graph_container .graph svg path"))
        seen["p95"] = (expr, value)
        b.shot(os.path.join(outdir, "p95.png"))

        # Alerts: the p95 alert's rule is firing.
        b.open(urls["Prometheus alerts"])

        def alert_row(d):
            for row in d.find_elements(By.CSS_SELECTOR, "tr.alert_header"):
                if alert in row.text:
                    return row.get_attribute("class") + " " + row.text
            return None
        row = b.wait("the %s rule" % alert, alert_row)
        assert "alert-danger" in row and "1 active" in row, \
            "%s is not firing on the alerts page: %r" % (alert, row)
        seen["alerts"] = row
        b.shot(os.path.join(outdir, "alerts.png"))

        # Alertmanager's list holds the alert, active.
        b.open(urls["Alertmanager"])
        body = b.wait("%s in Alertmanager" % alert, lambda d: (lambda t: t if
                      alert in t else None)(d.find_element(
                          By.TAG_NAME, "body").text))
        assert '"state":"active"' in body.replace(" ", ""), body[:500]
        # Chromium's JSON viewer: pretty-printed reads better.
        for box in b.driver.find_elements(By.CSS_SELECTOR,
                                          "input[type=checkbox]"):
            box.click()
        b.wait("the alerts pretty-printed", lambda d: "\n  " in d.find_element(
            By.TAG_NAME, "body").text or not d.find_elements(
                By.CSS_SELECTOR, "input[type=checkbox]"), 5)
        seen["alertmanager"] = alert
        b.shot(os.path.join(outdir, "alertmanager.png"))
    return seen


def main():
    outdir = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
        demomod.SRCDIR, "doc", "screenshots")
    with demomod.Demo() as demo:
        demo.normal()
        demo.wait("inferd scraped", lambda: demo.prom.value(
            'up{job="inferd"}') == 1, 120)
        # Some normal traffic first, so the graph shows the rise.
        time.sleep(60)
        demo.incident(900)
        # Let the graph show some minutes above the SLO.
        time.sleep(60)
        demo.poll()
        seen = capture(demo, outdir)
    for k, v in seen.items():
        print("%s.png: %s" % (k, v))
    return 0


if __name__ == "__main__":
    sys.exit(main())
