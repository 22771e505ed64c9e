"""Checkout (cart -> order in one transaction, never overselling), order list and detail."""
from __future__ import annotations

import logging

import redis

from app.cart import CartStore
from app.catalogue_cache import CatalogueCache
from app.db import Database
from app.errors import ApiError, not_found, ok
from app.validation import query_int

log = logging.getLogger("shop.orders")


class Orders:
    auth_required = True

    def __init__(self, db: Database, carts: CartStore, catalogue: CatalogueCache):
        self.db, self.carts, self.catalogue = db, carts, catalogue

    def on_post(self, req, resp):
        user_id = req.context.user_id
        cart = self.carts.items(user_id)
        if not cart:
            raise ApiError(400, "EMPTY_CART", "Cart is empty")
        order, shortages = self.db.place_order(user_id, cart)
        if shortages:
            raise ApiError(409, "INSUFFICIENT_STOCK", "Not enough stock for some items",
                           [{"field": f"items.{s['product_id']}",
                             "message": f"requested {s['requested']}, "
                                        f"{s['available']} available"} for s in shortages])
        self.catalogue.changed()  # stock went down: no listing may show the old count
        try:
            self.carts.clear(user_id)
        except redis.exceptions.RedisError as exc:
            # the order is committed: say so, and leave the stale cart for the user to clear
            log.error("order %s placed but cart of user %s not cleared: %s",
                      order["id"], user_id, exc)
        ok(resp, {"id": order["id"], "total": order["total"], "status": order["status"],
                  "created_at": order["created_at"]}, 201)

    def on_get(self, req, resp):
        per_page = min(query_int(req, "per_page", 50), 100)
        page = query_int(req, "page", 1)
        ok(resp, self.db.list_orders(req.context.user_id, per_page, (page - 1) * per_page))


def owned_order(db: Database, order_id: int, user_id: int, *, items: bool = False) -> dict:
    order = db.order(order_id, items=items)
    if order is None:
        raise not_found("Order")
    if order["user_id"] != user_id:
        raise ApiError(403, "FORBIDDEN", "Not your order")
    return order


class OrderDetail:
    auth_required = True

    def __init__(self, db: Database):
        self.db = db

    def on_get(self, req, resp, order_id: int):
        order = owned_order(self.db, order_id, req.context.user_id, items=True)
        ok(resp, {k: order[k] for k in ("id", "total", "status", "payment_status", "items",
                                        "created_at", "updated_at")})
