"""Fixtures for the app's tests: one real stack per session (PostgreSQL, pgbouncer, Redis, the
fake Stripe, gunicorn, nginx from tools/devstack.py, in a temporary directory on ephemeral
loopback ports), in-process apps on the same services, and small helpers.

``api`` is parametrized over the two ways the app reaches the database — direct to
PostgreSQL and through pgbouncer in transaction mode — so every test that uses it runs on both.
"""
from __future__ import annotations

import shutil
import sys
import tempfile
import uuid
from decimal import Decimal
from pathlib import Path

import falcon.testing
import psycopg
import pytest
import requests

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tools"))

from devstack import Stack, free_ports  # noqa: E402

from app import create_app  # noqa: E402
from app.settings import Settings  # noqa: E402

PASSWORD = "correct-horse-9"
VIAS = ["postgres", "pgbouncer"]


@pytest.fixture(scope="session")
def stack():
    state = Path(tempfile.mkdtemp(prefix="shoplab-test-"))
    # the live app: limits high enough for the whole suite from one IP (rate limits have
    # their own tests on in-process apps)
    s = Stack(state, free_ports(), workers=2, threads=4, app_env={
        "RATE_LIMIT_IP_PER_MINUTE": "100000", "RATE_LIMIT_USER_PER_MINUTE": "100000",
        "READINESS_INTERVAL": "1", "DB_POOL_MIN_SIZE": "1", "DB_POOL_MAX_SIZE": "8",
        # generous on a shared 2-core box: slowness must not look like an outage
        "DB_POOL_TIMEOUT": "10", "REDIS_TIMEOUT": "2"})
    s.up(products=50)
    yield s
    s.down()
    shutil.rmtree(state, ignore_errors=True)


def settings_for(stack: Stack, via: str = "pgbouncer", **overrides) -> Settings:
    env = stack.env(via, RATE_LIMIT_IP_PER_MINUTE="0", RATE_LIMIT_USER_PER_MINUTE="0",
                    DB_POOL_MIN_SIZE="1", DB_POOL_MAX_SIZE="10", READINESS_INTERVAL="1",
                    DB_POOL_TIMEOUT="10", REDIS_TIMEOUT="2")
    return Settings.from_env(env, **overrides)


class Api:
    """An in-process app with the shop's conventions: JSON bodies, bearer tokens."""

    def __init__(self, app, via: str):
        self.app, self.via = app, via
        self.client = falcon.testing.TestClient(app)

    def request(self, method, path, *, token=None, headers=None, **kw):
        headers = dict(headers or {})
        if token:
            headers["Authorization"] = f"Bearer {token}"
        return self.client.simulate_request(method, path, headers=headers, **kw)

    def get(self, path, **kw):
        return self.request("GET", path, **kw)

    def post(self, path, **kw):
        return self.request("POST", path, **kw)

    def put(self, path, **kw):
        return self.request("PUT", path, **kw)

    def delete(self, path, **kw):
        return self.request("DELETE", path, **kw)

    def register(self) -> tuple[int, str]:
        r = self.post("/api/auth/register", json={"email": f"u-{uuid.uuid4().hex}@test.shoplab",
                                                  "password": PASSWORD})
        assert r.status_code == 201, r.text
        return r.json["data"]["user_id"], r.json["data"]["token"]

    def token(self) -> str:
        return self.register()[1]


@pytest.fixture(scope="session", params=VIAS)
def api(request, stack):
    app = create_app(settings_for(stack, request.param))
    yield Api(app, request.param)
    app.close()


@pytest.fixture
def db(stack):
    """A plain connection to the shop database, for arranging and checking data (per test:
    the recovery tests restart PostgreSQL under the session)."""
    with psycopg.connect(stack.database_url("postgres"), autocommit=True) as conn:
        yield conn


@pytest.fixture
def make_product(db):
    """Insert a product of our own, so tests that move stock don't disturb each other."""
    def make(stock: int = 10, price: str = "19.99", category: str = "TestCat") -> int:
        return db.execute(
            "INSERT INTO products (name, description, price, category, stock)"
            " VALUES (%s, 'test product', %s, %s, %s) RETURNING id",
            (f"Test {uuid.uuid4().hex[:8]}", Decimal(price), category, stock)).fetchone()[0]
    return make


@pytest.fixture(scope="session")
def live(stack):
    """requests to the shop through nginx, as a browser or the load test reaches it."""
    with requests.Session() as session:
        session.base = stack.shop_url
        yield session


def stock_of(db, product_id: int) -> int:
    return db.execute("SELECT stock FROM products WHERE id = %s", (product_id,)).fetchone()[0]
