"""Rate limits in Redis: per client IP and per signed-in user, 429 with Retry-After."""
import uuid

import pytest
from falcon.testing import TestClient

from app import create_app

from conftest import PASSWORD, settings_for


@pytest.fixture
def limited(stack):
    app = create_app(settings_for(stack, rate_limit_ip_per_minute=5,
                                  rate_limit_user_per_minute=3))
    yield TestClient(app)
    app.close()


def test_per_ip(limited):
    ip = f"10.{uuid.uuid4().int % 250}.{uuid.uuid4().int % 250}.7"
    statuses = [limited.simulate_get("/api/products/1", headers={"X-Real-IP": ip}).status_code
                for _ in range(7)]
    assert statuses == [200] * 5 + [429] * 2
    r = limited.simulate_get("/api/products/1", headers={"X-Real-IP": ip})
    assert r.json["error"]["code"] == "RATE_LIMIT_EXCEEDED"
    assert 1 <= int(r.headers["retry-after"]) <= 61
    # another client is not affected, and probes are never limited
    assert limited.simulate_get("/api/products/1",
                                headers={"X-Real-IP": "192.0.2.99" + ip[-1]}).status_code == 200
    assert limited.simulate_get("/healthz", headers={"X-Real-IP": ip}).status_code == 200


def test_ip_is_the_last_forwarded_hop(limited):
    # the client may put anything first in X-Forwarded-For; our nginx appends the real peer
    real = f"172.16.{uuid.uuid4().int % 250}.1"
    codes = [limited.simulate_get("/api/products/1", headers={
        "X-Forwarded-For": f"{uuid.uuid4()}, {real}"}).status_code for _ in range(6)]
    assert codes[-1] == 429


def test_per_user(limited):
    headers = {"X-Real-IP": f"10.200.{uuid.uuid4().int % 250}.1"}
    r = limited.simulate_post("/api/auth/register", headers=headers, json={
        "email": f"rl-{uuid.uuid4().hex}@test.shoplab", "password": PASSWORD})
    token = r.json["data"]["token"]
    codes = [limited.simulate_get("/api/cart", headers={
        "Authorization": f"Bearer {token}", "X-Real-IP": f"10.201.{i}.{uuid.uuid4().int % 250}"}
    ).status_code for i in range(4)]
    assert codes == [200, 200, 200, 429]  # different IPs, same user
