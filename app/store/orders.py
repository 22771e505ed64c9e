"""Orders: checkout, reading, and the moves of the state machine (app/order_states.py).

Every write is one transaction. Locks are always taken in the same order — the user's row
(checkout), then the order's row (moves), then products by id — so concurrent checkouts,
cancels, expiries and webhooks queue instead of deadlocking.
"""
from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

from app import order_states
from app.db import Database
from app.order_states import Event, Move

ORDER_COLUMNS = ("id, user_id, ref, total, status, payment_status, stripe_payment_intent_id,"
                 " hold_expires_at, created_at, updated_at")
ITEM_COLUMNS = "product_id, product_name AS name, quantity, price, subtotal"
# Stripe keeps idempotency keys 24 h; so does checkout
KEY_HOURS = 24


class CheckoutRefused(Exception):
    """Checkout changed nothing; ``reason`` says why, ``details`` what to show."""

    def __init__(self, reason: str, details=None):
        super().__init__(reason)
        self.reason, self.details = reason, details


@dataclass(frozen=True)
class Limits:
    """What one account may hold (the ORDER_* settings)."""
    hold_minutes: int
    max_pending: int
    max_total: Decimal


@dataclass(frozen=True)
class Cart:
    """What is checked out: {product_id: quantity}, the cart's revision and content hash."""
    items: dict[int, int]
    rev: str
    digest: str


class OrderStore:
    def __init__(self, db: Database):
        self.db = db

    # --- checkout ------------------------------------------------------------------------
    def place(self, user_id: int, cart: Cart, limits: Limits,
              key: str | None = None) -> tuple[dict, bool]:
        """Turn the cart into an order in one transaction: (order, replayed).

        The same cart revision, or the same Idempotency-Key within KEY_HOURS, gives back the
        order it made the first time (``replayed``) however often and however concurrently it
        is sent, so a retry after an ambiguous failure never makes a second order. Raises
        CheckoutRefused (nothing changed) for a reused key, an empty cart, the account's caps
        or a shortage."""
        ids = sorted(cart.items)
        with self.db.connection() as conn, conn.transaction():
            cur = conn.cursor(row_factory=dict_row)
            # one checkout per account at a time: the caps below count what is committed
            if cur.execute("SELECT id FROM users WHERE id = %s FOR UPDATE",
                           (user_id,)).fetchone() is None:
                raise CheckoutRefused("no_user")
            earlier = None
            if key is not None:
                earlier = cur.execute(
                    "SELECT cart_hash, order_id FROM checkout_keys WHERE user_id = %s"
                    " AND key = %s AND created_at > now() - make_interval(hours => %s)",
                    (user_id, key, KEY_HOURS)).fetchone()
                if earlier is not None:
                    # after a success the cart is empty: a retry then still gets its order
                    if cart.items and earlier["cart_hash"] != cart.digest:
                        raise CheckoutRefused("key_reused")
                    return self._order(cur, earlier["order_id"]), True
                cur.execute("DELETE FROM checkout_keys WHERE user_id = %s AND key = %s",
                            (user_id, key))  # a key older than KEY_HOURS is free again
            if not cart.items:
                raise CheckoutRefused("empty")
            same_cart = cur.execute("SELECT id FROM orders WHERE user_id = %s AND cart_rev = %s",
                                    (user_id, cart.rev)).fetchone()
            if same_cart is not None:
                self._remember_key(cur, user_id, key, cart, same_cart["id"])
                return self._order(cur, same_cart["id"]), True
            pending = cur.execute(
                "SELECT count(*) AS n FROM orders WHERE user_id = %s AND status = 'pending'",
                (user_id,)).fetchone()["n"]
            if pending >= limits.max_pending:
                raise CheckoutRefused("pending_limit", {"pending": pending,
                                                        "limit": limits.max_pending})
            found = {r["id"]: r for r in cur.execute(
                "SELECT id, name, price, stock FROM products WHERE id = ANY(%s)"
                " ORDER BY id FOR UPDATE", (ids,))}
            shortages = [{"product_id": pid, "requested": cart.items[pid],
                          "available": found[pid]["stock"] if pid in found else 0}
                         for pid in ids
                         if pid not in found or found[pid]["stock"] < cart.items[pid]]
            if shortages:
                raise CheckoutRefused("stock", shortages)
            lines = [(pid, found[pid]["name"], cart.items[pid], found[pid]["price"],
                      found[pid]["price"] * cart.items[pid]) for pid in ids]
            total = sum((line[4] for line in lines), Decimal("0"))
            if total > limits.max_total:
                raise CheckoutRefused("total_limit", {"total": total, "limit": limits.max_total})
            cur.execute(
                "UPDATE products p SET stock = p.stock - c.qty, updated_at = now()"
                " FROM unnest(%s::bigint[], %s::int[]) AS c(id, qty) WHERE p.id = c.id",
                (ids, [cart.items[i] for i in ids]))
            order_id = cur.execute(
                "INSERT INTO orders (user_id, total, cart_rev, hold_expires_at)"
                " VALUES (%s, %s, %s, now() + make_interval(mins => %s)) RETURNING id",
                (user_id, total, cart.rev, limits.hold_minutes)).fetchone()["id"]
            cur.executemany(
                "INSERT INTO order_items (order_id, product_id, product_name, quantity,"
                " price, subtotal) VALUES (%s, %s, %s, %s, %s, %s)",
                [(order_id, *line) for line in lines])
            self._remember_key(cur, user_id, key, cart, order_id)
            record(cur, order_id, "placed", {"total": str(total)})
            return self._order(cur, order_id), False

    @staticmethod
    def _remember_key(cur, user_id: int, key: str | None, cart: Cart, order_id: int) -> None:
        if key is not None:
            cur.execute("INSERT INTO checkout_keys (user_id, key, cart_hash, order_id)"
                        " VALUES (%s, %s, %s, %s)", (user_id, key, cart.digest, order_id))

    # --- reading -------------------------------------------------------------------------
    @staticmethod
    def _order(cur, order_id: int, *, items: bool = True) -> dict | None:
        order = cur.execute(f"SELECT {ORDER_COLUMNS} FROM orders WHERE id = %s",
                            (order_id,)).fetchone()
        if order is None or not items:
            return order
        order["items"] = cur.execute(f"SELECT {ITEM_COLUMNS} FROM order_items"
                                     " WHERE order_id = %s ORDER BY id", (order_id,)).fetchall()
        return order

    def get(self, order_id: int, *, items: bool = False) -> dict | None:
        with self.db.connection() as conn:
            return self._order(conn.cursor(row_factory=dict_row), order_id, items=items)

    def list(self, user_id: int, limit: int, offset: int) -> list[dict]:
        with self.db.connection() as conn:
            cur = conn.cursor(row_factory=dict_row)
            return cur.execute(
                "SELECT id, total, status, payment_status, hold_expires_at, created_at"
                " FROM orders WHERE user_id = %s ORDER BY created_at DESC, id DESC"
                " LIMIT %s OFFSET %s", (user_id, limit, offset)).fetchall()

    def set_payment_intent(self, order_id: int, intent_id: str) -> str | None:
        """Store the order's intent unless it has one; the stored one is returned."""
        with self.db.connection() as conn:
            conn.execute("UPDATE orders SET stripe_payment_intent_id = %s, updated_at = now()"
                         " WHERE id = %s AND stripe_payment_intent_id IS NULL",
                         (intent_id, order_id))
            row = conn.execute("SELECT stripe_payment_intent_id FROM orders WHERE id = %s",
                               (order_id,)).fetchone()
        return row[0] if row else None

    # --- moves ---------------------------------------------------------------------------
    def apply(self, order_id: int, event: Event, detail: dict | None = None) -> Move | None:
        """Apply ``event`` to the order in a transaction of its own (see ``apply_move``)."""
        with self.db.connection() as conn, conn.transaction():
            return apply_move(conn.cursor(row_factory=dict_row), order_id, event, detail)

    def claim_lapsed_holds(self, limit: int, lease_seconds: int) -> list[dict]:
        """Pending orders whose hold has lapsed, at most ``limit``, oldest first.

        Claiming extends each hold by ``lease_seconds``: the stock stays held while the
        reaper asks Stripe, a second reaper (another host) skips these rows, and if this one
        fails the orders come back at the next pass after the lease."""
        with self.db.connection() as conn, conn.transaction():
            cur = conn.cursor(row_factory=dict_row)
            return cur.execute(
                "UPDATE orders o SET hold_expires_at = now() + make_interval(secs => %s)"
                " FROM (SELECT id FROM orders WHERE status = 'pending'"
                "       AND hold_expires_at <= now() ORDER BY hold_expires_at"
                "       LIMIT %s FOR UPDATE SKIP LOCKED) lapsed"
                " WHERE o.id = lapsed.id"
                " RETURNING o.id, o.stripe_payment_intent_id, o.total",
                (lease_seconds, limit)).fetchall()

    def purge_keys(self) -> int:
        """Delete Idempotency-Keys older than KEY_HOURS."""
        with self.db.connection() as conn:
            return conn.execute("DELETE FROM checkout_keys"
                                " WHERE created_at <= now() - make_interval(hours => %s)",
                                (KEY_HOURS,)).rowcount

    def event_counts(self) -> dict[str, int]:
        """How many of each order event were ever recorded (for /metrics)."""
        with self.db.connection() as conn:
            return dict(conn.execute("SELECT kind, count(*) FROM order_events GROUP BY kind"))


def apply_move(cur, order_id: int, event: Event, detail: dict | None = None) -> Move | None:
    """Move the order by ``event`` if the state machine allows it from its current state,
    releasing its stock when the move says so, and record it; None (and no change) when the
    event makes no move from there. Runs in the caller's transaction, under the order's row
    lock."""
    row = cur.execute("SELECT status FROM orders WHERE id = %s FOR UPDATE",
                      (order_id,)).fetchone()
    if row is None:
        return None
    step = order_states.move(row["status"], event)
    if step is None:
        return None
    cur.execute("UPDATE orders SET status = %s, payment_status = %s, updated_at = now()"
                " WHERE id = %s AND status = %s",
                (step.to, step.payment_status, order_id, row["status"]))
    if step.releases_stock:
        release_stock(cur, order_id)
    record(cur, order_id, str(step.to), {"from": row["status"], **(detail or {})})
    if step.releases_stock:
        record(cur, order_id, "stock_released", {"by": str(event)})
    return step


def release_stock(cur, order_id: int) -> None:
    """Put the order's units back on the shelf (rows locked in id order, as checkout does)."""
    cur.execute("SELECT p.id FROM products p JOIN order_items i ON i.product_id = p.id"
                " WHERE i.order_id = %s ORDER BY p.id FOR UPDATE OF p", (order_id,))
    cur.execute("UPDATE products p SET stock = p.stock + i.qty, updated_at = now()"
                " FROM (SELECT product_id, sum(quantity) AS qty FROM order_items"
                "       WHERE order_id = %s GROUP BY product_id) AS i"
                " WHERE p.id = i.product_id", (order_id,))


def record(cur, order_id: int | None, kind: str, detail: dict | None = None) -> None:
    """One line of the order's history (order_events)."""
    cur.execute("INSERT INTO order_events (order_id, kind, detail) VALUES (%s, %s, %s)",
                (order_id, kind, Jsonb(detail or {})))

