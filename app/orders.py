"""Checkout (cart -> order in one transaction, never overselling, at most one order per cart
revision or Idempotency-Key), the owner's cancel, order list and detail."""
from __future__ import annotations

import logging

import redis
import stripe

from app import payment_provider
from app.cart import CartStore
from app.catalogue_cache import CatalogueCache
from app.errors import ApiError, not_found, ok
from app.fields import IDEMPOTENCY_KEY_MAX
from app.lifecycle import Lifecycle
from app.order_states import Event, Status
from app.settings import Settings
from app.store.orders import CheckoutRefused, Limits, OrderStore
from app.validation import query_int

log = logging.getLogger("shop.orders")
ORDER_FIELDS = ("id", "total", "status", "payment_status", "hold_expires_at", "items",
                "created_at", "updated_at")


def refusal(exc: CheckoutRefused, settings: Settings) -> ApiError:
    """The answer to a checkout that changed nothing."""
    if exc.reason == "stock":
        return ApiError(409, "INSUFFICIENT_STOCK", "Not enough stock for some items",
                        [{"field": f"items.{s['product_id']}",
                          "message": f"requested {s['requested']}, {s['available']} available"}
                         for s in exc.details])
    if exc.reason == "pending_limit":
        return ApiError(409, "TOO_MANY_PENDING_ORDERS",
                        f"At most {settings.order_max_pending} unpaid orders at a time: pay or "
                        "cancel one first")
    if exc.reason == "total_limit":
        return ApiError(422, "ORDER_TOO_LARGE",
                        f"An order may total at most {settings.order_max_total} USD",
                        [{"field": "total", "message": f"{exc.details['total']} USD"}])
    if exc.reason == "key_reused":
        return ApiError(422, "IDEMPOTENCY_KEY_REUSED",
                        "This Idempotency-Key was used with another cart")
    if exc.reason == "no_user":
        return ApiError(401, "UNAUTHORIZED", "The account no longer exists")
    return ApiError(400, "EMPTY_CART", "Cart is empty")


def idempotency_key(req) -> str | None:
    key = req.get_header("Idempotency-Key")
    if key is None:
        return None
    if not 0 < len(key) <= IDEMPOTENCY_KEY_MAX or not key.isascii() or not key.isprintable():
        raise ApiError(400, "VALIDATION_ERROR", "Validation failed",
                       [{"field": "Idempotency-Key", "message": "1 to "
                         f"{IDEMPOTENCY_KEY_MAX} printable ASCII characters"}])
    return key


def order_view(order: dict) -> dict:
    return {k: order[k] for k in ORDER_FIELDS if k in order}


class Orders:
    auth_required = True

    def __init__(self, settings: Settings, orders: OrderStore, carts: CartStore,
                 catalogue: CatalogueCache):
        self.settings, self.orders, self.carts, self.catalogue = settings, orders, carts, catalogue
        self.limits = Limits(settings.order_hold_minutes, settings.order_max_pending,
                             settings.order_max_total)

    def on_post(self, req, resp):
        user_id, key = req.context.user_id, idempotency_key(req)
        cart = self.carts.snapshot(user_id)
        over = {pid: qty for pid, qty in cart.items.items()
                if qty > self.settings.order_max_line_quantity}
        if over:  # a cart filled before the cap was lowered
            raise ApiError(422, "LINE_QUANTITY_TOO_LARGE",
                           f"At most {self.settings.order_max_line_quantity} units per product",
                           [{"field": f"items.{pid}", "message": f"{qty} units"}
                            for pid, qty in sorted(over.items())])
        try:
            order, replayed = self.orders.place(user_id, cart, self.limits, key)
        except CheckoutRefused as exc:
            raise refusal(exc, self.settings) from None
        if replayed:
            resp.set_header("Idempotent-Replayed", "true")
        else:
            self.catalogue.changed()  # stock went down: no listing may show the old count
        try:
            self.carts.clear(user_id)
        except redis.exceptions.RedisError as exc:
            # the order is committed; the cart's revision makes a second checkout of it
            # give back this same order
            log.error("order %s placed but cart of user %s not cleared: %s",
                      order["id"], user_id, exc)
        resp.set_header("Location", f"/api/orders/{order['id']}")
        ok(resp, order_view(order), 201)

    def on_get(self, req, resp):
        per_page = min(query_int(req, "per_page", 50), 100)
        page = query_int(req, "page", 1)
        ok(resp, self.orders.list(req.context.user_id, per_page, (page - 1) * per_page))


def owned_order(orders: OrderStore, order_id: int, user_id: int, *, items: bool = False) -> dict:
    """The caller's order; another user's is as unknown as a missing one (404)."""
    order = orders.get(order_id, items=items)
    if order is None or order["user_id"] != user_id:
        raise not_found("Order")
    return order


class OrderDetail:
    auth_required = True

    def __init__(self, orders: OrderStore):
        self.orders = orders

    def on_get(self, req, resp, order_id: int):
        ok(resp, order_view(owned_order(self.orders, order_id, req.context.user_id, items=True)))


class OrderCancel:
    """The owner cancels a pending order: its intent is canceled at Stripe, its stock returns."""
    auth_required = True

    def __init__(self, orders: OrderStore, lifecycle: Lifecycle):
        self.orders, self.lifecycle = orders, lifecycle

    def on_post(self, req, resp, order_id: int):
        order = owned_order(self.orders, order_id, req.context.user_id, items=True)
        if order["status"] == Status.PENDING:
            try:
                self.lifecycle.close(order, Event.CANCEL)
            except stripe.StripeError as exc:
                raise payment_provider.provider_error(exc) from exc
            order = owned_order(self.orders, order_id, req.context.user_id, items=True)
            if order["status"] == Status.PENDING:
                raise ApiError(409, "PAYMENT_IN_PROGRESS",
                               "The payment is being processed; try again in a moment",
                               headers={"Retry-After": "5"})
        if order["status"] != Status.CANCELED:
            raise ApiError(409, "ORDER_NOT_PENDING",
                           f"Order is {order['status']} and can no longer be canceled",
                           [{"field": "status", "message": order["status"]}])
        ok(resp, order_view(order))
