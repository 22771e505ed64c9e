"""Payments through Stripe's official SDK: one PaymentIntent per order (idempotency key from
the order), the signed webhook that marks orders paid / failed / canceled exactly once, the
storefront's config, and a test-mode confirmation (the lab has no browser card form).

With STRIPE_API_BASE set, the SDK talks to that base (the lab's fake Stripe); otherwise to
api.stripe.com with whatever key is configured.
"""
from __future__ import annotations

import json
import logging
from decimal import Decimal

import stripe

from app.catalogue_cache import CatalogueCache
from app.db import Database
from app.errors import ApiError, ok
from app.orders import owned_order
from app.settings import Settings
from app.validation import MAX_ID, Field, parse_json, read_body

log = logging.getLogger("shop.payments")
CURRENCY = "usd"
WEBHOOK_MAX_BYTES = 65536  # as the reference (and Stripe's own events stay far below it)
TEST_CARDS = ("pm_card_visa", "pm_card_mastercard", "pm_card_chargeDeclined")
INTENT_FIELDS = {"order_id": Field(int, min=1, max=MAX_ID)}
CONFIRM_FIELDS = {"order_id": Field(int, min=1, max=MAX_ID),
                  "payment_method": Field(str, required=False, max=64)}
HANDLED = ("payment_intent.succeeded", "payment_intent.payment_failed",
           "payment_intent.canceled")


def make_stripe(settings: Settings) -> stripe.StripeClient:
    kwargs = {}
    if settings.stripe_api_base:
        kwargs["base_addresses"] = {"api": settings.stripe_api_base}
    return stripe.StripeClient(
        settings.stripe_secret_key, max_network_retries=2,
        http_client=stripe.RequestsClient(timeout=(3, 15)), **kwargs)


def cents(amount: Decimal) -> int:
    """Exact: 19.99 -> 1999 (the reference's int(total*100) made 1998 of it)."""
    return int((amount * 100).to_integral_value())


def test_mode(settings: Settings) -> bool:
    return settings.stripe_secret_key.startswith("sk_test_")


def _provider_error(exc: stripe.StripeError) -> ApiError:
    log.error("stripe: %s: %s", type(exc).__name__, exc.user_message or str(exc)[:300])
    return ApiError(502, "PAYMENT_FAILED", "The payment provider refused or failed the request")


class Payments:
    def __init__(self, settings: Settings, db: Database, client: stripe.StripeClient):
        self.settings, self.db, self.client = settings, db, client

    def intent_for(self, order_id: int, user_id: int):
        """The order's PaymentIntent, created once whoever asks and however often."""
        order = owned_order(self.db, order_id, user_id)
        if order["status"] == "paid":
            raise ApiError(400, "ALREADY_PAID", "Order already paid")
        if order["status"] == "canceled":
            raise ApiError(409, "ORDER_CANCELED", "Order was canceled")
        try:
            if order["stripe_payment_intent_id"]:
                intent = self.client.v1.payment_intents.retrieve(
                    order["stripe_payment_intent_id"])
            else:
                # the key makes a retried request (or a double click) return the same intent
                intent = self.client.v1.payment_intents.create(
                    params={"amount": cents(order["total"]), "currency": CURRENCY,
                            "automatic_payment_methods": {"enabled": True},
                            "metadata": {"order_id": str(order_id), "user_id": str(user_id)}},
                    options={"idempotency_key": f"shoplab-order-{order_id}-intent"})
                self.db.set_payment_intent(order_id, intent.id)
        except stripe.StripeError as exc:
            raise _provider_error(exc) from exc
        return intent


class Config:
    def __init__(self, settings: Settings):
        self.settings = settings

    def on_get(self, req, resp):
        ok(resp, {"publishable_key": self.settings.stripe_publishable_key,
                  "test_mode": test_mode(self.settings)})


class CreateIntent:
    auth_required = True

    def __init__(self, settings: Settings, payments: Payments):
        self.settings, self.payments = settings, payments

    def on_post(self, req, resp):
        body = parse_json(req, INTENT_FIELDS, self.settings.max_body_bytes,
                          invalid_code="INVALID_JSON")
        intent = self.payments.intent_for(body["order_id"], req.context.user_id)
        ok(resp, {"client_secret": intent.client_secret, "amount": intent.amount,
                  "payment_intent_id": intent.id})


class ConfirmTest:
    """Test mode only: pay the order with a Stripe test card, as the browser would."""
    auth_required = True

    def __init__(self, settings: Settings, payments: Payments):
        self.settings, self.payments = settings, payments

    def on_post(self, req, resp):
        if not test_mode(self.settings):
            raise ApiError(403, "TEST_MODE_ONLY", "Only available with a Stripe test key")
        body = parse_json(req, CONFIRM_FIELDS, self.settings.max_body_bytes,
                          invalid_code="INVALID_JSON")
        method = body["payment_method"] or "pm_card_visa"
        if method not in TEST_CARDS:
            raise ApiError(400, "VALIDATION_ERROR", "Validation failed",
                           [{"field": "payment_method",
                             "message": f"must be one of {', '.join(TEST_CARDS)}"}])
        intent = self.payments.intent_for(body["order_id"], req.context.user_id)
        try:
            intent = self.payments.client.v1.payment_intents.confirm(
                intent.id, params={"payment_method": method})
        except stripe.CardError as exc:
            # a declined test card: Stripe sends payment_intent.payment_failed as well
            ok(resp, {"payment_intent_id": intent.id, "status": "requires_payment_method",
                      "decline_code": exc.code})
            return
        except stripe.StripeError as exc:
            raise _provider_error(exc) from exc
        # the order turns paid when Stripe's webhook arrives, not here
        ok(resp, {"payment_intent_id": intent.id, "status": intent.status})


class Webhook:
    """Stripe -> shop. Verified with the SDK; every event id is applied at most once, in the
    same transaction as the order change (table stripe_events), so replays change nothing."""

    def __init__(self, settings: Settings, db: Database, catalogue: CatalogueCache):
        self.settings, self.db, self.catalogue = settings, db, catalogue

    def on_post(self, req, resp):
        if not self.settings.stripe_webhook_secret:
            # 503, not 2xx: Stripe keeps the event and retries once we are configured
            raise ApiError(503, "WEBHOOK_NOT_CONFIGURED", "STRIPE_WEBHOOK_SECRET is not set",
                           headers={"Retry-After": "60"})
        payload = read_body(req, WEBHOOK_MAX_BYTES)
        try:
            stripe.Webhook.construct_event(payload.decode("utf-8"),
                                           req.get_header("Stripe-Signature"),
                                           self.settings.stripe_webhook_secret)
            event = json.loads(payload)
            event_id, event_type = str(event["id"]), str(event["type"])
            obj = event["data"]["object"]
        except stripe.SignatureVerificationError:
            raise ApiError(400, "INVALID_SIGNATURE", "Webhook signature verification failed")
        except (ValueError, KeyError, TypeError, UnicodeDecodeError):
            raise ApiError(400, "INVALID_PAYLOAD", "Webhook payload is not a Stripe event")
        if event_type not in HANDLED:
            ok(resp, {"received": True, "result": "ignored"})
            return
        metadata = obj.get("metadata") or {}
        try:
            order_id = int(metadata.get("order_id"))
        except (TypeError, ValueError):
            order_id = None
        if order_id is not None and not 0 < order_id <= MAX_ID:
            order_id = None
        intent_id = obj.get("id") if isinstance(obj.get("id"), str) else None
        result = self.db.apply_payment_event(event_id[:255], event_type, order_id, intent_id)
        log.info("stripe event %s %s order=%s: %s", event_id, event_type, order_id, result)
        if result == "applied" and event_type == "payment_intent.canceled":
            self.catalogue.changed()  # the order's stock is back on the shelf
        ok(resp, {"received": True, "result": result})
