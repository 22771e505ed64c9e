"""Checkout at most once: one order per cart revision however many times and however
concurrently it is sent, Idempotency-Key with Stripe's semantics, and the per-account caps."""
import pytest
import redis as redis_lib
from falcon.testing import TestClient

from app import create_app
from app.cart import CartStore
from test_orders import _race

from conftest import Api, settings_for, stock_of


def fill(api, token, *lines):
    for pid, qty in lines:
        r = api.post("/api/cart", token=token, json={"product_id": pid, "quantity": qty})
        assert r.status_code == 200, r.text


def orders_of(db, user_id) -> list[int]:
    return [r[0] for r in db.execute("SELECT id FROM orders WHERE user_id = %s ORDER BY id",
                                     (user_id,))]


def test_fifty_parallel_checkouts_of_one_cart_make_one_order(api, db, make_product):
    user_id, token = api.register()
    pid = make_product(stock=100)
    fill(api, token, (pid, 4))
    answers = _race(lambda i: api.post("/api/orders", token=token), 50)
    assert orders_of(db, user_id) and len(orders_of(db, user_id)) == 1
    assert stock_of(db, pid) == 96
    # every answer is that order (or, once the cart is gone, "empty cart")
    (oid,) = orders_of(db, user_id)
    for r in answers:
        assert (r.status_code == 201 and r.json["data"]["id"] == oid) or \
            (r.status_code, r.json["error"]["code"]) == (400, "EMPTY_CART"), r.text


def test_a_cart_left_behind_gives_back_the_same_order(api, db, stack, make_product):
    """The order committed, but its answer was lost or the cart could not be emptied: sending
    the same cart again is a retry, not a second order."""
    user_id, token = api.register()
    pid = make_product(stock=10)
    fill(api, token, (pid, 2))
    r = redis_lib.Redis.from_url(stack.redis_url, decode_responses=True)
    key = CartStore.key(user_id)
    left_behind = r.hgetall(key)
    first = api.post("/api/orders", token=token)
    assert first.status_code == 201 and "Idempotent-Replayed" not in first.headers
    r.hset(key, mapping=left_behind)  # as if clearing it had failed
    again = api.post("/api/orders", token=token)
    assert again.status_code == 201 and again.headers["Idempotent-Replayed"] == "true"
    assert again.json["data"]["id"] == first.json["data"]["id"]
    assert len(orders_of(db, user_id)) == 1 and stock_of(db, pid) == 8
    # a changed cart is a new checkout
    fill(api, token, (pid, 1))
    assert api.post("/api/orders", token=token).json["data"]["id"] != first.json["data"]["id"]
    r.close()


def test_idempotency_key(api, db, make_product):
    user_id, token = api.register()
    a, b = make_product(stock=10), make_product(stock=10)
    fill(api, token, (a, 1))
    key = {"Idempotency-Key": "checkout-7f3a"}
    first = api.post("/api/orders", token=token, headers=key)
    assert first.status_code == 201
    assert first.headers["Location"] == f"/api/orders/{first.json['data']['id']}"
    # the retry (cart now empty) gets the first answer again
    again = api.post("/api/orders", token=token, headers=key)
    assert again.status_code == 201 and again.headers["Idempotent-Replayed"] == "true"
    assert again.json["data"] == first.json["data"]
    # the same key with another cart is refused, and changes nothing
    fill(api, token, (b, 1))
    other = api.post("/api/orders", token=token, headers=key)
    assert (other.status_code, other.json["error"]["code"]) == (422, "IDEMPOTENCY_KEY_REUSED")
    assert len(orders_of(db, user_id)) == 1 and stock_of(db, b) == 10
    # keys are per account: another shopper's same key is theirs
    _, token2 = api.register()
    fill(api, token2, (b, 1))
    assert api.post("/api/orders", token=token2, headers=key).json["data"]["id"] != \
        first.json["data"]["id"]
    for bad in ("", "x" * 256, "caf\u00e9"):
        r = api.post("/api/orders", token=token, headers={"Idempotency-Key": bad})
        assert (r.status_code, r.json["error"]["code"]) == (400, "VALIDATION_ERROR"), bad


@pytest.fixture
def capped(stack):
    app = create_app(settings_for(stack, order_max_pending=2, order_max_line_quantity=5,
                                  order_max_total=100))
    yield Api(app, "pgbouncer")
    app.close()


def test_caps(capped, db, make_product):
    _, token = capped.register()
    pid, dear = make_product(stock=1000, price="10.00"), make_product(stock=5, price="60.00")
    r = capped.post("/api/cart", token=token, json={"product_id": pid, "quantity": 6})
    assert (r.status_code, r.json["error"]["code"]) == (400, "VALIDATION_ERROR")
    fill(capped, token, (pid, 5))
    r = capped.post("/api/cart", token=token, json={"product_id": pid, "quantity": 1})
    assert r.status_code == 400 and "at most 5" in r.json["error"]["details"][0]["message"]
    fill(capped, token, (dear, 1))
    r = capped.post("/api/orders", token=token)  # 5 x 10 + 60 = 110 > 100
    assert (r.status_code, r.json["error"]["code"]) == (422, "ORDER_TOO_LARGE")
    assert stock_of(db, pid) == 1000
    assert capped.delete(f"/api/cart/{dear}", token=token).status_code == 200
    assert capped.post("/api/orders", token=token).status_code == 201
    fill(capped, token, (pid, 1))
    assert capped.post("/api/orders", token=token).status_code == 201
    fill(capped, token, (pid, 1))
    r = capped.post("/api/orders", token=token)
    assert (r.status_code, r.json["error"]["code"]) == (409, "TOO_MANY_PENDING_ORDERS")


def test_one_account_cannot_hoard_more_than_the_caps(capped, db, make_product):
    """The attack of the review: fill a cart with everything, check out, again and again."""
    user_id, token = capped.register()
    pids = [make_product(stock=50, price="1.00") for _ in range(30)]
    for round_ in range(5):
        # as much as one order may hold: 20 lines of 5 units at $1 = the $100 cap
        for pid in pids[round_ % 10:round_ % 10 + 20]:
            capped.post("/api/cart", token=token, json={"product_id": pid, "quantity": 5})
        capped.post("/api/orders", token=token)
        capped.delete("/api/cart/clear", token=token)
    held = db.execute("SELECT coalesce(sum(i.quantity), 0), count(DISTINCT o.id) FROM orders o"
                      " JOIN order_items i ON i.order_id = o.id"
                      " WHERE o.user_id = %s AND o.status = 'pending'", (user_id,)).fetchone()
    # 2 pending orders of at most $100 of $1 items: at most 200 of the 1,500 units
    assert held[1] == 2 and 0 < held[0] <= 200
    assert sum(stock_of(db, p) for p in pids) >= 1500 - 200


def test_deeply_nested_json_is_a_400(stack):
    app = create_app(settings_for(stack))
    client = TestClient(app)
    for path in ("/api/auth/login", "/api/auth/register"):
        r = client.simulate_post(path, body="[" * 50_000,
                                 headers={"Content-Type": "application/json"})
        assert (r.status_code, r.json["error"]["code"]) == (400, "INVALID_REQUEST"), path
    app.close()
