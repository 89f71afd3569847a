"""A webhook receiver standing in for on-call: prints each alert of each Alertmanager notification, one line
per alert (`docker compose logs -f oncall-webhook`). Replace it with your paging system's receiver."""

import json
import os
from http.server import BaseHTTPRequestHandler, HTTPServer


class Hook(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        payload = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)) or b"{}")
        for alert in payload.get("alerts", []):
            labels = dict(alert.get("labels", {}))
            name = labels.pop("alertname", "?")
            text = " ".join(f"{k}={v}" for k, v in sorted(labels.items()))
            summary = alert.get("annotations", {}).get("summary", "")
            print(f"{alert.get('status', '?').upper()} {name} {text} :: {summary}", flush=True)
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        pass


if __name__ == "__main__":
    host, port = os.environ.get("HOST", ""), int(os.environ.get("PORT", "8080"))
    server = HTTPServer((host, port), Hook)
    print(f"listening on {host or '*'}:{server.server_address[1]}", flush=True)
    server.serve_forever()
