"""A stand-in app server for the nginx scenario, on 127.0.0.1:8000: the files of /srv/upstream,
plus paths that show what the proxy passes on and how it answers when the app misbehaves."""
import json
import socketserver
import sys
import time
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer


class Handler(SimpleHTTPRequestHandler):
    def do_GET(self):  # noqa: N802 (http.server's naming)
        if self.path == "/api/echo-headers":  # the headers the app would see, as JSON; and,
            # like the app, the request id echoed back
            self._send(200, json.dumps(dict(self.headers.items())),
                       {"X-Request-ID": self.headers.get("X-Request-ID", "")})
        elif self.path == "/api/slow":  # slower than the scenario's proxy_read_timeout
            time.sleep(5)
            self._send(200, '{"success": true}')
        elif self.path == "/api/busy":  # the app's own 503, which nginx must pass on as it is
            self._send(503, '{"success":false,"error":{"code":"SERVICE_UNAVAILABLE",'
                            '"message":"from the app"}}', {"Retry-After": "7"})
        elif self.path == "/api/drop":  # the connection closes without an answer: a 502
            self.close_connection = True
            self.connection.shutdown(2)
        else:
            super().do_GET()

    def _send(self, status, body, headers=None):
        data = body.encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)


socketserver.TCPServer.allow_reuse_address = True
ThreadingHTTPServer(("127.0.0.1", 8000), partial(Handler, directory=sys.argv[1])).serve_forever()
