"""Each simulated user sends its own client address as X-Forwarded-For, the same on every
request (users_driver.py makes the requests in a subprocess, against a loopback server here)."""
import http.server
import ipaddress
import json
import random
import subprocess
import sys
import threading
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from loadtest.clients import CLIENT_NET, client_address

ROOT = Path(__file__).resolve().parents[2]


def test_client_addresses_are_hosts_of_the_benchmark_range():
    rng = random.Random(7)
    addresses = {client_address(rng) for _ in range(2000)}
    assert CLIENT_NET == ipaddress.IPv4Network("198.18.0.0/15")
    for a in addresses:
        ip = ipaddress.IPv4Address(a)
        assert ip in CLIENT_NET and ip not in (CLIENT_NET.network_address,
                                               CLIENT_NET.broadcast_address)
    assert len(addresses) > 1900      # spread over the range, not a handful of values


def test_each_user_sends_its_own_address_on_every_request():
    seen = []

    class Recorder(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 (http.server's naming)
            user = parse_qs(urlsplit(self.path).query)["user"][0]
            seen.append((user, self.headers.get("X-Forwarded-For")))
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *a):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Recorder)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        run = subprocess.run(
            [sys.executable, str(Path(__file__).with_name("users_driver.py")),
             f"http://127.0.0.1:{server.server_address[1]}"],
            capture_output=True, text=True, timeout=60, cwd=ROOT,
            env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"})
    finally:
        server.shutdown()
        server.server_close()
    assert run.returncode == 0, run.stderr[-2000:]
    users = {u["user"]: u["address"] for u in json.loads(run.stdout.splitlines()[-1])}
    assert len(users) == 3 and len(seen) == 6
    for user, forwarded in seen:
        assert forwarded == users[user]   # the user's own address, on both of its requests
        assert ipaddress.IPv4Address(forwarded) in CLIENT_NET
