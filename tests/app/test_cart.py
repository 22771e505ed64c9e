"""The cart lives in Redis, one hash per user with a TTL, validated against stock."""
import redis as redis_lib

from app.cart import CartStore


def test_cart_flow(api, make_product):
    token = api.token()
    a, b = make_product(stock=5, price="19.99"), make_product(stock=3, price="5.10")
    assert api.get("/api/cart", token=token).json["data"] == {"items": [], "total": 0}
    r = api.post("/api/cart", token=token, json={"product_id": a, "quantity": 2})
    assert r.status_code == 200 and r.json["data"]["message"] == "Added to cart"
    api.post("/api/cart", token=token, json={"product_id": a, "quantity": 1})
    api.post("/api/cart", token=token, json={"product_id": b, "quantity": 3})
    data = api.get("/api/cart", token=token).json["data"]
    lines = {line["product_id"]: line for line in data["items"]}
    assert lines[a]["quantity"] == 3 and lines[a]["subtotal"] == 59.97
    assert lines[b]["subtotal"] == 15.3
    assert data["total"] == 75.27  # exact: 59.97 + 15.30
    assert set(lines[a]) >= {"id", "product_id", "quantity", "name", "price", "image_url",
                             "subtotal"}
    r = api.put(f"/api/cart/{a}", token=token, json={"quantity": 1})
    assert r.status_code == 200
    r = api.delete(f"/api/cart/{b}", token=token)
    assert r.status_code == 200
    assert api.delete(f"/api/cart/{b}", token=token).status_code == 404
    data = api.get("/api/cart", token=token).json["data"]
    assert [(i["product_id"], i["quantity"]) for i in data["items"]] == [(a, 1)]
    r = api.delete("/api/cart/clear", token=token)
    assert r.json["data"] == {"message": "Cart cleared"}
    assert api.get("/api/cart", token=token).json["data"]["items"] == []


def test_quantities_are_checked_against_stock(api, make_product):
    token = api.token()
    pid = make_product(stock=4)
    assert api.post("/api/cart", token=token, json={"product_id": pid, "quantity": 3}
                    ).status_code == 200
    # cumulative: 3 in the cart + 2 more > 4 in stock
    r = api.post("/api/cart", token=token, json={"product_id": pid, "quantity": 2})
    assert (r.status_code, r.json["error"]["code"]) == (409, "INSUFFICIENT_STOCK")
    r = api.put(f"/api/cart/{pid}", token=token, json={"quantity": 5})
    assert (r.status_code, r.json["error"]["code"]) == (409, "INSUFFICIENT_STOCK")
    r = api.post("/api/cart", token=token, json={"product_id": 987654321, "quantity": 1})
    assert (r.status_code, r.json["error"]["code"]) == (404, "NOT_FOUND")
    lines = api.get("/api/cart", token=token).json["data"]["items"]
    assert [(i["product_id"], i["quantity"]) for i in lines] == [(pid, 3)]


def test_cart_is_a_redis_hash_with_refreshed_ttl(api, stack, make_product):
    user_id, token = api.register()
    pid = make_product(stock=9)
    api.post("/api/cart", token=token, json={"product_id": pid, "quantity": 2})
    r = redis_lib.Redis.from_url(stack.redis_url, decode_responses=True)
    key = CartStore.key(user_id)
    cart = r.hgetall(key)
    assert len(cart.pop("_rev")) == 32  # every change writes a new revision
    assert cart == {str(pid): "2"}
    r.expire(key, 100)
    api.get("/api/cart", token=token)
    assert r.ttl(key) > 100  # every use pushes expiry back to CART_TTL_SECONDS
    r.close()


def test_carts_are_private(api, make_product):
    t1, t2 = api.token(), api.token()
    pid = make_product()
    api.post("/api/cart", token=t1, json={"product_id": pid, "quantity": 1})
    assert api.get("/api/cart", token=t2).json["data"]["items"] == []
