"""The cart, in Redis: one hash per user ``cart:{user_id}`` of product_id -> quantity, whose
TTL (CART_TTL_SECONDS) is refreshed on every use. Prices are never stored in the cart: GET
reads the current ones from Postgres, and checkout charges those.

Every change also writes a new random revision (field ``_rev``) in the same transaction:
checkout makes at most one order per revision, so the same cart sent twice (two tabs, a retry
after a lost answer) gives one order.
"""
from __future__ import annotations

import hashlib
import json
import secrets
from decimal import Decimal

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from app.errors import ApiError, not_found, ok
from app.fields import PRODUCT_ID, Field, quantity
from app.settings import Settings
from app.store.catalogue import CatalogueStore
from app.store.orders import Cart as CartSnapshot
from app.validation import parse_json

REV = "_rev"


def add_fields(settings: Settings) -> dict[str, Field]:
    return {"product_id": PRODUCT_ID, "quantity": quantity(settings)}


def set_fields(settings: Settings) -> dict[str, Field]:
    return {"quantity": quantity(settings)}


def make_redis(settings: Settings) -> redis.Redis:
    """A client that fails fast: one retry without backoff, short timeouts, so a Redis outage
    is a quick 503 rather than requests piling up in the workers. A rediss:// URL verifies the
    server's certificate and host name (redis-py's defaults), against REDIS_CA_FILE if set."""
    tls = settings.redis_url.startswith("rediss://")
    if settings.redis_ca_file and not tls:
        raise ValueError("REDIS_CA_FILE is set but REDIS_URL is not rediss://: "
                         "the CA would not be used")
    return redis.Redis.from_url(
        settings.redis_url, socket_timeout=settings.redis_timeout,
        socket_connect_timeout=settings.redis_timeout, retry=Retry(NoBackoff(), 1),
        health_check_interval=30, decode_responses=True,
        **({"ssl_ca_certs": settings.redis_ca_file or None} if tls else {}))


# the cart and its revision at one instant, giving a revision to a cart made before they
# existed, and refreshing the TTL
READ = f"""
if redis.call('EXISTS', KEYS[1]) == 1 then
  redis.call('HSETNX', KEYS[1], '{REV}', ARGV[1])
  redis.call('EXPIRE', KEYS[1], ARGV[2])
end
return redis.call('HGETALL', KEYS[1])
"""


class CartStore:
    def __init__(self, settings: Settings, client: redis.Redis):
        self.redis, self.ttl = client, settings.cart_ttl_seconds
        self._read = client.register_script(READ)

    @staticmethod
    def key(user_id: int) -> str:
        return f"cart:{user_id}"

    def items(self, user_id: int) -> dict[int, int]:
        return self.snapshot(user_id).items

    def snapshot(self, user_id: int) -> CartSnapshot:
        """The cart with its revision and a hash of its content, read at one instant."""
        flat = self._read(keys=[self.key(user_id)], args=[secrets.token_hex(16), self.ttl])
        raw = dict(zip(flat[::2], flat[1::2]))
        rev = raw.pop(REV, "")
        items = {int(k): int(v) for k, v in raw.items()}
        digest = hashlib.sha256(json.dumps(sorted(items.items())).encode()).hexdigest()
        return CartSnapshot(items, rev, digest)

    def quantity(self, user_id: int, product_id: int) -> int:
        return int(self.redis.hget(self.key(user_id), product_id) or 0)

    def set(self, user_id: int, product_id: int, quantity: int) -> None:
        pipe = self.redis.pipeline(transaction=True)
        pipe.hset(self.key(user_id), mapping={product_id: quantity, REV: secrets.token_hex(16)})
        pipe.expire(self.key(user_id), self.ttl)
        pipe.execute()

    def remove(self, user_id: int, *product_ids: int) -> int:
        pipe = self.redis.pipeline(transaction=True)
        pipe.hdel(self.key(user_id), *product_ids)
        pipe.hset(self.key(user_id), REV, secrets.token_hex(16))
        pipe.expire(self.key(user_id), self.ttl)
        return pipe.execute()[0]

    def clear(self, user_id: int) -> None:
        self.redis.delete(self.key(user_id))


def _check_line(settings: Settings, total: int) -> None:
    if total > settings.order_max_line_quantity:
        raise ApiError(400, "VALIDATION_ERROR", "Validation failed",
                       [{"field": "quantity", "message": "the cart would hold "
                         f"{total}: at most {settings.order_max_line_quantity} per product"}])


def _check_stock(product: dict | None, quantity: int) -> None:
    if product is None:
        raise not_found("Product")
    if product["stock"] < quantity:
        raise ApiError(409, "INSUFFICIENT_STOCK", "Not enough stock",
                       [{"field": "quantity",
                         "message": f"only {product['stock']} in stock"}])


class Cart:
    auth_required = True

    def __init__(self, settings: Settings, catalogue: CatalogueStore, carts: CartStore):
        self.settings, self.catalogue, self.carts = settings, catalogue, carts

    def on_get(self, req, resp):
        user_id = req.context.user_id
        quantities = self.carts.items(user_id)
        products = self.catalogue.products(quantities) if quantities else {}
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
        body = parse_json(req, add_fields(self.settings), self.settings.max_body_bytes)
        user_id, pid = req.context.user_id, body["product_id"]
        total = self.carts.quantity(user_id, pid) + body["quantity"]
        _check_line(self.settings, total)
        _check_stock(self.catalogue.product(pid), total)
        self.carts.set(user_id, pid, total)
        ok(resp, {"message": "Added to cart", "product_id": pid, "quantity": total})


class CartLine:
    auth_required = True

    def __init__(self, settings: Settings, catalogue: CatalogueStore, carts: CartStore):
        self.settings, self.catalogue, self.carts = settings, catalogue, carts

    def on_put(self, req, resp, product_id: int):
        """Set the quantity of one line (adding it if absent)."""
        body = parse_json(req, set_fields(self.settings), self.settings.max_body_bytes)
        _check_stock(self.catalogue.product(product_id), body["quantity"])
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
