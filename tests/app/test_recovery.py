"""The real PostgreSQL and Redis go away and come back: meanwhile requests get a quick 503
with Retry-After (never a hang, never a 500), afterwards they succeed again, and nobody
restarted the app. Runs on the live gunicorn (through pgbouncer) and on in-process apps
through both paths."""
import time

import pytest
import requests
from falcon.testing import TestClient

from app import create_app

from conftest import VIAS, settings_for

OUTAGE_ANSWER_WITHIN = 8.0  # pool timeout (1 s here) plus connect attempts, with slack
RECOVERY_WITHIN = 45.0


@pytest.fixture(scope="module")
def clients(stack):
    apps = {via: create_app(settings_for(stack, via, pool_timeout=1.0)) for via in VIAS}
    yield {via: TestClient(app) for via, app in apps.items()}
    for app in apps.values():
        app.close()


def _get_all(clients, live, path, token=None):
    """(status, seconds) of one request per app: in-process direct, pgbouncer, and live."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    out = {}
    for via, client in clients.items():
        started = time.monotonic()
        r = client.simulate_get(path, headers=headers)
        out[via] = (r.status_code, time.monotonic() - started, r.headers.get("retry-after"),
                    r.json["success"])
    started = time.monotonic()
    r = requests.get(f"{live.base}{path}", headers=headers, timeout=30)
    out["live"] = (r.status_code, time.monotonic() - started, r.headers.get("retry-after"),
                   r.json()["success"])
    return out


def _wait_all_ok(clients, live, path, token=None):
    deadline = time.monotonic() + RECOVERY_WITHIN
    while True:
        result = _get_all(clients, live, path, token)
        if all(status == 200 for status, *_ in result.values()):
            return
        assert time.monotonic() < deadline, f"not recovered: {result}"
        time.sleep(0.5)


def _token(live):
    import uuid
    r = live.post(f"{live.base}/api/auth/register", timeout=10, json={
        "email": f"r-{uuid.uuid4().hex}@test.shoplab", "password": "recovery-pass"})
    return r.json()["data"]["token"]


# the search is never cached: it always needs PostgreSQL (a cached listing page or product
# may still be served during an outage, for LISTING_CACHE_TTL at most)
NEEDS_POSTGRES = "/api/products/search?q=sony"


def test_postgres_restart(stack, clients, live):
    _wait_all_ok(clients, live, NEEDS_POSTGRES)
    stack.stop("postgres")
    try:
        for _ in range(2):  # the first request finds the broken connection, the next the gap
            for who, (status, seconds, retry, success) in _get_all(
                    clients, live, NEEDS_POSTGRES).items():
                assert status == 503 and retry and success is False, (who, status)
                assert seconds < OUTAGE_ANSWER_WITHIN, (who, seconds)
        assert requests.get(f"{live.base}/healthz", timeout=5).status_code == 200
        deadline = time.monotonic() + 10
        while requests.get(f"{live.base}/readyz", timeout=10).status_code != 503:
            assert time.monotonic() < deadline, "readiness never noticed"
            time.sleep(0.3)
    finally:
        stack.start_postgres()
    _wait_all_ok(clients, live, NEEDS_POSTGRES)
    _wait_all_ok(clients, live, "/readyz")


def test_redis_restart(stack, clients, live):
    token = _token(live)
    _wait_all_ok(clients, live, "/api/cart", token)
    stack.stop("redis")
    try:
        for who, (status, seconds, retry, success) in _get_all(
                clients, live, "/api/cart", token).items():
            assert status == 503 and retry and success is False, (who, status)
            assert seconds < OUTAGE_ANSWER_WITHIN, (who, seconds)
        # the catalogue does not need Redis: the rate limiter lets it through
        for who, (status, *_rest) in _get_all(clients, live, "/api/products").items():
            assert status == 200, who
    finally:
        stack.start_redis()
    _wait_all_ok(clients, live, "/api/cart", token)
