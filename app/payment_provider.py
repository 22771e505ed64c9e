"""Stripe through its official SDK: the client, amounts, and what Stripe's answers mean here.

Every call is bounded: STRIPE_TIMEOUT seconds per attempt and at most STRIPE_MAX_RETRIES retries
(made safe by idempotency keys), so a slow Stripe holds a request thread for about twice the
timeout before the shop answers 503 with Retry-After. With STRIPE_API_BASE set the SDK talks to
that base (the lab's fake Stripe) instead of api.stripe.com.
"""
from __future__ import annotations

import logging
from decimal import Decimal

import stripe

from app.errors import RETRY_AFTER, ApiError
from app.settings import Settings

log = logging.getLogger("shop.stripe")
CURRENCY = "usd"
# why an intent is canceled (Stripe's cancellation_reason values): the webhook tells an
# expiry from a cancel by it
CANCELED_BY_OWNER = "requested_by_customer"
CANCELED_BY_EXPIRY = "abandoned"


def make_stripe(settings: Settings) -> stripe.StripeClient:
    kwargs = {}
    if settings.stripe_api_base:
        kwargs["base_addresses"] = {"api": settings.stripe_api_base}
    timeout = settings.stripe_timeout
    return stripe.StripeClient(
        settings.stripe_secret_key, max_network_retries=settings.stripe_max_retries,
        http_client=stripe.RequestsClient(timeout=(min(3.0, timeout), timeout)), **kwargs)


def cents(amount: Decimal) -> int:
    """Exact: 19.99 -> 1999."""
    return int((amount * 100).to_integral_value())


def unexpected_state(exc: stripe.StripeError) -> bool:
    return isinstance(exc, stripe.InvalidRequestError) and exc.code == "payment_intent_unexpected_state"


def provider_error(exc: stripe.StripeError) -> ApiError:
    """The shop's answer when a Stripe call failed."""
    log.warning("stripe: %s: %s", type(exc).__name__, exc.user_message or str(exc)[:300])
    if isinstance(exc, (stripe.APIConnectionError, stripe.RateLimitError)) or (
            isinstance(exc, stripe.APIError) and (exc.http_status or 500) >= 500):
        return ApiError(503, "PAYMENT_PROVIDER_UNAVAILABLE",
                        "The payment provider did not answer, try again",
                        headers={"Retry-After": RETRY_AFTER})
    if unexpected_state(exc):
        intent = (exc.error.payment_intent if exc.error is not None else None) or {}
        status = intent.get("status") if hasattr(intent, "get") else None
        return ApiError(409, "PAYMENT_STATE_CONFLICT",
                        "The payment is not in a state that allows this",
                        [{"field": "payment_intent.status", "message": str(status or "unknown")}])
    return ApiError(502, "PAYMENT_FAILED", "The payment provider refused or failed the request")


def cancel_intent(client: stripe.StripeClient, intent_id: str, reason: str) -> str:
    """Cancel the intent; its status at Stripe afterwards: "canceled", or what stopped the
    cancel ("succeeded": the payment went through; "processing": ask again later). Raises
    stripe.StripeError when Stripe cannot be asked."""
    try:
        return client.v1.payment_intents.cancel(
            intent_id, params={"cancellation_reason": reason}).status
    except stripe.InvalidRequestError as exc:
        if not unexpected_state(exc):
            raise
    return client.v1.payment_intents.retrieve(intent_id).status


def refund(client: stripe.StripeClient, intent_id: str) -> str:
    """Refund the whole payment of ``intent_id`` once, however often asked: the refund's id."""
    try:
        return client.v1.refunds.create(
            params={"payment_intent": intent_id, "reason": "requested_by_customer",
                    "metadata": {"shoplab": "late_payment"}},
            options={"idempotency_key": f"shoplab-late-payment-{intent_id}"}).id
    except stripe.InvalidRequestError as exc:
        if exc.code != "charge_already_refunded":
            raise
    return "already_refunded"  # by someone else (the Dashboard): the money is back all the same
