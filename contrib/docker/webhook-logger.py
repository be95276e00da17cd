#!/usr/bin/env python3
"""Print every notification Alertmanager posts to it, one line per alert.

The stand-in for a real receiver in contrib/docker/docker-compose.yml:
`docker compose logs -f webhook` shows the alerts firing and resolving.
Listens on 127.0.0.1:5001, the URL of etc/alertmanager/alertmanager.yml,
inside the Alertmanager container's network namespace.
"""

import http.server
import json
import sys


class Handler(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        length = int(self.headers.get("Content-Length") or 0)
        try:
            msg = json.loads(self.rfile.read(length))
        except ValueError:
            self.send_response(400)
            self.end_headers()
            return
        for alert in msg.get("alerts", []):
            labels = alert.get("labels", {})
            print("%s %s %s %s" % (
                alert.get("status"), labels.get("alertname"),
                json.dumps(labels, sort_keys=True),
                alert.get("annotations", {}).get("summary", "")),
                flush=True)
        self.send_response(200)
        self.end_headers()

    def log_message(self, fmt, *args):
        pass


if __name__ == "__main__":
    port = int(sys.argv[1]) if len(sys.argv) > 1 else 5001
    http.server.HTTPServer(("127.0.0.1", port), Handler).serve_forever()
