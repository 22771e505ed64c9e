"""Payment routes: one PaymentIntent per order, the storefront's config, a test-mode
confirmation (the lab has no browser card form), and Stripe's signed webhook.

The webhook turns each event into a ``PaymentFact`` and the payment store applies it to the
order it belongs to, exactly once (table stripe_events, same transaction as the order change).
"""
from __future__ import annotations

import json
import logging

import stripe

from app import payment_provider
from app.catalogue_cache import CatalogueCache
from app.errors import ApiError, ok
from app.fields import ORDER_ID, TEST_CARDS, Field
from app.lifecycle import Lifecycle
from app.order_states import Event, Status
from app.orders import owned_order
from app.settings import Settings
from app.store.orders import OrderStore
from app.store.payments import Outcome, PaymentFact, PaymentStore
from app.validation import parse_json, read_body

log = logging.getLogger("shop.payments")
WEBHOOK_MAX_BYTES = 65536  # Stripe's own events stay far below it
INTENT_FIELDS = {"order_id": ORDER_ID}
CONFIRM_FIELDS = {"order_id": ORDER_ID,
                  "payment_method": Field(str, required=False, max=64, choices=TEST_CARDS)}


def test_mode(settings: Settings) -> bool:
    return settings.stripe_secret_key.startswith("sk_test_")


class Payments:
    def __init__(self, orders: OrderStore, client: stripe.StripeClient):
        self.orders, self.client = orders, client

    def intent_for(self, order_id: int, user_id: int):
        """The order's PaymentIntent, created once whoever asks and however often."""
        order = owned_order(self.orders, order_id, user_id)
        if order["status"] == Status.PAID:
            raise ApiError(409, "ALREADY_PAID", "Order already paid")
        if order["status"] != Status.PENDING:
            raise ApiError(409, f"ORDER_{order['status'].upper()}",
                           f"Order is {order['status']}")
        try:
            if order["stripe_payment_intent_id"]:
                return self.client.v1.payment_intents.retrieve(order["stripe_payment_intent_id"])
            # the key makes a retried request (or a double click) return the same intent;
            # the order's ref keeps it apart from any other order with the same id
            intent = self.client.v1.payment_intents.create(
                params={"amount": payment_provider.cents(order["total"]),
                        "currency": payment_provider.CURRENCY,
                        "automatic_payment_methods": {"enabled": True},
                        "metadata": {"order_id": str(order_id), "order_ref": str(order["ref"]),
                                     "user_id": str(user_id)}},
                options={"idempotency_key": f"shoplab-order-{order['ref']}-intent"})
            stored = self.orders.set_payment_intent(order_id, intent.id)
            if stored != intent.id:  # another request stored its own first: use that one
                intent = self.client.v1.payment_intents.retrieve(stored)
        except stripe.StripeError as exc:
            raise payment_provider.provider_error(exc) from exc
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
        method = body["payment_method"] or TEST_CARDS[0]
        intent = self.payments.intent_for(body["order_id"], req.context.user_id)
        try:
            intent = self.payments.client.v1.payment_intents.confirm(
                intent.id, params={"payment_method": method})
        except stripe.CardError as exc:
            # a declined test card: Stripe sends payment_intent.payment_failed as well
            error = exc.error
            ok(resp, {"payment_intent_id": intent.id, "status": "requires_payment_method",
                      "decline_code": (error.decline_code if error is not None else None)
                      or exc.code})
            return
        except stripe.StripeError as exc:
            raise payment_provider.provider_error(exc) from exc
        # the order turns paid when Stripe's webhook arrives, not here
        ok(resp, {"payment_intent_id": intent.id, "status": intent.status})


def payment_fact(event: dict) -> PaymentFact | None:
    """What a verified Stripe event says about an order's payment; None for event types the
    shop does not act on. Raises KeyError/TypeError/ValueError for a malformed event."""
    event_id, kind = str(event["id"])[:255], str(event["type"])
    obj = event["data"]["object"]
    if kind.startswith("payment_intent."):
        metadata = obj.get("metadata") or {}
        base = dict(event_id=event_id, event_type=kind, intent_id=_str(obj.get("id")),
                    order_id=_order_id(metadata.get("order_id")),
                    order_ref=_str(metadata.get("order_ref")))
        if kind == "payment_intent.succeeded":
            return PaymentFact(**base, event=Event.PAY, amount=int(obj["amount_received"]),
                               currency=str(obj["currency"]))
        if kind == "payment_intent.canceled":
            expired = obj.get("cancellation_reason") == payment_provider.CANCELED_BY_EXPIRY
            return PaymentFact(**base, event=Event.EXPIRE if expired else Event.CANCEL)
        if kind == "payment_intent.payment_failed":
            return PaymentFact(**base, payment_status="failed")
        return None
    # charge.* events: data.object is the charge (disputes: the dispute), tied to its intent
    base = dict(event_id=event_id, event_type=kind, intent_id=_str(obj.get("payment_intent")))
    if kind == "charge.refunded":
        if obj.get("refunded"):  # the whole amount is back with the payer
            return PaymentFact(**base, event=Event.REFUND, amount=int(obj["amount"]),
                               currency=str(obj["currency"]))
        return PaymentFact(**base, payment_status="partially_refunded",
                           when_status=(Status.PAID,))
    if kind == "charge.dispute.created":
        return PaymentFact(**base, payment_status="disputed", when_status=(Status.PAID,))
    if kind == "charge.dispute.closed":
        if obj.get("status") == "lost":  # the money went back through the bank
            return PaymentFact(**base, event=Event.REFUND)
        return PaymentFact(**base, payment_status="succeeded", when_status=(Status.PAID,),
                           when_payment_status=("disputed",))
    return None


def _str(value) -> str | None:
    return value[:255] if isinstance(value, str) and value else None


def _order_id(value) -> int | None:
    try:
        order_id = int(value)
    except (TypeError, ValueError):
        return None
    return order_id if ORDER_ID.min <= order_id <= ORDER_ID.max else None


class Webhook:
    """Stripe -> shop. Verified with the SDK; its signature is its authentication (no client
    rate limit applies). Answers 200 for every verified event, applied or not, so that Stripe
    stops resending; only a shop that cannot record it (503) makes Stripe try again."""

    def __init__(self, settings: Settings, payments: PaymentStore, lifecycle: Lifecycle,
                 catalogue: CatalogueCache):
        self.settings, self.payments, self.lifecycle = settings, payments, lifecycle
        self.catalogue = catalogue

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
            fact = payment_fact(json.loads(payload))
        except stripe.SignatureVerificationError:
            raise ApiError(400, "INVALID_SIGNATURE", "Webhook signature verification failed")
        except (ValueError, KeyError, TypeError, AttributeError, RecursionError):
            raise ApiError(400, "INVALID_PAYLOAD", "Webhook payload is not a Stripe event")
        if fact is None:
            ok(resp, {"received": True, "result": str(Outcome.IGNORED)})
            return
        applied = self.payments.apply(fact)
        level = logging.WARNING if applied.outcome is Outcome.MISMATCH else logging.INFO
        log.log(level, "stripe event %s %s intent=%s order=%s: %s%s", fact.event_id,
                fact.event_type, fact.intent_id, applied.order_id, applied.outcome,
                f" ({applied.reason})" if applied.reason else "")
        if applied.releases_stock:
            self.catalogue.changed()  # the order's stock is back on the shelf
        if applied.outcome is Outcome.LATE_PAYMENT:
            try:
                self.lifecycle.refund_late_payment(fact.intent_id)
            except stripe.StripeError as exc:  # recorded: the reaper retries the refund
                log.warning("late payment on %s: refund deferred: %s", fact.intent_id, exc)
        ok(resp, {"received": True, "result": str(applied.outcome)})
