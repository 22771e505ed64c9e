"""A stand-in target for the haproxy scenario: ``stand_in.py <port> <name>`` on 127.0.0.1.

/healthz: 200, or 503 while /srv/<name>.down exists; each probe is appended to
/srv/<name>.probes (time and Host header). /api/echo: the target's name and the headers it
received, as JSON. /metrics: a body the load balancer must never return."""
import json
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

PORT, NAME = int(sys.argv[1]), sys.argv[2]
DOWN, PROBES = Path(f"/srv/{NAME}.down"), Path(f"/srv/{NAME}.probes")


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self):  # noqa: N802 (http.server's naming)
        if self.path == "/healthz":
            with PROBES.open("a") as f:
                f.write(f"{time.time():.3f} {self.headers.get('Host', '')}\n")
            self._send(503 if DOWN.exists() else 200, {"target": NAME})
        elif self.path.startswith("/api/echo"):
            self._send(200, {"target": NAME, "path": self.path, "headers": dict(self.headers.items())})
        else:   # /metrics and anything else
            self._send(200, {"target": NAME, "reached": self.path})

    def _send(self, status, doc):
        data = json.dumps(doc).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


ThreadingHTTPServer(("127.0.0.1", PORT), Handler).serve_forever()
