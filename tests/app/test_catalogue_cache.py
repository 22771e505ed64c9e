"""The catalogue cache: repeat reads come from memory, and the shop's own stock changes reach
every worker at once (two in-process apps sharing Redis stand in for two workers or hosts)."""
import time

import pytest

from app import create_app
from conftest import Api, settings_for

LONG_TTL = 60.0  # long enough that only an invalidation can explain a fresh answer


@pytest.fixture
def workers(stack):
    apps = [create_app(settings_for(stack, listing_cache_ttl=LONG_TTL)) for _ in range(2)]
    yield [Api(app, "pgbouncer") for app in apps]
    for app in apps:
        app.close()


def detail_stock(api, pid) -> int:
    r = api.get(f"/api/products/{pid}")
    assert r.status_code == 200, r.text
    return r.json["data"]["stock"]


def listed_stock(api, pid) -> int | None:
    page = api.get("/api/products", params={"category": "CacheCat", "per_page": 100})
    return {p["id"]: p["stock"] for p in page.json["data"]["products"]}.get(pid)


def eventually(read, expected, seconds=5.0):
    """``read()`` until it gives ``expected`` (the other worker hears the change through
    Redis pub/sub, a moment after the write returns)."""
    deadline = time.monotonic() + seconds
    while (value := read()) != expected and time.monotonic() < deadline:
        time.sleep(0.05)
    return value


def test_repeat_reads_come_from_the_cache(stack, workers, db, make_product):
    one, _ = workers
    pid = make_product(stock=10, category="CacheCat")
    assert detail_stock(one, pid) == 10 and listed_stock(one, pid) == 10
    # a change made outside the shop (plain SQL) is only seen once the TTL runs out...
    db.execute("UPDATE products SET stock = 7 WHERE id = %s", (pid,))
    assert detail_stock(one, pid) == 10 and listed_stock(one, pid) == 10
    # ...while with the cache off every read goes to PostgreSQL
    uncached = create_app(settings_for(stack, listing_cache_ttl=0))
    try:
        assert detail_stock(Api(uncached, "pgbouncer"), pid) == 7
    finally:
        uncached.close()


def test_checkout_empties_every_workers_cache(workers, db, make_product):
    one, other = workers
    pid = make_product(stock=10, category="CacheCat")
    for api in workers:
        assert detail_stock(api, pid) == 10 and listed_stock(api, pid) == 10
    token = one.token()
    assert one.post("/api/cart", token=token, json={"product_id": pid, "quantity": 3}
                    ).status_code < 300
    assert one.post("/api/orders", token=token).status_code == 201
    # the worker that took the order forgets at once; the other hears it through Redis
    assert detail_stock(one, pid) == 7 and listed_stock(one, pid) == 7
    assert eventually(lambda: detail_stock(other, pid), 7) == 7
    assert eventually(lambda: listed_stock(other, pid), 7) == 7

