"""Each simulated user sends its own client address as X-Forwarded-For, the same on every
request (users_driver.py makes the requests in a subprocess, against a loopback server here);
and the shopper journey buys only from the load test's own catalogue (journey_driver.py,
against a fake shop here; against the real stack in tests/app/test_loadtest_catalogue.py)."""
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


class FakeShop(http.server.BaseHTTPRequestHandler):
    """Just enough of the shop's API for one journey: reference products 1..50 on the first
    page, and (unless ``loadtest_ids`` is empty) the load-test category's products."""
    loadtest_ids: list[int] = []
    carted: list[int] = []

    def _send(self, status, data):
        raw = json.dumps({"success": True, "data": data}).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(raw)))
        self.end_headers()
        self.wfile.write(raw)

    def _product(self, pid):
        from sql.catalogue import LOADTEST_CATEGORY
        loadtest = pid in self.loadtest_ids
        return {"id": pid, "name": f"p{pid}", "category": LOADTEST_CATEGORY if loadtest
                else "Electronics", "stock": 100_000 if loadtest else 50, "price": 9.99}

    def do_GET(self):  # noqa: N802 (http.server's naming)
        url = urlsplit(self.path)
        q = parse_qs(url.query)
        if url.path == "/api/products" and "category" in q:
            from sql.catalogue import LOADTEST_CATEGORY
            ids = self.loadtest_ids if q["category"] == [LOADTEST_CATEGORY] else []
            self._send(200, {"products": [self._product(i) for i in ids],
                             "pagination": {"page": 1, "per_page": 20, "total": len(ids)}})
        elif url.path == "/api/products":
            self._send(200, {"products": [self._product(i) for i in range(50, 30, -1)],
                             "pagination": {"page": 1, "per_page": 20, "total": 50}})
        elif url.path == "/api/categories":
            self._send(200, [{"name": "Electronics", "count": 50}])
        elif url.path.startswith("/api/products/search"):
            self._send(200, [])
        elif url.path.startswith("/api/products/"):
            self._send(200, self._product(int(url.path.rsplit("/", 1)[1])))
        elif url.path == "/api/cart":
            self._send(200, {"items": [{"product_id": p} for p in self.carted[-1:]]})
        elif url.path == "/api/orders":
            self._send(200, [{"id": 1}])
        else:
            self._send(200, {"id": 1})

    def do_POST(self):  # noqa: N802
        body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)) or b"{}")
        if self.path == "/api/cart":
            self.carted.append(body["product_id"])
        self._send(201 if self.path in ("/api/auth/register", "/api/cart", "/api/orders")
                   else 200, {"token": "t", "user_id": 1, "id": 1})

    def do_PUT(self):  # noqa: N802
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self._send(200, {})

    do_DELETE = do_GET

    def log_message(self, *a):
        pass


def run_journeys(loadtest_ids: list[int], journeys: int = 3) -> tuple[dict, list[int]]:
    handler = type("Shop", (FakeShop,), {"loadtest_ids": loadtest_ids, "carted": []})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        run = subprocess.run(
            [sys.executable, str(Path(__file__).with_name("journey_driver.py")),
             f"http://127.0.0.1:{server.server_address[1]}", str(journeys)],
            capture_output=True, text=True, timeout=60, cwd=ROOT,
            env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"})
    finally:
        server.shutdown()
        server.server_close()
    assert run.returncode == 0, run.stderr[-2000:]
    return json.loads(run.stdout.splitlines()[-1]), handler.carted


def test_the_journey_buys_only_from_the_load_test_catalogue():
    loadtest_ids = list(range(51, 71))
    result, carted = run_journeys(loadtest_ids)
    assert result["failures"] == {}
    assert result["requests"]["list"] == 3 and result["requests"]["list by category"] == 3
    assert len(carted) == 3 and set(carted) <= set(loadtest_ids)   # never a reference id
    assert result["requests"]["checkout"] == 3


def test_without_a_load_test_catalogue_the_journey_buys_nothing_and_says_so():
    result, carted = run_journeys([], journeys=2)
    assert carted == [] and "checkout" not in result["requests"]
    assert [m for m in result["failures"]["list by category"]
            if "sql.seed --loadtest-products" in m] and len(result["failures"]) == 1


def test_buyable_keeps_load_test_products_with_stock_to_spare():
    from loadtest.journey_catalogue import LISTING_PATH, buyable
    from sql.catalogue import LOADTEST_CATEGORY
    products = [{"id": 1, "category": "Electronics", "stock": 50},
                {"id": 51, "category": LOADTEST_CATEGORY, "stock": 100_000},
                {"id": 52, "category": LOADTEST_CATEGORY, "stock": 2},
                {"id": 53, "category": LOADTEST_CATEGORY, "stock": 3}]
    assert buyable(products) == [51, 53]
    assert parse_qs(urlsplit(LISTING_PATH).query) == {"category": [LOADTEST_CATEGORY],
                                                      "per_page": ["20"]}


# A locust user's session (loadtest.users.ShopClient's TLS settings) fetching one URL: prints
# the status (0: no answer) and the class of the failure locust recorded, if any.
TLS_PROBE = """
import sys
from locust.contrib.fasthttp import FastHttpSession
from locust.event import EventHook
from loadtest.users import ShopClient
requests = EventHook()
failures = []
requests.add_listener(lambda exception=None, **_: exception and failures.append(exception))
s = FastHttpSession(sys.argv[1], requests, None, insecure=ShopClient.insecure,
                    ssl_context_factory=ShopClient.ssl_context_factory)
print(s.get("/api/health").status_code, *(type(e).__name__ for e in failures))
"""


def test_users_verify_the_shops_certificate_against_the_lab_ca(lab_ca):
    ca, server_context = lab_ca

    class Health(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 (http.server's naming)
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *a):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Health)
    server.socket = server_context.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"https://127.0.0.1:{server.server_address[1]}"
    env = {"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"}
    try:
        trusted, untrusted = (subprocess.run(
            [sys.executable, "-c", TLS_PROBE, url], capture_output=True, text=True, timeout=60,
            cwd=ROOT, env=e) for e in ({**env, "SSL_CERT_FILE": str(ca)}, env))
    finally:
        server.shutdown()
        server.server_close()
    assert trusted.returncode == 0, trusted.stderr[-2000:]
    assert trusted.stdout.split() == ["200"]
    status, error = untrusted.stdout.split()
    assert status == "0" and "SSL" in error, untrusted.stdout   # the system's CAs: refused
