"""/metrics (latency histogram by route template and status, pool statistics) and the JSON
access log with the request id from nginx."""
import json
import time
import uuid

import requests


def test_metrics(api):
    api.get("/api/products/1")
    api.get("/api/products/987654")
    text = api.get("/metrics").text
    assert 'shop_http_request_duration_seconds_bucket{le="0.005",method="GET",' \
           'route="/api/products/{product_id}",status="200"}' in text
    assert 'route="/api/products/{product_id}",status="404"' in text
    for gauge in ("shop_db_pool_size", "shop_db_pool_available", "shop_db_requests_waiting",
                  "shop_db_requests_errors", "shop_db_pool_max 10.0"):
        assert gauge in text


def test_metrics_through_nginx(live):
    r = live.get(f"{live.base}/metrics", timeout=5)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/plain")
    assert "shop_db_pool_size" in r.text


def test_access_log_line(stack, live):
    rid = f"test-{uuid.uuid4().hex}"
    token = live.post(f"{live.base}/api/auth/register", timeout=10, json={
        "email": f"log-{uuid.uuid4().hex}@test.shoplab", "password": "secret-password-1"}
    ).json()["data"]["token"]
    r = live.get(f"{live.base}/api/cart", headers={"X-Request-ID": rid,
                                                    "Authorization": f"Bearer {token}"}, timeout=5)
    assert r.headers["X-Request-ID"] == rid
    log = stack.state / "logs" / "app.log"
    deadline = time.monotonic() + 5
    while rid not in log.read_text() and time.monotonic() < deadline:
        time.sleep(0.1)
    text = log.read_text()
    line = json.loads(next(x for x in text.splitlines() if rid in x))
    assert line["route"] == "/api/cart" and line["status"] == 200 and line["method"] == "GET"
    assert line["user_id"] >= 1 and line["latency_ms"] >= 0 and "pool_wait_ms" in line
    # no token and no password ever reach the log
    assert token not in text and "secret-password-1" not in text


def test_request_id_is_made_when_missing(live):
    r = requests.get(f"{live.base}/api/health", timeout=5)
    assert len(r.headers["X-Request-ID"]) >= 16
