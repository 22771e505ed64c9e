"""Rate limits in Redis: per client address (counted through TRUSTED_PROXY_HOPS proxies) and
per signed-in user, 429 with Retry-After; failed logins per account and address."""
import time
import uuid

import pytest
import redis as redis_lib
from falcon.testing import TestClient

from app import create_app

from conftest import PASSWORD, settings_for


def unique_ip(prefix="10.9") -> str:
    """A fresh address under a /16."""
    n = uuid.uuid4().int
    return f"{prefix}.{n % 250}.{(n >> 8) % 250 + 1}"


def burst(send, n: int) -> list[int]:
    """``n`` answers' statuses, all inside one one-minute window (the limiter's): a burst that
    straddles a window boundary is sent again, once, in the next window."""
    for _ in range(2):
        window = int(time.time() // 60)
        statuses = [send() for _ in range(n)]
        if int(time.time() // 60) == window:
            return statuses
    return statuses


@pytest.fixture
def limited(stack):
    """Behind one proxy (nginx) that appends the address it saw to X-Forwarded-For."""
    app = create_app(settings_for(stack, rate_limit_ip_per_minute=5,
                                  rate_limit_user_per_minute=3, trusted_proxy_hops=1))
    yield TestClient(app)
    app.close()


def via_proxy(ip: str, spoofed: str | None = None) -> dict:
    return {"X-Forwarded-For": f"{spoofed}, {ip}" if spoofed else ip}


def test_per_ip(limited):
    ip = unique_ip()
    statuses = burst(lambda: limited.simulate_get("/api/products/1",
                                                  headers=via_proxy(ip)).status_code, 7)
    assert statuses == [200] * 5 + [429] * 2
    r = limited.simulate_get("/api/products/1", headers=via_proxy(ip))
    assert r.json["error"]["code"] == "RATE_LIMIT_EXCEEDED"
    assert 1 <= int(r.headers["retry-after"]) <= 61
    # another client is not affected; probes and Stripe's webhook are never limited
    assert limited.simulate_get("/api/products/1", headers=via_proxy(unique_ip())
                                ).status_code == 200
    assert limited.simulate_get("/healthz", headers=via_proxy(ip)).status_code == 200
    assert limited.simulate_post("/api/webhook/stripe", headers=via_proxy(ip), body="{}"
                                 ).json["error"]["code"] == "INVALID_SIGNATURE"


def test_spoofed_addresses_do_not_change_the_client(limited, stack):
    # entries left of what our proxy appended are the client's own words
    real = unique_ip("172.16")
    codes = burst(lambda: limited.simulate_get("/api/products/1", headers=via_proxy(
        real, spoofed=unique_ip("198.51"))).status_code, 6)
    assert codes[-1] == 429
    # with no trusted proxy (TRUSTED_PROXY_HOPS=0) the header is ignored altogether: a fresh
    # X-Forwarded-For per request does not buy a fresh bucket
    app = create_app(settings_for(stack, rate_limit_ip_per_minute=5))
    direct = TestClient(app)
    peer = unique_ip("192.0")
    codes = burst(lambda: direct.simulate_get("/api/products/1", remote_addr=peer, headers={
        "X-Forwarded-For": unique_ip()}).status_code, 6)
    assert codes[-1] == 429
    app.close()


def test_client_ip_counts_hops_from_the_right():
    from app.ratelimit import client_ip

    class Req:
        def __init__(self, xff, peer="10.0.0.1"):
            self.remote_addr, self.xff = peer, xff

        def get_header(self, name):
            return self.xff

    assert client_ip(Req("1.1.1.1, 2.2.2.2, 3.3.3.3"), 0) == "10.0.0.1"
    assert client_ip(Req("1.1.1.1, 2.2.2.2, 3.3.3.3"), 1) == "3.3.3.3"
    assert client_ip(Req("1.1.1.1, 2.2.2.2, 3.3.3.3"), 2) == "2.2.2.2"
    assert client_ip(Req("3.3.3.3"), 2) == "10.0.0.1"      # not through every proxy
    assert client_ip(Req("not-an-ip"), 1) == "10.0.0.1"
    assert client_ip(Req(None), 1) == "10.0.0.1"


def test_per_user(limited):
    r = limited.simulate_post("/api/auth/register", headers=via_proxy(unique_ip()), json={
        "email": f"rl-{uuid.uuid4().hex}@test.shoplab", "password": PASSWORD})
    token = r.json["data"]["token"]
    codes = burst(lambda: limited.simulate_get("/api/cart", headers={
        "Authorization": f"Bearer {token}", **via_proxy(unique_ip())}).status_code, 4)
    assert codes == [200, 200, 200, 429]  # different addresses, same user


@pytest.fixture
def login_limited(stack):
    app = create_app(settings_for(stack, trusted_proxy_hops=1, login_max_failures=3,
                                  login_max_account_failures=5))
    yield TestClient(app)
    app.close()


def login(client, email, password, ip):
    return client.simulate_post("/api/auth/login", headers=via_proxy(ip),
                                json={"email": email, "password": password})


def test_login_lockout_per_account_and_address(login_limited):
    email = f"lock-{uuid.uuid4().hex}@test.shoplab"
    assert login_limited.simulate_post("/api/auth/register", json={
        "email": email, "password": PASSWORD}).status_code == 201
    attacker, shopper = unique_ip("203.0"), unique_ip("198.18")
    codes = [login(login_limited, email, "wrong-password", attacker).status_code
             for _ in range(4)]
    assert codes == [401, 401, 401, 429]
    r = login(login_limited, email, PASSWORD, attacker)  # even the right password, from there
    assert r.status_code == 429 and int(r.headers["retry-after"]) > 60
    # the stranger cannot lock the shopper out from another address
    assert login(login_limited, email, PASSWORD, shopper).status_code == 200
    # but the account's ceiling across addresses holds: 3 + 2 failures from new addresses
    for _ in range(2):
        assert login(login_limited, email, "wrong-password", unique_ip()).status_code == 401
    assert login(login_limited, email, PASSWORD, unique_ip()).status_code == 429


def test_login_fails_safe_without_redis(stack):
    broken = redis_lib.Redis.from_url("redis://127.0.0.1:1/0", socket_connect_timeout=0.2,
                                      socket_timeout=0.2)
    app = create_app(settings_for(stack), redis=broken)
    client = TestClient(app)
    r = client.simulate_post("/api/auth/login", json={"email": "a@b.shoplab",
                                                      "password": PASSWORD})
    assert (r.status_code, r.json["error"]["code"]) == (503, "CACHE_UNAVAILABLE")
    assert r.headers["retry-after"]
    # the catalogue still answers: the request limiters let traffic through
    assert client.simulate_get("/api/categories").status_code == 200
    app.close()
