"""The cart, in Redis: one hash per user ``cart:{user_id}`` of product_id -> quantity, whose
TTL (CART_TTL_SECONDS) is refreshed on every use. Prices are never stored in the cart: GET
reads the current ones from Postgres, and checkout charges those.
"""
from __future__ import annotations

from decimal import Decimal

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from app.db import Database
from app.errors import ApiError, not_found, ok
from app.settings import Settings
from app.validation import MAX_ID, Field, parse_json

MAX_QUANTITY = 10_000
ADD_FIELDS = {"product_id": Field(int, min=1, max=MAX_ID),
              "quantity": Field(int, min=1, max=MAX_QUANTITY)}
SET_FIELDS = {"quantity": Field(int, min=1, max=MAX_QUANTITY)}


def make_redis(settings: Settings) -> redis.Redis:
    """A client that fails fast: one retry without backoff, short timeouts, so a Redis outage
    is a quick 503 rather than requests piling up in the workers."""
    return redis.Redis.from_url(
        settings.redis_url, socket_timeout=settings.redis_timeout,
        socket_connect_timeout=settings.redis_timeout, retry=Retry(NoBackoff(), 1),
        health_check_interval=30, decode_responses=True)


class CartStore:
    def __init__(self, settings: Settings, client: redis.Redis):
        self.redis, self.ttl = client, settings.cart_ttl_seconds

    @staticmethod
    def key(user_id: int) -> str:
        return f"cart:{user_id}"

    def items(self, user_id: int) -> dict[int, int]:
        pipe = self.redis.pipeline(transaction=False)
        pipe.hgetall(self.key(user_id))
        pipe.expire(self.key(user_id), self.ttl)
        raw = pipe.execute()[0]
        return {int(k): int(v) for k, v in raw.items()}

    def quantity(self, user_id: int, product_id: int) -> int:
        return int(self.redis.hget(self.key(user_id), product_id) or 0)

    def set(self, user_id: int, product_id: int, quantity: int) -> None:
        pipe = self.redis.pipeline(transaction=True)
        pipe.hset(self.key(user_id), product_id, quantity)
        pipe.expire(self.key(user_id), self.ttl)
        pipe.execute()

    def remove(self, user_id: int, *product_ids: int) -> int:
        pipe = self.redis.pipeline(transaction=True)
        pipe.hdel(self.key(user_id), *product_ids)
        pipe.expire(self.key(user_id), self.ttl)
        return pipe.execute()[0]

    def clear(self, user_id: int) -> None:
        self.redis.delete(self.key(user_id))


def _check_stock(product: dict | None, quantity: int) -> None:
    # an unknown product is a 404 here (the reference read its stock as 0 and said 400)
    if product is None:
        raise not_found("Product")
    if product["stock"] < quantity:
        raise ApiError(400, "INSUFFICIENT_STOCK", "Not enough stock",
                       [{"field": "quantity",
                         "message": f"only {product['stock']} in stock"}])


class Cart:
    auth_required = True

    def __init__(self, settings: Settings, db: Database, carts: CartStore):
        self.settings, self.db, self.carts = settings, db, carts

    def on_get(self, req, resp):
        user_id = req.context.user_id
        quantities = self.carts.items(user_id)
        products = self.db.products_by_id(quantities) if quantities else {}
        gone = [pid for pid in quantities if pid not in products]
        if gone:  # products removed from the catalogue leave the cart
            self.carts.remove(user_id, *gone)
        items, total = [], Decimal("0")
        for pid in sorted(p for p in quantities if p in products):
            product, qty = products[pid], quantities[pid]
            subtotal = product["price"] * qty
            total += subtotal
            items.append({"id": pid, "product_id": pid, "quantity": qty,
                          "name": product["name"], "price": product["price"],
                          "image_url": product["image_url"], "stock": product["stock"],
                          "subtotal": subtotal})
        ok(resp, {"items": items, "total": total})

    def on_post(self, req, resp):
        """Add a quantity of a product (on top of what the cart already holds)."""
        body = parse_json(req, ADD_FIELDS, self.settings.max_body_bytes)
        user_id, pid = req.context.user_id, body["product_id"]
        quantity = self.carts.quantity(user_id, pid) + body["quantity"]
        _check_stock(self.db.product(pid), quantity)
        self.carts.set(user_id, pid, quantity)
        ok(resp, {"message": "Added to cart", "product_id": pid, "quantity": quantity})


class CartLine:
    auth_required = True

    def __init__(self, settings: Settings, db: Database, carts: CartStore):
        self.settings, self.db, self.carts = settings, db, carts

    def on_put(self, req, resp, product_id: int):
        """Set the quantity of one line (adding it if absent)."""
        body = parse_json(req, SET_FIELDS, self.settings.max_body_bytes)
        _check_stock(self.db.product(product_id), body["quantity"])
        self.carts.set(req.context.user_id, product_id, body["quantity"])
        ok(resp, {"message": "Cart updated", "product_id": product_id,
                  "quantity": body["quantity"]})

    def on_delete(self, req, resp, product_id: int):
        if not self.carts.remove(req.context.user_id, product_id):
            raise not_found("Cart item")
        ok(resp, {"message": "Removed from cart", "product_id": product_id})


class CartClear:
    auth_required = True

    def __init__(self, carts: CartStore):
        self.carts = carts

    def on_delete(self, req, resp):
        self.carts.clear(req.context.user_id)
        ok(resp, {"message": "Cart cleared"})
