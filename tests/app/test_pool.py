"""The pool under pressure: a full pool is a 503 with Retry-After after at most
DB_POOL_TIMEOUT, a full queue is a 503 at once, and nothing ever hangs."""
import threading
import time

import pytest
from falcon.testing import TestClient

from app import create_app
from app.db import make_pool

from conftest import VIAS, settings_for


@pytest.fixture(params=VIAS)
def tiny(request, stack):
    """An app whose pool holds a single connection, and that pool."""
    settings = settings_for(stack, request.param, pool_min_size=1, pool_max_size=1,
                            pool_timeout=1.0, pool_max_waiting=1)
    pool = make_pool(settings)
    pool.open(wait=True)
    app = create_app(settings, pool=pool)
    yield TestClient(app), pool
    pool.close()


def test_exhausted_pool_answers_503_within_timeout(tiny):
    client, pool = tiny
    held = pool.getconn()
    try:
        started = time.monotonic()
        r = client.simulate_get("/api/products")
        waited = time.monotonic() - started
        assert r.status_code == 503
        assert r.headers["retry-after"] == "1"
        assert r.json["error"]["code"] == "SERVICE_UNAVAILABLE"
        assert 0.9 <= waited < 3.0  # DB_POOL_TIMEOUT is 1 s
    finally:
        pool.putconn(held)
    assert client.simulate_get("/api/products").status_code == 200


def test_full_queue_is_refused_at_once(tiny):
    client, pool = tiny
    held = pool.getconn()
    try:
        waiting = threading.Thread(target=client.simulate_get, args=("/api/products",))
        waiting.start()  # takes the single waiting slot (DB_POOL_MAX_WAITING=1)
        deadline = time.monotonic() + 2
        while pool.get_stats().get("requests_waiting", 0) < 1 and time.monotonic() < deadline:
            time.sleep(0.01)
        started = time.monotonic()
        r = client.simulate_get("/api/products/1")
        assert r.status_code == 503 and r.headers["retry-after"] == "1"
        assert time.monotonic() - started < 0.9  # not the 1 s timeout
        waiting.join(timeout=5)
    finally:
        pool.putconn(held)


def test_no_prepared_statements_through_pgbouncer(api):
    # psycopg would prepare a query after 5 executions; pgbouncer 1.18 in transaction mode
    # would then fail ("prepared statement does not exist") on another server connection.
    # prepare_threshold=None keeps every repetition working.
    for _ in range(30):
        assert api.get("/api/products/1").status_code == 200
        assert api.get("/api/products", params={"category": "Home"}).status_code == 200


def test_statement_timeout_reaches_postgres(stack):
    settings = settings_for(stack, "postgres", statement_timeout_ms=150)
    with make_pool(settings, open=True, min_size=1, max_size=1) as pool:
        with pool.connection() as conn:
            assert conn.execute("SHOW statement_timeout").fetchone()[0] == "150ms"
            assert conn.prepare_threshold is None


def test_pool_settings_come_from_the_environment(stack):
    settings = settings_for(stack, pool_min_size=3, pool_max_size=7, pool_timeout=4.5,
                            pool_max_waiting=9, pool_max_lifetime=600, pool_max_idle=60,
                            pool_reconnect_timeout=12)
    pool = make_pool(settings)
    assert (pool.min_size, pool.max_size, pool.timeout, pool.max_waiting, pool.max_lifetime,
            pool.max_idle, pool.reconnect_timeout) == (3, 7, 4.5, 9, 600, 60, 12)
