"""Closing unpaid orders and returning late payments, by one rule that decides every race:

- stock goes back only once the order's PaymentIntent is canceled at Stripe (or it never had
  one): Stripe then guarantees no payment can succeed on it any more;
- if Stripe answers that the intent already succeeded, the order is paid, not closed;
- if Stripe cannot be asked, nothing changes: the stock stays held and the caller tries again
  (the owner gets a 503, the reaper retries at its next pass);
- a payment that still arrives for a closed order is refunded through Stripe and recorded.

Used by the owner's cancel route, the reaper (app/reaper.py) and the webhook.
"""
from __future__ import annotations

import logging

import stripe

from app import payment_provider
from app.catalogue_cache import CatalogueCache
from app.order_states import Event, Move
from app.store.orders import OrderStore
from app.store.payments import PaymentStore

log = logging.getLogger("shop.lifecycle")


class Lifecycle:
    def __init__(self, orders: OrderStore, payments: PaymentStore,
                 client: stripe.StripeClient, catalogue: CatalogueCache):
        self.orders, self.payments, self.client = orders, payments, client
        self.catalogue = catalogue

    def close(self, order: dict, event: Event) -> Move | None:
        """Cancel (Event.CANCEL, the owner) or expire (Event.EXPIRE, the reaper) a pending
        order: the move made, or None when the order stays as it is. Raises
        stripe.StripeError when Stripe cannot be asked."""
        intent_id = order.get("stripe_payment_intent_id")
        if intent_id:
            reason = (payment_provider.CANCELED_BY_EXPIRY if event is Event.EXPIRE
                      else payment_provider.CANCELED_BY_OWNER)
            status = payment_provider.cancel_intent(self.client, intent_id, reason)
            if status == "succeeded":  # paid before the cancel reached Stripe
                log.info("order %s: intent %s succeeded, the order is paid", order["id"], intent_id)
                return self.orders.apply(order["id"], Event.PAY, {"by": "stripe_status"})
            if status != "canceled":
                log.info("order %s: intent %s is %s, kept for now", order["id"], intent_id, status)
                return None
        step = self.orders.apply(order["id"], event, {"intent": intent_id})
        if step is not None and step.releases_stock:
            self.catalogue.changed()
        return step

    def refund_late_payment(self, intent_id: str) -> str:
        """Refund the payment that arrived after its order closed: the refund's id. Raises
        stripe.StripeError when it could not be done (the reaper retries)."""
        refund_id = payment_provider.refund(self.client, intent_id)
        self.payments.refunded(intent_id, refund_id)
        log.warning("late payment on %s refunded (%s)", intent_id, refund_id)
        return refund_id
