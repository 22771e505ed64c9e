"""Every route of the reference (seed-system.md 1.6) and the additions, through nginx ->
gunicorn -> pgbouncer -> PostgreSQL as `make run` serves them; and the nginx role's own
answers (JSON errors, client address, storefront headers), the nginx devstack renders from
roles/nginx/templates/shoplab.conf.j2, in front of the live app or of a stand-in app."""
import http.server
import json
import shutil
import tempfile
import threading
import time
import uuid
from pathlib import Path

import pytest
import requests
from devstack import Stack, free_ports, nginx_role_vars

from conftest import PASSWORD, ROOT

STOREFRONT_CSP = "; ".join(nginx_role_vars({})["nginx_storefront_csp"])


def test_every_route_through_nginx(live, db):
    base = live.base

    def call(method, path, token=None, headers=None, **kw):
        headers = dict(headers or {})
        if token:
            headers["Authorization"] = f"Bearer {token}"
        r = live.request(method, f"{base}{path}", headers=headers, timeout=15, **kw)
        assert r.headers["content-type"].startswith("application/json"), (path, r.text[:200])
        return r.status_code, r.json()

    assert call("GET", "/api/health") == (200, {"success": True, "data": {"status": "healthy"}})
    status, body = call("GET", "/api/products", params={"per_page": 50})
    assert status == 200 and len(body["data"]["products"]) == 50
    pid = body["data"]["products"][0]["id"]
    assert call("GET", f"/api/products/{pid}")[1]["data"]["id"] == pid
    assert call("GET", "/api/products/search", params={"q": "electronics"})[0] == 200
    assert call("GET", "/api/categories")[0] == 200

    email = f"nginx-{uuid.uuid4().hex}@test.shoplab"
    status, body = call("POST", "/api/auth/register", json={
        "email": email, "password": PASSWORD, "first_name": "N", "last_name": "G"})
    assert status == 201
    status, body = call("POST", "/api/auth/login", json={"email": email, "password": PASSWORD})
    assert status == 200
    token = body["data"]["token"]

    cheap = db.execute("SELECT id FROM products WHERE stock > 5 ORDER BY price LIMIT 2"
                       ).fetchall()
    (a,), (b,) = cheap
    assert call("POST", "/api/cart", token, json={"product_id": a, "quantity": 1})[0] == 200
    assert call("POST", "/api/cart", token, json={"product_id": b, "quantity": 1})[0] == 200
    assert call("PUT", f"/api/cart/{a}", token, json={"quantity": 2})[0] == 200
    assert call("DELETE", f"/api/cart/{b}", token)[0] == 200
    status, body = call("GET", "/api/cart", token)
    assert [(i["product_id"], i["quantity"]) for i in body["data"]["items"]] == [(a, 2)]
    assert call("DELETE", "/api/cart/clear", token)[0] == 200
    assert call("POST", "/api/orders", token)[1]["error"]["code"] == "EMPTY_CART"
    call("POST", "/api/cart", token, json={"product_id": a, "quantity": 1})
    status, body = call("POST", "/api/orders", token)
    assert status == 201
    oid = body["data"]["id"]
    assert [o["id"] for o in call("GET", "/api/orders", token)[1]["data"]] == [oid]
    assert call("GET", f"/api/orders/{oid}", token)[1]["data"]["status"] == "pending"

    assert call("GET", "/api/payment/config")[1]["data"]["test_mode"] is True
    status, body = call("POST", "/api/payment/create-intent", token, json={"order_id": oid})
    assert status == 200 and body["data"]["client_secret"]
    assert call("POST", "/api/payment/confirm-test", token, json={"order_id": oid})[0] == 200
    deadline = time.monotonic() + 15
    while call("GET", f"/api/orders/{oid}", token)[1]["data"]["status"] != "paid":
        assert time.monotonic() < deadline, "the webhook never marked the order paid"
        time.sleep(0.2)
    status, body = call("POST", "/api/webhook/stripe", data=b"{}",
                        headers={"Stripe-Signature": "t=1,v1=bad"})
    assert (status, body["error"]["code"]) == (400, "INVALID_SIGNATURE")
    assert call("GET", "/api/nothing/here")[0] == 404


def test_storefront_static_files(live):
    assert (ROOT / "app" / "static" / "index.html").exists(), "the storefront is missing"
    r = live.get(f"{live.base}/", timeout=5)
    assert r.status_code == 200 and "text/html" in r.headers["content-type"]
    # SPA fallback for client-side routes, JSON 404 under /api
    assert live.get(f"{live.base}/products/12", timeout=5).status_code == 200


def test_storefront_security_headers(live):
    for path in ("/", "/products/12", "/js/app.js"):
        r = live.get(f"{live.base}{path}", timeout=5)
        assert r.status_code == 200
        assert r.headers["content-security-policy"] == STOREFRONT_CSP
        assert r.headers["x-content-type-options"] == "nosniff"
        assert r.headers["referrer-policy"] == "strict-origin-when-cross-origin"
    assert "frame-ancestors 'none'" in STOREFRONT_CSP.split("; ")


def assert_nginx_envelope(r, status: int, code: str, retry_after: str | None = None):
    """One of nginx's own answers, in the app's error envelope."""
    assert r.status_code == status, r.text[:300]
    assert r.headers["content-type"] == "application/json"
    body = r.json()
    assert body["success"] is False and body["error"]["code"] == code
    assert set(body["error"]) == {"code", "message"} and body["error"]["message"]
    assert r.headers.get("retry-after") == retry_after


def test_oversized_bodies_through_nginx(live):
    # under nginx's limit the app refuses (MAX_BODY_BYTES), over it nginx does: both JSON
    for size in (100_000, 2_000_000):
        r = live.post(f"{live.base}/api/auth/login", data=b"x" * size, timeout=15,
                      headers={"Content-Type": "application/json"})
        assert r.status_code == 413
        assert r.headers["content-type"].startswith("application/json")
        assert r.json()["error"]["code"] == "PAYLOAD_TOO_LARGE"
    assert_nginx_envelope(r, 413, "PAYLOAD_TOO_LARGE")


def test_forwarded_client_is_logged_as_the_client(live, stack):
    # the devstack nginx trusts loopback as the proxy in front (nginx_real_ip_from)
    rid = f"xff-{uuid.uuid4().hex[:12]}"
    r = live.get(f"{live.base}/api/health", timeout=5,
                 headers={"X-Forwarded-For": "198.18.0.7", "X-Request-ID": rid})
    assert r.status_code == 200
    log = stack.state / "nginx" / "access.log"
    deadline = time.monotonic() + 5
    while not (lines := [x for x in log.read_text().splitlines() if f"rid={rid}" in x]):
        assert time.monotonic() < deadline, f"no line with rid={rid} in {log}"
        time.sleep(0.1)
    assert lines[-1].startswith("198.18.0.7 ") and lines[-1].endswith("peer=127.0.0.1")


# --- the role's nginx in front of a stand-in app ---------------------------------------------
class StandIn(http.server.BaseHTTPRequestHandler):
    """/api/echo-headers: the headers as the app receives them; /api/slow: later than the
    edge's read timeout; /api/busy: the app's own JSON 503."""
    protocol_version = "HTTP/1.1"

    def do_GET(self):  # noqa: N802 (http.server's naming)
        if self.path == "/api/slow":
            time.sleep(3)
            self._send(200, {"success": True})
        elif self.path == "/api/busy":
            self._send(503, {"success": False, "error": {"code": "SERVICE_UNAVAILABLE",
                                                         "message": "from the app"}},
                       {"Retry-After": "7"})
        else:
            self._send(200, dict(self.headers.items()))

    def _send(self, status, doc, headers=None):
        data = json.dumps(doc).encode()
        self.send_response(status)
        for k, v in {"Content-Type": "application/json", "Content-Length": str(len(data)),
                     **(headers or {})}.items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def stand_in():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), StandIn)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def edge_factory():
    """Start devstack's nginx (the role's template) alone, in front of an upstream port."""
    started = []

    def start(app_port: int, **nginx_vars) -> str:
        state = Path(tempfile.mkdtemp(prefix="shoplab-edge-"))
        state.chmod(0o755)  # nginx's workers (nobody) reach their temp dir below
        s = Stack(state, {"nginx": free_ports(["nginx"])["nginx"], "app": app_port},
                  nginx_vars=nginx_vars)
        started.append(s)
        s.start_nginx()
        return s.shop_url

    yield start
    for s in started:
        s.stop("nginx")
        shutil.rmtree(s.state, ignore_errors=True)


@pytest.fixture(scope="module")
def edge(edge_factory, stand_in):
    return edge_factory(stand_in, nginx_proxy_read_timeout="1s")


def test_upstream_too_slow_answers_504_json(edge):
    started = time.monotonic()
    r = requests.get(f"{edge}/api/slow", timeout=10)
    assert_nginx_envelope(r, 504, "GATEWAY_TIMEOUT", retry_after="1")
    assert time.monotonic() - started < 2.5   # nginx's 1 s, not the stand-in's 3 s


def test_app_down_answers_502_json(edge_factory):
    nothing = free_ports(["app"])["app"]  # closed again at once: connections are refused
    r = requests.get(f"{edge_factory(nothing)}/api/products", timeout=10)
    assert_nginx_envelope(r, 502, "BAD_GATEWAY", retry_after="1")
    assert r.headers["x-request-id"]


def test_the_apps_own_503_passes_untouched(edge):
    r = requests.get(f"{edge}/api/busy", timeout=5)
    assert r.status_code == 503 and r.headers["retry-after"] == "7"
    assert r.json()["error"]["message"] == "from the app"


def test_app_sees_the_client_last_in_x_forwarded_for(edge, edge_factory, stand_in):
    headers = {"X-Forwarded-For": "198.18.0.7", "X-Real-IP": "203.0.113.9"}
    # from a trusted proxy (loopback, devstack's nginx_real_ip_from): its entry is the client
    seen = requests.get(f"{edge}/api/echo-headers", headers=headers, timeout=5).json()
    assert seen["X-Forwarded-For"] == "198.18.0.7, 198.18.0.7"
    assert "X-Real-IP" not in seen
    # from an untrusted peer: the peer is the client, whatever it claims
    direct = edge_factory(stand_in, nginx_real_ip_from=[])
    seen = requests.get(f"{direct}/api/echo-headers", headers=headers, timeout=5).json()
    assert seen["X-Forwarded-For"] == "198.18.0.7, 127.0.0.1"
    assert "X-Real-IP" not in seen


def test_api_answers_get_no_storefront_headers(edge):
    r = requests.get(f"{edge}/api/echo-headers", timeout=5)
    assert "content-security-policy" not in r.headers and "referrer-policy" not in r.headers
    assert r.headers["x-request-id"]
