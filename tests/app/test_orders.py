"""Checkout: one transaction, exact money, never oversold, all or nothing."""
import threading
import uuid
from decimal import Decimal

import pytest

from conftest import PASSWORD, stock_of


def test_checkout_flow(api, db, make_product):
    token = api.token()
    a, b = make_product(stock=5, price="19.99"), make_product(stock=2, price="0.10")
    api.post("/api/cart", token=token, json={"product_id": a, "quantity": 3})
    api.post("/api/cart", token=token, json={"product_id": b, "quantity": 2})
    r = api.post("/api/orders", token=token)
    assert r.status_code == 201, r.text
    order = r.json["data"]
    assert order["status"] == "pending" and order["total"] == 60.17
    total, status = db.execute("SELECT total, payment_status FROM orders WHERE id = %s",
                               (order["id"],)).fetchone()
    assert total == Decimal("60.17") and status == "pending"
    assert (stock_of(db, a), stock_of(db, b)) == (2, 0)
    # the cart is emptied once the order is committed
    assert api.get("/api/cart", token=token).json["data"]["items"] == []
    listed = api.get("/api/orders", token=token).json["data"]
    assert [o["id"] for o in listed] == [order["id"]]
    assert set(listed[0]) == {"id", "total", "status", "payment_status", "hold_expires_at",
                              "created_at"}
    detail = api.get(f"/api/orders/{order['id']}", token=token).json["data"]
    assert detail["id"] == order["id"]  # an int (the reference echoed a string)
    assert sorted((i["product_id"], i["quantity"], i["subtotal"]) for i in detail["items"]) == \
        sorted([(a, 3, 59.97), (b, 2, 0.2)])


def test_empty_cart(api):
    r = api.post("/api/orders", token=api.token())
    assert (r.status_code, r.json["error"]["code"]) == (400, "EMPTY_CART")


def test_insufficient_stock_changes_nothing(api, db, make_product):
    token, rival = api.token(), api.token()
    plenty, scarce = make_product(stock=50), make_product(stock=2)
    api.post("/api/cart", token=token, json={"product_id": plenty, "quantity": 5})
    api.post("/api/cart", token=token, json={"product_id": scarce, "quantity": 2})
    # someone else takes one of the two scarce items first
    api.post("/api/cart", token=rival, json={"product_id": scarce, "quantity": 1})
    assert api.post("/api/orders", token=rival).status_code == 201
    r = api.post("/api/orders", token=token)
    assert (r.status_code, r.json["error"]["code"]) == (409, "INSUFFICIENT_STOCK")
    assert r.json["error"]["details"] == [{"field": f"items.{scarce}",
                                           "message": "requested 2, 1 available"}]
    # all or nothing: the plentiful line was not taken either, and the cart is kept
    assert (stock_of(db, plenty), stock_of(db, scarce)) == (50, 1)
    assert len(api.get("/api/cart", token=token).json["data"]["items"]) == 2
    assert api.get("/api/orders", token=token).json["data"] == []


def test_orders_are_private(api, make_product):
    owner, other = api.token(), api.token()
    pid = make_product()
    api.post("/api/cart", token=owner, json={"product_id": pid, "quantity": 1})
    oid = api.post("/api/orders", token=owner).json["data"]["id"]
    # another user's order is as unknown as a missing one: no oracle for order ids
    r = api.get(f"/api/orders/{oid}", token=other)
    assert (r.status_code, r.json["error"]["code"]) == (404, "NOT_FOUND")
    r = api.get("/api/orders/987654321", token=other)
    assert (r.status_code, r.json["error"]["code"]) == (404, "NOT_FOUND")


def _race(checkout, n: int) -> list[int]:
    """Run n checkouts at the same instant; their status codes."""
    start = threading.Barrier(n)
    statuses = [None] * n

    def run(i):
        start.wait(timeout=30)
        statuses[i] = checkout(i)
    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    return statuses


def test_fifty_parallel_checkouts_never_oversell(api, db, make_product):
    pid = make_product(stock=10)
    tokens = [api.token() for _ in range(50)]
    for token in tokens:
        assert api.post("/api/cart", token=token, json={"product_id": pid, "quantity": 1}
                        ).status_code == 200
    statuses = _race(lambda i: api.post("/api/orders", token=tokens[i]).status_code, 50)
    assert sorted(statuses) == [201] * 10 + [409] * 40
    assert stock_of(db, pid) == 0
    assert db.execute("SELECT count(*), coalesce(sum(quantity), 0) FROM order_items"
                      " WHERE product_id = %s", (pid,)).fetchone() == (10, 10)


def test_parallel_checkouts_through_nginx(live, db, make_product):
    pid = make_product(stock=10)
    tokens = []
    for _ in range(30):
        r = live.post(f"{live.base}/api/auth/register", timeout=10, json={
            "email": f"race-{uuid.uuid4().hex}@test.shoplab", "password": PASSWORD})
        tokens.append(r.json()["data"]["token"])
        assert live.post(f"{live.base}/api/cart", json={"product_id": pid, "quantity": 1},
                         headers={"Authorization": f"Bearer {r.json()['data']['token']}"},
                         timeout=10).status_code == 200
    import requests

    def checkout(i):
        return requests.post(f"{live.base}/api/orders", timeout=30,
                             headers={"Authorization": f"Bearer {tokens[i]}"}).status_code
    statuses = _race(checkout, 30)
    assert sorted(statuses) == [201] * 10 + [409] * 20
    assert stock_of(db, pid) == 0


@pytest.mark.parametrize("price, qty, cents", [("19.99", 1, 1999), ("0.29", 3, 87),
                                               ("1043.37", 7, 730359)])
def test_money_is_exact(price, qty, cents):
    from app.payment_provider import cents as to_cents
    assert to_cents(Decimal(price) * qty) == cents
