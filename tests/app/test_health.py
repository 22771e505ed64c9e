"""Liveness never touches a backend; readiness checks both, at most once per interval."""
from falcon.testing import TestClient

from app import create_app
from app.db import make_pool

from conftest import settings_for


def test_liveness_routes(api):
    for path in ("/healthz", "/api/health"):
        r = api.get(path)
        assert r.status_code == 200
        assert r.json == {"success": True, "data": {"status": "healthy"}}


def test_liveness_does_not_open_the_pool(stack):
    app = create_app(settings_for(stack))
    try:
        assert TestClient(app).simulate_get("/healthz").status_code == 200
        assert not app.db.started
    finally:
        app.close()


def test_readiness_ok(api):
    r = api.get("/readyz")
    assert r.status_code == 200
    assert r.json["data"]["checks"] == {"postgres": "ok", "redis": "ok"}


def test_readiness_checks_once_per_interval(stack):
    settings = settings_for(stack, readiness_interval=60.0)
    pool = make_pool(settings)
    pool.open(wait=True)
    app = create_app(settings, pool=pool)
    try:
        client = TestClient(app)
        before = pool.get_stats().get("requests_num", 0)
        for _ in range(25):
            assert client.simulate_get("/readyz").status_code == 200
        # 25 probes, one trip to the database: the pool's own counter says so
        assert pool.get_stats().get("requests_num", 0) - before == 1
    finally:
        app.close()
        pool.close()


def test_readiness_through_nginx(live):
    r = live.get(f"{live.base}/readyz", timeout=5)
    assert r.status_code == 200 and r.json()["success"] is True
