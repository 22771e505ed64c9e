"""Stripe's events applied to orders, each exactly once, and the refunds of late payments.

An event moves an order only when it is about the order's own PaymentIntent (the stored intent
id; or, for an order whose intent id is not stored yet, the intent's metadata naming the order
by id *and* its unguessable ``ref``) and, when it carries money, for the order's amount in the
order's currency. Anything else is recorded as a mismatch and changes nothing.
"""
from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from psycopg.rows import dict_row

from app import order_states
from app.db import Database
from app.order_states import Event, Status
from app.payment_provider import CURRENCY, cents
from app.store.orders import apply_move, record


class Outcome(StrEnum):
    DUPLICATE = "duplicate"        # this event id was applied before
    MISMATCH = "mismatch"          # not this shop's intent, or not the order's amount/currency
    APPLIED = "applied"            # the order moved (or its payment status changed)
    IGNORED = "ignored"            # recorded; no move from the order's state
    LATE_PAYMENT = "late_payment"  # paid after the order expired or was canceled: refund due


@dataclass(frozen=True)
class PaymentFact:
    """What one Stripe event says about one PaymentIntent."""
    event_id: str
    event_type: str
    intent_id: str | None
    order_id: int | None = None      # the intent's metadata
    order_ref: str | None = None
    amount: int | None = None        # cents the event is about, when it is about money
    currency: str | None = None
    event: Event | None = None       # the state-machine event, if any
    payment_status: str | None = None  # otherwise: the payment status it reports
    # payment_status changes only from these order states (and payment statuses)
    when_status: tuple[str, ...] = (Status.PENDING,)
    when_payment_status: tuple[str, ...] | None = None


@dataclass(frozen=True)
class Applied:
    outcome: Outcome
    order_id: int | None = None
    releases_stock: bool = False
    reason: str | None = None


class PaymentStore:
    def __init__(self, db: Database):
        self.db = db

    def apply(self, fact: PaymentFact) -> Applied:
        """Record the event and apply it to its order, atomically and at most once."""
        with self.db.connection() as conn, conn.transaction():
            cur = conn.cursor(row_factory=dict_row)
            if cur.execute("INSERT INTO stripe_events (id, type) VALUES (%s, %s)"
                           " ON CONFLICT (id) DO NOTHING RETURNING id",
                           (fact.event_id, fact.event_type)).fetchone() is None:
                return Applied(Outcome.DUPLICATE)
            order = self._order_for(cur, fact)
            problem = _mismatch(fact, order)
            if problem:
                record(cur, order["id"] if order else None, "payment_mismatch",
                       {"reason": problem, "event": fact.event_id, "type": fact.event_type,
                        "intent": fact.intent_id, "amount": fact.amount,
                        "currency": fact.currency})
                return Applied(Outcome.MISMATCH, order["id"] if order else None, reason=problem)
            oid = order["id"]
            cur.execute("UPDATE stripe_events SET order_id = %s WHERE id = %s",
                        (oid, fact.event_id))
            if fact.event is not None:
                if order_states.is_late_payment(order["status"], fact.event):
                    cur.execute("INSERT INTO late_payments (payment_intent_id, order_id, amount,"
                                " currency) VALUES (%s, %s, %s, %s) ON CONFLICT DO NOTHING",
                                (fact.intent_id, oid, fact.amount, fact.currency))
                    record(cur, oid, "late_payment", {"intent": fact.intent_id,
                                                      "amount": fact.amount})
                    return Applied(Outcome.LATE_PAYMENT, oid)
                step = apply_move(cur, oid, fact.event, {"stripe_event": fact.event_id})
                if step is None:
                    return Applied(Outcome.IGNORED, oid)
                return Applied(Outcome.APPLIED, oid, releases_stock=step.releases_stock)
            changed = cur.execute(
                "UPDATE orders SET payment_status = %s, updated_at = now() WHERE id = %s"
                " AND status = ANY(%s) AND (%s::text[] IS NULL OR payment_status = ANY(%s))",
                (fact.payment_status, oid, list(fact.when_status),
                 fact.when_payment_status and list(fact.when_payment_status),
                 fact.when_payment_status and list(fact.when_payment_status))).rowcount
            if not changed:
                return Applied(Outcome.IGNORED, oid)
            record(cur, oid, f"payment_{fact.payment_status}", {"stripe_event": fact.event_id})
            return Applied(Outcome.APPLIED, oid)

    @staticmethod
    def _order_for(cur, fact: PaymentFact) -> dict | None:
        if not fact.intent_id:
            return None
        order = cur.execute("SELECT id, ref, total, status FROM orders"
                            " WHERE stripe_payment_intent_id = %s FOR UPDATE",
                            (fact.intent_id,)).fetchone()
        if order is None and fact.order_id is not None and fact.order_ref:
            # the intent was created but its id not stored yet (a crash or a race between
            # create-intent and this event): the order named by id and ref adopts it
            order = cur.execute(
                "UPDATE orders SET stripe_payment_intent_id = %s, updated_at = now()"
                " WHERE id = %s AND ref::text = %s AND stripe_payment_intent_id IS NULL"
                " RETURNING id, ref, total, status",
                (fact.intent_id, fact.order_id, fact.order_ref)).fetchone()
        return order

    # --- late payments -------------------------------------------------------------------
    def refunds_due(self, limit: int = 50) -> list[dict]:
        with self.db.connection() as conn:
            cur = conn.cursor(row_factory=dict_row)
            return cur.execute("SELECT payment_intent_id, order_id FROM late_payments"
                               " WHERE refunded_at IS NULL ORDER BY created_at LIMIT %s",
                               (limit,)).fetchall()

    def refunded(self, intent_id: str, refund_id: str) -> None:
        """The late payment on ``intent_id`` is back with its payer."""
        with self.db.connection() as conn, conn.transaction():
            cur = conn.cursor(row_factory=dict_row)
            row = cur.execute("UPDATE late_payments SET refund_id = %s, refunded_at = now()"
                              " WHERE payment_intent_id = %s AND refunded_at IS NULL"
                              " RETURNING order_id", (refund_id, intent_id)).fetchone()
            if row is not None:
                record(cur, row["order_id"], "late_payment_refunded",
                       {"intent": intent_id, "refund": refund_id})


def _mismatch(fact: PaymentFact, order: dict | None) -> str | None:
    """Why the event must not touch the order, or None."""
    if order is None:
        return "unknown_intent"
    if fact.currency is not None and fact.currency.lower() != CURRENCY:
        return "currency"
    if fact.amount is not None and fact.amount != cents(order["total"]):
        return "amount"
    return None
