"""The order state machine: every state an order can be in and every move between them.

    pending --pay------> paid --refund--> refunded
    pending --cancel---> canceled          (the owner, or the intent canceled at Stripe)
    pending --expire---> expired           (the hold lapsed; the reaper)
    pending --refund---> refunded          (a refund reported before the payment itself)

A move that releases stock puts the order's units back on the shelf in the same transaction.
Any (state, event) pair not listed is no move: the event is recorded and changes nothing, which
is what makes replays, duplicates and out-of-order deliveries harmless. One pair is special: a
payment for an order already canceled or expired is *late* — the order stays as it is and the
money goes back (``is_late_payment``).

The stores apply a move with ``UPDATE ... WHERE status = <from>`` under the order's row lock,
so two workers (or hosts) can never apply two moves from the same state.
"""
from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Status(StrEnum):
    PENDING = "pending"
    PAID = "paid"
    CANCELED = "canceled"
    EXPIRED = "expired"
    REFUNDED = "refunded"


class Event(StrEnum):
    PAY = "pay"
    CANCEL = "cancel"
    EXPIRE = "expire"
    REFUND = "refund"


@dataclass(frozen=True)
class Move:
    to: Status
    payment_status: str
    releases_stock: bool


MOVES: dict[tuple[Status, Event], Move] = {
    (Status.PENDING, Event.PAY): Move(Status.PAID, "succeeded", False),
    (Status.PENDING, Event.CANCEL): Move(Status.CANCELED, "canceled", True),
    (Status.PENDING, Event.EXPIRE): Move(Status.EXPIRED, "canceled", True),
    (Status.PENDING, Event.REFUND): Move(Status.REFUNDED, "refunded", True),
    # the goods of a paid order may be on their way: a refund gives money back, not stock
    (Status.PAID, Event.REFUND): Move(Status.REFUNDED, "refunded", False),
}

# states an order never leaves through a payment event other than a refund
CLOSED = frozenset({Status.CANCELED, Status.EXPIRED})


def move(current: str, event: Event) -> Move | None:
    """The move ``event`` makes from ``current``, or None when it makes none."""
    return MOVES.get((Status(current), event))


def is_late_payment(current: str, event: Event) -> bool:
    """A payment arrived for an order that no longer waits for one: refund it."""
    return event is Event.PAY and Status(current) in CLOSED
